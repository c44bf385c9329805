"""Opening HDF5 files through fsspec, walking their groups and following their links.

The one place where the HDF5 ingestors (NeXus, Eiger, areaDetector NDFileHDF5, BLISS,
Bluesky's NeXus files) open files, resolve external links and turn h5py's failures
into errors naming the file.
"""

import posixpath

import h5py

from ...errors import IngestError
from ...files import SourceFile, deterministic_uid
from ...handlers.hdf5 import open_hdf5
from .values import text

__all__ = [
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
