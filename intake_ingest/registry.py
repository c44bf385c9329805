"""Which ingestors exist, what they read, and how sure each is that it can read a file.

Every ingestor is declared by an :class:`IngestorSpec` registered under the
``intake_ingest.ingestors`` entry point, so a third-party package adds its own the
same way this package does, in its ``setup.cfg``::

    [options.entry_points]
    intake_ingest.ingestors =
        my_camera = my_package.ingest:MY_CAMERA   # an IngestorSpec

Entry points are listed when first asked for and loaded one by one, so listing
ingestors imports nothing heavy (the fsspec ``registry.py`` way); an entry point
naming a bare generator function is accepted too, and gets a minimal spec.
"""

import fnmatch
import posixpath
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import entry_points
from typing import Callable

__all__ = [
    "ENTRY_POINT_GROUP",
    "HEAD_BYTES",
    "IngestorSpec",
    "UnknownIngestorError",
    "driver_name",
    "get_ingestor",
    "get_spec",
    "ingestor_names",
    "read_head",
]

ENTRY_POINT_GROUP = "intake_ingest.ingestors"

#: How much of a file sniffers see: enough for every header this package reads.
HEAD_BYTES = 4096


@dataclass(frozen=True)
class IngestorSpec:
    """What an ingestor is, for the registry, intake and the detection layer.

    Parameters
    ----------
    name : str
        Registry name, e.g. ``'spec'``; its intake driver is ``bluesky-`` + name with dashes.
    ingest : callable
        The generator function: ``ingest(path_or_paths, *, storage_options=None, **kwargs)``
        yielding ``(name, doc)``.
    software : str
        The producing program whose conventions it follows, e.g. ``'EPICS areaDetector NDFileTIFF'``.
    patterns : tuple of str
        File name globs it reads (``'*.cbf'``), lower case; used to pre-select sniffers.
    mimetypes : tuple of str
        Media types of those files, where one exists.
    sniff : callable, optional
        ``sniff(head, source) -> float``: confidence from 0 (not mine) to 1 (certainly
        mine), given the first :data:`HEAD_BYTES` of the file and its
        :class:`~intake_ingest.files.SourceFile` (for the rare format that needs a
        header parse beyond the first bytes). Must be cheap and must not raise.
    grouping : str
        How files make runs by default: ``'file'`` (each file, or each scan in it),
        ``'prefix'`` (a numbered series), ``'directory'``.
    description : str
        One line for listings.
    runs_in : callable, optional
        For formats that hold several runs in one file (SPEC scans): ``runs_in(source)``
        returns one dict of keyword arguments for ``ingest`` per run in the file, in
        file order, e.g. ``[{'scan': '1.1'}, {'scan': '2.1'}]``. Reads headers only.
    companions : callable, optional
        For formats whose main file reads others (an Eiger master and its data files,
        sidecar metadata): ``companions(source, candidates)`` returns those of the
        ``candidates`` (SourceFiles found beside it) that belong to its run, so that
        detection attaches them instead of reporting them or making runs of them.
        ``candidates`` is a :class:`intake_ingest.sibling_files.Siblings`: a sequence of
        the selection's other files, indexed once, with ``get(identity)``,
        ``in_folder(chain, folder, prefix)``, ``subfolders(chain, folder)`` and
        ``in_order(files)``. Look up the names the format expects rather than scanning
        it: a scan per main file makes detection quadratic in the files selected.
    """

    name: str
    ingest: Callable
    software: str = ""
    patterns: tuple = ()
    mimetypes: tuple = ()
    sniff: Callable | None = field(default=None, compare=False)
    grouping: str = "file"
    description: str = ""
    runs_in: Callable | None = field(default=None, compare=False)
    companions: Callable | None = field(default=None, compare=False)

    def matches_name(self, path):
        """True if the file name fits one of ``patterns`` (or there are none)."""
        return not self.patterns or _name_pattern(self.patterns).match(posixpath.basename(path).lower()) is not None

    def confidence(self, head, source):
        """The sniffer's confidence, 0 where the name does not fit or there is no sniffer."""
        if not self.matches_name(source.path):
            return 0.0
        return self.content_confidence(head, source)

    def content_confidence(self, head, source):
        """The sniffer's confidence from the content alone, whatever the file's name."""
        if self.sniff is None:
            return 0.0
        try:
            return float(self.sniff(head, source))
        except Exception:  # a sniffer must not break detection of other files
            return 0.0


@lru_cache(maxsize=None)
def _name_pattern(patterns):
    # One compiled expression per spec: detection tests every file against every spec.
    return re.compile("|".join(f"(?:{fnmatch.translate(pattern)})" for pattern in patterns))


class UnknownIngestorError(KeyError):
    """No ingestor is registered under this name."""

    def __str__(self):
        return self.args[0]


@lru_cache(maxsize=None)
def _entry_points():
    return {entry_point.name: entry_point for entry_point in entry_points(group=ENTRY_POINT_GROUP)}


def ingestor_names():
    """Names of all registered ingestors, sorted."""
    return sorted(_entry_points())


@lru_cache(maxsize=None)
def get_spec(name):
    """The :class:`IngestorSpec` registered as ``name``.

    Raises
    ------
    UnknownIngestorError
        Naming the ingestors that are registered.
    """
    try:
        entry_point = _entry_points()[name]
    except KeyError:
        raise UnknownIngestorError(
            f"no ingestor named {name!r}; registered ingestors: {', '.join(ingestor_names())}"
        ) from None
    loaded = entry_point.load()
    if isinstance(loaded, IngestorSpec):
        return loaded
    return IngestorSpec(name=name, ingest=loaded, description=(loaded.__doc__ or "").strip().split("\n")[0])


def get_ingestor(name):
    """The ingestor generator function registered as ``name``."""
    return get_spec(name).ingest


def driver_name(ingestor_name):
    """The intake driver name of an ingestor: ``tiff_series`` -> ``bluesky-tiff-series``."""
    return "bluesky-" + ingestor_name.replace("_", "-")


def read_head(source, size=HEAD_BYTES):
    """The first ``size`` bytes of a file (fewer if it is shorter), for sniffing."""
    if source.is_local and not source.chain and not source.special:
        # Without fsspec's file object, which cost as much as the sniffers of a TIFF.
        from .files import read_local_start

        return read_local_start(source.path, size)
    with source.fs.open(source.path, "rb") as file:
        return file.read(size)
