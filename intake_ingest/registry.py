"""Which ingestors exist: every generator registered under the ``intake_ingest.ingestors`` entry point.

Third-party packages add ingestors the same way this package does, in their own
``setup.cfg``::

    [options.entry_points]
    intake_ingest.ingestors =
        my_camera = my_package.ingest:ingest_my_camera

Entry points are read when first asked for and loaded one by one, so listing
ingestors imports nothing heavy (the fsspec ``registry.py`` way).
"""

from functools import lru_cache
from importlib.metadata import entry_points

__all__ = ["ENTRY_POINT_GROUP", "UnknownIngestorError", "driver_name", "get_ingestor", "ingestor_names"]

ENTRY_POINT_GROUP = "intake_ingest.ingestors"


class UnknownIngestorError(KeyError):
    """No ingestor is registered under this name."""

    def __str__(self):
        return self.args[0]


@lru_cache(maxsize=None)
def _entry_points():
    return {entry_point.name: entry_point for entry_point in entry_points(group=ENTRY_POINT_GROUP)}


def ingestor_names():
    """Names of all registered ingestors, sorted."""
    return sorted(_entry_points())


def get_ingestor(name):
    """The ingestor generator function registered as ``name``.

    Raises
    ------
    UnknownIngestorError
        Naming the ingestors that are registered.
    """
    try:
        entry_point = _entry_points()[name]
    except KeyError:
        raise UnknownIngestorError(
            f"no ingestor named {name!r}; registered ingestors: {', '.join(ingestor_names())}"
        ) from None
    return entry_point.load()


def driver_name(ingestor_name):
    """The intake driver name of an ingestor: ``tiff_series`` -> ``bluesky-tiff-series``."""
    return "bluesky-" + ingestor_name.replace("_", "-")
