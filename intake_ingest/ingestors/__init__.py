"""Ingestors: generators that turn one producing program's files into event-model documents.

One module per producing software (or per family of files it writes). Each ingestor
yields ``(name, doc)`` pairs: a RunStart first, then descriptors, events or event
pages (and resources/datums where they fit), and a RunStop last. Each module declares
its :class:`~intake_ingest.registry.IngestorSpec`, registered by entry point.

The TIFF ingestors are imported here; the others on first use, so that importing the
package does not import fabio, h5py or silx.
"""

import importlib

from .tiff import ingest_tiff_series, ingest_tiff_series_dask, ingest_tiff_stack

# name -> module, for the ingestors imported on first use
_LAZY = {
    "ingest_area_detector_hdf5": "hdf5.area_detector",
    "ingest_area_detector_tiff": "area_detector",
    "ingest_bliss": "hdf5.bliss",
    "ingest_bluesky_nexus": "hdf5.bluesky_nexus",
    "ingest_column_text": "column_text",
    "ingest_eiger": "hdf5.eiger",
    "ingest_esrf_edf": "esrf_edf",
    "ingest_mca": "mca",
    "ingest_nexus": "hdf5.nexus",
    "ingest_pilatus_cbf": "dectris",
    "ingest_pilatus_tiff": "dectris",
    "ingest_spec": "spec",
    "ingest_winview_spe": "spe",
    "ingest_xdi": "xdi",
    "ingest_xrdml": "xrdml",
}

__all__ = ["ingest_tiff_series", "ingest_tiff_series_dask", "ingest_tiff_stack", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
