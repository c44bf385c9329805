"""Ingestor for the HDF5 files of EPICS areaDetector's NDFileHDF5 plugin (default layout).

NDFileHDF5 (ADCore) writes the NDArrays of an acquisition into one HDF5 file per
capture, named from the plugin's FileTemplate (``%s%s_%6.6d.h5``: FilePath, FileName,
FileNumber), so a detector that writes a file per point (a Lambda in a Bluesky step
scan) leaves a numbered series ``name_000000.h5``, ``name_000001.h5``, ... This ingestor
makes one run of one series: one event per frame, with the image, the NDArray's unique
id and time stamps, and the NDAttributes that change from frame to frame; NDAttributes
that stay the same over the run are descriptor configuration.

The layout, as ADCore writes it without an XML layout file (areaDetector/ADCore@ee039d24):

- ``ADApp/pluginSrc/NDFileHDF5LayoutXML.cpp``, ``LayoutXML::DEFAULT_LAYOUT``::

      /entry                                   NX_class=NXentry
        /instrument                            NX_class=NXinstrument
          /detector                            NX_class=NXdetector
            /data        source="detector"     @signal=1   (the frames)
            /NDAttributes                      NX_class=NXcollection (ColorMode)
          /NDAttributes  ndattr_default="true" NX_class=NXcollection (every other NDAttribute)
          /performance/timestamp               (the plugin's own write timing)
        /data                                  NX_class=NXdata
          /data          hardlink -> /entry/instrument/detector/data

- ``ADApp/pluginSrc/NDFileHDF5.cpp``: ``addDefaultAttributes()`` adds to every NDArray's
  attributes ``NDArrayUniqueId`` (Int32), ``NDArrayTimeStamp`` (Float64),
  ``NDArrayEpicsTSSec`` and ``NDArrayEpicsTSnSec`` (UInt32, EPICS epoch 1990-01-01 UTC);
  ``createAttributeDataset()`` writes one dataset per NDAttribute, one value per frame,
  with the HDF5 attributes ``NDAttrName``, ``NDAttrDescription``, ``NDAttrSourceType``,
  ``NDAttrSource`` (and the group attribute ``hostname``); attributes saved
  ``OnFileOpen``/``OnFileClose`` hold one value per file; ``writeDefaultDatasetAttributes()``
  puts ``NDArrayNumDims``, ``NDArrayDimOffset``, ``NDArrayDimBinning`` and
  ``NDArrayDimReverse`` on the detector dataset.

Detectors that write through NDFileHDF5 (ADLambda, ADPilatus, ADPerkinElmer, ADAndor,
ADEiger's stream interface, ADSimDetector) all give this layout; their own attributes
(``Manufacturer``, ``Model``, ``AcquireTime``, ...) are NDAttributes like any other.
An NDArray of 2 dimensions is one image: a file holding a 2-D dataset is one frame,
``(n, y, x)`` is n frames, and an RGB NDArray (``NDArrayNumDims`` = 3) keeps its colour
axis in the frame.
"""

import posixpath
import warnings
from dataclasses import dataclass, field

import h5py
import numpy as np

from ...errors import IngestError, IngestWarning
from ...files import deterministic_uid, expand, timestamps
from ...grouping import series_key
from ...registry import IngestorSpec
from .._common import array_data_key, labelled, page_slices, source_label
from .._compose import compose_run
from ..area_detector import attribute_key
from ..area_detector import EPICS_EPOCH, OBJECT_NAME
from .frames import frame_layout, lazy_frames, read_frames_into
from .sizes import check_dataset_size
from .tree import HDF5_ERRORS, HDF5_MAGIC, member, open_source, read_named
from .values import plain, scalar_data_key, text

__all__ = [
    "AREA_DETECTOR_HDF5",
    "ingest_area_detector_hdf5",
    "sniff_area_detector_hdf5",
]

DATA = "/entry/data/data"
DETECTOR_DATA = "/entry/instrument/detector/data"
NDATTRIBUTES = "/entry/instrument/NDAttributes"
DETECTOR_NDATTRIBUTES = "/entry/instrument/detector/NDAttributes"
ATTRIBUTE_GROUPS = (NDATTRIBUTES, DETECTOR_NDATTRIBUTES)
#: How deep under /entry an XML layout's NDAttribute groups are looked for.
MARKED_GROUP_DEPTH = 3

UNIQUE_ID = "NDArrayUniqueId"
TIME_STAMP = "NDArrayTimeStamp"
EPICS_SECONDS = "NDArrayEpicsTSSec"
EPICS_NANOSECONDS = "NDArrayEpicsTSnSec"
DEFAULT_ATTRIBUTES = (UNIQUE_ID, TIME_STAMP, EPICS_SECONDS, EPICS_NANOSECONDS)
#: HDF5 attributes NDFileHDF5 gives the detector dataset (one value per NDArray dimension).
DIMENSION_ATTRIBUTES = ("NDArrayNumDims", "NDArrayDimOffset", "NDArrayDimBinning", "NDArrayDimReverse")

# The NDArray header as event data, named as the NDFileTIFF ingestor names it.
_HEADER_KEYS = {
    "unique_id": {"dtype": "integer", "dtype_numpy": "<i8", "shape": []},
    "ndarray_timestamp": {"dtype": "number", "dtype_numpy": "<f8", "shape": [], "units": "s"},
    "epics_timestamp": {"dtype": "number", "dtype_numpy": "<f8", "shape": [], "units": "s"},
}
_RESERVED_KEYS = {"image", *_HEADER_KEYS}

#: NDArrayTimeStamp is the driver's clock: most drivers count EPICS-epoch seconds, some
#: seconds since the IOC started. It stands in for missing EPICS time stamps only where,
#: read as EPICS-epoch seconds, it falls within this many seconds before the file's
#: modification time (the acquisition precedes the write by less than a day).
PLAUSIBLE_TIMESTAMP_WINDOW = 86400.0


@dataclass
class _Column:
    """One NDAttribute over the frames of one file, as read."""

    values: np.ndarray  # one value (or one array) per frame
    source: str  # where it was: '<file URL>:<dataset path>'
    description: str = ""


@dataclass
class _FileHeader:
    """What one file says apart from its pixels."""

    source: object  # SourceFile
    layout: object  # FrameLayout
    columns: dict = field(default_factory=dict)  # NDAttribute name -> _Column
    group_attributes: dict = field(default_factory=dict)  # e.g. hostname
    dimensions: dict = field(default_factory=dict)  # NDArrayDimOffset, ... of the dataset


# -- reading a file's header -------------------------------------------------------------


def _frames_dataset(h5, url):
    dataset = member(h5, DATA)
    if not isinstance(dataset, h5py.Dataset):
        dataset = member(h5, DETECTOR_DATA)
    if not isinstance(dataset, h5py.Dataset):
        raise IngestError(
            url,
            f"has no {DATA} (nor {DETECTOR_DATA}): not written by NDFileHDF5 with its default "
            "layout (read it with the 'nexus_hdf5' ingestor)",
        )
    if dataset.ndim < 2 or dataset.dtype.kind not in "biuf":
        raise IngestError(url, f"{dataset.name} is {dataset.shape} {dataset.dtype}, not images")
    return dataset


def _frame_ndim(dataset):
    """Dimensions per frame: the NDArray's (``NDArrayNumDims``), else 2 (an image)."""
    value = plain(dataset.attrs.get("NDArrayNumDims"))
    if isinstance(value, int) and 2 <= value <= dataset.ndim:
        return value
    return 2


def _per_frame(values, n_frames, leading_shape):
    """An attribute dataset's values, one per frame; None if it fits neither frames nor file.

    A dataset of one value (an attribute saved OnFileOpen/OnFileClose) holds for every
    frame of the file.
    """
    if values.shape[: len(leading_shape)] == tuple(leading_shape) and leading_shape:
        return values.reshape((n_frames,) + values.shape[len(leading_shape) :])
    if values.size == 1:
        return np.repeat(values.reshape(1), n_frames)
    if values.ndim == 1 and values.shape[0] == n_frames:
        return values
    return None


def _marked_groups(group, depth):
    """Groups under ``group`` holding datasets NDFileHDF5 marked with ``NDAttrName``.

    An XML layout may put NDAttributes anywhere (APS USAXS: ``/entry/Metadata``); in any
    layout NDFileHDF5 gives each NDAttribute dataset the ``NDAttrName`` attribute. Each
    member's kind and mark are asked of HDF5 by name (microseconds), not through an h5py
    object per member (a tenth of a millisecond each: most of reading a header).
    """
    found, marked = [], False
    group_id = group.id
    for name in list(group_id):  # names as HDF5 keeps them (bytes)
        kind, has_mark = _kind_and_mark(group_id, name, not marked)
        if kind == h5py.h5o.TYPE_DATASET:
            marked = marked or has_mark
        elif kind == h5py.h5o.TYPE_GROUP and depth > 0:
            child = member(group, name)
            if isinstance(child, h5py.Group):
                found.extend(_marked_groups(child, depth - 1))
    return ([group] if marked else []) + found


def _kind_and_mark(group_id, name, ask_mark):
    """``(HDF5 object type, has NDAttrName)`` of a member; ``(None, False)`` if it is not
    there (a dangling link)."""
    try:
        kind = h5py.h5o.get_info(group_id, name).type
        return kind, bool(ask_mark and kind == h5py.h5o.TYPE_DATASET and h5py.h5a.exists(group_id, b"NDAttrName", obj_name=name))
    except HDF5_ERRORS:
        return None, False


def _attribute_groups(h5):
    """The default layout's NDAttributes groups first, then any group of marked datasets."""
    groups = [member(h5, path) for path in ATTRIBUTE_GROUPS]
    groups = [group for group in groups if isinstance(group, h5py.Group)]
    entry = member(h5, "/entry")
    if isinstance(entry, h5py.Group):
        known = {group.name for group in groups}
        groups.extend(group for group in _marked_groups(entry, MARKED_GROUP_DEPTH) if group.name not in known)
    return groups


def _read_columns(h5, header):
    layout = header.layout
    for group in _attribute_groups(h5):
        default_layout = group.name in ATTRIBUTE_GROUPS
        for name, value in group.attrs.items():
            # hostname and the like: on NDAttributes collections, not on /entry itself
            if name != "NX_class" and (default_layout or text(group.attrs.get("NX_class")) == "NXcollection"):
                header.group_attributes.setdefault(name, plain(value))
        for dataset_name in group:
            dataset = member(group, dataset_name)
            if not isinstance(dataset, h5py.Dataset) or dataset.dtype.names:
                continue
            if not default_layout and "NDAttrName" not in dataset.attrs:
                continue  # another dataset of an XML layout's group (the frames, say)
            name = text(dataset.attrs.get("NDAttrName")) or dataset_name
            check_dataset_size(header.source.url, dataset, f"NDAttribute {name!r} ({dataset.name})")
            if h5py.check_string_dtype(dataset.dtype) is not None:
                values = np.asarray(dataset.asstr()[()], dtype=object)
            else:
                values = np.asarray(dataset[()])
            values = _per_frame(np.atleast_1d(values), layout.n_frames, layout.leading_shape)
            if values is None:
                warnings.warn(
                    f"{header.source.url}: {dataset.name} has {dataset.shape} values for "
                    f"{layout.n_frames} frames; left out",
                    IngestWarning,
                    stacklevel=5,
                )
                continue
            description = text(dataset.attrs.get("NDAttrDescription")) or ""
            header.columns.setdefault(name, _Column(values, f"{header.source.url}:{dataset.name}", description))


def read_header(source):
    """The frame layout and NDAttributes of one NDFileHDF5 file; no pixels read.

    Parameters
    ----------
    source : SourceFile

    Returns
    -------
    _FileHeader
    """

    def read(h5):
        dataset = _frames_dataset(h5, source.url)
        # Read whole (not lazily) into one buffer of the run: checked before it is allocated.
        check_dataset_size(source.url, dataset, f"the frames {dataset.name!r}")
        header = _FileHeader(source, frame_layout(dataset, _frame_ndim(dataset)))
        for name in DIMENSION_ATTRIBUTES[1:]:
            if name in dataset.attrs:
                header.dimensions[name] = plain(dataset.attrs[name])
        _read_columns(h5, header)
        return header

    return read_named(source, read, "an areaDetector NDFileHDF5 file")


# -- the series --------------------------------------------------------------------------


def _one_series(pattern, sources):
    """The files in FileNumber order, checked to be one numbered series."""
    keys = {source.identity: series_key(source) for source in sources}
    series_names = sorted({key[1] + "*" + key[2] for key in keys.values()})
    if len(series_names) > 1 or len({key[0] for key in keys.values()}) > 1:
        raise IngestError(
            str(source_label(pattern)),
            f"matches files of {len(series_names)} series ({', '.join(series_names)}); an "
            "areaDetector run is one numbered series: give the files of one, or read the "
            "folder with BlueskyIngestCatalog(..., group_by='prefix')",
        )
    return sorted(sources, key=lambda source: (keys[source.identity][3] or 0, source.identity))


def _file_number(source):
    """FileNumber of a file named by NDFileHDF5's template, None for an unnumbered name.

    The number must come before the extension: ``scan.h5`` is unnumbered, not number 5.
    """
    _, prefix, suffix, number = series_key(source)
    name = posixpath.basename(source.path)
    if number is None or (not suffix and "." in name):
        return None
    return prefix, number


def _start_metadata(pattern, series):
    metadata = {"ingestor": "area_detector_hdf5", "source": source_label(pattern), "num_files": len(series)}
    first, last = _file_number(series[0]), _file_number(series[-1])
    if first is not None and last is not None:
        metadata["file_prefix"] = first[0]
        metadata["file_number_range"] = [first[1], last[1]]
    return metadata


def _check_layouts(headers):
    first = headers[0].layout
    for header in headers[1:]:
        layout = header.layout
        if (layout.frame_shape, layout.dtype) != (first.frame_shape, first.dtype):
            raise IngestError(
                header.source.url,
                f"holds frames of {layout.frame_shape} {layout.dtype}; {headers[0].source.url} "
                f"holds frames of {first.frame_shape} {first.dtype}",
            )
    return first.frame_shape, first.dtype


def _joined_columns(headers):
    """Every NDAttribute over every frame of the run: name -> (values, source, description).

    A file lacking an attribute that others have (the attribute list changed between
    files) gets NaN (numbers) or '' (strings) for its frames, with a warning.
    """
    names = list(dict.fromkeys(name for header in headers for name in header.columns))
    joined, lacking = {}, []
    for name in names:
        parts, present = [], [header.columns.get(name) for header in headers]
        template = next(column for column in present if column is not None)
        for header, column in zip(headers, present):
            if column is not None:
                parts.append(column.values)
                continue
            lacking.append((header.source.url, name))
            blank = "" if template.values.dtype == object else np.nan
            parts.append(np.full((header.layout.n_frames,) + template.values.shape[1:], blank, dtype=object))
        values = np.concatenate(parts) if len(parts) > 1 else parts[0]
        if values.dtype == object and template.values.dtype != object:
            values = values.astype(np.float64)
        joined[name] = (values, template.source, template.description)
    if lacking:
        url, name = lacking[0]
        warnings.warn(
            f"{url}: has no NDAttribute {name!r}, which other files of the series have "
            f"({len(lacking)} file/attribute pairs missing); missing values are NaN in "
            "numeric fields and '' in string fields",
            IngestWarning,
            stacklevel=3,
        )
    return joined


def _event_times(headers, joined, mtimes):
    """Per frame: the EPICS time stamp where the driver set it, else NDArrayTimeStamp read
    as EPICS-epoch seconds where that is plausible, else the file's modification time."""
    frame_mtimes = np.concatenate(
        [np.full(header.layout.n_frames, mtime, dtype=np.float64) for header, mtime in zip(headers, mtimes)]
    )
    times = frame_mtimes.copy()
    if TIME_STAMP in joined:
        stamps = EPICS_EPOCH + np.asarray(joined[TIME_STAMP][0], dtype=np.float64)
        plausible = (stamps <= frame_mtimes + 60) & (stamps >= frame_mtimes - PLAUSIBLE_TIMESTAMP_WINDOW)
        times = np.where(plausible, stamps, times)
    if EPICS_SECONDS in joined:
        seconds = np.asarray(joined[EPICS_SECONDS][0], dtype=np.float64)
        nanoseconds = (
            np.asarray(joined[EPICS_NANOSECONDS][0], dtype=np.float64)
            if EPICS_NANOSECONDS in joined
            else np.zeros_like(seconds)
        )
        epics = EPICS_EPOCH + seconds + nanoseconds * 1e-9
        times = np.where(seconds > 0, epics, times)
    return times


def _attribute_key(name):
    return attribute_key(name, _RESERVED_KEYS)  # the NDFileTIFF ingestor's rule, for the same NDAttributes


def _column_data_key(values, source):
    if values.dtype == object:
        return {"dtype": "string", "shape": list(values.shape[1:]), "source": source}
    if values.ndim > 1:
        return array_data_key(values.shape[1:], values.dtype, source)
    return scalar_data_key(plain(values[0]) if values.size else 0.0, source, dtype=values.dtype)


def _header_data(joined):
    """The NDArray header (unique id, time stamps) as event data: key -> (values, data key)."""
    header = {}
    if UNIQUE_ID in joined:
        values, source, _ = joined[UNIQUE_ID]
        header["unique_id"] = (np.asarray(values, dtype=np.int64), source)
    if TIME_STAMP in joined:
        values, source, _ = joined[TIME_STAMP]
        header["ndarray_timestamp"] = (np.asarray(values, dtype=np.float64), source)
    if EPICS_SECONDS in joined:
        seconds, source, _ = joined[EPICS_SECONDS]
        nanoseconds = joined.get(EPICS_NANOSECONDS, (np.zeros(len(seconds)), "", ""))[0]
        unix = EPICS_EPOCH + np.asarray(seconds, np.float64) + np.asarray(nanoseconds, np.float64) * 1e-9
        header["epics_timestamp"] = (unix, f"{source} (+ {EPICS_NANOSECONDS}), as Unix time")
    return {
        key: (values, {**_HEADER_KEYS[key], "source": source, "object_name": OBJECT_NAME})
        for key, (values, source) in header.items()
    }


def _describe(headers, joined, time, image_key):
    """Data keys and event data of what changes; configuration of what stays the same."""
    data_keys = {"image": image_key}
    event_data = {}
    for key, (values, data_key) in _header_data(joined).items():
        values.flags.writeable = False
        data_keys[key], event_data[key] = data_key, values
    constant = {"data": {}, "timestamps": {}, "data_keys": {}}
    for name, (values, source, description) in joined.items():
        if name in DEFAULT_ATTRIBUTES:
            continue
        key = _attribute_key(name)
        data_key = labelled(_column_data_key(values, source), key, name)
        if description:
            data_key["description"] = description
        if len(values) and all(np.array_equal(values[0], value) for value in values[1:]):
            constant["data"][key] = plain(values[0])
            constant["timestamps"][key] = time
            constant["data_keys"][key] = data_key
        else:
            if values.dtype == object:
                values = np.asarray(values.astype(str))
            values.flags.writeable = False
            data_keys[key] = {**data_key, "object_name": OBJECT_NAME}
            event_data[key] = values
    # Group attributes (hostname) and the detector dataset's binning and offsets, as the
    # first file has them: they describe the detector, not a frame.
    for name, value in {**headers[0].group_attributes, **headers[0].dimensions}.items():
        key = _attribute_key(name)
        if key in data_keys or key in constant["data"] or value is None:
            continue
        constant["data"][key] = value
        constant["timestamps"][key] = time
        shape = [len(value)] if isinstance(value, list) else []
        sample = value[0] if isinstance(value, list) and value else value
        where = NDATTRIBUTES if name in headers[0].group_attributes else DATA
        data_key = labelled(scalar_data_key(sample, f"{headers[0].source.url}:{where}@{name}"), key, name)
        data_key["shape"] = shape
        constant["data_keys"][key] = data_key
    return data_keys, event_data, {OBJECT_NAME: constant}


def _read_eager(headers, frame_shape, dtype):
    """Every frame of the series in one read-only buffer, each file read straight into its rows."""
    total = sum(header.layout.n_frames for header in headers)
    buffer = np.empty((total,) + tuple(frame_shape), dtype)
    begin = 0
    for header in headers:
        end = begin + header.layout.n_frames
        read_frames_into(header.source, header.layout, buffer[begin:end])
        begin = end
    buffer.flags.writeable = False  # documents are records: their arrays are read-only
    return buffer


def _read_lazy(headers):
    """Every frame of the series as one lazy array (one task per HDF5 chunk of frames)."""
    return lazy_frames([(header.source, header.layout) for header in headers])


def ingest_area_detector_hdf5(pattern, *, lazy=False, storage_options=None):
    """Wrap one series of areaDetector NDFileHDF5 files, one event per frame, in the event model.

    Parameters
    ----------
    pattern : str, SourceFile or list of those
        Glob, path or fsspec URL of the files of one series (``'data/lambda_*.h5'``), or
        one file; files are taken in FileNumber order.
    lazy : bool, optional
        If True, the images are dask arrays with one task per HDF5 chunk along the frame
        axis, read when computed; each file's header and NDAttributes are still read while
        the documents are generated.
    storage_options : dict, optional
        Passed to fsspec.

    Yields
    ------
    name, doc : str, dict
        start, descriptor ``primary`` (data keys ``image``, ``unique_id``,
        ``ndarray_timestamp``, ``epics_timestamp`` and the changing NDAttributes), event
        pages (one row per frame), stop.

    Raises
    ------
    IngestError
        If no file matches, the files belong to more than one numbered series, a file is
        not HDF5 or lacks ``/entry/data/data``, or frames differ in shape or dtype.

    Examples
    --------
    >>> run = BlueskyRun(ingest_area_detector_hdf5("lambda/scan_*.h5", lazy=True))  # doctest: +SKIP
    >>> run.primary.to_dask()["image"][3].compute()  # doctest: +SKIP
    """
    sources = expand(pattern, storage_options)
    uid = deterministic_uid(source.identity for source in sources)
    series = _one_series(pattern, sources)
    mtimes = timestamps(series)
    run_bundle = compose_run(uid=uid, time=mtimes[0], metadata=_start_metadata(pattern, series))
    yield "start", run_bundle.start_doc

    headers = [read_header(source) for source in series]
    frame_shape, dtype = _check_layouts(headers)
    joined = _joined_columns(headers)
    times = _event_times(headers, joined, mtimes)
    image_key = array_data_key(frame_shape, dtype, source_label(pattern), object_name=OBJECT_NAME)
    # A capture stopped before its first frame leaves a file of 0 frames: no events.
    first_time = float(times[0]) if len(times) else mtimes[0]
    data_keys, event_data, configuration = _describe(headers, joined, first_time, image_key)
    stream_bundle = run_bundle.compose_descriptor(
        data_keys=data_keys,
        name="primary",
        time=first_time,
        configuration=configuration,
        object_keys={OBJECT_NAME: list(data_keys)},
        hints={OBJECT_NAME: {"fields": ["image"]}},
    )
    yield "descriptor", stream_bundle.descriptor_doc

    images = _read_lazy(headers) if lazy else _read_eager(headers, frame_shape, dtype)
    total = len(times)
    # Lazy pages hold no pixels: one page for the run keeps the graph one array.
    pages = ([(0, total)] if total else []) if lazy else page_slices(total, frame_shape, dtype)
    for begin, end in pages:
        page_times = times[begin:end].tolist()
        page_images = images[begin:end]
        # The schema checks every item of every data array; iterating a dask array makes
        # a new dask array per frame (milliseconds each, minutes for a long series). The
        # page is validated with a stand-in of the same length, then given the images.
        data = {"image": [None] * (end - begin) if lazy else page_images}
        data.update({key: values[begin:end] for key, values in event_data.items()})
        page = stream_bundle.compose_event_page(
            data=data,
            timestamps={key: page_times for key in data},
            time=page_times,
            seq_num=list(range(begin + 1, end + 1)),
        )
        page["data"]["image"] = page_images
        yield "event_page", page
    yield "stop", run_bundle.compose_stop(time=max(float(times[-1]) if total else first_time, mtimes[-1]))


# -- detection ------------------------------------------------------------------------------


def _layout_confidence(h5):
    data = member(h5, DATA)
    if not isinstance(data, h5py.Dataset):
        data = member(h5, DETECTOR_DATA)
    attributes = member(h5, NDATTRIBUTES)
    if not isinstance(data, h5py.Dataset):
        return 0.0
    if "NDArrayNumDims" in data.attrs:
        return 0.9
    if isinstance(attributes, h5py.Group) and any(name in attributes for name in DEFAULT_ATTRIBUTES):
        return 0.9
    if isinstance(attributes, h5py.Group):
        return 0.7
    return 0.0


def sniff_area_detector_hdf5(head, source):
    """NDFileHDF5's default layout: 0.9; an HDF5 file without it: 0.

    The group names sit wherever HDF5 put them, so the file's header is opened (a few
    small reads): ``/entry/data/data`` with the ``NDArrayNumDims`` attribute NDFileHDF5
    writes, or ``/entry/instrument/NDAttributes`` holding ``NDArrayUniqueId``.
    Above the generic NeXus ingestor (0.5), which would read such a file row by row.
    """
    if head[:8] != HDF5_MAGIC:
        return 0.0
    try:
        with open_source(source) as file:
            return _layout_confidence(file.h5)
    except (IngestError, *HDF5_ERRORS):  # a damaged file is not recognisably NDFileHDF5's
        return 0.0


AREA_DETECTOR_HDF5 = IngestorSpec(
    name="area_detector_hdf5",
    ingest=ingest_area_detector_hdf5,
    software="EPICS areaDetector NDFileHDF5 (ADCore; Lambda, Eiger, Pilatus, Perkin Elmer, Andor, ...)",
    patterns=("*.h5", "*.hdf5", "*.hdf", "*.he5", "*.nxs"),
    mimetypes=("application/x-hdf5",),
    sniff=sniff_area_detector_hdf5,
    grouping="prefix",
    description="a numbered series of areaDetector NDFileHDF5 files, one event per frame, "
    "NDAttributes as event data or configuration",
)
