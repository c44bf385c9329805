"""Catalogs of runs: in memory from ingestors; see also :mod:`intake_ingest.msgpack`."""

from .base import BlueskyCatalog, RunEntry
from .in_memory import BlueskyInMemoryCatalog

__all__ = ["BlueskyCatalog", "BlueskyInMemoryCatalog", "RunEntry"]
