"""Catalogs of runs: in memory from ingestors, from globbed files, and safe YAML specs.

See also :mod:`intake_ingest.msgpack` for runs stored in msgpack files.
"""

from .base import BlueskyCatalog, RunEntry
from .in_memory import BlueskyInMemoryCatalog
from .ingest import BlueskyIngestCatalog
from .safe_yaml import SafeYAMLFileCatalog, UnsafeCatalogError, check_catalog, open_catalog

__all__ = [
    "BlueskyCatalog",
    "BlueskyInMemoryCatalog",
    "BlueskyIngestCatalog",
    "RunEntry",
    "SafeYAMLFileCatalog",
    "UnsafeCatalogError",
    "check_catalog",
    "open_catalog",
]
