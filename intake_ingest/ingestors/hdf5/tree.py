"""Opening HDF5 files through fsspec, walking their groups and following their links.

The one place where the HDF5 ingestors (NeXus, Eiger, areaDetector NDFileHDF5, BLISS,
Bluesky's NeXus files) open files, resolve external links and turn h5py's failures
into errors naming the file.
"""

import collections
import contextlib
import posixpath
import threading

import h5py

from ...errors import IngestError
from ...files import SourceFile, deterministic_uid
from ...handlers.hdf5 import open_hdf5
from .values import text

__all__ = [
    "LinkedFiles",
    "HDF5_ERRORS",
    "HDF5_FRAMES",
    "HDF5_MAGIC",
    "follow_links",
    "frame_resource",
    "linked_file",
    "member",
    "nx_class",
    "open_source",
    "read_named",
    "reading",
]

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
#: The resource spec (and handler) of frames kept in HDF5 datasets.
HDF5_FRAMES = "HDF5_FRAMES"


def linked_file(source, filename):
    """The file an HDF5 external link names, as a SourceFile on the same filesystem.

    HDF5 resolves a relative link target against the folder of the file holding the
    link; doing the same here through fsspec makes links work in ``memory://``, zip
    archives and over HTTP, where HDF5 itself cannot follow them. An absolute target
    that does not exist (the acquisition computer's path) is looked for beside the file.
    """
    folder = posixpath.dirname(source.path)
    if filename.startswith("/"):
        if source.fs.exists(filename):
            path = filename
        else:
            path = f"{folder}/{posixpath.basename(filename)}"
    else:
        path = f"{folder}/{filename[2:] if filename.startswith('./') else filename}"
    if source.is_local:
        path = posixpath.normpath(path)
    return SourceFile(source.fs, path, None, None, source.chain)


def open_source(source):
    """Open a SourceFile with h5py (see :func:`intake_ingest.handlers.hdf5.open_hdf5`)."""
    return open_hdf5(source.fs, source.path, source.url)


#: What h5py raises on a damaged file once it is open (a truncated object, a bad link).
HDF5_ERRORS = (OSError, KeyError, RuntimeError, ValueError)


def read_named(source, action, what):
    """``action(h5)`` on the open file; any HDF5 failure an IngestError naming the file."""
    with open_source(source) as file:
        try:
            return action(file.h5)
        except IngestError:
            raise
        except HDF5_ERRORS as error:
            raise IngestError(source.url, f"cannot be read as {what} ({error})") from None


class LinkedFiles:
    """The files a run's file links to (external links, lima files), each opened once and
    closed together when the run's reading ends."""

    def __init__(self):
        self._files = {}

    def h5(self, target):
        """The open h5py file of ``target`` (a SourceFile), opened on first use."""
        if target.identity not in self._files:
            self._files[target.identity] = open_source(target)
        return self._files[target.identity].h5

    def close(self):
        for file in self._files.values():
            file.close()
        self._files.clear()


@contextlib.contextmanager
def reading(source, what):
    """``(h5, linked)`` for reading a run's documents from ``source`` and the files it links to.

    Any HDF5 failure while the block runs (a file damaged beyond its header) is an
    IngestError naming the file: ``'<what> (<error>)'``; linked files are closed at the end.
    """
    linked = LinkedFiles()
    with open_source(source) as file:
        try:
            yield file.h5, linked
        except IngestError:
            raise
        except HDF5_ERRORS as error:
            raise IngestError(source.url, f"{what} ({error})") from None
        finally:
            linked.close()


def nx_class(obj):
    return text(obj.attrs.get("NX_class"))


def member(group, name):
    """A member of a group, or None where it is absent or a dangling link."""
    try:
        return group.get(name)
    except (KeyError, OSError, ValueError):
        return None


#: Links followed while resolving one path before it is taken for a cycle.
MAX_LINK_HOPS = 16


def follow_links(source, h5, path, open_linked):
    """The file and path where the object at ``path`` really is, following every link.

    HDF5 follows soft links itself, but external links only to files on a local disk
    (by their name as written). Resolving each step here, through fsspec, follows them
    in ``memory://``, zip archives and over HTTP too, and gives the file and path that
    a Resource can name.

    Parameters
    ----------
    source : SourceFile
        The file ``h5`` was opened from.
    h5 : h5py.File
    path : str
        Absolute path of the object in ``h5``.
    open_linked : callable
        ``open_linked(SourceFile) -> h5py.File`` for the file of an external link (the
        caller caches and closes them).

    Returns
    -------
    (SourceFile, h5py.File, str) or None
        The file holding the object, its open h5py file and the object's absolute path
        there; None where a link dangles or the path names nothing.
    """
    parts = [part for part in path.split("/") if part]
    resolved = []  # the components of the path resolved so far, in the current file
    for _ in range(MAX_LINK_HOPS * max(1, len(parts))):
        if not parts:
            return source, h5, "/" + "/".join(resolved)
        name = parts.pop(0)
        parent = "/" + "/".join(resolved)
        group = member(h5, parent)
        if not isinstance(group, h5py.Group):
            return None
        try:
            link = group.get(name, getlink=True)
        except (KeyError, OSError, ValueError):
            link = None
        if link is None:
            return None
        if isinstance(link, h5py.SoftLink):
            target = link.path if link.path.startswith("/") else posixpath.join(parent, link.path)
            parts = [part for part in posixpath.normpath(target).split("/") if part] + parts
            resolved = []
        elif isinstance(link, h5py.ExternalLink):
            source = linked_file(source, link.filename)
            h5 = open_linked(source)
            parts = [part for part in link.path.split("/") if part] + parts
            resolved = []
        else:
            resolved.append(name)
    return None


def frame_resource(run_bundle, run_uid, key, target, dataset_path):
    """The Resource of one dataset of frames, with a uid that is the same on every ingest."""
    return run_bundle.compose_resource(
        spec=HDF5_FRAMES,
        root="",
        resource_path=target.url,
        resource_kwargs={"dataset": dataset_path},
        uid=deterministic_uid([run_uid, key, target.identity, dataset_path]),
    )


#: Results of :func:`cached_read`, by (file, its modification time and size, action).
_PEEKS = collections.OrderedDict()
_PEEKS_LOCK = threading.Lock()
_PEEKS_SIZE = 256


def cached_read(source, action, what="an HDF5 file"):
    """``action(h5)`` on the open file, remembered for this version of the file.

    For sniffers: several ingestors look at the structure of the same HDF5 file during
    one detection, and each would otherwise open it again. The result is kept while
    the file's modification time and size are unchanged; errors are not kept.
    """
    key = (source.identity, source.mtime, source.size, action)
    with _PEEKS_LOCK:
        if key in _PEEKS:
            _PEEKS.move_to_end(key)
            return _PEEKS[key]
    result = read_named(source, action, what)
    with _PEEKS_LOCK:
        _PEEKS[key] = result
        while len(_PEEKS) > _PEEKS_SIZE:
            _PEEKS.popitem(last=False)
    return result


class FrameBlock:
    """Frames ``begin`` to ``end`` of a dataset, kept in ``path`` of file ``target``.

    ``offset`` is the index, in that dataset, of frame ``begin``.
    """

    def __init__(self, begin, end, target, path, offset=0):
        self.begin, self.end = int(begin), int(end)
        self.target = target  # SourceFile
        self.path = path
        self.offset = int(offset)

    def __repr__(self):
        return f"FrameBlock({self.begin}:{self.end} in {self.target.url}:{self.path}[{self.offset}:])"


def frame_blocks(dataset, source):
    """Where the frames of a dataset really are: the blocks of a virtual dataset, or itself.

    A virtual dataset (VDS, as NXmx masters and Eiger/Odin writers make) reads its
    missing source files as zeros, silently; following its mapping instead names each
    source file, so that a missing one is an error naming it. A source given as
    ``'.'`` (this file) that is itself an external link is followed to its file.
    Mappings of anything but whole frames along the first dimension are read through
    the virtual dataset itself.
    """
    if not dataset.is_virtual:
        return [FrameBlock(0, dataset.shape[0] if dataset.shape else 1, source, dataset.name)]
    h5 = dataset.file
    blocks = []
    for mapping in dataset.virtual_sources():
        try:
            low, high = mapping.vspace.get_select_bounds()
            src_low, src_high = mapping.src_space.get_select_bounds()
        except (ValueError, RuntimeError):  # an unlimited or irregular selection
            return [FrameBlock(0, dataset.shape[0], source, dataset.name)]
        whole_frames = tuple(low[1:]) == (0,) * (len(low) - 1) and tuple(high[1:]) == tuple(
            n - 1 for n in dataset.shape[1:]
        )
        if not whole_frames:
            return [FrameBlock(0, dataset.shape[0], source, dataset.name)]
        target, path = source, mapping.dset_name
        if mapping.file_name != ".":
            target = linked_file(source, mapping.file_name)
        else:
            link = h5.get(path, getlink=True)
            if isinstance(link, h5py.ExternalLink):
                target, path = linked_file(source, link.filename), link.path
        blocks.append(FrameBlock(low[0], high[0] + 1, target, path, src_low[0]))
    return sorted(blocks, key=lambda block: block.begin)
