"""A catalog of Bluesky msgpack files, one run per file."""

import warnings
from functools import partial

from ..catalog.base import BlueskyCatalog, RunEntry
from ..errors import IngestError, IngestWarning
from ..files import expand
from ..run import RunDocuments
from .codec import read_documents
from .structure import checked_documents, start_problem

__all__ = ["BlueskyMsgpackCatalog"]


class BlueskyMsgpackCatalog(BlueskyCatalog):
    """Runs stored as msgpack files (this package's or suitcase-msgpack's).

    Only each file's first document (the RunStart) is read to list and search;
    a run's file is read in full when the run is read. The files are listed again
    by :meth:`force_reload`, and on any access once ``ttl`` seconds (intake's
    default: 60) have passed since the last listing; unchanged files are not reread.

    Parameters
    ----------
    paths : str or list of str
        Glob, path or fsspec URL of ``*.msgpack`` files, or a list of them.
    storage_options : dict, optional
        Passed to fsspec.
    **kwargs
        Passed to :class:`intake.catalog.Catalog` (``name``, ``ttl``, ...).

    Examples
    --------
    In a YAML catalog::

        sources:
          native_copies:
            driver: bluesky-msgpack-catalog
            args:
              paths: "{{ CATALOG_DIR }}/native_copies/*.msgpack"
    """

    name = "bluesky-msgpack-catalog"

    def __init__(self, paths, *, storage_options=None, **kwargs):
        self._paths = paths
        self._storage_options = storage_options or {}
        self._starts = {}  # (path, size, mtime) -> RunStart, so unchanged files are not reread
        super().__init__(**kwargs)

    def _load(self):
        self._refuse_folders()
        entries = {}
        starts = {}
        for source in expand(self._paths, self._storage_options, allow_empty=True):
            key = (source.path, source.size, source.mtime)
            start = self._starts.get(key)
            if start is None:
                try:
                    start = _read_start(source)
                except IngestError as error:
                    warnings.warn(f"skipped: {error}", IngestWarning, stacklevel=2)
                    continue
            starts[key] = start
            if start["uid"] in entries:
                warnings.warn(
                    f"{source.url}: run {start['uid']} appears in more than one file; "
                    "the last file in sorted order is used",
                    IngestWarning,
                    stacklevel=2,
                )
            entries[start["uid"]] = RunEntry(start, partial(_open_documents, source))
        self._starts = starts
        self._entries = entries

    def _refuse_folders(self):
        """A folder given for its files: the error says the glob to give instead."""
        from fsspec.core import url_to_fs

        for path in [self._paths] if isinstance(self._paths, str) else self._paths:
            if any(character in str(path) for character in "*?["):
                continue
            try:
                fs, local = url_to_fs(str(path), **self._storage_options)
                is_folder = fs.isdir(local)
            except Exception:  # expanding the paths names whatever is wrong with them
                continue
            if is_folder:
                raise IngestError(path, f"is a folder; give its msgpack files: '{str(path).rstrip('/')}/*.msgpack'")


def _read_start(source):
    documents = read_documents(source)
    try:
        with warnings.catch_warnings():
            # A file cut before its first document is reported once, as skipped.
            warnings.simplefilter("ignore", IngestWarning)
            name, doc = next(documents)
    except StopIteration:
        raise IngestError(source.url, "holds no documents") from None
    finally:
        documents.close()  # closes the file now, not when garbage-collected
    if name != "start":
        raise IngestError(source.url, f"its first document is {name!r}, not a RunStart")
    problem = start_problem(doc)
    if problem:
        raise IngestError(source.url, f"its RunStart {problem}")
    return doc


def _open_documents(source):
    return RunDocuments(checked_documents(read_documents(source), source.url), label=source.url)
