"""Ingestor for the TIFF files of EPICS areaDetector's NDFileTIFF plugin.

NDFileTIFF (ADCore, ``ADApp/pluginSrc/NDFileTIFF.cpp``) writes one NDArray per file,
named from the plugin's FileTemplate (``%s%s_%3.3d.tif``: FilePath, FileName, "_",
FileNumber), so one acquisition is a numbered series ``sample_001.tif``,
``sample_002.tif``, ... Besides the pixels, each file carries the NDArray's header in
private TIFF tags and its NDAttributes as ``"Name:Value"`` strings; this ingestor makes
one run of one series: one event per file, with the image, the NDArray's unique id and
time stamps, and every NDAttribute that changes from file to file; NDAttributes that
stay the same over the series are descriptor configuration.
"""

import warnings
from dataclasses import dataclass, field

import numpy as np
import tifffile

from ..errors import IngestError, IngestWarning
from ..files import deterministic_uid, expand, timestamps
from ..grouping import series_key
from ..registry import IngestorSpec
from ._common import array_data_key, labelled, page_as_events, page_slices, safe_key, source_label, unique_key
from ._compose import compose_run
from .tiff import TIFF_MAGIC, check_series, check_series_size, lazy_images, read_tiff, read_tiff_with, tiff_header

__all__ = [
    "AREA_DETECTOR_TIFF",
    "EPICS_EPOCH",
    "epics_to_unix",
    "ingest_area_detector_tiff",
    "read_ndfile_tags",
]

# The private tags, as ADCore's NDFileTIFF.cpp declares them (areaDetector/ADCore,
# ADApp/pluginSrc/NDFileTIFF.cpp, commit 039147ea):
#   static const int TIFFTAG_NDTIMESTAMP     = 65000;  TIFF_DOUBLE  pArray->timeStamp
#   static const int TIFFTAG_UNIQUEID        = 65001;  TIFF_LONG    pArray->uniqueId
#   static const int TIFFTAG_EPICSTSSEC      = 65002;  TIFF_LONG    pArray->epicsTS.secPastEpoch
#   static const int TIFFTAG_EPICSTSNSEC     = 65003;  TIFF_LONG    pArray->epicsTS.nsec
#   static const int TIFFTAG_FIRST_ATTRIBUTE = 65010;  TIFF_ASCII   "Name:Value", one per
#   static const int TIFFTAG_LAST_ATTRIBUTE  = 65500;  (exclusive)  NDAttribute, in list order
# Integer attributes are printed with "%d", floats with "%f", strings as they are; the
# plugin's readFile splits them at the first ':'. The standard tags Make and Model hold
# the "Manufacturer" and "Model" NDAttributes (or "Unknown"), Software "EPICS areaDetector".
NDTIMESTAMP_TAG = 65000
UNIQUEID_TAG = 65001
EPICS_TS_SEC_TAG = 65002
EPICS_TS_NSEC_TAG = 65003
FIRST_ATTRIBUTE_TAG = 65010
LAST_ATTRIBUTE_TAG = 65500
STANDARD_TAGS = {"make": 271, "model": 272, "software": 305}
SOFTWARE = "EPICS areaDetector"

#: EPICS time stamps count seconds from 1990-01-01 00:00:00 UTC, which is this many Unix seconds.
EPICS_EPOCH = 631152000

#: The object (areaDetector device) that every data key and configuration value belongs to.
OBJECT_NAME = "area_detector"

# The event-data keys of the NDArray header, with the tags they come from.
_HEADER_KEYS = {
    "unique_id": {
        "dtype": "integer",
        "dtype_numpy": "<i8",
        "shape": [],
        "source": "TIFF tag 65001 (NDArray uniqueId)",
    },
    "ndarray_timestamp": {
        "dtype": "number",
        "dtype_numpy": "<f8",
        "shape": [],
        "units": "s",
        "source": "TIFF tag 65000 (NDArray timeStamp)",
    },
    "epics_timestamp": {
        "dtype": "number",
        "dtype_numpy": "<f8",
        "shape": [],
        "units": "s",
        "source": "TIFF tags 65002, 65003 (NDArray epicsTS), as Unix time",
    },
}
_RESERVED_KEYS = {"image", *_HEADER_KEYS, *STANDARD_TAGS}


@dataclass
class NDFileTags:
    """What NDFileTIFF put in one file's tags, as read (values not yet interpreted)."""

    #: NDArray header values by data key: ``unique_id``, ``ndarray_timestamp``, ``epics_timestamp``.
    header: dict = field(default_factory=dict)
    #: Make, Model and Software tags by data key (``make``, ...), where present.
    standard: dict = field(default_factory=dict)
    #: NDAttribute values, as the strings NDFileTIFF wrote, by attribute name, in tag order.
    attributes: dict = field(default_factory=dict)
    #: Whether the EPICS time stamp was ever set (seconds past the EPICS epoch > 0).
    has_epics_time: bool = False


def epics_to_unix(seconds, nanoseconds=0):
    """An EPICS time stamp (seconds and nanoseconds past 1990-01-01 UTC) as Unix time."""
    return EPICS_EPOCH + int(seconds) + int(nanoseconds) * 1e-9


def _tags_of(source, page):
    """The NDFileTIFF tags of a file's first page; an error if it has none of them."""
    tags = {tag.code: tag.value for tag in page.tags.values()}
    if not any(code in tags for code in (NDTIMESTAMP_TAG, UNIQUEID_TAG, EPICS_TS_SEC_TAG)):
        raise IngestError(
            source.url,
            "has none of the private tags of areaDetector's NDFileTIFF (65000-65003); "
            "it was not written by NDFileTIFF (read it with the 'tiff_series' ingestor)",
        )
    result = NDFileTags()
    if UNIQUEID_TAG in tags:
        result.header["unique_id"] = int(tags[UNIQUEID_TAG])
    if NDTIMESTAMP_TAG in tags:
        result.header["ndarray_timestamp"] = float(tags[NDTIMESTAMP_TAG])
    if EPICS_TS_SEC_TAG in tags:
        seconds = int(tags[EPICS_TS_SEC_TAG])
        result.header["epics_timestamp"] = epics_to_unix(seconds, tags.get(EPICS_TS_NSEC_TAG, 0))
        result.has_epics_time = seconds > 0
    for key, code in STANDARD_TAGS.items():
        if code in tags:
            result.standard[key] = str(tags[code])
    for code in sorted(tags):
        if FIRST_ATTRIBUTE_TAG <= code < LAST_ATTRIBUTE_TAG and isinstance(tags[code], str):
            # As NDFileTIFF::readFile does: the name is what comes before the first ':'.
            name, _, value = tags[code].partition(":")
            result.attributes.setdefault(name, value)
    return result


def read_ndfile_tags(source):
    """The NDFileTIFF tags of one file, and the shape and dtype of its image; no pixels read.

    Parameters
    ----------
    source : SourceFile

    Returns
    -------
    tags : NDFileTags
    shape : tuple of int
    dtype : numpy.dtype
    """

    def header(tif):
        series = tif.series[0]
        check_series_size(source, tif, series)
        return _tags_of(source, tif.pages[0]), tuple(series.shape), np.dtype(series.dtype)

    return read_tiff_with(source, header, header_only=True)


def _read_tags_and_image(source, row_for):
    """The tags of one file, its pixels read straight into the array ``row_for(series)`` gives."""

    def read(tif):
        series = tif.series[0]
        check_series_size(source, tif, series)  # before row_for allocates the run's buffer
        series.asarray(out=row_for(series))
        return _tags_of(source, tif.pages[0])

    return read_tiff_with(source, read)


def _one_series(pattern, sources):
    """The files in FileNumber order, checked to be one numbered series."""
    keys = {source.identity: series_key(source) for source in sources}
    series_names = sorted({key[1] + "*" + key[2] for key in keys.values()})
    if len({key[:3] for key in keys.values()}) > 1:
        raise IngestError(
            str(source_label(pattern)),
            f"matches files of {len(series_names)} series ({', '.join(series_names)}); an "
            "areaDetector run is one numbered series: give the files of one, or read the "
            "folder with BlueskyIngestCatalog(..., group_by='prefix')",
        )
    # Numeric order: '%3.3d' pads to three digits, so 'scan_1000' sorts before 'scan_999' by name.
    ordered = sorted(sources, key=lambda source: (keys[source.identity][3] or 0, source.identity))
    return ordered, keys[ordered[0].identity]


def _start_metadata(pattern, series, first_key):
    """What the RunStart records: from the file names only, so listing reads no file."""
    metadata = {
        "ingestor": "area_detector_tiff",
        "source": source_label(pattern),
        "num_points": len(series),
    }
    _, prefix, _, first_number = first_key
    if first_number is not None:
        metadata["file_prefix"] = prefix
        metadata["file_number_range"] = [first_number, series_key(series[-1])[3]]
    return metadata


def _as_numbers(strings):
    """The strings as integers, else as floats, with their data-key types; None if not numbers."""
    # Python's int() and float() read "1_000" as 1000; areaDetector's "%d" and "%f" never write "_".
    if any("_" in string for string in strings):
        return None
    for parse, dtype, dtype_numpy in ((int, "integer", "<i8"), (float, "number", "<f8")):
        try:
            return [parse(string) for string in strings], dtype, dtype_numpy
        except ValueError:
            continue
    return None


def _parse_column(values, numbers=True):
    """One field's tag strings over the series as numbers if they all are, else as strings.

    Every value must parse for the field to be numeric, so a string attribute that
    happens to read "12" in one file stays a string. Missing values (None) are NaN in a
    numeric field (which makes an integer field a float one) and "" in a string field.

    Returns
    -------
    values : list
    dtype, dtype_numpy : str
        The data key's JSON type and numpy type.
    """
    present = [value for value in values if value is not None]
    parsed = _as_numbers(present) if numbers else None
    if parsed is None:
        strings = ["" if value is None else value for value in values]
        return strings, "string", f"<U{max([len(string) for string in strings] + [1])}"
    if len(present) == len(values):
        return parsed
    numbers_in_order = iter(parsed[0])
    filled = [float("nan") if value is None else float(next(numbers_in_order)) for value in values]
    return filled, "number", "<f8"


def attribute_key(name, reserved):
    """The data key of an NDAttribute (NDFileTIFF or NDFileHDF5): its name, kept clear of
    the ingestor's own keys (``reserved``: ``attribute_<name>``), of '.' and '/', and of the
    event's fields (an attribute named time, seq_num or uid would hide the stream's own: time_2...).
    """
    key = safe_key(name, fallback="unnamed")  # the shared rule: '2-theta' -> 'X2_theta'
    if key in reserved:
        return f"attribute_{key}"
    return unique_key(key, set())


def _attribute_key(name):
    return attribute_key(name, _RESERVED_KEYS)


def _columns(series, all_tags):
    """Make/Model/Software and every NDAttribute, one list of raw values per data key.

    Returns
    -------
    columns : dict
        data key -> (values, one per file, None where a file lacks it; source; parse numbers?;
        the name in the file)
    """
    columns = {}
    for key, code in STANDARD_TAGS.items():
        values = [tags.standard.get(key) for tags in all_tags]
        if any(value is not None for value in values):
            columns[key] = (values, f"TIFF tag {code} ({key.capitalize()})", False, key)
    names = list(dict.fromkeys(name for tags in all_tags for name in tags.attributes))
    for name in names:
        values = [tags.attributes.get(name) for tags in all_tags]
        columns[_attribute_key(name)] = (values, f"NDAttribute {name}", True, name)
    _warn_of_missing_attributes(series, all_tags, names)
    return columns


def _warn_of_missing_attributes(series, all_tags, names):
    """One warning for files lacking NDAttributes that others have (the list changed mid-series)."""
    lacking = [
        (source, [name for name in names if name not in tags.attributes])
        for source, tags in zip(series, all_tags)
        if len(tags.attributes) < len(names)
    ]
    if lacking:
        source, missing = lacking[0]
        warnings.warn(
            f"{source.url}: has no NDAttribute {', '.join(map(repr, missing))}, which other "
            f"files of the series have ({len(lacking)} of {len(series)} files lack some); "
            "missing values are NaN in numeric fields and '' in string fields",
            IngestWarning,
            stacklevel=2,
        )


def _check_header_tags(series, all_tags):
    """Every file must carry the same NDArray header tags, or its events would lack fields."""
    expected = set(all_tags[0].header)
    for source, tags in zip(series, all_tags):
        if set(tags.header) != expected:
            differing = sorted(expected ^ set(tags.header))
            raise IngestError(
                source.url,
                f"has NDArray header fields {sorted(tags.header)} but {series[0].url} has "
                f"{sorted(expected)} (differing: {differing})",
            )
    return [key for key in _HEADER_KEYS if key in expected]


def _event_times(series, all_tags, mtimes):
    """EPICS time stamps where the driver set them, else the files' modification times."""
    return [
        tags.header["epics_timestamp"] if tags.has_epics_time else mtime
        for tags, mtime in zip(all_tags, mtimes)
    ]


def _describe(image_key, series, all_tags, time):
    """Data keys of the changing values and configuration of the constant ones.

    Returns
    -------
    data_keys : dict
    event_data : dict
        data key -> list of values, one per file (not the image).
    configuration : dict
        ``{OBJECT_NAME: {"data", "timestamps", "data_keys"}}``.
    """
    data_keys = {"image": image_key}
    event_data = {}
    for key in _check_header_tags(series, all_tags):
        data_keys[key] = {**_HEADER_KEYS[key], "object_name": OBJECT_NAME}
        event_data[key] = [tags.header[key] for tags in all_tags]
    constant = {"data": {}, "timestamps": {}, "data_keys": {}}
    for key, (raw, tag_source, parse_numbers, name) in _columns(series, all_tags).items():
        values, dtype, dtype_numpy = _parse_column(raw, numbers=parse_numbers)
        data_key = labelled({"dtype": dtype, "dtype_numpy": dtype_numpy, "shape": [], "source": tag_source}, key, name)
        if all(value == raw[0] for value in raw) and raw[0] is not None:
            constant["data"][key] = values[0]
            constant["timestamps"][key] = time
            constant["data_keys"][key] = data_key
        else:
            data_keys[key] = {**data_key, "object_name": OBJECT_NAME}
            event_data[key] = values
    return data_keys, event_data, {OBJECT_NAME: constant}


def _read_all(series_files, lazy):
    """The tags of every file and, unless lazy, every image in one read-only buffer.

    Returns
    -------
    all_tags : list of NDFileTags
    shape, dtype
    buffer : numpy.ndarray or None
    """
    if lazy:
        # Tags are event data, so each file's header is read; pixels wait for compute.
        all_tags = []
        for source in series_files:
            tags, shape, dtype = read_ndfile_tags(source)
            if all_tags and (shape, dtype) != (first_shape, first_dtype):
                raise IngestError(
                    source.url,
                    f"has an image of shape {shape} and dtype {dtype} but the series has "
                    f"images of shape {first_shape} and dtype {first_dtype}",
                )
            if not all_tags:
                first_shape, first_dtype = shape, dtype
            all_tags.append(tags)
        return all_tags, first_shape, first_dtype, None
    buffer = None

    def slot(index, source):
        def row_for(series):
            nonlocal buffer
            if buffer is None:
                # One buffer for the series: each file read straight into its row (see tiff.py).
                buffer = np.empty((len(series_files),) + tuple(series.shape), series.dtype)
            check_series(source, series, buffer.shape[1:], buffer.dtype)
            return buffer[index]

        return row_for

    all_tags = [
        _read_tags_and_image(source, slot(index, source))
        for index, source in enumerate(series_files)
    ]
    buffer.flags.writeable = False  # documents are records: their arrays are read-only
    return all_tags, buffer.shape[1:], buffer.dtype, buffer


def ingest_area_detector_tiff(pattern, *, lazy=False, storage_options=None):
    """Wrap one series of areaDetector NDFileTIFF files, one event per file, in the event model.

    Parameters
    ----------
    pattern : str, SourceFile or list of those
        Glob, path or fsspec URL of the files of one series (``'data/sample_*.tif'``);
        files are taken in FileNumber order.
    lazy : bool, optional
        If True, events hold dask arrays that read their file's pixels only when
        computed; every file's tags are still read while the documents are generated.
    storage_options : dict, optional
        Passed to fsspec.

    Yields
    ------
    name, doc : str, dict
        start, descriptor ``primary`` (data keys ``image``, ``unique_id``,
        ``ndarray_timestamp``, ``epics_timestamp`` and the changing NDAttributes), one
        event per file, stop.

    Raises
    ------
    IngestError
        If no file matches, the files belong to more than one numbered series, a file is
        not a TIFF or lacks NDFileTIFF's tags, or images differ in shape or dtype.
    """
    sources = expand(pattern, storage_options)
    # Same files give the same uid, however they were matched or listed.
    uid = deterministic_uid(source.identity for source in sources)
    series, first_key = _one_series(pattern, sources)
    mtimes = timestamps(series)
    run_bundle = compose_run(
        uid=uid, time=mtimes[0], metadata=_start_metadata(pattern, series, first_key)
    )
    yield "start", run_bundle.start_doc

    all_tags, shape, dtype, buffer = _read_all(series, lazy)
    times = _event_times(series, all_tags, mtimes)
    image_key = array_data_key(shape, dtype, source_label(pattern), object_name=OBJECT_NAME)
    data_keys, event_data, configuration = _describe(image_key, series, all_tags, times[0])
    stream_bundle = run_bundle.compose_descriptor(
        data_keys=data_keys,
        name="primary",
        time=mtimes[0],
        configuration=configuration,
        object_keys={OBJECT_NAME: list(data_keys)},
        hints={OBJECT_NAME: {"fields": ["image"]}},
    )
    yield "descriptor", stream_bundle.descriptor_doc

    for begin, end in page_slices(len(series), shape, dtype):
        if lazy:
            images = lazy_images(read_tiff, series[begin:end], shape, dtype)
        else:
            images = buffer[begin:end]
        page_data = {key: values[begin:end] for key, values in event_data.items()}
        yield from page_as_events(stream_bundle, {"image": images, **page_data}, times[begin:end], begin)

    yield "stop", run_bundle.compose_stop(time=max(mtimes[-1], times[-1]))


def sniff_area_detector_tiff(head, source):
    """A TIFF whose first page has NDFileTIFF's private tags: 0.9; anything else: 0.

    The tags sit in the first IFD, which libtiff writes after the pixels, so usually
    beyond ``head``: the header is parsed once per file for all TIFF sniffers
    (:func:`~intake_ingest.ingestors.tiff.tiff_header`).
    """
    if head[:4] not in TIFF_MAGIC:
        return 0.0
    try:
        header = tiff_header(source)
    except Exception:  # a damaged TIFF is not recognisably areaDetector's; sniffers never raise
        return 0.0
    # 65000 is also used by other programs (Argos, Nuvu): ADCore's types make it areaDetector's.
    types = header.tag_types
    adcore_types = types.get(NDTIMESTAMP_TAG) == tifffile.DATATYPE.DOUBLE and types.get(UNIQUEID_TAG) in (
        tifffile.DATATYPE.LONG,
        tifffile.DATATYPE.SHORT,
    )
    software = header.tags.get(STANDARD_TAGS["software"])
    return 0.9 if adcore_types or (software == SOFTWARE and UNIQUEID_TAG in types) else 0.0


AREA_DETECTOR_TIFF = IngestorSpec(
    name="area_detector_tiff",
    ingest=ingest_area_detector_tiff,
    software="EPICS areaDetector NDFileTIFF (ADCore)",
    patterns=("*.tif", "*.tiff"),
    mimetypes=("image/tiff",),
    sniff=sniff_area_detector_tiff,
    grouping="prefix",
    description="a numbered series of areaDetector NDFileTIFF files, one event per file, "
    "NDAttributes as event data or configuration",
)
