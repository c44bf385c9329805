"""intake driver for the Dectris Eiger ingestor of :mod:`intake_ingest.ingestors.hdf5.eiger`."""

from .base import IngestedRun

__all__ = ["EigerHdf5Run"]


class EigerHdf5Run(IngestedRun):
    """An Eiger series (master file + data files) as one run (:func:`~intake_ingest.ingestors.hdf5.eiger.ingest_eiger`).

    Frames stay in the data files until the run is read (Resource/Datum documents,
    filled by the ``HDF5_FRAMES`` handler).

    Examples
    --------
    .. code-block:: yaml

        sources:
          lysozyme_1:
            driver: bluesky-eiger-hdf5
            args:
              filename: "{{ CATALOG_DIR }}/data/eiger/lysozyme_1_master.h5"
    """

    name = "bluesky-eiger-hdf5"
    ingestor_name = "eiger_hdf5"
