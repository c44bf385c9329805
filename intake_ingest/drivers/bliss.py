"""intake driver for the BLISS ingestor of :mod:`intake_ingest.ingestors.hdf5.bliss`."""

from .base import IngestedRun

__all__ = ["EsrfBlissRun"]


class EsrfBlissRun(IngestedRun):
    """One scan of an ESRF BLISS HDF5 file as one run (:func:`~intake_ingest.ingestors.hdf5.bliss.ingest_bliss`).

    Examples
    --------
    .. code-block:: yaml

        sources:
          scan_2:
            driver: bluesky-esrf-bliss
            args:
              filename: "{{ CATALOG_DIR }}/RAW_DATA/sample/sample_0001/sample_0001.h5"
              scan: "2.1"
    """

    name = "bluesky-esrf-bliss"
    ingestor_name = "esrf_bliss"
