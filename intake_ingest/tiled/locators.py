"""Where each frame of a run is, per ingestor: the files a StreamResource names.

A locator is made from a planned run (its ingestor, the files it reads, its arguments)
and given each descriptor; it returns the :class:`~.external.FrameFiles` of the data keys
whose frames stay in their files. The order of frames is the ingestor's own (a series
by file number, a stack by page). Formats without a locator stay inline.

Mimetypes are those bluesky's consolidators and tiled's adapters read
(``multipart/related;type=image/tiff``, ``image/tiff``, ``application/x-hdf5``) and, for the
formats tiled cannot read itself, this package's own (:data:`CBF_SERIES`,
:data:`EDF_SERIES`), read by :mod:`.adapters`.
"""

import posixpath

from fsspec.implementations.local import LocalFileSystem

from ..errors import IngestError
from ..files import expand
from ..grouping import numbered_order, series_key
from .external import FrameFiles

__all__ = ["CBF_SERIES", "EDF_SERIES", "INGESTOR_READS", "TIFF_SERIES", "TIFF_STACK", "locator", "LOCATORS"]

#: Arrays this package's ingestor reads from the run's files, on the server (:mod:`.adapters`):
#: for the formats no other reader takes (a spectrum per event, HDF5 layouts, SPE...).
INGESTOR_READS = "application/x-intake-ingest"
TIFF_SERIES = "multipart/related;type=image/tiff"
TIFF_STACK = "image/tiff"
CBF_SERIES = "multipart/related;type=image/x-cbf"
EDF_SERIES = "multipart/related;type=image/x-edf"


def file_uri(path):
    """``file://localhost/<absolute path>``: how tiled names a local file (``tiled.utils.ensure_uri``)."""
    return "file://localhost" + posixpath.abspath(path)


def _local(sources, ingestor):
    for source in sources:
        if not isinstance(source.fs, LocalFileSystem):
            raise IngestError(
                source.url, f"is not a local file: tiled reads {ingestor} frames in place only from local files"
            )
    return sources


def _frame_keys(descriptor):
    """The data keys of a stream that hold one image per event (two dimensions or more)."""
    return [key for key, data_key in descriptor["data_keys"].items() if len(data_key.get("shape") or ()) >= 2]


def numbered_template(sources):
    """``(folder, template, numbers)`` of a numbered series: ``template.format(n)`` is file n's name.

    Raises
    ------
    IngestError
        If the files are not one folder, prefix and extension with numbers written one way
        (``x_9``, ``x_10`` or ``x_009``, ``x_010``), which a template cannot name.
    """
    if len(sources) == 1 and series_key(sources[0])[3] is None:  # one file without a number
        name = posixpath.basename(sources[0].path)
        return posixpath.dirname(sources[0].path), name.replace("{", "{{").replace("}", "}}"), [0]
    keys = [series_key(source) for source in sources]
    folders, prefixes, suffixes = ({key[i] for key in keys} for i in range(3))
    numbers = [key[3] for key in keys]
    if len(folders) != 1 or len(prefixes) != 1 or len(suffixes) != 1 or None in numbers:
        raise IngestError(sources[0].url, "its series is not one folder of numbered files: its frames cannot be named by a template")
    prefix, suffix = next(iter(prefixes)), next(iter(suffixes))
    names = [posixpath.basename(source.path) for source in sources]
    widths = {len(name) - len(prefix) - len(suffix) for name in names}
    escaped = prefix.replace("{", "{{").replace("}", "}}"), suffix.replace("{", "{{").replace("}", "}}")
    for digits in ("{:d}", f"{{:0{min(widths)}d}}"):
        template = escaped[0] + digits + escaped[1]
        if all(template.format(number) == name for number, name in zip(numbers, names)):
            return next(iter(folders)), template, numbers
    raise IngestError(sources[0].url, "its series writes file numbers with differing zero padding: no template names them all")


def _series(mimetype, order):
    def locate_series(argument, kwargs, ingestor):
        sources = order(_local(expand(argument), ingestor))

        def locate(descriptor):
            keys = _frame_keys(descriptor)
            if descriptor["name"] != "primary" or len(keys) != 1:
                return {}
            (key,) = keys
            shape = descriptor["data_keys"][key]["shape"]
            folder, template, numbers = numbered_template(sources)
            parameters = {"template": template, "join_method": "stack", "chunk_shape": [1, *shape]}
            return {key: FrameFiles(mimetype, file_uri(folder) + "/", parameters, numbers, sources[0].url)}

        return locate

    return locate_series


def _by_path(sources):
    return sorted(sources, key=lambda source: source.path)  # as expand() gives them


def _by_number(sources):
    keys = {source.identity: series_key(source) for source in sources}
    return sorted(sources, key=lambda source: (keys[source.identity][3] or 0, source.identity))


def _tiff_stack(argument, kwargs, ingestor):
    (source,) = _local(expand(argument), ingestor)

    def locate(descriptor):
        keys = _frame_keys(descriptor)
        if descriptor["name"] != "primary" or len(keys) != 1:
            return {}
        (key,) = keys
        n_pages = _tiff_pages(source)
        return {key: FrameFiles(TIFF_STACK, file_uri(source.path), {}, list(range(n_pages)), source.url)}

    return locate


def _tiff_pages(source):
    import tifffile

    with tifffile.TiffFile(source.path) as tif:
        return len(tif.series[0].pages)


#: Ingestor name -> ``locator(argument, kwargs, ingestor) -> locate(descriptor)``.
LOCATORS = {
    "tiff_series": _series(TIFF_SERIES, _by_path),
    "tiff_series_dask": _series(TIFF_SERIES, _by_path),
    "area_detector_tiff": _series(TIFF_SERIES, _by_number),
    "pilatus_tiff": _series(TIFF_SERIES, numbered_order),
    "pilatus_cbf": _series(CBF_SERIES, numbered_order),
    "esrf_edf": _series(EDF_SERIES, numbered_order),
    "tiff_stack": _tiff_stack,
}


def _read_by_ingestor(argument, kwargs, ingestor):
    """Every array of every stream, read on the server by ``ingestor`` itself (:data:`INGESTOR_READS`)."""
    sources = list(expand(argument))
    if not all(isinstance(source.fs, LocalFileSystem) for source in sources):
        return None  # the server cannot open them: arrays stay inline (and tiled refuses them)
    paths = [posixpath.abspath(source.path) for source in sources]

    def locate(descriptor):
        located = {}
        for key, data_key in descriptor["data_keys"].items():
            if data_key.get("shape") and data_key.get("external") != "STREAM:":
                parameters = {
                    "ingestor": ingestor,
                    "paths": paths,
                    "kwargs": dict(kwargs),
                    "stream": descriptor["name"],
                    "data_key": key,
                }
                located[key] = FrameFiles(INGESTOR_READS, file_uri(paths[0]), parameters, None, sources[0].url)
        return located

    return locate


def locator(ingestor, argument, kwargs=None):
    """``locate(descriptor)`` for a run of ``ingestor`` over ``argument``, or None (it stays inline).

    Ingestors with frames in files another reader opens (TIFF, CBF, EDF) have their own
    locator; the arrays of the others are read by the ingestor itself on the server.

    Raises
    ------
    IngestError
        Naming the file, for frames tiled cannot read in place (not local files).
    """
    make = LOCATORS.get(ingestor, _read_by_ingestor)
    return make(argument, kwargs or {}, ingestor)
