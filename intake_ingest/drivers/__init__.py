"""intake drivers for single runs: one small class per ingestor, registered as entry points.

Each is a :class:`~intake_ingest.run.BlueskyRun`, so an entry of a YAML catalog gives
the same run object as the Python API. Arguments are the ingestor's own; constructing
the source pulls only the RunStart. One module per ingestor module; all but the TIFF
drivers are imported on first use.
"""

import importlib

from .base import IngestedRun
from .tiff import TiffSeriesDaskRun, TiffSeriesRun, TiffStackRun

_LAZY = {
    "AreaDetectorHdf5Run": "area_detector_hdf5",
    "AreaDetectorTiffRun": "area_detector",
    "BlueskyNexusRun": "bluesky_nexus",
    "ColumnTextRun": "column_text",
    "EigerHdf5Run": "eiger",
    "EsrfBlissRun": "bliss",
    "EsrfEdfRun": "esrf_edf",
    "McaRun": "mca",
    "NexusHdf5Run": "nexus",
    "PilatusCbfRun": "dectris",
    "PilatusTiffRun": "dectris",
    "SpecRun": "spec",
    "WinViewSpeRun": "spe",
    "XdiRun": "xdi",
    "XrdmlRun": "xrdml",
}

__all__ = ["IngestedRun", "TiffSeriesDaskRun", "TiffSeriesRun", "TiffStackRun", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
