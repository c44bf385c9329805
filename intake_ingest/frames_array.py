"""``FramesArray``: a dask array of frames whose chunks are handed over without a copy.

Made by :func:`intake_ingest.lazy.blocks_array` (and so by the lazy ingestors); kept
apart from :mod:`intake_ingest.lazy` because defining it imports dask.array, which
an eager read never needs.
"""

import dask.array as da
import numpy as np
from dask.highlevelgraph import HighLevelGraph

from .lazy import _SUBSET, _meta, dask_name

__all__ = ["FramesArray"]


class FramesArray(da.Array):
    """A dask array of frames read by this package's tasks, each chunk a new array.

    Computing a one-chunk dask array copies the chunk (dask's ``finalize`` cannot know
    that nobody else holds it); a chunk of this array is made by its read task for the
    caller alone, so it is handed over as it is.

    Indexing the first axis with an integer or a slice of step 1 gives an array of the
    same kind that reads only the frames selected (a viewer showing frame 5 of a series
    reads one file, not the chunk's hundred), and one frame is handed over without a
    copy too. Other arrays derived from it are plain dask arrays.
    """

    __slots__ = ()

    def __dask_postcompute__(self):
        if self.npartitions == 1:
            return _only_chunk, ()
        return super().__dask_postcompute__()

    def __getitem__(self, key):
        selection = _first_axis_range(key, self.shape[0])
        if selection is None:
            return super().__getitem__(key)
        start, stop, is_integer, rest = selection
        part = self
        subset = getattr(self, _SUBSET, None)
        if subset is not None and (start, stop) != (0, self.shape[0]):
            part, start, stop = subset(start, stop), 0, stop - start
        if is_integer:
            part = part._frame(start)
        elif (start, stop) != (0, part.shape[0]):
            return da.Array.__getitem__(part, (slice(start, stop), *rest))
        if part is None:  # chunked along a frame's own axes: dask picks the frame
            return super().__getitem__(key)
        if all(isinstance(index, slice) and index == slice(None) for index in rest) or rest == (Ellipsis,):
            return part
        return da.Array.__getitem__(part, ((slice(None),) if not is_integer else ()) + tuple(rest))

    def _frame(self, index):
        """Frame ``index`` as a one-chunk FramesArray, read by its chunk's task; None if
        the array is chunked along other axes than the first."""
        if any(len(chunks) > 1 for chunks in self.chunks[1:]):
            return None
        bounds = np.cumsum((0,) + self.chunks[0])
        block = int(np.searchsorted(bounds, index, side="right")) - 1
        trailing = (0,) * (self.ndim - 1)
        name = dask_name("frame", [self.name, str(index)])
        task = (_frame_of_block, (self.name, block, *trailing), index - int(bounds[block]))
        graph = HighLevelGraph.from_collections(name, {(name, *trailing): task}, dependencies=[self])
        frame_chunks = tuple((n,) for n in self.shape[1:])
        return FramesArray(graph, name, chunks=frame_chunks, meta=_meta(self.ndim - 1, self.dtype))


def _frame_of_block(block, index):
    """Frame ``index`` of a chunk just read (a dask task): the chunk's own memory if it
    is the chunk's only frame, else a copy (a view would keep the other frames alive)."""
    return block[index] if len(block) == 1 else block[index].copy()


def _first_axis_range(key, length):
    """``(start, stop, is_integer, rest of key)`` if ``key`` picks frames start:stop; else None.

    Only an integer or a slice of step 1 on the first axis qualifies (anything else,
    or an index out of range, is left to dask, which says what is wrong).
    """
    key = key if isinstance(key, tuple) else (key,)
    if not key:
        return None
    first, rest = key[0], key[1:]
    if isinstance(first, (int, np.integer)) and not isinstance(first, (bool, np.bool_)):
        index = int(first) + length if int(first) < 0 else int(first)
        return (index, index + 1, True, rest) if 0 <= index < length else None
    if isinstance(first, slice) and first.step in (None, 1):
        start, stop, _ = first.indices(length)
        return (start, stop, False, rest) if start < stop else None
    return None


def _only_chunk(results):
    while isinstance(results, (tuple, list)):
        (results,) = results
    return results
