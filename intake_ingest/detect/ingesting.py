"""Making the runs of a plan, run by run: one failure is reported and the next run is made.

:func:`ingest` is what the command line, the GUI and Python share: every planned run is
attempted, each gets a :class:`RunResult` (``ok``, ``skipped`` or ``error`` with the file
and the reason), and the :class:`IngestResult` lists them, so a folder with one broken
file still gives every other run. ``fail_fast=True`` restores "stop at the first error".
A run read whole also gets its ending (:mod:`~intake_ingest.detect.endings`): a run
without a RunStop is shown ``partial``, one whose RunStop says ``abort`` or ``fail`` so.
"""

import sys
from dataclasses import dataclass, field

from fsspec.core import url_to_fs
from fsspec.implementations.memory import MemoryFileSystem

from ..errors import IngestError
from ..registry import get_ingestor
from ..run import RunDocuments
from .endings import ENDED_EARLY, EndingWatcher
from .isolation import INGEST_TIMEOUT, RemoteError, WorkerCrashed, WorkerTimedOut, isolation_worker, note, pulse

__all__ = ["IngestResult", "RunResult", "TARGETS", "ingest", "target_folder"]

#: Where runs can go: an in-memory catalog (lazy) or msgpack files in a folder.
TARGETS = ("memory", "msgpack")

#: Statuses of a run, in the order summaries list them (a run ``ok`` may have ended
#: early: see ``RunResult.ending``).
STATUSES = ("ok", "skipped", "error")


@dataclass
class RunResult:
    """What happened to one planned run.

    Attributes
    ----------
    index : int
        Position of the run in the plan.
    ingestor : str
    first : str
        The run's first file (URL or local path).
    kwargs : dict
        Its extra arguments (``{'scan': '3.1'}``).
    status : str
        ``'ok'``, ``'skipped'`` (its msgpack file was there already) or ``'error'``.
    uid : str or None
        The run's uid, once its RunStart was read.
    message : str
        For an error: what went wrong, naming the file; otherwise where the run went.
    written : list of str
        The msgpack files written for this run.
    ending : str or None
        For a run read whole (written to msgpack, or checked): ``'complete'``,
        ``'partial'`` (no RunStop) or the RunStop's ``exit_status`` (``'abort'``,
        ``'fail'``); None when the run was not read to its end.
    ending_note : str
        Why a run is not complete (``'no RunStop: ...'``).
    error : Exception or None
        For an error: the exception (an IngestError for a reader that crashed or gave
        no answer); raised in a worker, its ``__cause__`` holds the traceback there.
    """

    index: int
    ingestor: str
    first: str
    kwargs: dict
    status: str
    uid: str | None = None
    message: str = ""
    written: list = field(default_factory=list)
    ending: str | None = None
    ending_note: str = ""
    error: Exception | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self):
        """True if the run was made (or found already written), whole or not."""
        return self.status != "error"

    @property
    def shown_status(self):
        """The status users see: ``'ok'`` of a run that ended early is its ending (``'partial'``, ``'abort'``)."""
        if self.status == "ok" and self.ending in ENDED_EARLY:
            return self.ending
        return self.status

    @property
    def where(self):
        """The run's first file and its arguments, as a user would name the run."""
        extra = "".join(f" {key}={value}" for key, value in self.kwargs.items())
        return f"{self.first}{extra}"

    def to_dict(self):
        return {
            "run": self.index,
            "status": self.shown_status,
            "ingestor": self.ingestor,
            "first": self.first,
            "kwargs": " ".join(f"{key}={value}" for key, value in self.kwargs.items()),
            "uid": self.uid or "",
            "message": f"{self.message}; {self.ending_note}" if self.ending_note else self.message,
        }


@dataclass
class IngestResult:
    """What :func:`ingest` did with every run of a plan.

    Attributes
    ----------
    results : list of RunResult
        One per planned run attempted, in plan order.
    target : str
        ``'memory'`` or ``'msgpack'``.
    catalog : BlueskyInMemoryCatalog or None
        With ``target='memory'``: the catalog holding the runs that could be read.
    folder : str or None
        With ``target='msgpack'``: where the files went.
    stopped : bool
        True if ``fail_fast`` stopped the ingest at an error (later runs not attempted).
    """

    results: list = field(default_factory=list)
    target: str = "memory"
    catalog: object = None
    folder: str | None = None
    stopped: bool = False

    def _with(self, status):
        return [result for result in self.results if result.status == status]

    @property
    def ok(self):
        """True when no run failed."""
        return not self.errors

    @property
    def errors(self):
        """The runs that failed, each naming its file and what is wrong."""
        return self._with("error")

    @property
    def written(self):
        """The msgpack files written (empty for an in-memory ingest)."""
        return [path for result in self.results for path in result.written]

    @property
    def skipped(self):
        """uids of the runs whose msgpack file was there already."""
        return [result.uid for result in self._with("skipped")]

    @property
    def uids(self):
        """uids of the runs made or found (not of the failed ones)."""
        return [result.uid for result in self.results if result.ok]

    @property
    def ended_early(self):
        """The runs made that are not whole: no RunStop (``partial``), or a RunStop saying ``abort``/``fail``."""
        return [result for result in self.results if result.shown_status in ENDED_EARLY]

    def counts(self):
        """``{'ok': n, 'skipped': n, 'error': n}`` (runs ``ok`` include those that ended early)."""
        return {status: len(self._with(status)) for status in STATUSES}

    def ending_counts(self):
        """``{'partial': n, 'abort': n, ...}`` of the runs that ended early (endings with none left out)."""
        endings = [result.ending for result in self.ended_early]
        return {ending: endings.count(ending) for ending in ENDED_EARLY if ending in endings}

    def summary(self):
        """One line of counts, then one line per run that ended early or failed: its file and why."""
        counts = self.counts()
        where = "into memory" if self.target == "memory" else f"to {self.folder}"
        verb = "ingested" if self.target == "memory" else "written"
        lines = [f"{counts['ok']} run(s) {verb} {where}"]
        for ending, count in self.ending_counts().items():
            lines[0] += f", {count} {ending}"
        if counts["skipped"]:
            lines[0] += f", {counts['skipped']} already there (skipped)"
        if counts["error"]:
            lines[0] += f", {counts['error']} failed"
        if self.stopped:
            lines[0] += " (stopped at the first failure: --fail-fast)"
        lines.extend(f"  {result.ending}: {result.where}: {result.ending_note}" for result in self.ended_early)
        lines.extend(f"  failed: {result.message}" for result in self.errors)
        return "\n".join(lines)

    def to_dict(self):
        """Plain data (for ``--json`` and the GUI table)."""
        counts = {**self.counts(), **self.ending_counts()}
        return {"counts": counts, "runs": [result.to_dict() for result in self.results]}


def _message(error, run):
    """An error as a user reads it: naming the file, never a bare exception."""
    if isinstance(error, IngestError):
        text = str(error)  # "<file>: <what is wrong>"
        first = run.files[0].url
        # A run of several files may fail on any of them: name the run too.
        return text if text.startswith(first) or len(run.files) == 1 else f"{first} (run of {len(run.files)} files): {text}"
    # An exception the worker could not pickle back keeps its type's name.
    type_name = error.type_name if isinstance(error, RemoteError) else type(error).__name__
    detail = str(error) or type_name
    return f"{run.files[0].url}: {run.ingestor} failed ({type_name}: {detail})"


def _check(documents):
    """Read every document (not the data they refer to); the run's ``(ending, note)``."""
    watcher = EndingWatcher(documents)
    for _ in watcher:
        pass
    return watcher.ending()


def _replay(documents):
    """Generator function for ``upsert``: the documents already pulled, then the rest."""
    yield from documents


def _progress_bar(total, progress, description):
    from tqdm.auto import tqdm

    if progress is None:
        progress = sys.stderr.isatty()
    return tqdm(total=total, disable=not progress, desc=description, unit="run", leave=False)


def ingest(
    plan,
    *,
    to=None,
    catalog=None,
    overwrite=False,
    check=False,
    fail_fast=False,
    storage_options=None,
    progress=None,
    isolate=False,
    timeout=INGEST_TIMEOUT,
):
    """Make every run a :func:`~intake_ingest.detect.detect` plan lists.

    Every run is attempted: a run that cannot be read is recorded as an error naming
    its file and the reason, and the next run is made (unless ``fail_fast``).
    With ``isolate``, even a reader that crashes its process (a segfault in a C
    parser, an abort, the out-of-memory killer) or never returns (a C library looping
    on a damaged file) costs only its run.

    Parameters
    ----------
    plan : Plan
    to : str or tiled client, optional
        A folder or fsspec URL: write each run to ``<uid>.msgpack`` there. A tiled
        client (``intake_ingest.tiled.writing.connect(uri, api_key)``, or any tiled container
        a client can write to): write each run there through bluesky's TiledWriter,
        frames left in their files (:func:`intake_ingest.tiled.writing.write_plan`). Without
        it, the runs go into an in-memory catalog, lazily (only RunStarts are read now).
    catalog : BlueskyInMemoryCatalog, optional
        In memory: add the runs to this catalog (default: a new one).
    overwrite : bool
        With ``to``: write runs whose file exists again; by default they are skipped,
        so ingesting the same files twice writes nothing new.
    check : bool
        In memory: read each run's documents now (not the data they refer to), so that
        a run whose files cannot be read is reported now rather than when it is read,
        and a run that ends early is told (``ending``); by default only its RunStart is
        read: failures beyond it surface when the run is read. Runs written to msgpack
        are always read whole.
    fail_fast : bool
        Raise the first run's error instead of going on with the next run.
    storage_options : dict, optional
        For ``to``.
    progress : bool or callable, optional
        True/False: show a tqdm progress bar or not (default: when stderr is a terminal);
        a callable is called with the fraction done (0 to 1) before the first run and
        after each, for a GUI's progress bar.
    isolate : bool or IsolatedWorker
        Read each run in a worker process (one, reused from run to run, replaced after
        a crash; see :mod:`intake_ingest.detect.isolation`), so that a native crash is
        that run's error ("the reader crashed (signal 11: SIGSEGV)") and the next runs
        go on. With ``to``, the reading and the writing of each run happen there (a
        crash leaves no partial file behind). In memory, runs stay lazy and are read
        later in this process, where nothing can isolate them: ``isolate`` then only
        applies to ``check=True``, whose first reads happen in the worker (a crashing
        run is reported and left out of the catalog). Runs on a filesystem only this
        process sees (``memory://``) are read here. The command line isolates by
        default; in Python the default is False (no worker start-up cost, and
        ingestors that are not importable functions, such as a test's local
        function, work). An :class:`~intake_ingest.detect.isolation.IsolatedWorker`
        is used as it is (so that detection and ingest share one worker start).
    timeout : float or None
        With ``isolate``: the seconds a run may go without making a document before its
        reader is stopped (the worker is killed and replaced) and the run reported as
        an error, "gave no answer within N s while <ingestor> read it"; None: no limit.
        A run that keeps making documents is never stopped, however long it takes.
        Without isolation nothing can stop a hanging library: the limit is not applied.

    Returns
    -------
    IngestResult
        One :class:`RunResult` per run; ``.catalog`` (in memory) or ``.written``,
        ``.skipped`` (msgpack); ``.errors`` lists the runs that failed.

    Raises
    ------
    IngestError
        With ``fail_fast``: the first run's error, naming its file. Whatever
        ``fail_fast``: a ``to`` that cannot be a folder (see :func:`target_folder`).
    """
    if to is not None and hasattr(to, "create_container"):  # a tiled client, not a path
        from ..tiled.writing import write_plan

        return write_plan(
            plan, to, overwrite=overwrite, fail_fast=fail_fast, progress=progress if callable(progress) else None
        )
    if to is None:
        from ..catalog import BlueskyInMemoryCatalog

        result = IngestResult(target="memory", catalog=catalog if catalog is not None else BlueskyInMemoryCatalog())
        fs = root = None
    else:
        result = IngestResult(target="msgpack", folder=str(to))
        fs, root = target_folder(to, storage_options)
    runs = list(plan.runs)
    callback = progress if callable(progress) else None
    with (
        _progress_bar(len(runs), None if callback else progress, "ingesting") as bar,
        isolation_worker(isolate if runs else False, timeout) as worker,
    ):
        if callback:
            callback(0.0)
        for index, run in enumerate(runs):
            outcome = RunResult(index, run.ingestor, run.files[0].url, dict(run.kwargs), "ok")
            result.results.append(outcome)
            run_worker = worker if worker is not None and _reachable_from_worker(run, fs) else None
            try:
                if to is None:
                    _to_memory(run, outcome, result.catalog, check, run_worker)
                else:
                    _to_msgpack(run, outcome, fs, root, str(to), overwrite, storage_options, run_worker)
            except Exception as error:  # one run's failure must not stop the others
                outcome.status, outcome.message, outcome.error = "error", _message(error, run), error
                if fail_fast:
                    result.stopped = True
                    if isinstance(error, IngestError):
                        raise
                    # Whatever broke deep in a parser, the user is told which file it was.
                    raise IngestError(run.files[0].url, outcome.message.split(": ", 1)[-1]) from error
            bar.update()
            if callback:
                callback((index + 1) / len(runs))
    return result


def target_folder(to, storage_options=None):
    """The filesystem and path of the folder runs are written to, made if missing.

    Raises
    ------
    IngestError
        Naming ``to``: an unknown protocol, a file where the folder should be, a folder
        that cannot be made. Checked once, before any run is read.
    """
    try:
        fs, root = url_to_fs(str(to), **(storage_options or {}))
    except (ValueError, ImportError) as error:  # "Protocol not known: foo", a missing fsspec extra
        raise IngestError(str(to), f"cannot be written to ({error})") from None
    try:
        if fs.exists(root) and not fs.isdir(root):
            raise IngestError(str(to), "is a file, not a folder: runs are written as files in a folder")
        fs.makedirs(root, exist_ok=True)
    except OSError as error:
        raise IngestError(str(to), f"cannot be made a folder ({error.strerror or error})") from None
    return fs, root


def _reachable_from_worker(run, target_fs):
    """False for files (or a target) on a filesystem that lives in this process only."""
    filesystems = [source.fs for source in run.files] + ([target_fs] if target_fs is not None else [])
    return not any(isinstance(fs, MemoryFileSystem) for fs in filesystems)


def _crash_error(run, crash):
    """A worker's death (or its being stopped) as the run's error, naming the file and what happened."""
    if isinstance(crash, WorkerTimedOut):
        return IngestError(
            run.files[0].url,
            f"gave no answer within {crash.timeout:g} s while {run.ingestor} read it (no new document in that "
            "time); the reader was stopped: the file is probably damaged (a larger timeout gives a slow "
            "file longer); the other runs went on",
        )
    return IngestError(
        run.files[0].url,
        f"the reader crashed ({crash.description}) while {run.ingestor} read this run; "
        "the file is probably damaged (or the reader has a bug); the other runs went on",
    )


def _documents(run):
    return _run_documents(get_ingestor(run.ingestor), run.argument, run.kwargs, run.files[0].url)


def _pulsing(documents):
    """The documents, telling the isolation worker's watchdog of each (a run that makes documents is alive)."""
    for document in documents:
        pulse()
        yield document


def _run_documents(ingest_function, argument, kwargs, label):
    return RunDocuments(_pulsing(ingest_function(argument, **kwargs)), label=label)


def _to_memory(run, outcome, catalog, check, worker=None):
    if check and worker is not None:
        try:
            outcome.uid, (outcome.ending, outcome.ending_note) = worker.call(
                _check_run, get_ingestor(run.ingestor), run.argument, run.kwargs, run.files[0].url
            )
        except WorkerCrashed as crash:
            raise _crash_error(run, crash) from None
        # The worker read the run's documents; the catalog reads them again, lazily,
        # here (nothing can isolate reads made later by the user).
        catalog.upsert(get_ingestor(run.ingestor), (run.argument,), run.kwargs)
    elif check:
        documents = _documents(run)
        outcome.uid = documents.uid
        outcome.ending, outcome.ending_note = _check(documents)
        catalog.upsert(_replay, (documents,), {})
    else:
        # The ingestor itself is what the catalog keeps: the run is re-creatable and
        # only its RunStart is read now.
        outcome.uid = catalog.upsert(get_ingestor(run.ingestor), (run.argument,), run.kwargs)
    outcome.message = "in memory"


def _check_run(ingest_function, argument, kwargs, label):
    """In a worker: read a run's documents; its uid and ``(ending, note)``."""
    documents = _run_documents(ingest_function, argument, kwargs, label)
    return documents.uid, _check(documents)


def _to_msgpack(run, outcome, fs, root, folder, overwrite, storage_options, worker=None):
    arguments = (get_ingestor(run.ingestor), run.argument, run.kwargs, run.files[0].url, folder, overwrite, storage_options)
    if worker is None:
        outcome.status, outcome.uid, outcome.message, outcome.written, ending = _write_run(*arguments)
        outcome.ending, outcome.ending_note = ending
        return
    started = []  # uids the worker began writing (noted before the first byte)

    def on_note(uid):
        started.append(uid)
        outcome.uid = uid

    try:
        outcome.status, outcome.uid, outcome.message, outcome.written, ending = worker.call(
            _write_run, *arguments, on_note=on_note
        )
        outcome.ending, outcome.ending_note = ending
    except WorkerCrashed as crash:
        for uid in started:  # the file the crash interrupted is not a run
            path = f"{root.rstrip('/')}/{uid}.msgpack"
            if fs.exists(path):
                fs.rm(path)
        raise _crash_error(run, crash) from None


def _write_run(ingest_function, argument, kwargs, label, folder, overwrite, storage_options):
    """Read one run and write it to ``folder``; ``(status, uid, message, written, (ending, note))``.

    Runs in a worker process when ingesting in isolation: everything it takes and
    returns is picklable.
    """
    from ..msgpack import export

    fs, root = url_to_fs(folder, **(storage_options or {}))
    documents = _run_documents(ingest_function, argument, kwargs, label)
    uid = documents.uid
    if not overwrite and fs.exists(f"{root.rstrip('/')}/{uid}.msgpack"):
        return "skipped", uid, "already written", [], (None, "")
    note(uid)
    watcher = EndingWatcher(documents)
    pulled = _LastPulled(watcher)
    try:
        written = export(pulled, folder, storage_options=storage_options, overwrite=overwrite)
    except (TypeError, ValueError, OverflowError) as error:
        if pulled.raised:  # the reader's own error, raised while making a document
            raise
        # A document the reader made that msgpack cannot hold (an integer beyond 64
        # bits): the run's file is named, not only the encoder's complaint.
        raise IngestError(
            label, f"its {pulled.name or 'first'} document cannot be written to msgpack ({error})"
        ) from error
    return "ok", uid, ", ".join(written), written, watcher.ending()


class _LastPulled:
    """Documents passed through, remembering the last one's name and whether pulling one raised."""

    def __init__(self, documents):
        self._documents = documents
        self.name = None
        self.raised = False

    def __iter__(self):
        iterator = iter(self._documents)
        while True:
            try:
                name, doc = next(iterator)
            except StopIteration:
                return
            except BaseException:
                self.raised = True
                raise
            self.name = name
            yield name, doc
