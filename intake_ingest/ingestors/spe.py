"""Ingestor for Princeton Instruments SPE files (WinView/WinSpec 2.x, LightField 3.0).

An SPE file is a 4100-byte binary header, the frames one after another, and (version
3.0, written by LightField) an XML footer holding what the 2.x header held and more.
Headers and frames are read with imageio's SPE plugin (:mod:`imageio.plugins.spe`);
the 3.0 footer is parsed with ``defusedxml``, which refuses entity tricks in XML from
users. One run per file, one event per frame.

See ``docs/formats/spe.md`` for what goes where.
"""

import contextlib
import dataclasses
import datetime
import os
import re
import tempfile
import warnings

import numpy as np

from ..errors import IngestError, IngestWarning, MissingFileError
from ..files import deterministic_uid, expand, read_bytes, timestamps
from ..registry import IngestorSpec
from ._common import array_data_key, page_as_events, page_slices, source_label, time_zone
from ._compose import compose_run

__all__ = ["SPE_HEADER_BYTES", "WINVIEW_SPE", "SpeHeader", "ingest_winview_spe", "read_header", "sniff_spe"]

NAME = "winview_spe"

#: Frames start after a header of this many bytes in every SPE version.
SPE_HEADER_BYTES = 4100

# Offsets in the 2.x header (WinView/WinSpec manual, appendix "Header Structure").
_DATATYPE, _XDIM, _YDIM, _NUMFRAMES, _XML_OFFSET, _VERSION = 108, 42, 656, 1446, 678, 1992
_DTYPES = {0: np.dtype("<f4"), 1: np.dtype("<i4"), 2: np.dtype("<i2"), 3: np.dtype("<u2"), 8: np.dtype("<u4")}


@dataclasses.dataclass(frozen=True)
class SpeHeader:
    """What an SPE file's header (and 3.0 footer) says.

    ``frame_stride`` is the number of bytes from one frame to the next (larger than a
    frame where LightField appends per-frame metadata); ``start_time`` the Unix time of
    the acquisition, None where the file does not say.
    """

    version: float
    n_frames: int
    shape: tuple
    dtype: np.dtype
    frame_stride: int
    exposure_time: float | None
    start_time: float | None
    metadata: dict
    configuration: dict


# -- sniffing -------------------------------------------------------------------------------------


def _header_numbers(head):
    datatype = int.from_bytes(head[_DATATYPE : _DATATYPE + 2], "little", signed=True)
    xdim = int.from_bytes(head[_XDIM : _XDIM + 2], "little")
    ydim = int.from_bytes(head[_YDIM : _YDIM + 2], "little")
    n_frames = int.from_bytes(head[_NUMFRAMES : _NUMFRAMES + 4], "little", signed=True)
    version = float(np.frombuffer(head[_VERSION : _VERSION + 4], "<f4")[0])
    return datatype, xdim, ydim, n_frames, version


def sniff_spe(head, source):
    """An SPE header: a known data type, non-zero frame sizes, a size that fits the frames.

    SPE has no magic number; the data type code, the dimensions and the file size
    (header + frames, plus the XML footer in 3.0) together are decisive enough.
    """
    if len(head) < 2000:
        return 0.0
    datatype, xdim, ydim, n_frames, version = _header_numbers(head)
    if datatype not in _DTYPES or not xdim or not ydim or n_frames < 0:
        return 0.0
    frames_bytes = xdim * ydim * _DTYPES[datatype].itemsize * n_frames
    size = getattr(source, "size", None)
    if size is None:
        return 0.6
    if version >= 3:
        return 0.95 if size > SPE_HEADER_BYTES + frames_bytes else 0.0
    if size >= SPE_HEADER_BYTES + frames_bytes and (size - SPE_HEADER_BYTES) % (xdim * ydim * _DTYPES[datatype].itemsize) == 0:
        return 0.95
    return 0.0


# -- reading the header -----------------------------------------------------------------------------


@contextlib.contextmanager
def _local_path(source):
    """A path imageio can read with ``numpy.fromfile``: the file, or a temporary copy."""
    if source.is_local:
        if not os.path.exists(source.path):
            raise MissingFileError(source.url)
        yield source.path
        return
    descriptor, path = tempfile.mkstemp(prefix="intake-ingest-spe-", suffix=".spe")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(read_bytes(source))
        yield path
    finally:
        os.remove(path)


@contextlib.contextmanager
def _spe_reader(source, path):
    """imageio's SPE plugin on ``path``, its errors and warnings naming the file."""
    import imageio.v3 as iio  # imported on first use: listing ingestors stays light

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            reader = iio.imopen(path, "r", plugin="SPE")
    except Exception as error:
        raise IngestError(source.url, f"is not a readable SPE file ({error})") from None
    for warning in caught:  # imageio: "claims there are N frames, but there are actually M"
        warnings.warn(f"{source.url}: {warning.message}".replace(path, source.url), IngestWarning, stacklevel=4)
    try:
        yield reader
    finally:
        reader.close()


def _local_datetime(date, time_text):
    """A naive datetime from WinView's ``date`` ('22Jul2015') and ``time`` ('094018')."""
    try:
        return datetime.datetime.strptime(f"{date.strip()} {time_text.strip()}", "%d%b%Y %H%M%S")
    except (ValueError, AttributeError):
        return None


def _v2_start_time(metadata, zone):
    """The acquisition's Unix time from a 2.x header.

    WinView writes the local date and time, and the UTC time of day: their difference
    is the computer's UTC offset. Without the UTC time, the date is read in ``zone``,
    else as local time of the computer that ingests. SDT-control writes the date its
    own way, which imageio decodes into ``datetime``.
    """
    local = metadata.get("datetime") or _local_datetime(metadata.get("date", ""), metadata.get("time_local", ""))
    if local is None:
        return None
    utc_time = _local_datetime(metadata.get("date", ""), metadata.get("time_utc", ""))
    if zone is not None:
        return local.replace(tzinfo=zone).timestamp()
    if utc_time is not None:
        offset = (local - utc_time).total_seconds()
        offset = (offset + 12 * 3600) % (24 * 3600) - 12 * 3600  # across midnight: within ±12 h
        offset = round(offset / 900) * 900  # zones are whole quarter hours
        return local.replace(tzinfo=datetime.timezone(datetime.timedelta(seconds=offset))).timestamp()
    return local.timestamp()


def _v2_header(metadata, zone):
    exposure = metadata.get("exposure_time", metadata.get("exposure_sec"))
    rois = metadata.get("ROIs") or []
    configuration = {
        "roi": [[*roi["top_left"], *roi["bottom_right"]] for roi in rois],
        "binning": [list(roi["bin"]) for roi in rois],
    }
    described = {
        "comments": [text.strip() for text in metadata.get("comments", []) if text.strip()],
        "software_version": str(metadata.get("sw_version", "")).strip(),
        "controller": metadata.get("type"),
        "readout_mode": metadata.get("readout_mode"),
        "detector_temperature": metadata.get("detector_temp"),
    }
    if "sdt_major_version" in metadata:  # SDT-control's own fields, decoded by imageio
        described["sdt_control_version"] = f"{metadata['sdt_major_version']}.{metadata['sdt_minor_version']}"
        for key in ("comment", "sequence_type", "em_gain", "em_active", "delay_macro", "n_macro"):
            if key in metadata:
                described[key] = metadata[key]
    described = {key: value for key, value in described.items() if value not in (None, "", [])}
    return exposure, _v2_start_time(metadata, zone), described, configuration


def _local_name(element):
    return element.tag.rpartition("}")[2]


def _find(root, name):
    return next((element for element in root.iter() if _local_name(element) == name), None)


def _v3_footer(source, xml):
    """(frame stride, exposure time, start time, metadata, configuration) from the XML footer."""
    import defusedxml.ElementTree as SafeElementTree
    from defusedxml import DefusedXmlException

    try:
        root = SafeElementTree.fromstring(xml, forbid_dtd=True)
    except (SafeElementTree.ParseError, DefusedXmlException) as error:
        raise IngestError(source.url, f"has an unreadable SPE 3.0 XML footer ({error})") from None
    frame = next(
        (e for e in root.iter() if _local_name(e) == "DataBlock" and e.get("type") == "Frame"), None
    )
    regions = [e for e in root.iter() if _local_name(e) == "DataBlock" and e.get("type") == "Region"]
    if frame is None or not regions:
        raise IngestError(source.url, "has an SPE 3.0 footer without a Frame and Region data block")
    if len(regions) > 1:
        raise IngestError(
            source.url, f"holds {len(regions)} regions per frame; only single-region SPE 3.0 files are read"
        )
    stride = int(frame.get("stride") or frame.get("size") or 0)

    exposure_element = _find(root, "ExposureTime")
    exposure = None
    if exposure_element is not None and exposure_element.text:
        try:
            exposure = float(exposure_element.text) / 1000  # LightField writes milliseconds
        except ValueError:
            exposure = None
    start_time = None
    for name in ("Origin", "FileInformation"):
        element = _find(root, name)
        if element is not None and element.get("created"):
            try:
                start_time = datetime.datetime.fromisoformat(element.get("created")).timestamp()
                break
            except ValueError:
                continue
    metadata = {}
    origin = _find(root, "Origin")
    if origin is not None:
        for attribute, key in (("software", "software"), ("softwareVersion", "software_version"),
                               ("experimentName", "experiment_name")):  # fmt: skip
            if origin.get(attribute):
                metadata[key] = origin.get(attribute)
    camera = _find(root, "Camera")
    if camera is not None:
        for attribute in ("model", "serialNumber"):
            if camera.get(attribute):
                metadata[f"camera_{attribute}"] = camera.get(attribute)
    configuration = {}
    mapping = _find(root, "SensorMapping")
    if mapping is not None:
        numbers = {key: int(mapping.get(key, 0)) for key in ("x", "y", "width", "height", "xBinning", "yBinning")}
        x0, y0 = numbers["x"], numbers["y"]
        configuration["roi"] = [[x0, y0, x0 + numbers["width"] - 1, y0 + numbers["height"] - 1]]
        configuration["binning"] = [[numbers["xBinning"] or 1, numbers["yBinning"] or 1]]
    wavelength = _find(root, "Wavelength")
    if wavelength is not None and wavelength.text:
        try:
            configuration["wavelength"] = [float(value) for value in re.split(r"[,\s]+", wavelength.text.strip())]
        except ValueError:
            pass
    return stride, exposure, start_time, metadata, configuration


def read_header(source, path, zone=None):
    """The :class:`SpeHeader` of an SPE file at a local ``path``."""
    with _spe_reader(source, path) as reader:
        properties = reader.properties()
        n_frames = properties.n_images if properties.is_batch else 1
        shape, dtype = tuple(properties.shape[-2:]), np.dtype(properties.dtype)
        with open(path, "rb") as file:
            raw_header = file.read(SPE_HEADER_BYTES)
        version = _header_numbers(raw_header)[4]
        frame_bytes = int(np.prod(shape)) * dtype.itemsize
        if version >= 3:
            xml = reader.metadata()["__xml"]
            stride, exposure, start_time, metadata, configuration = _v3_footer(source, xml)
            stride = stride or frame_bytes
            if stride < frame_bytes:
                raise IngestError(source.url, f"its frames are {stride} bytes apart but hold {frame_bytes}")
            xml_offset = int.from_bytes(raw_header[_XML_OFFSET : _XML_OFFSET + 8], "little")
            n_frames = min(n_frames, (xml_offset - SPE_HEADER_BYTES) // stride)
        else:
            stride = frame_bytes
            exposure, start_time, metadata, configuration = _v2_header(reader.metadata(sdt_control=True), zone)
    return SpeHeader(
        version=round(version, 2),
        n_frames=int(n_frames),
        shape=shape,
        dtype=dtype,
        frame_stride=stride,
        exposure_time=exposure,
        start_time=start_time,
        metadata=metadata,
        configuration=configuration,
    )


def _read_frames(source, path, header, begin, end):
    """Frames ``begin`` to ``end`` as one (n, y, x) array, read at the header's stride."""
    count = end - begin
    frame_items = int(np.prod(header.shape))
    with open(path, "rb") as file:
        file.seek(SPE_HEADER_BYTES + begin * header.frame_stride)
        raw = file.read(count * header.frame_stride)
    expected = (count - 1) * header.frame_stride + frame_items * header.dtype.itemsize
    if len(raw) < expected:
        raise IngestError(source.url, f"ends inside frame {begin + len(raw) // header.frame_stride + 1}")
    frames = np.lib.stride_tricks.as_strided(
        np.frombuffer(raw, dtype=np.uint8),
        shape=(count, frame_items * header.dtype.itemsize),
        strides=(header.frame_stride, 1),
    )
    array = np.ascontiguousarray(frames).view(header.dtype).reshape(count, *header.shape)
    array.flags.writeable = False
    return array


def ingest_winview_spe(filename, *, timezone=None, storage_options=None):
    """Wrap a Princeton Instruments SPE file in the event model: one event per frame.

    Parameters
    ----------
    filename : str or SourceFile
        Path or fsspec URL of one ``.spe`` file.
    timezone : str or datetime.tzinfo, optional
        The zone of the acquiring computer's clock, for 2.x headers that give no UTC time
        (an IANA name); by default the UTC offset the header gives, else the ingesting
        computer's local time. SPE 3.0 times carry their offset.
    storage_options : dict, optional
        Passed to fsspec.

    Yields
    ------
    name, doc : str, dict
        start; descriptor ``primary`` with data key ``image`` (shape ``[y, x]``), the
        exposure time, ROI and binning in its configuration ``camera``; one event per
        frame; stop.

    Raises
    ------
    IngestError
        If the file is not an SPE file or is cut off inside a frame.
    """
    zone = time_zone(timezone)
    sources = expand(filename, storage_options)
    if len(sources) != 1:
        raise IngestError(str(filename), f"matches {len(sources)} files; an SPE run is one file")
    (source,) = sources
    label = source_label(filename)
    (mtime,) = timestamps(sources)
    with _local_path(source) as path:
        header = read_header(source, path, zone)
        start_time = header.start_time if header.start_time is not None else mtime
        run_bundle = compose_run(
            uid=deterministic_uid([source.identity]),
            time=start_time,
            metadata={
                "ingestor": NAME,
                "source": label,
                "num_points": header.n_frames,
                "spe_version": header.version,
                **({"exposure_time": header.exposure_time} if header.exposure_time is not None else {}),
                **header.metadata,
            },
        )
        yield "start", run_bundle.start_doc

        configuration_values = dict(header.configuration)
        if header.exposure_time is not None:
            configuration_values["exposure_time"] = header.exposure_time
        configuration_keys = {
            key: {"dtype": "array" if isinstance(value, list) else "number",
                  "shape": list(np.shape(value)), "source": label}
            for key, value in configuration_values.items()
        }  # fmt: skip
        if "exposure_time" in configuration_keys:
            configuration_keys["exposure_time"]["units"] = "s"
        descriptor = run_bundle.compose_descriptor(
            data_keys={"image": array_data_key(header.shape, header.dtype, label, dims=["y", "x"])},
            name="primary",
            time=start_time,
            configuration={
                "camera": {
                    "data": configuration_values,
                    "timestamps": dict.fromkeys(configuration_values, start_time),
                    "data_keys": configuration_keys,
                }
            },
            object_keys={"camera": ["image"]},
        )
        yield "descriptor", descriptor.descriptor_doc
        for begin, end in page_slices(header.n_frames, header.shape, header.dtype):
            frames = _read_frames(source, path, header, begin, end)
            yield from page_as_events(descriptor, {"image": frames}, [start_time] * (end - begin), begin)
    yield "stop", run_bundle.compose_stop(time=start_time)


WINVIEW_SPE = IngestorSpec(
    name=NAME,
    ingest=ingest_winview_spe,
    software="Princeton Instruments WinView/WinSpec (SPE 2.x) and LightField (SPE 3.0), read with imageio",
    patterns=("*.spe",),
    mimetypes=(),
    sniff=sniff_spe,
    grouping="file",
    description="one event per frame of a Princeton Instruments SPE file",
)
