"""What an HDF5 dataset declares against what its file stores, checked before reading it.

A dataset's shape is a few bytes of header: a damaged or hostile file can declare 4e9
values (or Eiger frames of 20000 x 20000 pixels) in a file of 28 KB, and reading it
whole would allocate the declared size, filled from the dataset's fill value. HDF5 says
how many bytes it stores for a dataset (``H5Dget_storage_size``, a metadata query that
reads no data), so the declared size can be checked first, at the cost of one call
(see :func:`.._common.check_declared_size` for the rule and its ceiling for compressed
data).
"""

import h5py
import numpy as np

from .._common import check_declared_size

__all__ = ["check_dataset_size", "stored_bytes"]


def stored_bytes(dataset):
    """Bytes the file stores for the dataset; None where that bounds nothing.

    A virtual dataset (its data in other datasets) and one with external raw storage
    store nothing in the dataset itself: None, nothing is checked.
    """
    try:
        if dataset.is_virtual or dataset.external:
            return None
        return int(dataset.id.get_storage_size())
    except (OSError, RuntimeError, ValueError):  # a damaged header: the read reports it
        return None


def _is_filtered(dataset):
    """True if the dataset's chunks pass through any filter (gzip, LZ4, bitshuffle...)."""
    try:
        return dataset.id.get_create_plist().get_nfilters() > 0
    except (OSError, RuntimeError, ValueError):
        return True  # unknown: allow the generous bound rather than refuse a good file


def check_dataset_size(url, dataset, what=None):
    """Refuse a dataset whose declared size its file does not store, before reading it.

    Parameters
    ----------
    url : str
        The file the user named (an ingested file, or the data file a link leads to).
    dataset : h5py.Dataset
    what : str, optional
        What the dataset is, for the message; by default its path.

    Raises
    ------
    IngestError
        Naming ``url`` and the dataset, if its shape declares more than
        :data:`.._common.ALLOCATION_FLOOR` bytes and more than the file stores for it
        (times :data:`.._common.MAX_DECOMPRESSION_RATIO` if its chunks are filtered).
    """
    if not isinstance(dataset, h5py.Dataset) or dataset.shape is None:
        return
    itemsize = dataset.dtype.itemsize if h5py.check_string_dtype(dataset.dtype) is None else 1
    nbytes = int(np.prod(dataset.shape, dtype=object)) * itemsize
    check_declared_size(
        url,
        nbytes,
        stored_bytes(dataset),
        f"{what or repr(dataset.name)} of shape {tuple(dataset.shape)} {dataset.dtype}",
        compressed=_is_filtered(dataset),
    )
