"""Frames of an HDF5 dataset, read through h5py from any fsspec filesystem.

The handler of resource spec ``HDF5_FRAMES``, which the Eiger and NeXus ingestors
write: a Resource names a file and a dataset in it, each Datum one frame (one index
along the dataset's first axis)::

    resource_kwargs = {"dataset": "/entry/data/data"}
    datum_kwargs = {"frame": 0}

``hdf5plugin`` is imported first so that the HDF5 compression filters it carries
(bitshuffle/LZ4, the default of Dectris Eiger detectors, LZ4, Blosc, ...) are
registered before any dataset is read.
"""

import atexit
import weakref

import hdf5plugin  # noqa: F401  (registers HDF5 filters: must come before reading data)
import h5py
from fsspec.core import url_to_fs
from fsspec.implementations.local import LocalFileSystem

from ..errors import IngestError, MissingFileError

__all__ = ["HDF5Frames", "HDF5File", "open_hdf5"]


class HDF5File:
    """An open HDF5 file (``.h5``, an ``h5py.File``) and the fsspec file under it.

    h5py reads a local file by its path (fastest, and HDF5 itself seeks); a file on any
    other filesystem is read through an fsspec file object, block by block, so that
    opening a large file reads only the metadata asked for. Usable as a context manager.
    """

    def __init__(self, h5, handle=None, fs=None):
        self.h5 = h5
        self._handle = handle
        # Some filesystems close what they read from when collected (a zip archive's file).
        self._fs = fs
        if handle is not None:
            _files_on_file_objects.add(self)

    def close(self):
        self.h5.close()
        if self._handle is not None:
            self._handle.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


# HDF5 files read through Python file objects must be closed before the interpreter
# tears down those objects: HDF5 closing them later, at its own exit, calls back into
# Python objects already gone and crashes the process. Handlers keep files open (one
# per resource, cached), so some are still open at exit; close them first. atexit runs
# handlers last-registered first, so this runs before h5py's own exit handler.
_files_on_file_objects = weakref.WeakSet()


@atexit.register
def _close_files_on_file_objects():
    for file in list(_files_on_file_objects):
        try:
            file.close()
        except Exception:  # already closed, or its filesystem gone: nothing left to do
            pass


def open_hdf5(fs, path, url=None):
    """Open ``path`` on filesystem ``fs`` read-only with h5py; errors name ``url``.

    Parameters
    ----------
    fs : fsspec.AbstractFileSystem
    path : str
        The path on ``fs``.
    url : str, optional
        How errors name the file (defaults to ``path``).

    Returns
    -------
    HDF5File

    Raises
    ------
    MissingFileError
        If the file does not exist.
    IngestError
        If it is not a readable HDF5 file (not HDF5, truncated).
    """
    url = url or path
    handle = None
    try:
        if isinstance(fs, LocalFileSystem):
            return HDF5File(h5py.File(path, "r"))
        handle = fs.open(path, "rb")
        return HDF5File(h5py.File(handle, "r"), handle, fs)
    except FileNotFoundError:
        _close_quietly(handle)
        raise MissingFileError(url) from None
    except OSError as error:  # h5py's message says what is wrong (signature, truncation)
        _close_quietly(handle)
        raise IngestError(url, f"is not a readable HDF5 file ({error})") from None


def _close_quietly(handle):
    if handle is not None:
        handle.close()


class HDF5Frames:
    """Handler of ``HDF5_FRAMES`` resources: frame ``i`` is ``dataset[i]``.

    The file is opened once, when the handler is made (one handler per resource, see
    :mod:`intake_ingest.run.filling`). Frames are read a chunk at a time: where an HDF5
    chunk holds several frames (``chunks=(4, y, x)``), the frames of the chunk are
    decompressed together once and kept until a frame of another chunk is asked for, so
    reading frames in order decompresses each chunk once, not once per frame.

    Parameters
    ----------
    full_path : str
        Path or fsspec URL of the HDF5 file (``memory://...``, ``zip://...::file://...``).
    dataset : str
        Path of the dataset in the file, e.g. ``'/entry/data/data'``.
    **resource_kwargs
        Other resource arguments, ignored (kept for resources of later versions).

    Examples
    --------
    >>> frames = HDF5Frames("scan_data_000001.h5", dataset="/entry/data/data")  # doctest: +SKIP
    >>> frames(frame=0).shape  # doctest: +SKIP
    (512, 1028)
    """

    def __init__(self, full_path, dataset, **resource_kwargs):
        self._url = full_path
        self._dataset_path = dataset
        try:
            fs, path = url_to_fs(full_path)
        except FileNotFoundError:  # the container of a chained URL is gone
            raise MissingFileError(full_path) from None
        self._file = open_hdf5(fs, path, full_path)
        try:
            dataset_object = self._file.h5[dataset]
        except KeyError:
            self._file.close()
            raise IngestError(full_path, f"has no dataset {dataset!r}") from None
        if not isinstance(dataset_object, h5py.Dataset) or dataset_object.ndim < 1:
            self._file.close()
            raise IngestError(full_path, f"{dataset!r} is not a dataset of frames")
        self._dataset = dataset_object
        chunks = dataset_object.chunks
        #: Frames per HDF5 chunk along the frame axis (1 for contiguous datasets).
        self._frames_per_chunk = max(1, chunks[0]) if chunks else 1
        self._block = None  # (first frame, frames) of the last chunk read

    @property
    def frame_count(self):
        """How many frames the dataset holds (the length of its first axis)."""
        return self._dataset.shape[0]

    def __call__(self, frame):
        """Frame ``frame`` (0-based) as a numpy array of the dataset's frame shape."""
        frame = int(frame)
        if not 0 <= frame < self.frame_count:
            raise IngestError(
                self._url,
                f"{self._dataset_path!r} holds {self.frame_count} frames; frame {frame} was asked for",
            )
        if self._frames_per_chunk == 1:
            return self._read(frame, frame, frame + 1)[0]
        if self._block is None or not 0 <= frame - self._block[0] < len(self._block[1]):
            begin = frame - frame % self._frames_per_chunk
            self._block = (begin, self._read(frame, begin, min(begin + self._frames_per_chunk, self.frame_count)))
        begin, frames = self._block
        return frames[frame - begin]

    def _read(self, frame, begin, end):
        """Frames ``begin:end``, read for ``frame``; errors name the frame and the file."""
        try:
            frames = self._dataset[begin:end]
        except OSError as error:  # a damaged chunk, or a compression filter not available
            chunk = f" (in the chunk of frames {begin}-{end - 1})" if end - begin > 1 else ""
            raise IngestError(
                self._url, f"frame {frame} of {self._dataset_path!r}{chunk} cannot be read ({error})"
            ) from None
        frames.flags.writeable = False  # shared by the frames of a chunk: read-only
        return frames

    def close(self):
        """Close the file."""
        self._file.close()
