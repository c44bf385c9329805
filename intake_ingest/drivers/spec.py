"""intake driver for the SPEC ingestor of :mod:`intake_ingest.ingestors.spec`."""

from .base import IngestedRun

__all__ = ["SpecRun"]


class SpecRun(IngestedRun):
    """One scan of a SPEC data file as a run (:func:`~intake_ingest.ingestors.spec.ingest_spec`).

    Examples
    --------
    .. code-block:: yaml

        sources:
          alignment_scan:
            driver: bluesky-spec
            args:
              filename: "{{ CATALOG_DIR }}/data/spec/sample.spec"
              scan: "3.1"   # scan number 3, its first occurrence in the file
    """

    name = "bluesky-spec"
    ingestor_name = "spec"
