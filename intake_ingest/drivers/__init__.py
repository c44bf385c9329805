"""intake drivers for single runs: one small class per ingestor, registered as entry points.

Each is a :class:`~intake_ingest.run.BlueskyRun`, so an entry of a YAML catalog gives
the same run object as the Python API. Arguments are the ingestor's own; constructing
the source pulls only the RunStart. One module per ingestor module.
"""

from .base import IngestedRun
from .tiff import TiffSeriesDaskRun, TiffSeriesRun, TiffStackRun

__all__ = ["IngestedRun", "TiffSeriesDaskRun", "TiffSeriesRun", "TiffStackRun"]
