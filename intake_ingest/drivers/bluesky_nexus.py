"""intake driver for the ingestor of :mod:`intake_ingest.ingestors.hdf5.bluesky_nexus`."""

from .base import IngestedRun

__all__ = ["BlueskyNexusRun"]


class BlueskyNexusRun(IngestedRun):
    """A Bluesky run saved by apstools' NXWriter (:func:`~intake_ingest.ingestors.hdf5.bluesky_nexus.ingest_bluesky_nexus`).

    The run keeps the uid it had when it was taken, so a catalog holding both the
    original run and this copy has one entry for them.

    Examples
    --------
    .. code-block:: yaml

        sources:
          scan_12:
            driver: bluesky-bluesky-nexus
            args:
              filename: "{{ CATALOG_DIR }}/data/nexus/20240201-100000-S00012-1a2b3c4.hdf"
    """

    name = "bluesky-bluesky-nexus"
    ingestor_name = "bluesky_nexus"
