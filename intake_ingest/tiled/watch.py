"""Watching folders during an experiment: new files become runs on the tiled server.

Each pass (:meth:`Watcher.poll`) detects the folders again and writes the runs not on
the server yet. A file is taken only once it has stopped changing (same size and
modification time over two passes), so a file still being written is never half-
ingested; a run that fails is tried again only when one of its files changes. A
numbered series that grows (a detector writing frame after frame) is a new run each
time, with a uid of its files: the new, longer run replaces the one written before.
"""

import time

from ..detect import detect
from .writing import write_plan

__all__ = ["Watcher"]


def _signature(source):
    """(size, mtime) of a file, or None if it vanished."""
    try:
        info = source.fs.info(source.path)
    except (FileNotFoundError, OSError):
        return None
    return info.get("size"), info.get("mtime") or info.get("created")


class Watcher:
    """Write the runs that appear in ``paths`` into ``client``, pass after pass.

    Parameters
    ----------
    paths : list of str
        Folders (or files, globs) as given to :func:`intake_ingest.detect.detect`.
    client : tiled client container
    ingestor : str, optional
        Forced ingestor, as for detection.
    written : dict, optional
        ``{(ingestor, first file URL, kwargs): uid}`` of runs already written (the
        first ingest of ``serve``), so that a series they begin can be replaced.
    """

    def __init__(self, paths, client, ingestor=None, written=None):
        self.paths, self.client, self.ingestor = list(paths), client, ingestor
        self.written = dict(written or {})
        self._seen = {}  # file URL -> signature at the previous pass
        self._failed = {}  # run identity -> signatures of its files when it failed
        self._done = {}  # run identity -> signatures of its files when it was written

    @staticmethod
    def identity(run):
        return run.ingestor, run.files[0].url, tuple(sorted(run.kwargs.items()))

    def _settled(self, run, signatures):
        return all(sig is not None and self._seen.get(source.url) == sig for source, sig in zip(run.files, signatures))

    def poll(self):
        """One pass: write the settled runs not on the server; the :class:`IngestResult` (or None)."""
        plan = detect(self.paths, ingestor=self.ingestor, progress=False)
        ready = []
        for run in plan.runs:
            signatures = [_signature(source) for source in run.files]
            settled = self._settled(run, signatures)
            for source, sig in zip(run.files, signatures):
                self._seen[source.url] = sig
            identity = self.identity(run)
            if not settled or signatures in (self._failed.get(identity), self._done.get(identity)):
                continue
            ready.append((run, identity, signatures))
        if not ready:
            return None
        plan.runs = [run for run, _, _ in ready]
        result = write_plan(plan, self.client)
        for (run, identity, signatures), outcome in zip(ready, result.results):
            if outcome.status == "error":
                self._failed[identity] = signatures
                continue
            self._failed.pop(identity, None)
            self._done[identity] = signatures
            previous = self.written.get(identity)
            if outcome.status == "ok" and previous is not None and previous != outcome.uid and previous in self.client:
                # The series grew: its longer run replaces the one written before.
                self.client.delete_contents(previous, recursive=True, external_only=False)
            self.written[identity] = outcome.uid
        return result

    def run(self, interval=2.0, report=None, stop=None):
        """Poll every ``interval`` seconds until ``stop()`` is true (or forever)."""
        while stop is None or not stop():
            result = self.poll()
            if result is not None and report is not None and (result.counts()["ok"] or result.errors):
                report(result)
            time.sleep(interval)
