"""intake driver for the MCA spectra ingestor of :mod:`intake_ingest.ingestors.mca`."""

from .base import IngestedRun

__all__ = ["McaRun"]


class McaRun(IngestedRun):
    """The spectra of an ``.mca`` file as a run (:func:`~intake_ingest.ingestors.mca.ingest_mca`).

    Examples
    --------
    .. code-block:: yaml

        sources:
          fluorescence:
            driver: bluesky-mca
            args:
              filename: "{{ CATALOG_DIR }}/data/sample.mca"
              scan: "2.1"   # SPEC-style files with several scans only
    """

    name = "bluesky-mca"
    ingestor_name = "mca"
