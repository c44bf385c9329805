"""Dask arrays that read frames from files when computed: one frame, or many per chunk.

An ingestor gives each event its own frame as a one-chunk dask array
(:func:`lazy_array`): the event holds its frame, whatever reads it. A stream of N such
events, stacked as N one-frame chunks, would cost N tasks and a copy of every pixel to
join them. So each frame array also records *how* it is read (a :class:`FrameRead`),
and :func:`fuse_frames` turns consecutive frames of the same reader into one array
whose chunks hold many frames: one task reads the frames of a chunk, one after the
other, straight into that chunk's array (:func:`read_frames_into`). The graph holds
only module-level functions and their arguments, so it pickles (dask.distributed).

Such an array (a :class:`~intake_ingest.frames_array.FramesArray`) hands a one-chunk
result over without dask's defensive copy, and indexed by one frame or a range of
frames it reads only those. Ingestors that read several frames of one file at once (a
TIFF stack's pages) build the same kind of array from their own tasks with
:func:`blocks_array`.

dask is imported only by the functions that make dask arrays: an eager read, whose
events hold numpy arrays, never imports it (:func:`is_dask_array` tells without it).
"""

import hashlib
import importlib
import sys
from functools import lru_cache
from typing import Callable, NamedTuple

import numpy as np

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
    "is_dask_array",
    "is_dask_array_type",
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

# The attribute of a FramesArray that makes the array of its frames start:stop.
_SUBSET = "_intake_ingest_subset"


def __getattr__(name):
    # FramesArray subclasses dask's Array: defined, and dask imported, on first use.
    if name == "FramesArray":
        return importlib.import_module(".frames_array", __package__).FramesArray
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def is_dask_array_type(kind):
    """True if the class ``kind`` is dask's Array or a subclass; never imports dask.

    If ``dask.array`` was never imported, no dask array can exist.
    """
    module = sys.modules.get("dask.array")
    return module is not None and issubclass(kind, module.Array)


def is_dask_array(value):
    """True if ``value`` is a dask array; never imports dask (see :func:`is_dask_array_type`)."""
    return is_dask_array_type(type(value))


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
    import dask.array as da

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
    import dask.array as da

    from .frames_array import FramesArray

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
