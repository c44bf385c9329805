"""Frames of HDF5 image datasets: their layout, and reading them at once or chunk by chunk.

Shared by the HDF5 ingestors (areaDetector NDFileHDF5, and any other that keeps a stack
of detector frames in one dataset) and by the ``HDF5_FRAMES`` handler.

A dataset of frames has ``frame_ndim`` trailing dimensions per frame (2 for an image)
and any number of leading dimensions, which count frames in C order: a 2-D dataset is
one image, ``(n, y, x)`` is n images, ``(a, b, y, x)`` is a*b images.

Lazily, a dataset is a dask array with **one task per HDF5 chunk along the first axis**:
a dataset chunked ``(4, y, x)`` is read four frames per task, each chunk decompressed
once, however many of its frames are asked for; a contiguous dataset is read a frame
per task (a contiguous read costs the same whichever frames it covers, so finer tasks
only save work). ``hdf5plugin`` is imported with the handler module, so bitshuffle/LZ4,
Blosc and the other filters of detector files are registered before any chunk is read.
"""

import threading
from collections import OrderedDict

import dask.array as da
import h5py
import numpy as np

from ...errors import IngestError
from ...lazy import blocks_array, dask_name
from .tree import HDF5_ERRORS, open_source

__all__ = ["FrameLayout", "frame_layout", "lazy_frames", "read_frames_into"]


class FrameLayout:
    """Where a dataset's frames are, their count, shape, type and chunking.

    Parameters
    ----------
    dataset_path : str
        Absolute path of the dataset in its file.
    shape : tuple of int
        The dataset's shape.
    dtype : numpy.dtype
    chunks : tuple of int or None
        HDF5 chunk shape; None for a contiguous (or compact) dataset.
    frame_ndim : int
        Trailing dimensions that make one frame.
    """

    def __init__(self, dataset_path, shape, dtype, chunks, frame_ndim):
        self.dataset_path = dataset_path
        self.shape = tuple(int(n) for n in shape)
        self.dtype = np.dtype(dtype)
        self.chunks = tuple(chunks) if chunks else None
        self.frame_ndim = int(frame_ndim)
        # Asked for per block of frames when a graph is built: worked out once.
        split = len(self.shape) - self.frame_ndim
        self.frame_shape, self.leading_shape = self.shape[split:], self.shape[:split]
        #: Frames per index of the first axis (1 unless there are extra leading dimensions).
        self.frames_per_row = int(np.prod(self.leading_shape[1:], dtype=np.int64)) if self.leading_shape else 1
        self.n_frames = int(np.prod(self.leading_shape, dtype=np.int64)) if self.leading_shape else 1

    def row_blocks(self):
        """``(begin, end)`` ranges of the first axis, one per HDF5 chunk along it.

        One block for a single image (no leading dimension), one row per block for a
        contiguous dataset.
        """
        if not self.leading_shape:
            return [(0, 1)]
        rows = self.shape[0]
        step = max(1, self.chunks[0]) if self.chunks else 1
        return [(begin, min(begin + step, rows)) for begin in range(0, rows, step)]

    def __repr__(self):
        return (
            f"FrameLayout({self.dataset_path!r}, shape={self.shape}, dtype={self.dtype}, "
            f"chunks={self.chunks}, frame_ndim={self.frame_ndim})"
        )


def frame_layout(dataset, frame_ndim=None):
    """The FrameLayout of an open h5py dataset.

    Parameters
    ----------
    dataset : h5py.Dataset
    frame_ndim : int, optional
        Dimensions per frame; by default 2 (an image), or all of them for a dataset of
        fewer than 2 dimensions.
    """
    if frame_ndim is None:
        frame_ndim = min(2, dataset.ndim)
    frame_ndim = max(0, min(int(frame_ndim), dataset.ndim))
    return FrameLayout(dataset.name, dataset.shape, dataset.dtype, dataset.chunks, frame_ndim)


def _checked_dataset(source, h5, layout):
    """The dataset, checked to still be what the layout says (the file may have changed)."""
    dataset = h5.get(layout.dataset_path)
    if not isinstance(dataset, h5py.Dataset):
        raise IngestError(source.url, f"has no dataset {layout.dataset_path!r} any more")
    if tuple(dataset.shape) != layout.shape or dataset.dtype != layout.dtype:
        raise IngestError(
            source.url,
            f"{layout.dataset_path!r} is {dataset.shape} {dataset.dtype} now; it was "
            f"{layout.shape} {layout.dtype} when the run was made (the file changed)",
        )
    return dataset


def _read_rows(source, dataset, layout, begin, end, out):
    """Rows ``begin:end`` of the first axis straight into ``out`` (frames x frame shape)."""
    try:
        if not layout.leading_shape:
            dataset.read_direct(out.reshape(layout.shape))
        else:
            destination = out.reshape((end - begin,) + layout.shape[1:])
            dataset.read_direct(destination, np.s_[begin:end])
    except (OSError, ValueError, RuntimeError) as error:  # a damaged chunk, a filter not available
        raise IngestError(
            source.url, f"frames of {layout.dataset_path!r} cannot be read ({error})"
        ) from None


def read_frames_into(source, layout, out):
    """Every frame of the dataset, read into ``out`` (shape ``(n_frames, *frame_shape)``).

    The file is opened once; frames go straight from HDF5 into ``out`` (no copy).

    Raises
    ------
    IngestError
        Naming the file, if it cannot be opened or a chunk cannot be read.
    """
    with open_source(source) as file:
        try:
            dataset = _checked_dataset(source, file.h5, layout)
        except HDF5_ERRORS as error:
            raise IngestError(source.url, f"cannot be read ({error})") from None
        _read_rows(source, dataset, layout, 0, layout.shape[0] if layout.leading_shape else 1, out)
    return out


# -- lazy reading ------------------------------------------------------------------------

#: Open files kept per process for the tasks of lazy arrays: opening an HDF5 file costs
#: about as much as reading a small chunk, and tasks of one dataset come in runs.
OPEN_FILES = 16
_open_files = OrderedDict()  # version -> HDF5File
_open_files_lock = threading.Lock()


def _open_cached(source, version):
    with _open_files_lock:
        file = _open_files.get(version)
        if file is not None:
            _open_files.move_to_end(version)
            return file
    file = open_source(source)
    with _open_files_lock:
        if version in _open_files:  # another thread opened it meanwhile: keep one
            file.close()
            return _open_files[version]
        _open_files[version] = file
        while len(_open_files) > OPEN_FILES:
            _, oldest = _open_files.popitem(last=False)
            oldest.close()
    return file


def _read_block(source, version, layout, begin, end):
    """The frames of rows ``begin:end`` (one dask task), as ``(frames, *frame_shape)``."""
    file = _open_cached(source, version)
    try:
        dataset = _checked_dataset(source, file.h5, layout)
    except HDF5_ERRORS as error:
        raise IngestError(source.url, f"cannot be read ({error})") from None
    out = np.empty(((end - begin) * layout.frames_per_row,) + layout.frame_shape, layout.dtype)
    _read_rows(source, dataset, layout, begin, end, out)
    return out


def file_version(source):
    """What identifies this version of a file: its URL, modification time and size."""
    return f"{source.url}|{source.mtime}|{source.size}"


def lazy_frames(files, start=0, stop=None):
    """The frames of one dataset per file, as one dask array; nothing read now.

    One task per HDF5 chunk along a dataset's first axis (see the module's description);
    each task is named after its file's URL, modification time and size, and the
    dataset, so the same version of a file is the same task in every graph. The array is
    a :class:`~intake_ingest.lazy.FramesArray`: one frame of it (``frames[3]``) is one
    task reading only that frame, handed over without a copy.

    Parameters
    ----------
    files : list of (SourceFile, FrameLayout)
        In order; every layout of one frame shape and dtype.
    start, stop : int, optional
        Only frames ``start:stop`` of them all (default: every frame).

    Returns
    -------
    dask.array.Array
        ``(frames, *frame_shape)``.
    """
    files = list(files)
    frame_shape, dtype = files[0][1].frame_shape, files[0][1].dtype
    total = sum(layout.n_frames for _, layout in files)
    stop = total if stop is None else stop
    blocks, versions, offset = [], [], 0
    for source, layout in files:
        version = file_version(source)
        versions.append(f"{version}|{layout.dataset_path}|{layout.shape}")
        for begin, end in layout.row_blocks():
            rows = layout.frames_per_row
            first, last = offset + begin * rows, offset + end * rows  # frames of this block
            if layout.frames_per_row == 1:  # read only the frames asked for
                begin, end = max(begin, start - offset), min(end, stop - offset)
            if max(first, start) < min(last, stop):
                task = (_read_block, source, version, layout, begin, end)
                blocks.append((task, (end - begin) * rows))
        offset += layout.n_frames
    if not blocks:  # datasets of 0 frames (a capture stopped before its first frame)
        return da.empty((0, *frame_shape), dtype=dtype)
    # Rows of several frames each cannot be cut at any frame: only those of one frame are.
    subset = None
    if all(layout.frames_per_row == 1 for _, layout in files):
        subset = lambda begin, end: lazy_frames(files, start + begin, start + end)  # noqa: E731
    return blocks_array(dask_name("hdf5-frames", versions + [f"{start}:{stop}"]), blocks, frame_shape, dtype, subset)
