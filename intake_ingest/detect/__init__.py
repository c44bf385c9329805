"""Detection: from files a user selected to runs, without knowing which ingestor fits.

:func:`detect` sniffs every file (its first bytes, in threads), picks the ingestor most
confident it can read it, groups files into runs the way that ingestor's producing
software writes them, and reports what it could not place; :func:`ingest` makes the
runs, into a catalog or straight to msgpack files, every run attempted and each
failure reported with its file (one bad file never stops the others); a
:class:`Watcher` keeps doing both while files arrive in a folder.
"""

from .detection import detect, sniff_file
from .ingesting import IngestResult, RunResult, ingest
from .plan import Ambiguous, Plan, PlannedRun, Unrecognised
from .watching import MemorySink, MsgpackSink, Watcher

__all__ = [
    "Ambiguous",
    "IngestResult",
    "MemorySink",
    "MsgpackSink",
    "Plan",
    "PlannedRun",
    "RunResult",
    "Unrecognised",
    "Watcher",
    "detect",
    "ingest",
    "sniff_file",
]
