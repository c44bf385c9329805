"""intake-ingest: files written by instrument software, as Bluesky runs in intake catalogs.

Ingestors (:mod:`intake_ingest.ingestors`) turn files into event-model documents;
:class:`BlueskyRun` gives them back in order or as xarray; catalogs hold and search
runs in memory (:class:`BlueskyInMemoryCatalog`) or in msgpack files
(:class:`BlueskyMsgpackCatalog`).
"""

from ._version import __version__
from .catalog import (
    BlueskyCatalog,
    BlueskyInMemoryCatalog,
    BlueskyIngestCatalog,
    UnsafeCatalogError,
    check_catalog,
    open_catalog,
)
from .errors import IngestError, IngestWarning, MissingFileError
from .ingestors import ingest_tiff_series, ingest_tiff_series_dask, ingest_tiff_stack
from .msgpack import BlueskyMsgpackCatalog
from .run import BlueskyEventStream, BlueskyRun

__all__ = [
    "__version__",
    "BlueskyCatalog",
    "BlueskyEventStream",
    "BlueskyInMemoryCatalog",
    "BlueskyIngestCatalog",
    "BlueskyMsgpackCatalog",
    "BlueskyRun",
    "IngestError",
    "IngestWarning",
    "MissingFileError",
    "UnsafeCatalogError",
    "check_catalog",
    "ingest_tiff_series",
    "ingest_tiff_series_dask",
    "ingest_tiff_stack",
    "open_catalog",
]
