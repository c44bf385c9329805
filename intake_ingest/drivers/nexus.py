"""intake driver for the NeXus ingestor of :mod:`intake_ingest.ingestors.hdf5.nexus`."""

from .base import IngestedRun

__all__ = ["NexusHdf5Run"]


class NexusHdf5Run(IngestedRun):
    """One NXentry of a NeXus HDF5 file as one run (:func:`~intake_ingest.ingestors.hdf5.nexus.ingest_nexus`).

    Without ``entry``, the file's default entry (its ``@default`` attribute, else the
    first NXentry) is read.

    Examples
    --------
    .. code-block:: yaml

        sources:
          scan_12:
            driver: bluesky-nexus-hdf5
            args:
              filename: "{{ CATALOG_DIR }}/data/nexus/scans.nxs"
              entry: S12
    """

    name = "bluesky-nexus-hdf5"
    ingestor_name = "nexus_hdf5"
