"""intake driver for the XDI ingestor of :mod:`intake_ingest.ingestors.xdi`."""

from .base import IngestedRun

__all__ = ["XdiRun"]


class XdiRun(IngestedRun):
    """One XAS Data Interchange (``.xdi``) file as one run, one event per data row.

    See :func:`~intake_ingest.ingestors.xdi.ingest_xdi`.

    Examples
    --------
    .. code-block:: yaml

        sources:
          cu_foil:
            driver: bluesky-xdi
            args:
              filename: "{{ CATALOG_DIR }}/data/cu_metal_rt.xdi"
    """

    name = "bluesky-xdi"
    ingestor_name = "xdi"
