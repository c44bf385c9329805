"""intake drivers for single runs: one small class per ingestor, registered as entry points.

Each is a :class:`~intake_ingest.run.BlueskyRun`, so an entry of a YAML catalog gives
the same run object as the Python API. Arguments are the ingestor's own; constructing
the source pulls only the RunStart.
"""

from .registry import get_ingestor
from .run import BlueskyRun, RunDocuments

__all__ = ["IngestedRun", "TiffSeriesRun", "TiffSeriesDaskRun", "TiffStackRun"]


class IngestedRun(BlueskyRun):
    """A run made by the registered ingestor ``ingestor_name`` from the given arguments.

    Parameters
    ----------
    *args
        Passed to the ingestor (usually a path, glob or URL).
    storage_options : dict, optional
        Passed to fsspec; intake fills it in for catalogs inside archives.
    metadata : dict, optional
        Catalog metadata, kept beside ``start`` and ``stop`` in ``run.metadata``.
    **kwargs
        Passed to the ingestor.
    """

    ingestor_name = None

    def __init__(self, *args, storage_options=None, metadata=None, **kwargs):
        ingestor = get_ingestor(self.ingestor_name)
        generator = ingestor(*args, storage_options=storage_options, **kwargs)
        label = f"{self.ingestor_name}{args!r}"
        super().__init__(RunDocuments(generator, label=label), metadata=metadata)


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
