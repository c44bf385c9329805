"""Build an ``xarray.Dataset`` from the descriptors and events of one stream."""

import itertools
import operator
import uuid

import numpy as np
import pandas as pd
import xarray as xr
from xarray.indexes import PandasIndex

from ..lazy import frame_reads, fuse_frames, is_dask_array, is_dask_array_type, lazy_frames, read_frames_into

__all__ = ["stream_to_dataset"]


def _is_dask(value):
    return is_dask_array(value)


class _Column:
    """The values of one field over a stream, as runs of row values and page blocks, in order.

    Rows (from events) and blocks (from event pages) are joined once at the end, so a
    series of N images costs one copy into the result, not one per event. Consecutive
    rows are kept in one list, added a run of events at a time.
    """

    def __init__(self):
        self.parts = []  # ("rows", list of row values) or ("block", array with leading time axis)

    def add_rows(self, values):
        if len(values) == 0:
            return
        if self.parts and self.parts[-1][0] == "rows":
            self.parts[-1][1].extend(values)
        else:
            self.parts.append(("rows", list(values)))

    def add_block(self, values):
        self.parts.append(("block", values))

    def _pieces(self):
        """Runs of consecutive rows as lists, blocks as they are, in order."""
        for kind, values in self.parts:
            yield kind == "block", values

    def join(self, lazy, dtype=None):
        """All values along a leading time axis: dask if ``lazy``, else numpy."""
        if not lazy and len(self.parts) == 1 and self.parts[0][0] == "rows":
            values = self.parts[0][1]
            if set(map(type, values)) <= _PLAIN_NUMBERS:
                return np.asarray(values, dtype=dtype)  # what the general way below comes to
        pieces = list(self._pieces())
        if lazy:
            import dask.array as da  # only lazy reads need dask; eager ones never import it

            arrays = [
                _as_dask(piece) if is_block else _stack_rows_dask(piece, dtype)
                for is_block, piece in pieces
            ]
            return arrays[0] if len(arrays) == 1 else da.concatenate(arrays)
        if any(_is_dask(piece) if is_block else _any_dask(piece) for is_block, piece in pieces):
            return _read_into_one_array(pieces, dtype)
        view = _view_of_one_buffer(self.parts)
        if view is not None:
            return view
        arrays = [
            np.asarray(piece) if is_block else _stack_rows(piece, dtype) for is_block, piece in pieces
        ]
        return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)


#: Types of the values of scalar readings (a float per event): one array of them, at once.
_PLAIN_NUMBERS = frozenset({float, int, bool})


def _any_dask(values):
    """True if any of ``values`` is a dask array (their types compared, not each value)."""
    return any(is_dask_array_type(kind) for kind in set(map(type, values)))


def _read_into_one_array(pieces, dtype=None):
    """Pieces of which some are lazy, computed into one preallocated array.

    Each piece is written into its rows of the result as it is read: frames of lazy
    reads (see :mod:`intake_ingest.lazy`) straight from their files, other dask arrays
    chunk by chunk, so the peak memory is the result plus a chunk, not twice the result.
    """
    parts = []  # (reads or None, array-like with a leading time axis)
    for is_block, piece in pieces:
        if is_block:
            parts.append((None, piece))
            continue
        reads = frame_reads(piece)
        if reads is not None:
            parts.append((reads, lazy_frames(reads, piece[0].shape, piece[0].dtype)))
        else:
            parts.append((None, _stack_rows_dask(piece, dtype)))
    if len(parts) == 1 and parts[0][0] is None and _is_dask(parts[0][1]) and parts[0][1].npartitions == 1:
        # One chunk (a small lazy stack): its task's array is the result, no second buffer.
        return np.asarray(parts[0][1].compute())
    row_shapes = {tuple(array.shape[1:]) for _, array in parts}
    if len(row_shapes) > 1:
        raise ValueError(f"rows of different shapes {sorted(row_shapes)} do not join into one array")
    out_dtype = np.result_type(*(array.dtype for _, array in parts))
    out = np.empty((sum(len(array) for _, array in parts),) + row_shapes.pop(), out_dtype)
    begin = 0
    for reads, array in parts:
        rows = out[begin : begin + len(array)]
        if reads is not None and array.dtype == out_dtype:
            read_frames_into(reads, rows)
        elif _is_dask(array):
            import dask.array as da

            da.store(array, rows, lock=False)
        else:
            rows[...] = array
        begin += len(array)
    return out


def _view_of_one_buffer(parts):
    """The values as one view, if they are consecutive slices of one array; else None.

    Ingestors that read a series into one buffer yield events holding its rows; joining
    them is then a slice of that buffer instead of a copy of every pixel.
    """
    first_kind, first = parts[0]
    if first_kind == "rows":
        first = first[0]
    if not isinstance(first, np.ndarray) or first.ndim == 0:
        return None
    base = first.base
    if not isinstance(base, np.ndarray) or not base.flags.c_contiguous or base.ndim < 1:
        return None
    row_shape = base.shape[1:]
    row_nbytes = base.itemsize * int(np.prod(row_shape))
    offset = first.__array_interface__["data"][0] - base.__array_interface__["data"][0]
    if row_nbytes == 0 or offset % row_nbytes:
        return None
    begin = end = offset // row_nbytes
    for kind, value in _each_row_or_block(parts):
        if not (
            isinstance(value, np.ndarray)
            and value.base is base
            and value.flags.c_contiguous
            and value.dtype == base.dtype
            and value.__array_interface__["data"][0] == base.__array_interface__["data"][0] + end * row_nbytes
        ):
            return None
        if kind == "row" and value.shape == row_shape:
            end += 1
        elif kind == "block" and value.shape[1:] == row_shape:
            end += value.shape[0]
        else:
            return None
    return base[begin:end]


def _each_row_or_block(parts):
    """``(kind, value)``: each row of the runs of rows as ``("row", value)``, blocks as they are."""
    for kind, values in parts:
        if kind == "rows":
            for value in values:
                yield "row", value
        else:
            yield kind, values


def _as_dask(value):
    """``value`` as a dask array: values in memory as one chunk of a graph of their own.

    Built directly: ``da.from_array`` hashes the values for a name, the cost of a third of
    a lazy stream's Dataset for a run of a few columns. A unique name is as good here.
    """
    import dask.array as da

    if _is_dask(value):
        return value
    value = np.asarray(value)
    name = f"array-{uuid.uuid4().hex}"
    chunks = tuple((n,) for n in value.shape)
    meta = np.empty((0,) * value.ndim, value.dtype)
    return da.Array({(name,) + (0,) * value.ndim: value}, name, chunks=chunks, meta=meta)


def _stack_rows_dask(rows, dtype=None):
    if any(_is_dask(row) for row in rows):
        # Frames each read lazily by one of the package's readers: many frames per task.
        fused = fuse_frames(rows)
        if fused is not None:
            return fused
        import dask.array as da

        return da.stack([_as_dask(row) for row in rows])
    # Values already in memory are stacked once, not wrapped one by one.
    return _as_dask(_stack_rows(rows, dtype))


def _stack_rows(rows, dtype=None):
    first = rows[0]
    if isinstance(first, np.ndarray) and first.ndim > 0:
        # Preallocate and fill: one copy per row, no intermediate list of arrays.
        out = np.empty((len(rows),) + first.shape, dtype=first.dtype)
        for index, row in enumerate(rows):
            if np.shape(row) != first.shape:
                # Assignment would broadcast silently; a changed shape is an error in the run.
                raise ValueError(f"row {index} has shape {np.shape(row)}, row 0 has {first.shape}")
            out[index] = row
        return out
    return np.asarray(rows, dtype=dtype)


def _columns_of_events(docs, keys):
    """The values of each key over ``docs`` (events), one sequence per key, in order of ``keys``.

    Taken in C (``itemgetter`` of every key from each event's data, then transposed), not
    one lookup per key and event in Python.
    """
    if not keys or not docs:
        return [[] for _ in keys]
    datas = [doc["data"] for doc in docs]
    try:
        if len(keys) == 1:
            return [list(map(operator.itemgetter(keys[0]), datas))]
        return list(zip(*map(operator.itemgetter(*keys), datas)))
    except KeyError:
        for key in keys:
            for doc in docs:
                _field(doc, key)  # names the event that lacks the key
        raise


def _field(doc, key):
    try:
        return doc["data"][key]
    except KeyError:
        uid = doc["uid"][0] if isinstance(doc["uid"], list) else doc["uid"]
        raise ValueError(
            f"event {uid} has no value for {key!r}, which its stream's descriptors declare"
        ) from None


def _fill_column(column, data_key, filler, lazy):
    """Replace datum ids (external data) in a column by the arrays they point at."""
    shape = tuple(data_key.get("shape") or ())
    dtype = np.dtype(data_key["dtype_numpy"]) if "dtype_numpy" in data_key else None
    def filled(value):
        nonlocal shape, dtype
        if isinstance(value, str):
            if not lazy:
                value = filler.load(value)
            else:
                if dtype is None:  # learn the dtype from the first datum, once
                    first = filler.load(value)
                    shape, dtype = first.shape, first.dtype
                value = filler.lazy(value, shape, dtype)
        return value

    column.parts = [
        (kind, [filled(value) for value in values] if kind == "rows" else filled(values))
        for kind, values in column.parts
    ]


def stream_to_dataset(descriptors, event_documents, lazy=False, filler=None):
    """The stream's events as a Dataset: one variable per data key, plus seq_num and uid.

    Parameters
    ----------
    descriptors : list of dict
        The descriptors of the stream, in order.
    event_documents : list of (str, dict)
        ``('event', doc)`` and ``('event_page', doc)`` belonging to those descriptors.
    lazy : bool
        If True, array variables are dask arrays and nothing is read or computed.
    filler : Filler, optional
        Reads external data (datum ids of keys whose data key is ``external``); without
        it, such columns hold the datum ids.

    Returns
    -------
    xarray.Dataset
        Dimension ``time`` (the event times, a coordinate), then ``dim_0``, ``dim_1``, ...
        for the extra dimensions of each field unless its data key names ``dims``.
    """
    data_keys = {}
    for descriptor in descriptors:
        for key, data_key in descriptor["data_keys"].items():
            data_keys.setdefault(key, data_key)

    columns = {key: _Column() for key in data_keys}
    times, seq_nums, uids = [], [], []
    # Consecutive events are taken a run at a time: one list per key for the run, not one
    # call per event and key.
    for is_page, group in itertools.groupby(event_documents, key=lambda item: item[0] != "event"):
        docs = [doc for _, doc in group]
        if not is_page:
            times.extend(doc["time"] for doc in docs)
            seq_nums.extend(doc["seq_num"] for doc in docs)
            uids.extend(doc["uid"] for doc in docs)
            for column, values in zip(columns.values(), _columns_of_events(docs, list(columns))):
                column.add_rows(values)
            continue
        for doc in docs:  # event_page
            times.extend(doc["time"])
            seq_nums.extend(doc["seq_num"])
            uids.extend(doc["uid"])
            length = len(doc["time"])
            for key, column in columns.items():
                values = _field(doc, key)
                if len(values) != length:
                    raise ValueError(
                        f"event page starting with event {doc['uid'][0]} has {len(values)} "
                        f"values of {key!r} for {length} times"
                    )
                if isinstance(values, np.ndarray) or _is_dask(values):
                    column.add_block(values)
                else:
                    column.add_rows(values)

    if filler is not None:
        for key, data_key in data_keys.items():
            if data_key.get("external"):
                _fill_column(columns[key], data_key, filler, lazy)

    dim_counter = itertools.count()
    data_vars = {}
    for key, data_key in data_keys.items():
        dtype = np.dtype(data_key["dtype_numpy"]) if "dtype_numpy" in data_key else None
        if times:
            values = columns[key].join(lazy, dtype)
        else:
            shape = tuple(data_key.get("shape") or ())
            values = np.empty((0,) + shape, dtype=dtype or float)
        extra_dims = data_key.get("dims")
        if not extra_dims or len(extra_dims) != values.ndim - 1:
            extra_dims = [f"dim_{next(dim_counter)}" for _ in range(values.ndim - 1)]
        data_vars[key] = (("time", *extra_dims), values)
    data_vars["seq_num"] = ("time", np.asarray(seq_nums, dtype=np.int64))
    data_vars["uid"] = ("time", np.asarray(uids, dtype=str) if uids else np.asarray([], dtype="<U36"))
    return _dataset(data_vars, np.asarray(times, dtype=np.float64))


#: xarray's constructor of a Dataset from consistent parts, or None in an xarray without it.
_construct_direct = getattr(xr.Dataset, "_construct_direct", None)


def _dataset(data_vars, times):
    """``xr.Dataset(data_vars, coords={"time": times})``, without xarray's merging where it can.

    xarray's constructor aligns and merges whatever it is given: for a stream of 30 scalar
    columns that is three times the cost of making the variables (reading the 430 scans of
    a SPEC file spent a fifth of its time there). Here the variables are made as the
    constructor makes them (``xr.Variable(dims, values)``, the index of ``time`` as its
    default ``PandasIndex``) and joined by ``Dataset._construct_direct``, which xarray's
    own methods use for variables known to fit together. What the merging would check is
    checked first: one size per dimension, no variable named as a dimension. In any other
    case, or with an xarray without it, ``xr.Dataset`` builds the result (and raises its
    own errors). ``tests/run/test_to_xarray.py`` compares both results.
    """
    construct = _construct_direct
    if construct is not None:
        try:
            variables = {}
            for key, (dims, values) in data_vars.items():
                dims = (dims,) if isinstance(dims, str) else tuple(dims)
                if len(set(dims)) != len(dims):
                    raise ValueError("a dimension named twice")  # xarray warns of it, once
                # numpy arrays of numbers and strings xr.Variable takes as they are (fastpath)
                fastpath = type(values) is np.ndarray and values.dtype.kind not in "OMm"
                variables[key] = xr.Variable(dims, values, fastpath=fastpath)
            sizes = {"time": len(times)}
            for variable in variables.values():
                for dim, size in zip(variable.dims, variable.shape):
                    if sizes.setdefault(dim, size) != size:
                        raise ValueError(f"dimension {dim!r} has two sizes")
            if sizes.keys() & variables.keys():
                raise ValueError("a variable is named as a dimension")
            # xarray's default index of a coordinate (safe_cast_to_index makes pd.Index(times)
            # and PandasIndex names a copy of it): made here named, it is taken as it is.
            index = PandasIndex(pd.Index(times, name="time"), "time")
            variables.update(index.create_variables())
            return construct(variables, {"time"}, dims=sizes, indexes={"time": index})
        except Exception:  # whatever it is, xarray's constructor decides
            pass
    return xr.Dataset(data_vars, coords={"time": times})
