"""intake driver for :mod:`intake_ingest.ingestors.hdf5.area_detector` (areaDetector NDFileHDF5)."""

from .base import IngestedRun

__all__ = ["AreaDetectorHdf5Run"]


class AreaDetectorHdf5Run(IngestedRun):
    """One numbered series of areaDetector NDFileHDF5 files as one run.

    Made by :func:`~intake_ingest.ingestors.hdf5.area_detector.ingest_area_detector_hdf5`:
    one event per frame, with the image, the NDArray's unique id and time stamps, and the
    NDAttributes that change from frame to frame.

    Examples
    --------
    .. code-block:: yaml

        sources:
          lambda_scan:
            driver: bluesky-area-detector-hdf5
            args:
              pattern: "{{ CATALOG_DIR }}/data/lambda/scan_*.h5"
              lazy: true
    """

    name = "bluesky-area-detector-hdf5"
    ingestor_name = "area_detector_hdf5"
