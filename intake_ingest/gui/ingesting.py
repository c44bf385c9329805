"""Making the runs of a selected plan, one at a time, each failure reported and passed over.

:class:`IngestModel` is plain Python (no panel): the app's Ingest tab drives it.
"""

from dataclasses import dataclass

from fsspec.core import url_to_fs

from ..errors import IngestError
from ..registry import get_ingestor
from ..run import RunDocuments

__all__ = ["IngestModel", "RunResult", "TARGETS"]

#: Where runs can go: an in-memory catalog (lazy) or msgpack files in a folder.
TARGETS = ("memory", "msgpack")

EVENT_NAMES = ("event", "event_page")


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
    message : str
        For an error: what went wrong, naming the file; otherwise where the run went.
    """

    index: int
    ingestor: str
    first: str
    kwargs: dict
    status: str
    uid: str | None = None
    message: str = ""

    @property
    def ok(self):
        return self.status != "error"

    def to_dict(self):
        return {
            "run": self.index,
            "status": self.status,
            "ingestor": self.ingestor,
            "first": self.first,
            "kwargs": " ".join(f"{key}={value}" for key, value in self.kwargs.items()),
            "uid": self.uid or "",
            "message": self.message,
        }


def _message(error, run):
    """An error as a user reads it: naming the file, never a bare exception."""
    if isinstance(error, IngestError):
        return str(error)  # "<file>: <what is wrong>"
    detail = str(error) or type(error).__name__
    return f"{run.files[0].url}: {run.ingestor} failed ({type(error).__name__}: {detail})"


def _check(documents):
    """Pull documents up to the first event (or the end): enough to see the files can be read."""
    for name, _ in documents:
        if name in EVENT_NAMES:
            return


def _replay(documents):
    """Generator function for ``upsert``: the documents already pulled, then the rest."""
    yield from documents


class IngestModel:
    """Ingest a plan run by run into an in-memory catalog or msgpack files.

    Each run is made on its own: an :class:`~intake_ingest.IngestError` (or any other
    exception) in one run is recorded in its :class:`RunResult`, naming the file, and
    the next run is made.

    Parameters
    ----------
    catalog : BlueskyInMemoryCatalog, optional
        Where in-memory runs go; by default one is created on first use and kept, so
        several ingests add to the same catalog.
    """

    def __init__(self, catalog=None):
        self.catalog = catalog
        self.results = []
        self.target = "memory"
        self.folder = None

    def ingest(
        self, plan, *, to="memory", folder=None, overwrite=False, check=True, storage_options=None, progress=None
    ):
        """Make every run of ``plan``.

        Parameters
        ----------
        plan : Plan
            e.g. :meth:`SelectionModel.selected_plan`.
        to : {'memory', 'msgpack'}
        folder : str
            With ``to='msgpack'``: folder or fsspec URL for ``<uid>.msgpack`` files.
        overwrite : bool
            With msgpack: write runs whose file exists again (default: skip them).
        check : bool
            In memory: read each run up to its first event now, so that a run its
            ingestor cannot read is reported now rather than when it is browsed (only
            the RunStart is read otherwise).
        storage_options : dict, optional
            For ``folder``.
        progress : callable, optional
            Called with the fraction done (0 to 1), before the first run and after each.

        Returns
        -------
        list of RunResult
            Also kept as :attr:`results`.
        """
        from ..catalog import BlueskyInMemoryCatalog

        if to not in TARGETS:
            raise ValueError(f"to must be one of {TARGETS}, not {to!r}")
        if to == "msgpack" and not folder:
            raise ValueError("give the folder to write msgpack files to")
        if to == "memory" and self.catalog is None:
            self.catalog = BlueskyInMemoryCatalog(name="gui")
        self.target, self.folder = to, folder
        fs = root = None
        if to == "msgpack":
            fs, root = url_to_fs(str(folder), **(storage_options or {}))
        runs = list(plan.runs)
        self.results = []
        if progress is not None:
            progress(0.0)
        for index, run in enumerate(runs):
            result = RunResult(index, run.ingestor, run.files[0].url, dict(run.kwargs), "ok")
            try:
                if to == "memory":
                    self._to_memory(run, result, check)
                else:
                    self._to_msgpack(run, result, fs, root, folder, overwrite, storage_options)
            except Exception as error:  # one run's failure must not stop the others
                result.status, result.message = "error", _message(error, run)
            self.results.append(result)
            if progress is not None:
                progress((index + 1) / len(runs))
        return self.results

    def _to_memory(self, run, result, check):
        documents = RunDocuments(get_ingestor(run.ingestor)(run.argument, **run.kwargs), label=run.files[0].url)
        result.uid = documents.uid
        if check:
            _check(documents)
        self.catalog.upsert(_replay, (documents,), {})
        result.message = "in memory"

    def _to_msgpack(self, run, result, fs, root, folder, overwrite, storage_options):
        from ..msgpack import export

        documents = RunDocuments(get_ingestor(run.ingestor)(run.argument, **run.kwargs), label=run.files[0].url)
        result.uid = documents.uid
        if not overwrite and fs.exists(f"{root.rstrip('/')}/{result.uid}.msgpack"):
            result.status, result.message = "skipped", "already written"
            return
        written = export(documents, str(folder), storage_options=storage_options, overwrite=overwrite)
        result.message = ", ".join(written)

    def rows(self):
        """One dict per run of the last ingest: run, status, ingestor, first, kwargs, uid, message."""
        return [result.to_dict() for result in self.results]

    def summary(self):
        """One line: how many runs went where, and how many failed."""
        if not self.results:
            return "nothing ingested yet"
        statuses = [result.status for result in self.results]
        counts = {status: statuses.count(status) for status in ("ok", "skipped", "error")}
        where = "into memory" if self.target == "memory" else f"to {self.folder}"
        text = f"{counts['ok']} run(s) ingested {where}"
        if counts["skipped"]:
            text += f", {counts['skipped']} already there (skipped)"
        if counts["error"]:
            text += f", {counts['error']} failed"
        return text

    def browse_target(self):
        """What to browse after the last ingest: the in-memory catalog, or the msgpack folder."""
        return self.catalog if self.target == "memory" else self.folder
