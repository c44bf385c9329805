"""Watching folders during an experiment: files that appear become runs within seconds.

A :class:`Watcher` lists its folders every ``interval`` seconds (through fsspec, the
way detection lists them) and takes a file only once it has stopped changing: the same
size and modification time in two listings. A TIFF or HDF5 file is also opened before
it is taken (:func:`probe`): one whose pixels end beyond its end, or that its writer
still holds, waits, and is reported only if it stays unchanged and unreadable for
``patience`` seconds. The files taken in a pass are detected with the folders' other
files, so that a frame joins its numbered series, and only the runs holding a new or
changed file are made, through a *sink*:

- :class:`MemorySink`: an in-memory catalog (:class:`~intake_ingest.BlueskyInMemoryCatalog`),
  runs added lazily (only the RunStart is read);
- :class:`MsgpackSink`: ``<uid>.msgpack`` files in a folder, as :func:`ingest(plan,
  to=folder) <intake_ingest.detect.ingest>` writes them;
- anything with ``write(plan, replacing)`` returning an :class:`IngestResult` (one
  :class:`RunResult` per run of the plan, in order) and, optionally, ``remove(uid)``:
  a tiled server, say.

A numbered series that grows is an *updated* run: its uid is derived from all its files'
names, so the longer run has a new uid; it is written first, then the run it replaces
(same ingestor and arguments, files in common) is removed from the sink. A run of a file
holding several runs (a SPEC file gaining scans) is read again only if it may have
changed: a new scan, the scan that was the file's last, or one that had no RunStop;
earlier, finished scans are left alone. Files that disappear leave their runs in the
sink.

Polling rather than filesystem events (``watchfiles``, inotify): a beamline's data
usually sit on NFS, GPFS or SMB shares, where events from other machines never arrive,
or on object stores with no events at all; and a file's arrival is not the signal
anyway, its stillness is, which only a second look can tell.
"""

import logging
import os
import posixpath
import threading
import time
from dataclasses import dataclass, field

from ..errors import IngestError
from ..files import find_files, read_starts
from ..natural_order import natural_key
from .detection import detect
from .endings import ENDED_EARLY
from .ingesting import IngestResult, RunResult, ingest
from .plan import Plan

__all__ = ["DEFAULT_INTERVAL", "DEFAULT_PATIENCE", "MemorySink", "MsgpackSink", "Update", "Watcher", "probe"]

logger = logging.getLogger(__name__)

#: Seconds between two listings of the watched folders.
DEFAULT_INTERVAL = 1.0
#: Seconds a file may stay unchanged yet unreadable (a TIFF cut short, an HDF5 file its
#: writer still holds) before it is reported; until then it is only waited for.
DEFAULT_PATIENCE = 10.0


# -- is a file whole? ------------------------------------------------------------------------

_TIFF_MAGICS = (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+")
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def probe(source, start=None):
    """Why a file cannot be taken yet, or ``''`` if it looks whole.

    Only formats where it is cheap are opened: a TIFF's page directories are read and
    every page's pixel data must end within the file; an HDF5 file must open (HDF5
    refuses a file its writer holds open, and a superblock not yet written). Other
    files are whole once they stop changing.

    Parameters
    ----------
    source : SourceFile
    start : bytes, optional
        The file's first bytes, if already read.
    """
    if start is None:
        (start,) = read_starts([source], 8)
    if start is None:
        return "cannot be read"
    if start.startswith(_TIFF_MAGICS):
        return _tiff_problem(source)
    if start.startswith(_HDF5_MAGIC):
        return _hdf5_problem(source)
    return ""


class _TiffComplaints(logging.Filter):
    """What tifffile logs while this thread probes a file, kept instead of printed.

    tifffile does not raise on a page directory chain that points beyond the file's end
    (a stack cut short between pages): it logs "invalid page offset" and stops there.
    """

    def __init__(self):
        super().__init__()
        self._local = threading.local()

    def filter(self, record):
        collected = getattr(self._local, "collected", None)
        if collected is None:  # another thread's tifffile: left alone
            return True
        collected.append(record.getMessage())
        return False

    def __enter__(self):
        self._local.collected = []
        return self._local.collected

    def __exit__(self, *exc_info):
        self._local.collected = None


_TIFF_COMPLAINTS = _TiffComplaints()
logging.getLogger("tifffile").addFilter(_TIFF_COMPLAINTS)


def _tiff_problem(source):
    import tifffile

    try:
        with _TIFF_COMPLAINTS as complaints, source.fs.open(source.path, "rb") as file, tifffile.TiffFile(file) as tiff:
            size = source.size if source.size is not None else source.fs.size(source.path)
            for page in tiff.pages:  # reads every page directory
                ends = [offset + count for offset, count in zip(page.dataoffsets, page.databytecounts)]
                if ends and max(ends) > size:
                    return f"its pixel data end beyond the file's end ({max(ends)} > {size} bytes): cut short"
            if complaints:
                return f"its page directories are cut short ({complaints[0]})"
    except Exception as error:  # tifffile raises many kinds on a file cut short
        return f"cannot be opened as TIFF ({error or type(error).__name__})"
    return ""


def _hdf5_problem(source):
    import h5py

    try:
        if source.is_local and not source.chain:
            h5py.File(source.path, "r").close()
        else:
            with source.fs.open(source.path, "rb") as file:
                h5py.File(file, "r").close()
    except Exception as error:
        return f"cannot be opened as HDF5 ({error or type(error).__name__})"
    return ""


# -- sinks -----------------------------------------------------------------------------------


class MemorySink:
    """Runs into an in-memory catalog, lazily (only their RunStart is read when they come).

    Parameters
    ----------
    catalog : BlueskyInMemoryCatalog, optional
        Default: a new one (``sink.catalog``).
    """

    def __init__(self, catalog=None):
        if catalog is None:
            from ..catalog import BlueskyInMemoryCatalog

            catalog = BlueskyInMemoryCatalog()
        self.catalog = catalog

    def write(self, plan, replacing):
        """Upsert each run (a run of the same uid is replaced in place)."""
        return ingest(plan, catalog=self.catalog, progress=False)

    def remove(self, uid):
        """Drop a run that a longer one replaced."""
        # The catalog has no public removal: its entries are a dict by uid (upsert
        # assigns to it the same way).
        self.catalog._entries.pop(uid, None)


class MsgpackSink:
    """Runs written to ``<uid>.msgpack`` files in a folder (every run read whole, pixels inline).

    A run met for the first time is skipped if its file is there already (as
    :func:`~intake_ingest.detect.ingest` does); an updated run is written again. A grown
    series is written whole each time it grows: msgpack holds its pixels.

    Parameters
    ----------
    folder : str
        Folder or fsspec URL, made if missing.
    storage_options : dict, optional
    isolate : bool or IsolatedWorker
        As for :func:`~intake_ingest.detect.ingest`.
    """

    def __init__(self, folder, storage_options=None, isolate=False):
        from .ingesting import target_folder

        self.folder, self.storage_options, self.isolate = str(folder), storage_options, isolate
        self._fs, self._root = target_folder(self.folder, storage_options)

    def write(self, plan, replacing):
        """Write the plan's runs; runs replacing others overwrite what is there."""
        result = IngestResult(target="msgpack", folder=self.folder)
        results = [None] * len(plan.runs)
        for overwrite in (False, True):
            positions = [i for i, replaced in enumerate(replacing) if bool(replaced) == overwrite]
            if not positions:
                continue
            part = ingest(
                Plan(runs=[plan.runs[i] for i in positions]), to=self.folder, overwrite=overwrite,
                storage_options=self.storage_options, progress=False, isolate=self.isolate,
            )
            for position, outcome in zip(positions, part.results):
                outcome.index = position
                results[position] = outcome
        result.results = results
        return result

    def remove(self, uid):
        """Delete the msgpack file of a run that a longer one replaced."""
        path = f"{self._root.rstrip('/')}/{uid}.msgpack"
        if self._fs.exists(path):
            self._fs.rm(path)


# -- what a pass did -------------------------------------------------------------------------


@dataclass
class Update:
    """One thing a pass of the watcher did or found.

    Attributes
    ----------
    kind : str
        ``'new'`` (a run made), ``'updated'`` (a run made again or replacing others: a
        series that grew, a scan that went on), ``'failed'`` (a run that could not be
        made), ``'incomplete'`` (a file unchanged for ``patience`` seconds that still
        cannot be opened whole), ``'unrecognised'`` or ``'ambiguous'`` (a file
        detection left out).
    url : str
        The run's first file, or the file concerned.
    message : str
        Why (for problems), or where the run went.
    run : PlannedRun or None
    result : RunResult or None
    replaced : list of str
        uids of the runs this one replaced and that were removed (a series' shorter run).
    """

    kind: str
    url: str
    message: str = ""
    run: object = None
    result: RunResult | None = None
    replaced: list = field(default_factory=list)

    @property
    def ok(self):
        return self.kind in ("new", "updated")

    def line(self):
        """One line for a log or a terminal."""
        if self.ok:
            result = self.result
            extra = "".join(f" {key}={value}" for key, value in result.kwargs.items())
            files = f" ({len(self.run.files)} files)" if len(self.run.files) > 1 else ""
            status = result.shown_status if result.shown_status != "ok" else ""
            text = f"{self.kind}: {result.uid} {result.ingestor} {self.url}{extra}{files}"
            if status:
                text += f" [{status}]"
            if self.replaced:
                text += f" replaces {', '.join(self.replaced)}"
            return text
        return f"{self.kind}: {self.message}"


@dataclass
class _Delivered:
    """A run the sink holds: its uid, its files and their state when it was read."""

    key: tuple
    uid: str
    files: frozenset
    signatures: dict
    last_in_file: bool
    ending: str | None


def _signature(source):
    return source.size, source.mtime


def _kwargs_key(kwargs):
    return tuple(sorted((key, repr(value)) for key, value in kwargs.items()))


def _folder(source):
    return posixpath.dirname(source.path)


# -- the watcher -----------------------------------------------------------------------------


class Watcher:
    """Make runs of the files that appear in folders, pass after pass.

    Parameters
    ----------
    paths : str or list of str
        Folders (searched recursively), files or globs, local or fsspec URLs, as given to
        :func:`~intake_ingest.detect.detect`; hidden files (named ``.*``: rsync's files
        in transfer, NFS's ``.nfsXXXX``) are left out. A folder that does not exist yet
        is reported once and looked for again at every pass.
    sink : MemorySink, MsgpackSink or object
        Where runs go: ``write(plan, replacing) -> IngestResult`` (``replacing``: per
        run, the uids of the runs it replaces, empty for a new run) and, optionally,
        ``remove(uid)``.
    ingestor : str, optional
        Use this ingestor for every file instead of sniffing.
    interval : float
        Seconds between passes (:meth:`run`); a file is taken once two passes found it
        unchanged.
    settle : float
        Seconds a file must also have stayed unchanged (besides two passes) before it is
        taken: on an NFS mount, whose client caches a file's size and time for up to
        ``acregmax`` seconds (60 by default), that long; 0 on a local disk.
    patience : float
        Seconds a file may stay unchanged and yet not open whole (:func:`probe`) before
        it is reported ``'incomplete'``; it is taken when it changes again.
    existing : bool
        Make runs of the files already there at the first pass (default); False: only of
        files that appear or change later.
    on_update : callable, optional
        Called with each :class:`Update` (besides the log: logger
        ``intake_ingest.detect.watching``, problems as warnings).
    storage_options : dict, optional
        For fsspec.
    isolate : bool or IsolatedWorker
        Sniff in a worker process (see :func:`~intake_ingest.detect.detect`): one for
        the whole of :meth:`run`, or the worker given. The sink reads the runs (give
        :class:`MsgpackSink` the worker too).

    Examples
    --------
    >>> sink = MemorySink()
    >>> with Watcher("/data/beamtime", sink, on_update=lambda u: print(u.line())):  # doctest: +SKIP
    ...     ...  # sink.catalog fills as files arrive
    """

    def __init__(
        self,
        paths,
        sink,
        *,
        ingestor=None,
        interval=DEFAULT_INTERVAL,
        settle=0.0,
        patience=DEFAULT_PATIENCE,
        existing=True,
        on_update=None,
        storage_options=None,
        isolate=False,
    ):
        self.paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
        self.paths = [str(path) for path in self.paths]
        self.sink, self.ingestor, self.interval, self.patience = sink, ingestor, interval, patience
        self.settle = settle
        self.on_update, self.storage_options, self.isolate = on_update, storage_options, isolate
        self._existing = existing
        self._passes = 0
        self._listed = {}  # file identity -> (SourceFile, signature, monotonic time first seen so)
        self._handled = {}  # file identity -> signature whose outcome is settled
        self._probed = {}  # file identity -> (signature, problem)
        self._bad = {}  # file identity -> signature at which it was reported incomplete
        self._delivered = {}  # run key -> _Delivered
        self._by_file = {}  # file identity -> set of run keys holding it
        self._told = set()  # (kind, url, signature) of problems already reported
        self._stop = threading.Event()
        self._thread = None
        self._worker = None  # run()'s isolation worker, kept for the whole watch

    def adopt(self, plan, result):
        """Count the runs of a plan already ingested (a first ingest before watching) as this watcher's.

        Their files are not taken again until they change; a series among them that
        grows replaces its run, a file of several runs that grows is read as if this
        watcher had made them.

        Parameters
        ----------
        plan : Plan
            What :func:`~intake_ingest.detect.detect` found.
        result : IngestResult
            What the sink (or :func:`~intake_ingest.detect.ingest`) made of it, run by run.
        """
        last = self._last_in_file(plan.runs)
        for run, outcome in zip(plan.runs, result.results):
            if outcome.ok and outcome.uid:
                self._deliver(run, outcome, last)
        for source in plan.files:
            self._handled[source.identity] = _signature(source)

    # -- one pass -----------------------------------------------------------------------

    def once(self):
        """One pass: list, take the files that stopped changing, make their runs.

        Returns
        -------
        list of Update
            What this pass made or found (empty when nothing settled or changed).
        """
        self._passes += 1
        now = time.monotonic()
        listed = self._list()
        if listed is None:
            return []
        stable, changed = {}, set()
        current = {}
        for source in listed:
            signature = _signature(source)
            before = self._listed.get(source.identity)
            seen_since = before[2] if before is not None and before[1] == signature else now
            current[source.identity] = (source, signature, seen_since)
            if before is None or before[1] != signature or now - seen_since < self.settle:
                continue  # new or changed since the last listing: look again next pass
            stable[source.identity] = source
            if self._handled.get(source.identity) != signature:
                changed.add(source.identity)
        self._listed = current
        if self._passes == 1 and not self._existing:
            # Files already there are not this watcher's: only what comes or changes later.
            self._handled.update((identity, entry[1]) for identity, entry in current.items())
        if not changed:
            return []
        updates = []
        waiting, bad = self._probe(stable, changed, now, updates)
        self._bad.update((identity, _signature(stable[identity])) for identity in bad)
        folders = {_folder(stable[identity]) for identity in changed if identity not in waiting}
        taken = [
            source for identity, source in stable.items()
            if identity not in waiting and _folder(source) in folders
            and self._bad.get(identity) != _signature(source)  # reported incomplete, unchanged since
        ]
        retry = set()
        if taken:
            made, retry = self._make_runs(taken, changed - waiting - bad)
            updates.extend(made)
        for identity in changed - waiting - retry:
            self._handled[identity] = _signature(stable[identity])
        for update in updates:
            self._tell(update)
        return updates

    def _list(self):
        try:
            # Hidden files are left out: rsync writes a file under a hidden name and renames
            # it when whole, and NFS keeps a deleted file still open as '.nfsXXXX'.
            return [
                source for source in find_files(self.paths, self.storage_options)
                if not source.special and not posixpath.basename(source.path).startswith(".")
            ]
        except IngestError as error:  # the folder is not there yet, a server is down
            key = ("listing", str(error), None)
            if key not in self._told:
                self._told.add(key)
                logger.warning("cannot list the watched files: %s (trying again every %g s)", error, self.interval)
            return None

    def _probe(self, stable, changed, now, updates):
        """The changed files that are not whole yet (waiting) and those reported so (bad)."""
        sources = [stable[identity] for identity in sorted(changed)]
        starts = read_starts(sources, 8)
        waiting, bad = set(), set()
        for source, start in zip(sources, starts):
            signature = _signature(source)
            known = self._probed.get(source.identity)
            if known is not None and known[0] == signature:
                problem = known[1]
            else:
                problem = probe(source, start)
                self._probed[source.identity] = (signature, problem)
            if not problem:
                continue
            unchanged_for = now - self._listed[source.identity][2]
            if unchanged_for < self.patience:
                waiting.add(source.identity)
                continue
            bad.add(source.identity)
            message = f"{source.url}: {problem}; unchanged for {unchanged_for:.0f} s, taken when it changes"
            updates.append(Update("incomplete", source.url, message))
        return waiting, bad

    def _make_runs(self, taken, changed):
        """Detect the folders' settled files; make the runs holding a changed file.

        Returns the updates, and the files to look at again at the next pass (those of
        runs the sink could not take at all: a server down).
        """
        plan = detect(taken, ingestor=self.ingestor, progress=False, isolate=self._worker or self.isolate)
        updates = []
        urls = {source.url for source in taken if source.identity in changed}
        for item in plan.unrecognised:
            if item.url in urls:
                updates.append(Update("unrecognised", item.url, f"{item.url}: {item.reason}"))
        for item in plan.ambiguous:
            if item.url in urls:
                names = ", ".join(f"{name} {confidence:.2f}" for name, confidence in item.candidates)
                updates.append(Update("ambiguous", item.url, f"{item.url}: claimed by {names}; choose an ingestor"))
        last = self._last_in_file(plan.runs)
        ready, replacing = [], []
        for run in plan.runs:
            files = [*run.files, *run.companions]
            if not any(source.identity in changed for source in files):
                continue  # nothing new in it: not read again
            key = (run.ingestor, run.files[0].identity, _kwargs_key(run.kwargs))
            if self._unchanged_part(key, run):
                self._record_files(self._delivered[key], run)
                continue
            ready.append(run)
            replacing.append(self._replaced_by(run, key))
        if not ready:
            return updates, set()
        try:
            result = self.sink.write(Plan(runs=ready), [[d.uid for d in old] for old in replacing])
        except Exception as error:  # the sink itself failed (a server down): the runs wait
            message = f"{len(ready)} run(s) not written ({type(error).__name__}: {error}); tried again at every pass"
            key = ("sink", message, None)
            if key not in self._told:  # said once, not every second
                self._told.add(key)
                updates.append(Update("failed", ready[0].files[0].url, message))
            retry = {source.identity for run in ready for source in (*run.files, *run.companions)}
            return updates, retry
        for run, old, outcome in zip(ready, replacing, result.results):
            if not outcome.ok:
                updates.append(Update("failed", outcome.first, outcome.message, run=run, result=outcome))
                continue
            removed = []
            for previous in old:
                self._forget(previous)
                if previous.uid != outcome.uid:
                    remove = getattr(self.sink, "remove", None)
                    if remove is not None:
                        remove(previous.uid)
                    removed.append(previous.uid)
            self._deliver(run, outcome, last)
            kind = "updated" if old else "new"
            updates.append(Update(kind, outcome.first, outcome.message, run=run, result=outcome, replaced=removed))
        return updates, set()

    @staticmethod
    def _last_in_file(runs):
        """Keys of the runs that are the last of their file (by their arguments, in natural order)."""
        by_file = {}
        for run in runs:
            if run.kwargs and len(run.files) == 1:
                key = (run.ingestor, run.files[0].identity, _kwargs_key(run.kwargs))
                order = natural_key(" ".join(f"{k}={v}" for k, v in run.kwargs.items()))
                if by_file.get(key[:2]) is None or order > by_file[key[:2]][0]:
                    by_file[key[:2]] = (order, key)
        return {key for _, key in by_file.values()}

    def _unchanged_part(self, key, run):
        """True for a finished run of a file holding several that only grew since it was read.

        A SPEC file (or a Bliss HDF5 file) is appended to: the scans before its last one
        are done, and reading them again would read the whole file per scan.
        """
        delivered = self._delivered.get(key)
        if delivered is None or not run.kwargs or len(run.files) != 1 or run.companions:
            return False
        if delivered.last_in_file or delivered.ending in ENDED_EARLY:
            return False
        (source,) = run.files
        size_before = delivered.signatures.get(source.identity, (None, None))[0]
        return size_before is not None and source.size is not None and source.size >= size_before

    def _replaced_by(self, run, key):
        """The delivered runs a new one replaces: the same key, or the same ingestor and
        arguments with files in common (a series that grew, or whose gap filled)."""
        keys = {key} if key in self._delivered else set()
        for source in run.files:
            for other in self._by_file.get(source.identity, ()):
                if other[0] == key[0] and other[2] == key[2]:
                    keys.add(other)
        return [self._delivered[other] for other in sorted(keys) if other in self._delivered]

    def _deliver(self, run, outcome, last):
        """Remember a run the sink now holds."""
        key = (run.ingestor, run.files[0].identity, _kwargs_key(run.kwargs))
        files = frozenset(source.identity for source in (*run.files, *run.companions))
        delivered = _Delivered(key, outcome.uid, files, {}, key in last, outcome.ending)
        self._record_files(delivered, run)
        self._delivered[key] = delivered
        for identity in files:
            self._by_file.setdefault(identity, set()).add(key)

    def _record_files(self, delivered, run):
        delivered.signatures.update((source.identity, _signature(source)) for source in (*run.files, *run.companions))

    def _forget(self, delivered):
        self._delivered.pop(delivered.key, None)
        for identity in delivered.files:
            keys = self._by_file.get(identity)
            if keys is not None:
                keys.discard(delivered.key)
                if not keys:
                    del self._by_file[identity]

    def _tell(self, update):
        # Each problem comes once per state of its file: its file is then settled, and
        # looked at again only when it changes.
        if update.ok:
            logger.info("%s", update.line())
        else:
            logger.warning("%s", update.line())
        if self.on_update is not None:
            self.on_update(update)

    # -- running ------------------------------------------------------------------------

    @property
    def runs(self):
        """``{uid: identity of the first file}`` of the runs this watcher put in its sink."""
        return {delivered.uid: delivered.key[1] for delivered in self._delivered.values()}

    def run(self):
        """Pass after pass, every ``interval`` seconds, until :meth:`stop` (or Ctrl-C: returns)."""
        from .isolation import isolation_worker

        self._stop.clear()
        try:
            # One worker for the whole watch, not one started per pass.
            with isolation_worker(self.isolate, None) as self._worker:
                while not self._stop.is_set():
                    began = time.monotonic()
                    try:
                        self.once()
                    except Exception:  # a pass that breaks must not end a watch meant to last days
                        logger.exception("a pass of the watcher failed; the next one comes in %g s", self.interval)
                    self._stop.wait(max(0.0, self.interval - (time.monotonic() - began)))
        except KeyboardInterrupt:
            pass
        finally:
            self._worker = None

    def stop(self):
        """End :meth:`run` (from another thread, or a signal handler) after the current pass."""
        self._stop.set()

    def start(self):
        """Run in a background thread (a daemon); :meth:`close` or leaving ``with`` ends it."""
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self.run, name="intake-ingest-watcher", daemon=True)
            self._thread.start()
        return self

    def close(self):
        """Stop the background thread and wait for its pass to end."""
        self.stop()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.close()
