"""intake driver for the PANalytical XRDML ingestor of :mod:`intake_ingest.ingestors.xrdml`."""

from .base import IngestedRun

__all__ = ["XrdmlRun"]


class XrdmlRun(IngestedRun):
    """One scan of an XRDML file as a run (:func:`~intake_ingest.ingestors.xrdml.ingest_xrdml`).

    Examples
    --------
    .. code-block:: yaml

        sources:
          powder_pattern:
            driver: bluesky-xrdml
            args:
              filename: "{{ CATALOG_DIR }}/data/sample.xrdml"
              scan: 1   # counting <scan> elements from 1 over the file
    """

    name = "bluesky-xrdml"
    ingestor_name = "xrdml"
