"""Imported once by the forkserver, so that every worker forked from it starts with the readers loaded.

Importing the ingestors (h5py, silx, fabio, dask, xarray) costs seconds; in the
forkserver it is paid once per session, and a worker that replaces a crashed one starts
in milliseconds. An ingestor plugin that cannot be imported is left to fail where it is
used (the forkserver must start whatever a third-party package does).
"""

from importlib.metadata import entry_points

from .. import msgpack  # noqa: F401  (written by workers)
from ..registry import ENTRY_POINT_GROUP
from . import detection, ingesting  # noqa: F401  (what workers run)


def _import_ingestors():
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            entry_point.load()
        except Exception:  # a broken plugin: reported when it is used, not here
            pass


_import_ingestors()
