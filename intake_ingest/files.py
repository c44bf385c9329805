"""Finding, naming and reading source files through fsspec.

Every path the package reads goes through here, so a local path, ``file://``,
``memory://``, ``zip://...::file://...`` and ``http(s)://`` URLs all work the
same way, and so the errors a user sees always name the file.
"""

import base64
import contextlib
import datetime
import hashlib
import io
import os
import posixpath
import stat
import time
from dataclasses import dataclass
from operator import attrgetter

import fsspec
from fsspec.core import url_to_fs
from fsspec.implementations.local import LocalFileSystem

from .errors import IngestError, MissingFileError
from .grouping import name_parts

__all__ = [
    "SourceFile",
    "SpecialFileSystem",
    "deterministic_uid",
    "errors_named",
    "expand",
    "find_files",
    "open_local_or_buffer",
    "read_bytes",
    "read_local_start",
    "read_starts",
    "special_reason",
]


class _computed_once:
    """A property computed on first use and kept in the instance's ``__dict__``.

    ``functools.cached_property`` without its lock (Python 3.11 takes one per first use,
    shared by all instances): a value computed twice by two threads is the same value.
    A frozen dataclass allows it, since it is not set through ``__setattr__``.
    """

    def __init__(self, function):
        self.function = function
        self.name = function.__name__
        self.__doc__ = function.__doc__

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.function(instance)
        return value


@dataclass(frozen=True)
class SourceFile:
    """One matched file: its filesystem, its path there, and when it was last modified.

    ``mtime`` is ``None`` where the filesystem does not report one (plain HTTP servers).
    """

    fs: fsspec.AbstractFileSystem
    path: str
    mtime: float | None
    size: int | None = None
    #: The rest of a chained URL (``file:///data/scan.zip`` in ``zip://a.tif::file:///data/scan.zip``).
    chain: str = ""
    #: Why this is not a file to read (``'not a regular file (FIFO)'``, a broken symbolic
    #: link), or ``''`` for a regular file. Such a file is listed, so that detection can
    #: report it, but never opened: a FIFO blocks whoever opens it until a writer comes,
    #: and a device such as ``/dev/zero`` never ends.
    special: str = ""

    # Computed once per file: detection asks each file's identity a dozen times, and
    # plans hold up to millions of files.
    @_computed_once
    def url(self):
        """The file as a user would write it: a plain local path, or a full (chained) URL."""
        url = display_path(self.fs, self.path)
        return f"{url}::{self.chain}" if self.chain else url

    @_computed_once
    def identity(self):
        """What names this file uniquely: the local path, or the full URL with its chain.

        Two archives holding members of the same name are different files.
        """
        return self.path if self.is_local and not self.chain else self.url

    @_computed_once
    def is_local(self):
        return isinstance(self.fs, LocalFileSystem)

    @_computed_once
    def name_parts(self):
        """``(folder, prefix, number, extension)`` of its path, as
        :func:`intake_ingest.grouping.name_parts` splits it: ``scan_`` 12 ``.tif``.

        Parsed once per file: detection asks it when it picks a series' representatives
        and again when it groups the series into runs, for every one of up to millions
        of files.
        """
        return name_parts(self.path)


def display_path(fs, path):
    if isinstance(fs, LocalFileSystem):
        return path
    return fs.unstrip_protocol(path)


def _has_magic(path):
    return any(char in path for char in "*?[")


#: What a local path that is not a regular file is, by the test that says so.
_SPECIAL_KINDS = (
    (stat.S_ISFIFO, "FIFO"),
    (stat.S_ISSOCK, "socket"),
    (stat.S_ISCHR, "character device"),
    (stat.S_ISBLK, "block device"),
    (stat.S_ISDIR, "symbolic link to a folder, not followed"),
)


def special_reason(path):
    """Why a local path is not a regular file to read, or ``''`` when it is one.

    Parameters
    ----------
    path : str
        A local path.

    Returns
    -------
    str
        ``'not a regular file (FIFO)'`` (or socket, character device, block device),
        ``'broken symbolic link (...)'``, or ``''``.
    """
    try:
        mode = os.stat(path).st_mode  # follows a symbolic link to what it names
    except FileNotFoundError:
        if os.path.islink(path):
            return f"broken symbolic link (its target {os.readlink(path)!r} does not exist)"
        return ""  # gone since it was listed: opening it says so, naming it
    except OSError as error:  # a loop of links, a folder on the way that cannot be searched
        return f"symbolic link that cannot be followed ({error.strerror})" if os.path.islink(path) else ""
    for is_kind, kind in _SPECIAL_KINDS:
        if is_kind(mode):
            return f"not a regular file ({kind})"
    return ""


def _special(fs, path, info):
    """:func:`special_reason` for a listed path, without a system call for a plain file."""
    if not isinstance(fs, LocalFileSystem):
        return ""  # only local filesystems have FIFOs, devices and symbolic links to break
    if info.get("type") == "file" and not info.get("islink"):
        return ""
    return special_reason(path)


class SpecialFileSystem(LocalFileSystem):
    """The local filesystem of files that are not regular files: opening one is an error.

    Code that opens a :class:`SourceFile` through its ``fs`` (sniffing its first bytes,
    reading all of them) gets an ``OSError`` saying what the file is, instead of waiting
    forever on a FIFO or reading ``/dev/zero`` until memory runs out.
    """

    def _open(self, path, mode="rb", *args, **kwargs):
        reason = special_reason(self._strip_protocol(path))
        if reason:
            raise OSError(reason)
        return super()._open(path, mode, *args, **kwargs)  # it became a regular file since


def _source(fs, path, info, chain):
    """The SourceFile of a listed path; a file that is not a regular one is marked, not opened."""
    special = _special(fs, path, info)
    if special:
        fs = SpecialFileSystem()
    return SourceFile(fs, path, _modified_time(fs, path, info), info.get("size"), chain, special)


def _refuse_special(sources):
    """The sources, if every one is a file to read; else an error naming the first that is not."""
    for source in sources:
        if source.special:
            raise IngestError(source.url, source.special)
    return sources


def expand(pattern, storage_options=None, allow_empty=False):
    """Resolve a glob, URL or list of them to the files it names, sorted by path.

    Parameters
    ----------
    pattern : str, os.PathLike, SourceFile or list of those
        A path, glob or fsspec URL (``memory://``, ``zip://x/*.tif::file://a.zip``, ...).
    storage_options : dict, optional
        Passed to the fsspec filesystem.
    allow_empty : bool, optional
        Return an empty list, rather than raise, when a glob matches nothing
        (a catalog of a folder that has no runs yet).

    Returns
    -------
    list of SourceFile

    Raises
    ------
    IngestError
        If nothing matches, or a file matched is not a regular file (a FIFO, a device,
        a broken symbolic link); the message names the pattern or the file.
    """
    return _refuse_special(_matches(pattern, storage_options, allow_empty))


def _matches(pattern, storage_options=None, allow_empty=False):
    """:func:`expand`, with the files that are not regular files marked instead of refused."""
    if isinstance(pattern, SourceFile):  # already found (e.g. by a catalog's glob)
        return [pattern]
    if isinstance(pattern, (list, tuple)):
        matched = {}
        for item in pattern:
            for source in _matches(item, storage_options, allow_empty):
                matched[source.identity] = source
        return sorted(matched.values(), key=lambda source: source.identity)
    pattern = str(pattern)
    try:
        fs, path = url_to_fs(pattern, **(storage_options or {}))
    except FileNotFoundError:  # the container of a chained URL (zip://...::file://x.zip)
        raise MissingFileError(pattern) from None
    except (ImportError, ValueError, OSError) as error:  # unknown protocol, missing driver
        raise IngestError(pattern, f"cannot be opened ({error})") from None
    chain = pattern.partition("::")[2]
    if isinstance(fs, LocalFileSystem):
        # "{{ CATALOG_DIR }}/x" gives "catalogs//x", which fsspec's glob does not match.
        path = posixpath.normpath(path)
    if _has_magic(path):
        try:
            details = fs.glob(path, detail=True)
        except (FileNotFoundError, NotADirectoryError):
            details = {}
        details = {p: info for p, info in details.items() if info.get("type", "file") != "directory"}
    else:
        try:
            info = fs.info(path)
        except OSError as error:
            if isinstance(fs, LocalFileSystem) and os.path.islink(path):  # named, but broken or a loop
                return [_source(fs, path, {"islink": True}, chain)]
            if isinstance(error, (FileNotFoundError, NotADirectoryError)):
                raise MissingFileError(pattern) from None
            raise IngestError(pattern, f"cannot be read ({error})") from None
        if info.get("type") == "directory":
            raise IngestError(pattern, "is a directory; give a glob such as 'folder/*.tif'")
        details = {path: info}
    if not details:
        if allow_empty:
            return []
        raise IngestError(pattern, "no files match this pattern")
    if isinstance(fs, LocalFileSystem):
        # "{{ CATALOG_DIR }}/data" gives "catalogs//data": one file, one name, one uid.
        details = {posixpath.normpath(p): info for p, info in details.items()}
    return [_source(fs, p, info, chain) for p, info in sorted(details.items())]


def find_files(paths, storage_options=None):
    """Every file that paths, globs and URLs name, folders searched recursively.

    What a user selects (in a dialog, on the command line) is a mix of files, globs and
    folders; this is the list of files meant, sorted, without duplicates. A path that
    is not a regular file (a FIFO, a socket, a device such as ``/dev/zero``, a broken
    symbolic link), named or found in a folder, is listed with
    :attr:`SourceFile.special` saying so, and is never opened.

    Parameters
    ----------
    paths : str or list of str
    storage_options : dict, optional

    Returns
    -------
    list of SourceFile
    """
    if isinstance(paths, (str, SourceFile)) or not isinstance(paths, (list, tuple)):
        paths = [paths]
    found = {}
    for path in paths:
        if isinstance(path, SourceFile):
            found[path.identity] = path
            continue
        path = str(path)
        try:
            fs, inner = url_to_fs(path, **(storage_options or {}))
            is_folder = not _has_magic(inner) and fs.isdir(inner)
        except (FileNotFoundError, ImportError, ValueError, OSError):
            is_folder = False  # let expand() give its error naming the path
        if is_folder:
            chain = path.partition("::")[2]
            if isinstance(fs, LocalFileSystem) and not chain and os.sep == "/":
                listed = _local_tree(fs, posixpath.normpath(inner))
            else:
                listed = (_source(fs, p, info, chain) for p, info in fs.find(inner, detail=True).items())
            found.update((source.identity, source) for source in listed)
        else:
            # A FIFO or device named here is kept, marked, for detection to report.
            for source in _matches(path, storage_options):
                found[source.identity] = source
    return sorted(found.values(), key=_identity)


_identity = attrgetter("identity")


def _local_tree(fs, folder):
    """The files under a local folder, as ``fs.find(folder, detail=True)`` lists them.

    One ``os.scandir`` per folder and one ``lstat`` per entry, made into SourceFiles
    directly: fsspec builds an info dict per file first, which for a folder of 100,000
    files costs as much again as the system calls (measured: 0.5 s against 1.0 s).
    The same rules: folders are searched, symbolic links to folders are not (they are
    listed, marked), a link to a file has its target's size and its own time, a folder
    that cannot be listed and a file gone since are left out. Paths are POSIX
    (``folder`` normalised, so every path is).
    """
    sources, pending = [], [folder]
    while pending:
        try:
            entries = os.scandir(pending.pop())
        except OSError:
            continue
        with entries:
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        pending.append(entry.path)
                        continue
                    status = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if stat.S_ISREG(status.st_mode):
                    sources.append(_regular_local_file(fs, entry.path, status.st_mtime, status.st_size))
                    continue
                size = status.st_size
                if stat.S_ISLNK(status.st_mode):
                    try:
                        size = os.stat(entry.path).st_size
                    except OSError:
                        size = 0
                special = special_reason(entry.path)
                sources.append(
                    SourceFile(SpecialFileSystem() if special else fs, entry.path, status.st_mtime, size, "", special)
                )
    return sources


def _regular_local_file(fs, path, mtime, size):
    """``SourceFile(fs, path, mtime, size)`` of a regular local file, made in one step.

    A frozen dataclass sets each of its six fields with ``object.__setattr__``, and the
    identity of a local file is computed on first use: for a folder of a million files
    that was a tenth of listing it. The fields and the values computed once (identity
    and locality, known here) go into the instance's ``__dict__`` at once; the result
    equals, hashes and pickles as the dataclass-made one.
    """
    source = _new_object(SourceFile)
    _set_attribute(
        source,
        "__dict__",
        {"fs": fs, "path": path, "mtime": mtime, "size": size, "chain": "", "special": "", "identity": path, "is_local": True},
    )
    return source


_new_object, _set_attribute = object.__new__, object.__setattr__


def _modified_time(fs, path, info):
    """Seconds since the epoch when the file was last modified, or None if unknown."""
    # Filesystems report this under different names and types; take the first that exists.
    for key in ("mtime", "LastModified", "last_modified", "modified", "created", "date_time"):
        value = info.get(key)
        if value is None:
            continue
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, datetime.datetime):
            return value.timestamp()
        if isinstance(value, tuple):  # zip archives: (year, month, day, hour, minute, second)
            return datetime.datetime(*value).timestamp()
        if isinstance(value, str):
            try:
                return datetime.datetime.fromisoformat(value).timestamp()
            except ValueError:
                continue
    return None


def timestamps(sources):
    """The files' modification times, with the time of ingestion standing in where unknown.

    Event-model requires a time on every document; a plain HTTP server reports none.
    """
    now = time.time()
    return [now if source.mtime is None else source.mtime for source in sources]


def deterministic_uid(names):
    """A uid derived from file names, so the same files always give the same run uid.

    URL-safe base64 of the SHA-256 over the names, as the original ingestors notebook did.
    A local name that is not UTF-8 (``os.fsdecode`` keeps its bytes as lone surrogates)
    is hashed as its bytes on disk; a UTF-8 name gives the same uid as it always did.
    """
    digest = hashlib.sha256()
    for name in names:
        digest.update(name.encode("utf-8", "surrogateescape"))
    return base64.urlsafe_b64encode(digest.digest()).decode()


@contextlib.contextmanager
def errors_named(source, kind):
    """Turn any failure of a parser inside the block into an error naming the file.

    Parsers (tifffile, fabio, h5py...) raise many kinds of exceptions, bare assertions
    included, on damaged files; a user should see which file and why, not their insides.

    Parameters
    ----------
    source : SourceFile
    kind : str
        What the file should have been, for the message: ``'TIFF'``, ``'EDF'``...
    """
    try:
        yield
    except IngestError:
        raise
    except FileNotFoundError:
        raise MissingFileError(source.url) from None
    except Exception as error:
        detail = str(error) or type(error).__name__
        raise IngestError(source.url, f"not a readable {kind} file ({detail})") from None


def read_bytes(source):
    """All bytes of a file, with errors that name it (a FIFO or device is not read)."""
    _refuse_special([source])
    try:
        return source.fs.cat_file(source.path)
    except FileNotFoundError:
        raise MissingFileError(source.url) from None
    except OSError as error:
        raise IngestError(source.url, f"cannot be read ({error})") from None


#: ``os.open`` flags for a file's first bytes: a FIFO that replaced a listed file must not
#: block the reader (a regular file ignores O_NONBLOCK).
_READ_START_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


def read_starts(sources, size):
    """The first ``size`` bytes of each file (fewer if it is shorter), None where unreadable.

    For comparing many files cheaply (do the files of a series start alike?): a local
    file is read with one ``os.open``/``os.read``, which costs a sixth of going through
    fsspec's file objects (measured: 10,000 files, 0.15 s against 0.9 s); other
    filesystems are asked in one ``cat_ranges`` call, which asynchronous ones (HTTP,
    S3) answer concurrently. Files that are not regular files are not opened.

    Parameters
    ----------
    sources : list of SourceFile
    size : int

    Returns
    -------
    list of bytes or None
    """
    starts = [None] * len(sources)
    remote = {}  # filesystem -> [(position, source)]
    # The system calls inline: this is done for every file of a folder of up to millions.
    # One read: a short one (a signal) only makes a file look unlike its series.
    open_, read, close, flags = os.open, os.read, os.close, _READ_START_FLAGS
    for position, source in enumerate(sources):
        if source.special:
            continue
        if source.is_local and not source.chain:
            try:
                descriptor = open_(source.path, flags)
            except OSError:
                continue
            try:
                starts[position] = read(descriptor, size)
            except OSError:
                pass
            finally:
                close(descriptor)
        else:
            remote.setdefault(source.fs, []).append((position, source))
    for fs, members in remote.items():
        paths = [source.path for _, source in members]
        try:
            answers = fs.cat_ranges(paths, [0] * len(paths), [size] * len(paths), on_error="return")
        except Exception:  # a filesystem without ranged reads: the callers read these otherwise
            continue
        for (position, _), answer in zip(members, answers):
            if isinstance(answer, bytes):
                starts[position] = answer
    return starts


def read_local_start(path, size):
    """The first ``size`` bytes of a local file (fewer if it is shorter), without fsspec.

    One ``os.open`` and ``os.read`` (a FIFO put where a file was listed is not waited
    on): a sixth of the cost of a file object, which counts for a step done per file.

    Raises
    ------
    OSError
        As ``open`` does, naming the path where it cannot be opened.
    """
    descriptor = os.open(path, _READ_START_FLAGS)
    try:
        # One read, but for a short one before the end (a signal, a network filesystem).
        chunks, wanted = [], size
        while wanted > 0:
            chunk = os.read(descriptor, wanted)
            if not chunk:
                break
            chunks.append(chunk)
            wanted -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(descriptor)


def open_local_or_buffer(source):
    """Something a parser can open: the local path itself, or the bytes in a buffer.

    Parsers such as tifffile read local files fastest by path (they seek and
    ``readinto`` directly); any other filesystem is fetched in one request. A file
    that is not a regular file (a FIFO, a device) is an error naming it: a parser would
    wait on it forever.
    """
    _refuse_special([source])
    if source.is_local:
        return source.path
    return io.BytesIO(read_bytes(source))
