"""intake driver for :mod:`intake_ingest.ingestors.area_detector` (areaDetector NDFileTIFF)."""

from .base import IngestedRun

__all__ = ["AreaDetectorTiffRun"]


class AreaDetectorTiffRun(IngestedRun):
    """One numbered series of areaDetector NDFileTIFF files as one run.

    Made by :func:`~intake_ingest.ingestors.area_detector.ingest_area_detector_tiff`:
    one event per file, with the image, the NDArray's unique id and time stamps, and the
    NDAttributes that change from file to file.

    Examples
    --------
    .. code-block:: yaml

        sources:
          sample_scan:
            driver: bluesky-area-detector-tiff
            args:
              pattern: "{{ CATALOG_DIR }}/data/detector/sample_*.tif"
              lazy: true
    """

    name = "bluesky-area-detector-tiff"
    ingestor_name = "area_detector_tiff"
