"""intake drivers for the TIFF ingestors of :mod:`intake_ingest.ingestors.tiff`."""

from .base import IngestedRun

__all__ = ["TiffSeriesRun", "TiffSeriesDaskRun", "TiffStackRun"]


class TiffSeriesRun(IngestedRun):
    """A series of single-image TIFF files as one run (:func:`~intake_ingest.ingest_tiff_series`).

    Examples
    --------
    .. code-block:: yaml

        sources:
          scan_0001:
            driver: bluesky-tiff-series
            args:
              pattern: "{{ CATALOG_DIR }}/data/scan_0001/*.tiff"
    """

    name = "bluesky-tiff-series"
    ingestor_name = "tiff_series"


class TiffSeriesDaskRun(IngestedRun):
    """A TIFF series whose images are read lazily (:func:`~intake_ingest.ingest_tiff_series_dask`).

    Examples
    --------
    .. code-block:: yaml

        sources:
          scan_0001_lazy:
            driver: bluesky-tiff-series-dask
            args:
              pattern: "{{ CATALOG_DIR }}/data/scan_0001/*.tiff"
    """

    name = "bluesky-tiff-series-dask"
    ingestor_name = "tiff_series_dask"


class TiffStackRun(IngestedRun):
    """One multi-page TIFF file as one run (:func:`~intake_ingest.ingest_tiff_stack`).

    Examples
    --------
    .. code-block:: yaml

        sources:
          stack:
            driver: bluesky-tiff-stack
            args:
              filename: "{{ CATALOG_DIR }}/data/stack/stack.tiff"
              lazy: true
    """

    name = "bluesky-tiff-stack"
    ingestor_name = "tiff_stack"
