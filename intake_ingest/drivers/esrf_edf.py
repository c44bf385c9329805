"""intake driver for the ESRF EDF ingestor of :mod:`intake_ingest.ingestors.esrf_edf`."""

from .base import IngestedRun

__all__ = ["EsrfEdfRun"]


class EsrfEdfRun(IngestedRun):
    """An EDF file, or a numbered series of them, as one run
    (:func:`~intake_ingest.ingestors.esrf_edf.ingest_esrf_edf`).

    Examples
    --------
    .. code-block:: yaml

        sources:
          mesh_scan:
            driver: bluesky-esrf-edf
            args:
              pattern: "{{ CATALOG_DIR }}/data/id01/mesh_0042.edf"
              timezone: Europe/Paris
    """

    name = "bluesky-esrf-edf"
    ingestor_name = "esrf_edf"
