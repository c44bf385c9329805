"""Dask arrays that read frames from files when computed: one frame, or many per chunk.

An ingestor gives each event its own frame as a one-chunk dask array
(:func:`lazy_array`): the event holds its frame, whatever reads it. A stream of N such
events, stacked as N one-frame chunks, would cost N tasks and a copy of every pixel to
join them. So each frame array also records *how* it is read (a :class:`FrameRead`),
and :func:`fuse_frames` turns consecutive frames of the same reader into one array
whose chunks hold many frames: one task reads the frames of a chunk, one after the
other, straight into that chunk's array (:func:`read_frames_into`). The graph holds
only module-level functions and their arguments, so it pickles (dask.distributed).

Such an array (a :class:`FramesArray`) hands a one-chunk result over without dask's
defensive copy, and indexed by one frame or a range of frames it reads only those.
Ingestors that read several frames of one file at once (a TIFF stack's pages) build
the same kind of array from their own tasks with :func:`blocks_array`.
"""

import hashlib
from functools import lru_cache
from typing import Callable, NamedTuple

import dask.array as da
import numpy as np
from dask.highlevelgraph import HighLevelGraph

from .errors import IngestError

__all__ = [
    "CHUNK_BYTES",
    "FrameRead",
    "FramesArray",
    "blocks_array",
    "dask_name",
    "frame_read",
    "frames_per_chunk",
    "frame_reads",
    "fuse_frames",
    "lazy_array",
    "lazy_frames",
    "read_frames_into",
    "reads_into",
]

#: Bytes of pixels per chunk of a fused array: dask's usual size, large enough that a
#: series of small images is a few tasks, small enough that a chunk fits in memory.
CHUNK_BYTES = 128 * 2**20

# The attribute of a one-frame dask array that says how to read its frame.
_FRAME_READ = "_intake_ingest_frame_read"


class FrameRead(NamedTuple):
    """How one frame is read: ``read(*args)``; ``version`` names what is read."""

    read: Callable
    args: tuple
    version: str


def reads_into(read):
    """Mark ``read`` as taking ``out=``: the array to read the frame into (no copy).

    A read so marked must check that the frame it finds is of ``out``'s shape and dtype,
    and say which file is wrong if not.
    """
    read.reads_into = True
    return read


def dask_name(prefix, versions):
    """A dask name for what ``versions`` identify (the same versions, the same name)."""
    digest = hashlib.sha1()
    for version in versions:
        digest.update(version.encode("utf-8", "surrogateescape"))
        digest.update(b"\0")
    return f"{prefix}-{digest.hexdigest()}"


def _task_prefix(read):
    return read.__name__.strip("_").replace("_", "-")


def lazy_array(read, args, shape, dtype, version, fusable=True):
    """A one-chunk dask array computed by ``read(*args)``.

    Built from a graph directly: ``dask.delayed`` + ``from_delayed`` costs about 0.5 ms
    per array, 20x more, which dominates building a series of thousands of files.
    ``read`` and ``args`` must pickle, so the array also computes on dask.distributed.
    The array records its :class:`FrameRead` (see :func:`frame_read`), so that a stream
    of such arrays can be read many frames per task (:func:`fuse_frames`).

    Parameters
    ----------
    read : callable
    args : tuple
    shape : tuple of int
    dtype : numpy dtype
    version : str
        Identifies what is read (file URL, its mtime and size, the frame): arrays of the
        same version are the same dask key, so dask computes them once.
    fusable : bool, optional
        If False, the array records no FrameRead: a stream keeps it a task of its own.
    """
    name = dask_name(_task_prefix(read), [version])
    chunks = tuple((int(n),) for n in shape)
    key = (name,) + (0,) * len(shape)
    # A ready meta saves dask inferring one per array: 40% of building a series' events.
    array = da.Array({key: (read, *args)}, name, chunks=chunks, meta=_meta(len(shape), np.dtype(dtype)))
    if fusable:
        setattr(array, _FRAME_READ, FrameRead(read, tuple(args), version))
    return array


@lru_cache(maxsize=None)
def _meta(ndim, dtype):
    return np.empty((0,) * ndim, dtype)


def frame_read(array):
    """The :class:`FrameRead` of an array made by :func:`lazy_array`, else None."""
    return getattr(array, _FRAME_READ, None)


def read_frames_into(reads, out):
    """Read each frame of ``reads`` into its row of ``out``, in order; returns ``out``.

    A read marked with :func:`reads_into` writes into the row itself; any other's
    result is checked against the row's shape and dtype (assignment would broadcast or
    cast silently) and copied in.

    Raises
    ------
    IngestError
        If a frame read is not of the shape and dtype the run declares.
    """
    for row, (read, args, version) in zip(out, reads):
        if getattr(read, "reads_into", False):
            read(*args, out=row)
            continue
        frame = np.asarray(read(*args))
        if frame.shape != row.shape or frame.dtype != row.dtype:
            raise IngestError(
                version.split("|")[0],
                f"gives a frame of shape {frame.shape} {frame.dtype}; the run declares "
                f"{row.shape} {row.dtype} (the file changed since it was ingested?)",
            )
        row[...] = frame
    return out


class _Frames:
    """The FrameReads of one chunk, as one opaque argument of its task.

    Dask walks tuples and lists in a task's arguments looking for keys, at every compute:
    for a chunk of a thousand frames that costs more than reading small images. An
    object of this class is passed as it is.
    """

    __slots__ = ("reads",)

    def __init__(self, reads):
        self.reads = tuple(reads)

    def __len__(self):
        return len(self.reads)

    def __reduce__(self):
        return (_Frames, (self.reads,))


def _read_frames(frames, shape, dtype):
    """One chunk of a fused array (a dask task): the frames read in order into one array."""
    return read_frames_into(frames.reads, np.empty((len(frames),) + tuple(shape), dtype))


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


# The attribute of a FramesArray that makes the array of its frames start:stop.
_SUBSET = "_intake_ingest_subset"


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


def frames_per_chunk(shape, dtype, chunk_bytes=None):
    """How many frames of ``shape`` and ``dtype`` make a chunk of about ``chunk_bytes``."""
    frame_nbytes = max(1, int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize)
    return max(1, (chunk_bytes or CHUNK_BYTES) // frame_nbytes)


def lazy_frames(reads, shape, dtype, chunk_bytes=None):
    """Frames as one dask array ``(len(reads), *shape)``, several frames per chunk.

    Parameters
    ----------
    reads : sequence of FrameRead
        One per frame, in order. Any reader; each chunk's task calls them in turn.
    shape : tuple of int
        Shape of one frame.
    dtype : numpy dtype
    chunk_bytes : int, optional
        Bytes per chunk (default :data:`CHUNK_BYTES`); a chunk holds at least one frame.

    Returns
    -------
    dask.array.Array
        Named after the versions of its frames, so the same frames are the same keys.
    """
    reads = list(reads)
    shape, dtype = tuple(int(n) for n in shape), np.dtype(dtype)
    step = frames_per_chunk(shape, dtype, chunk_bytes)
    blocks = [_Frames(reads[begin : begin + step]) for begin in range(0, len(reads), step)]
    return blocks_array(
        dask_name(f"{_task_prefix(reads[0].read)}-frames", [read.version for read in reads]) if reads else "",
        [((_read_frames, block, shape, dtype), len(block)) for block in blocks],
        shape,
        dtype,
        subset=lambda start, stop: lazy_frames(reads[start:stop], shape, dtype, chunk_bytes),
    )


def blocks_array(name, blocks, shape, dtype, subset=None):
    """A dask array of frames whose chunks are computed by the given tasks.

    Parameters
    ----------
    name : str
        The dask name: it must identify what is read (the file versions), as the task
        keys are ``(name, i, 0, ...)``.
    blocks : list of (tuple, int)
        Per chunk along the first axis: its task (``(function, *args)``, which returns a
        new array of ``(n, *shape)``) and its number of frames ``n``.
    shape : tuple of int
        Shape of one frame.
    dtype : numpy dtype
    subset : callable, optional
        ``subset(start, stop)``: the same kind of array of frames ``start:stop`` only,
        read by their own tasks; used when the array is indexed (see FramesArray).

    Returns
    -------
    FramesArray
    """
    shape, dtype = tuple(int(n) for n in shape), np.dtype(dtype)
    if not blocks:
        return da.empty((0, *shape), dtype=dtype)
    trailing = (0,) * len(shape)
    graph = {(name, index, *trailing): task for index, (task, _) in enumerate(blocks)}
    chunks = (tuple(int(n) for _, n in blocks),) + tuple((n,) for n in shape)
    array = FramesArray(graph, name, chunks=chunks, dtype=dtype)
    if subset is not None:
        setattr(array, _SUBSET, subset)
    return array


def frame_reads(arrays):
    """The :class:`FrameRead` of each array, if all are :func:`lazy_array` frames alike; else None.

    Alike: of one shape and dtype, so that they stack into one array.
    """
    if not arrays:
        return None
    first = arrays[0]
    reads = []
    for array in arrays:
        read = frame_read(array)
        if read is None or array.shape != first.shape or array.dtype != first.dtype:
            return None
        reads.append(read)
    return reads


def fuse_frames(arrays, chunk_bytes=None):
    """One-frame lazy arrays stacked as one array of few chunks, if they all can be; else None.

    Parameters
    ----------
    arrays : sequence
        The values of a field over a stream's events.
    chunk_bytes : int, optional
        Bytes per chunk (default :data:`CHUNK_BYTES`).

    Returns
    -------
    dask.array.Array or None
        The frames in order, as :func:`lazy_frames` makes them, if :func:`frame_reads`
        finds how to read every one; None otherwise.
    """
    reads = frame_reads(arrays)
    if reads is None:
        return None
    return lazy_frames(reads, arrays[0].shape, arrays[0].dtype, chunk_bytes)
