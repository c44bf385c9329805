"""Values and attributes read from HDF5, as plain Python values for documents.

Every HDF5 ingestor reads strings, units, scalars and dates the same way, whatever the
writer (h5py, IGOR, LabVIEW, EPICS, BLISS): fixed- or variable-length bytes, one-element
arrays, numpy scalars all come out as ``str``, ``int``, ``float`` or lists of them.
"""

import datetime
import re

import h5py
import numpy as np

from ...natural_order import natural_key

__all__ = [
    "natural_key",
    "parse_time",
    "plain",
    "read_scalar",
    "scalar_data_key",
    "text",
    "texts",
    "units_of",
]


def text(value):
    """An attribute or string value as ``str``; None for None.

    HDF5 writers store strings as fixed-length bytes, variable-length strings, or
    one-element arrays of either (IGOR, canSAS writers); all read as ``str`` here.
    """
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        if value.size != 1:
            return None
        value = value.reshape(-1)[0]
    if isinstance(value, (bytes, np.bytes_)):
        return value.decode("utf-8", "replace")
    return str(value)


def texts(value):
    """A list of strings from an attribute that is an array of strings, or one string.

    One string may list several names separated by ``:`` or ``,`` (the NeXus 1 and
    canSAS conventions for ``axes``: ``'x:y'``, ``'Q,Q'``).
    """
    if value is None:
        return []
    if isinstance(value, np.ndarray) and value.size > 1:
        return [text(item) for item in value.reshape(-1)]
    single = text(value)
    if not single:
        return []
    return [part.strip() for part in re.split(r"[:,]", single) if part.strip()]


def plain(value):
    """A value read from HDF5 as a plain Python value (for documents and msgpack)."""
    if isinstance(value, np.ndarray):
        if value.size == 1:
            value = value.reshape(-1)[0]
        else:
            return [plain(item) for item in value.tolist()]
    if isinstance(value, (bytes, np.bytes_)):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.generic):
        return value.item()
    return value


def units_of(dataset):
    """The ``@units`` attribute of a dataset (``@unit`` as some writers spell it), or None."""
    for name in ("units", "unit"):
        if name in dataset.attrs:
            return text(dataset.attrs[name])
    return None


def read_scalar(dataset):
    """The value of a scalar (or one-element) dataset as a plain value; None for arrays."""
    if not isinstance(dataset, h5py.Dataset) or dataset.size != 1 or dataset.dtype.names:
        return None
    try:
        return plain(dataset[()])
    except (OSError, TypeError, ValueError):  # unreadable datatype: leave it out
        return None


def scalar_data_key(value, source, dtype=None, units=None):
    """A descriptor data key for a scalar value (a reading or a configuration value)."""
    if isinstance(value, bool):
        key = {"dtype": "boolean", "dtype_numpy": "|b1"}
    elif isinstance(value, int):
        key = {"dtype": "integer", "dtype_numpy": np.dtype(dtype or np.int64).str}
    elif isinstance(value, float):
        key = {"dtype": "number", "dtype_numpy": np.dtype(dtype or np.float64).str}
    else:
        key = {"dtype": "string"}
    key.update(shape=[], source=str(source))
    if units:
        key["units"] = units
    return key


def parse_time(value):
    """Seconds since the epoch of an ISO 8601 date, or None if it is not one.

    A date without a time zone is read as local time, as the writing program's clock
    most likely kept it.
    """
    value = text(value)
    if not value:
        return None
    value = value.strip().replace(" ", "T", 1)
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    try:
        return datetime.datetime.fromisoformat(value).timestamp()
    except ValueError:
        return None
