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

__all__ = ["CBF_SERIES", "EDF_SERIES", "HDF5", "INGESTOR_READS", "TIFF_SERIES", "TIFF_STACK", "locator", "LOCATORS"]

#: Arrays this package's ingestor reads from the run's files, on the server (:mod:`.adapters`):
#: for the formats no other reader takes (a spectrum per event, HDF5 layouts, SPE...).
INGESTOR_READS = "application/x-intake-ingest"
TIFF_SERIES = "multipart/related;type=image/tiff"
TIFF_STACK = "image/tiff"
CBF_SERIES = "multipart/related;type=image/x-cbf"
#: Read by tiled's own HDF5 reader (``HDF5ArrayAdapter``), through bluesky's ``HDF5Consolidator``.
HDF5 = "application/x-hdf5"
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


#: HDF5 filters every HDF5 library has (deflate, shuffle, fletcher32, n-bit, scale-offset).
#: Others (bitshuffle/LZ4, Blosc, Zstd: Eiger and Lambda defaults) come from plugins, which a
#: tiled server has only where ``hdf5plugin`` was imported before the file is read: tiled's
#: reader does not import it, so those frames are read by this package's adapter, which does.
BUILTIN_FILTERS = frozenset({1, 2, 3, 5, 6})


def _hdf5_part(path, dataset_paths, frame_shape, dtype):
    """``(dataset path, frames in it, its chunks)`` if tiled's HDF5 reader can serve its frames, else None.

    The dataset is the first of ``dataset_paths`` that the file has (where the ingestor
    looks, in its order). Its frames are the dataset read in C order (any leading
    dimensions flattened, which is how tiled reshapes the array to the run's), in the
    data key's own dtype (tiled refuses another), compressed only with
    :data:`BUILTIN_FILTERS`.
    """
    import h5py
    import numpy as np

    try:
        with h5py.File(path, "r") as h5:
            dataset_path = next((name for name in dataset_paths if isinstance(h5.get(name), h5py.Dataset)), None)
            if dataset_path is None:
                return None
            dataset = h5[dataset_path]
            if dataset.is_virtual or dataset.external:  # frames in other files, maybe outside readable storage
                return None
            shape, chunks = tuple(dataset.shape), dataset.chunks
            plist = dataset.id.get_create_plist()
            filters = {plist.get_filter(index)[0] for index in range(plist.get_nfilters())}
            if dataset.dtype != np.dtype(dtype) or not filters <= BUILTIN_FILTERS:
                return None
    except (OSError, KeyError, ValueError):  # unreadable here: the package's adapter says why, when read
        return None
    split = len(shape) - len(frame_shape)
    if split < 0 or shape[split:] != tuple(frame_shape):
        return None
    return dataset_path, int(np.prod(shape[:split], dtype=np.int64)), chunks


def _area_detector_hdf5(argument, kwargs, ingestor):
    """NDFileHDF5 frames (``/entry/data/data`` of each file, in file-number order) read by tiled's HDF5 reader.

    Each file is a StreamResource of one dataset path (bluesky's HDF5Consolidator joins
    them, tiled's reader concatenates the files). Where tiled cannot read them (plugin
    filters, a dtype other than the run's, datasets at different paths), the package's
    adapter reads them through the ingestor.
    """
    fallback = _read_by_ingestor(argument, kwargs, ingestor)
    if fallback is None:
        return None
    sources = _by_number(expand(argument))

    def locate(descriptor):
        keys = _frame_keys(descriptor)
        if descriptor["name"] == "primary" and keys == ["image"]:
            located = _hdf5_dataset_parts(sources, descriptor["data_keys"]["image"])
            if located is not None:
                return {**fallback(descriptor), "image": located}
        return fallback(descriptor)

    return locate


def _hdf5_dataset_parts(sources, data_key):
    """One FrameFiles per file for an NDFileHDF5 series' image, or None where tiled cannot read it."""
    from ..ingestors.hdf5.area_detector import DATA, DETECTOR_DATA

    frame_shape, dtype = tuple(data_key["shape"]), data_key.get("dtype_numpy")
    if dtype is None:
        return None
    found = []
    for source in sources:
        path = posixpath.abspath(source.path)
        part = _hdf5_part(path, (DATA, DETECTOR_DATA), frame_shape, dtype)
        if part is None:
            return None
        found.append((source, path, *part))
    if len({dataset_path for _, _, dataset_path, _, _ in found}) != 1:
        return None  # bluesky's HDF5Consolidator joins files of one dataset path only
    # A chunk of the served array: frames per HDF5 chunk of the first file (one frame if contiguous).
    chunks = found[0][4]
    rows = chunks[0] if chunks and len(chunks) > len(frame_shape) else 1
    parameters = {"dataset": found[0][2], "swmr": False, "join_method": "stack", "chunk_shape": [rows, *frame_shape]}
    return [
        FrameFiles(HDF5, file_uri(path), parameters, list(range(n_frames)), source.url)
        for source, path, _, n_frames, _ in found
    ]


def _nexus_hdf5(argument, kwargs, ingestor):
    """A NeXus plot's arrays that are one dataset of the file each (one event), read by tiled's HDF5 reader.

    The ingestor names where each array is in its data key's ``source``
    (``<file>:<dataset path>``). Frames of a scan (several events) come as the
    ingestor's Resource/Datum documents, and datasets tiled cannot read (plugin filters,
    another file, a dtype other than the run's) are read by this package's adapter.
    """
    from ..ingestors._common import source_label

    fallback = _read_by_ingestor(argument, kwargs, ingestor)
    sources = expand(argument)
    if fallback is None or len(sources) != 1:
        return fallback
    prefix, path = f"{source_label(argument)}:", posixpath.abspath(sources[0].path)

    def locate(descriptor):
        located = fallback(descriptor)
        for key in list(located):
            data_key = descriptor["data_keys"][key]
            where, shape = data_key.get("source", ""), tuple(data_key["shape"])
            if data_key.get("external") or not where.startswith(prefix) or "dtype_numpy" not in data_key:
                continue
            dataset_path = where[len(prefix) :]
            part = _hdf5_part(path, [dataset_path], shape, data_key["dtype_numpy"])
            if part is not None and part[1] == 1:  # the whole dataset is the event's array
                parameters = {"dataset": dataset_path, "swmr": False, "join_method": "stack", "chunk_shape": [1, *shape]}
                located[key] = FrameFiles(HDF5, file_uri(path), parameters, [0], sources[0].url)
        return located

    return locate


#: Ingestor name -> ``locator(argument, kwargs, ingestor) -> locate(descriptor)``.
LOCATORS = {
    "tiff_series": _series(TIFF_SERIES, _by_path),
    "tiff_series_dask": _series(TIFF_SERIES, _by_path),
    "area_detector_tiff": _series(TIFF_SERIES, _by_number),
    "pilatus_tiff": _series(TIFF_SERIES, numbered_order),
    "pilatus_cbf": _series(CBF_SERIES, numbered_order),
    "esrf_edf": _series(EDF_SERIES, numbered_order),
    "tiff_stack": _tiff_stack,
    "area_detector_hdf5": _area_detector_hdf5,
    "nexus_hdf5": _nexus_hdf5,
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
