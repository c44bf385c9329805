"""Ingestors: generators that turn one producing program's files into event-model documents.

One module per producing software (or per family of files it writes). Each ingestor
yields ``(name, doc)`` pairs: a RunStart first, then descriptors, events or event
pages (and resources/datums where they fit), and a RunStop last.
"""

from .tiff import ingest_tiff_series, ingest_tiff_series_dask, ingest_tiff_stack

__all__ = ["ingest_tiff_series", "ingest_tiff_series_dask", "ingest_tiff_stack"]
