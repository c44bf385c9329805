"""Ingestors for the images of Dectris PILATUS detectors: miniCBF and TIFF files.

The detector's control program, camserver (and the areaDetector ADPilatus driver, which
commands it), writes one image per file, numbered ``name_00001.cbf``,
``name_00002.cbf``, ... (or ``.tif``). Every file carries the "PILATUS CBF header"
(convention ``PILATUS_1.2``): lines such as ``# Exposure_time 0.0970000 s`` in the
``_array_data.header_contents`` text field of a CBF file, or in the ImageDescription tag
of a TIFF file. One run is one numbered series: one event per file, with the image
(read with fabio for CBF, tifffile for TIFF) and the header values that change from file
to file; values that stay the same are descriptor configuration, and the detector, its
serial number, pixel size and sensor are also RunStart metadata.

The header, as Dectris specifies it ("PILATUS CBF header specification", see
https://www.dectris.com/support/downloads/header-docs/cbf/): each line is ``#``, a
keyword, its value(s) and unit(s); values and units sit at fixed positions when the
line is split at spaces and the space-like characters ``#=:,()``. So
``# Beam_xy (243.12, 309.12) pixels`` reads as keyword ``Beam_xy``, values 243.12 and
309.12, unit ``pixels``. Three lines do not follow that pattern: the detector line
(``# Detector: PILATUS 1M, S/N 10-0111``), the time the image was taken
(``# 2012-05-04T15:43:28.577``, local time, no zone) and the sensor
(``# Silicon sensor, thickness 0.000320 m``).
"""

import base64
import dataclasses
import hashlib
import io
import re
import warnings

import fabio.cbfimage
import numpy as np

from ..errors import IngestError, IngestWarning, MissingFileError
from ..files import deterministic_uid, expand, read_bytes, timestamps
from ..registry import IngestorSpec
from ._common import array_data_key, check_declared_size, labelled, page_as_events, page_slices, source_label
from ._compose import compose_run
from ._fabio import (
    OBJECT_NAME,
    HeaderValue,
    check_timezone,
    compose_image_descriptor,
    data_key_name,
    describe_header_values,
    fabio_errors_named,
    one_numbered_series,
    parse_number,
    parse_time,
)
from .tiff import TIFF_MAGIC, check_series, check_series_size, lazy_images, read_tiff_with, tiff_header

__all__ = [
    "PILATUS_CBF",
    "PILATUS_TIFF",
    "PilatusHeader",
    "ingest_pilatus_cbf",
    "ingest_pilatus_tiff",
    "parse_detector_line",
    "parse_pilatus_header",
    "read_cbf_header",
    "read_pilatus_tiff_header",
]

SOFTWARE = "Dectris camserver (PILATUS detectors)"

# -- the PILATUS header ---------------------------------------------------------------

# Space and the space-like characters of the specification delimit values and units.
_DELIMITERS = re.compile(r"[\s#=:,()]+")
_KEYWORD = re.compile(r"^(?P<keyword>[A-Za-z][\w-]*)[\s:=]*(?P<rest>.*)$")
_TIMESTAMP = re.compile(r"^\d{4}[-/]")
_SENSOR = re.compile(r"^(?P<material>[\w-]+) sensor,\s*thickness\s+(?P<value>\S+)\s*(?P<units>\S*)")
# A serial number labelled "S/N 60-0104", "S/N: 60-0104", "SN: 60-0001" or "SN 60-0001",
# within a comma-separated part of the detector line, and Dectris's bare "60-0104".
_SERIAL = re.compile(r"(?:^|\s)(?:S/N|SN)\s*:?\s*(?P<serial>[^\s,]+)", re.IGNORECASE)
_BARE_SERIAL = re.compile(r"^\d{1,3}-\d{3,4}$")
# camserver has written "2012-05-04T15:43:28.577" since 2008, "2007/Jun/13 13:13:16.286" before
# (both in dxtbx's FormatCBFMiniPilatusHelpers.get_pilatus_timestamp).
TIME_FORMATS = (
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%b-%dT%H:%M:%S.%f",
    "%Y/%b/%d %H:%M:%S.%f",
    "%Y/%b/%d %H:%M:%S",
)
# Units as the header writes them, where a plain name is clearer: 'A' is the angstrom, not ampere.
_UNITS = {"A": "angstrom", "deg.": "deg", "deg": "deg"}

#: Header values that describe the detector, copied to the RunStart (from the first file).
START_KEYS = (
    "detector_model", "detector_serial", "detector_site", "pixel_size", "sensor_material", "sensor_thickness",
)


@dataclasses.dataclass
class PilatusHeader:
    """One file's PILATUS header, parsed.

    Attributes
    ----------
    values : dict
        Data key (the keyword in lower case) -> :class:`~intake_ingest.ingestors._fabio.HeaderValue`;
        the detector line gives ``detector_model``, ``detector_serial`` and ``detector_site``
        (see :func:`parse_detector_line`), the sensor line
        ``sensor_material`` and ``sensor_thickness``.
    sources : dict
        Data key -> where it comes from (``'PILATUS header Exposure_time'``).
    labels : dict
        Data key -> the keyword as the header writes it (``'Exposure_time'``), for the
        keys named after a keyword (not those a line is split into, such as ``sensor_material``).
    time : float or None
        When the image was taken (Unix time), from the time stamp line.
    """

    values: dict = dataclasses.field(default_factory=dict)
    sources: dict = dataclasses.field(default_factory=dict)
    labels: dict = dataclasses.field(default_factory=dict)
    time: float | None = None

    def add(self, keyword, value, units=None, key=None, source=None):
        """Add the value of ``keyword`` under ``key`` (by default the keyword in lower case)."""
        named_after_keyword = key is None
        key = key or data_key_name(keyword.lower())
        if key == "image":  # the image's own data key
            key = "header_image"
        if key not in self.values:  # a keyword written twice: the first line holds
            self.values[key] = HeaderValue(value, units)
            self.sources[key] = source or f"PILATUS header {keyword}"
            if named_after_keyword:
                self.labels[key] = keyword  # the header's own name, kept where the key differs


def _units(words):
    units = [_UNITS.get(word, word.rstrip(".")) for word in words if word != "x"]
    return list(dict.fromkeys(units))


#: The range of the event model's integers (int64, as numpy holds an integer column).
_INT64 = (-(2**63), 2**63 - 1)


def _values_and_units(rest, too_wide=None):
    """The numbers and unit of a line's rest (``(1231.50, 1263.50) pixels``); None if it is text.

    A line is numeric when words before the first number are none, and every word after
    it is a number, the ``x`` of ``172e-6 m x 172e-6 m``, or one unit. An integer beyond
    int64 (which no column of integers can hold) is kept as a float, and its text is
    appended to ``too_wide`` so that the caller can warn.
    """
    words = [word for word in _DELIMITERS.split(rest) if word]
    numbers, unit_words = [], []
    for word in words:
        number = parse_number(word)
        if isinstance(number, int) and not _INT64[0] <= number <= _INT64[1]:
            if too_wide is not None:
                too_wide.append(word)
            number = float(number)
        if number is not None:
            numbers.append(number)
        elif numbers:
            unit_words.append(word)
        else:
            return None  # text before any number: a string value
    units = _units(unit_words)
    if not numbers or len(units) > 1:
        return None
    value = numbers[0] if len(numbers) == 1 else tuple(numbers)
    return value, (units[0] if units else None)


def _add_time(header, body, timezone):
    header.time = parse_time(body, TIME_FORMATS, timezone)
    if header.time is None:  # a time camserver did not write: kept, as text
        header.add("timestamp", body)


def _add_sensor(header, sensor):
    header.add("sensor", sensor["material"], key="sensor_material")
    thickness = parse_number(sensor["value"])
    if thickness is not None:
        units = _units([sensor["units"]])[0] if sensor["units"] else None
        header.add("sensor", thickness, units, key="sensor_thickness")


def parse_detector_line(rest):
    """The model, serial number and site of a detector line (what follows ``# Detector:``).

    camserver writes ``PILATUS 6M, S/N 60-0104, ESRF ID29``: model, serial number and
    the site set up in its configuration, comma-separated. Real files also have
    ``PILATUS 6M SN: 60-0001`` (older camserver, no comma), no site, no serial number
    (``PILATUS 100K, In-house (m141) Test System``), ``S/N:``, a bare serial number
    (``PILATUS 300K, 3-0101``) and empty parts between commas.

    Returns
    -------
    model, serial, site : str or None
        None where the line has no such part; without any comma or serial number the
        whole line is the model.
    """
    parts = [part.strip() for part in rest.split(",") if part.strip()]
    if not parts:
        return None, None, None
    model, serial, others = None, None, []
    for index, part in enumerate(parts):
        serial_match = _SERIAL.search(part) if serial is None else None
        if serial_match is not None:
            serial = serial_match["serial"]
            before, after = part[: serial_match.start()].strip(), part[serial_match.end() :].strip()
            if index == 0:
                model = before or None
            elif before:
                others.append(before)
            if after:
                others.append(after)
        elif index == 0:
            model = part
        elif serial is None and index == 1 and _BARE_SERIAL.match(part):
            serial = part
        else:
            others.append(part)
    return model, serial, ", ".join(others) or None


_DETECTOR_KEYS = ("detector_model", "detector_serial", "detector_site")


def _add_detector(header, rest, source=None):
    model, serial, site = parse_detector_line(rest)
    for key, value in zip(_DETECTOR_KEYS, (model, serial, site)):
        if value is not None:
            header.add("Detector", value, key=key, source=source)


def _parse_line(header, body, timezone, file=None):
    """Add what one header line (without its '#') holds to ``header``."""
    if _TIMESTAMP.match(body):
        return _add_time(header, body, timezone)
    sensor = _SENSOR.match(body)
    if sensor:
        return _add_sensor(header, sensor)
    match = _KEYWORD.match(body)
    if match is None:
        return None
    keyword, rest = match["keyword"], match["rest"].strip()
    if keyword == "Detector":
        return _add_detector(header, rest)
    if rest:
        too_wide = []
        numeric = _values_and_units(rest, too_wide)
        if too_wide:
            warnings.warn(
                f"{file or 'a PILATUS header'}: {keyword} {', '.join(too_wide)} is beyond 64-bit "
                "integers; kept as a float (to the nearest representable value)",
                IngestWarning,
                stacklevel=2,
            )
        header.add(keyword, *(numeric if numeric is not None else (rest,)))
    return None


def parse_pilatus_header(text, timezone=None, file=None):
    """Parse the text of a PILATUS header (``# Keyword value units`` lines).

    Parameters
    ----------
    text : str
        ``_array_data.header_contents`` of a CBF file, or the ImageDescription of a TIFF.
    timezone : str or datetime.tzinfo, optional
        The zone of the time stamp line (camserver writes local time, without a zone);
        by default the local time of the computer that ingests.
    file : str, optional
        The file the header is from, named in warnings.

    Returns
    -------
    PilatusHeader
    """
    header = PilatusHeader()
    for line in text.replace("\x00", "").splitlines():
        line = line.strip()
        if line.startswith("#"):
            body = line.lstrip("#").strip()
            if body:
                _parse_line(header, body, timezone, file)
    return header


def looks_like_pilatus_header(text):
    """True if the text has a PILATUS header line that every camserver header has."""
    return bool(re.search(r"^#\s*(Pixel_size|Exposure_time|Exposure_period|Detector:)", text, re.M))


# -- CBF files ------------------------------------------------------------------------

CBF_MAGIC = b"###CBF: VERSION"
_BINARY_SECTION = b"--CIF-BINARY-FORMAT-SECTION--"
_BINARY_START = b"\x0c\x1a\x04\xd5"  # the four bytes before the compressed data (CBF spec)
_HEADER_CHUNK = 4096
_HEADER_LIMIT = 2**20  # a CBF header is a few KB; past this, the file has no binary section
_HEADER_CONTENTS = re.compile(r"^_array_data\.header_contents[ \t]*\r?\n;(?P<text>.*?)\r?\n;", re.M | re.S)


@dataclasses.dataclass(frozen=True)
class CbfLayout:
    """Where a CBF file's image is and what it is, from the text before the pixels."""

    header_text: str  # _array_data.header_contents, '' if absent
    shape: tuple
    dtype: np.dtype
    data_offset: int  # first byte of the compressed data
    data_size: int  # X-Binary-Size: bytes of compressed data
    md5: str | None  # Content-MD5 (base64), if written


def _mime_header(section):
    """The MIME header of the binary section: 'Key: value' lines (and conversions="...")."""
    fields = {}
    for line in section.decode("ascii", "replace").splitlines()[1:]:
        key, separator, value = line.partition(":")
        if not separator:
            key, separator, value = line.partition("=")
        if separator:
            fields[key.strip()] = value.strip().strip(';"')
    return fields


def _cbf_layout(source, head):
    """The layout from the first bytes of a CBF file; None if they end before the pixels."""
    if not head.startswith(CBF_MAGIC):
        raise IngestError(source.url, "is not a CBF file: it does not start with '###CBF: VERSION'")
    section = head.find(_BINARY_SECTION)
    begin = head.find(_BINARY_START, section) if section >= 0 else -1
    if begin < 0:
        return None
    fields = _mime_header(head[section:begin])
    if "BYTE_OFFSET" not in fields.get("conversions", "").upper():
        raise IngestError(
            source.url,
            f"has an image compressed as {fields.get('conversions')!r}; fabio reads only "
            "'x-CBF_BYTE_OFFSET', which camserver writes",
        )
    try:
        rows = int(fields["X-Binary-Size-Second-Dimension"])
        shape = (rows, int(fields["X-Binary-Size-Fastest-Dimension"]))
        size = int(fields["X-Binary-Size"])
    except (KeyError, ValueError) as error:
        raise IngestError(source.url, f"has a CBF binary section without a valid {error}") from None
    dtype = np.dtype(fabio.cbfimage.DATA_TYPES.get(fields.get("X-Binary-Element-Type"), "int32"))
    # Byte-offset compression spends at least one byte per pixel, so X-Binary-Size bytes
    # decode to at most X-Binary-Size pixels: checked before the run's buffer is allocated.
    check_declared_size(
        source.url, int(np.prod(shape, dtype=object)) * dtype.itemsize, size * dtype.itemsize,
        f"an image of shape {shape} {dtype} in {size} bytes of byte-offset data",
    )
    contents = _HEADER_CONTENTS.search(head[:section].decode("ascii", "replace"))
    return CbfLayout(
        header_text=contents["text"] if contents else "",
        shape=shape,
        dtype=dtype,
        data_offset=begin + len(_BINARY_START),
        data_size=size,
        md5=fields.get("Content-MD5"),
    )


def _no_binary_section(source):
    return IngestError(
        source.url, "ends before the start of its binary data section (a truncated or damaged CBF file)"
    )


def read_cbf_layout(source):
    """The :class:`CbfLayout` of a CBF file, reading only the text before the pixels."""
    try:
        with source.fs.open(source.path, "rb") as file:
            head = b""
            while len(head) < _HEADER_LIMIT:
                chunk = file.read(_HEADER_CHUNK)
                head += chunk
                layout = _cbf_layout(source, head)
                if layout is not None:
                    return layout
                if not chunk:
                    break
    except FileNotFoundError:
        raise MissingFileError(source.url) from None
    except OSError as error:
        raise IngestError(source.url, f"cannot be read ({error})") from None
    raise _no_binary_section(source)


def _check_image(source, shape, dtype, expected_shape, expected_dtype):
    if expected_shape is not None and tuple(shape) != tuple(expected_shape):
        raise IngestError(
            source.url, f"has shape {tuple(shape)} but the series has images of shape {tuple(expected_shape)}"
        )
    if expected_dtype is not None and np.dtype(dtype) != np.dtype(expected_dtype):
        raise IngestError(
            source.url,
            f"has dtype {np.dtype(dtype)} but the series has images of dtype {np.dtype(expected_dtype)}",
        )


def _decode_cbf(source, contents):
    """The layout and image of a CBF file's bytes, checked whole before fabio decodes them."""
    layout = _cbf_layout(source, contents)
    if layout is None:
        raise _no_binary_section(source)
    end = layout.data_offset + layout.data_size
    if len(contents) < end:
        raise IngestError(
            source.url,
            f"is truncated: its binary section holds {max(0, len(contents) - layout.data_offset)} "
            f"of the {layout.data_size} bytes of compressed data its header announces",
        )
    if layout.md5 is not None:
        digest = base64.b64encode(hashlib.md5(contents[layout.data_offset : end]).digest()).decode()
        if digest != layout.md5:
            raise IngestError(
                source.url,
                f"is damaged: the MD5 of its compressed data is {digest}, its header says {layout.md5}",
            )

    def decode():
        image = fabio.cbfimage.CbfImage()
        # The checksum is checked above; fabio would only log a mismatch.
        image.read(io.BytesIO(contents), check_MD5=False)
        return image.data

    return layout, fabio_errors_named(source, decode, "CBF")


def read_cbf_image(source, shape=None, dtype=None):
    """The image of one CBF file (decoded by fabio), checked against the shape and dtype expected."""
    _, image = _decode_cbf(source, read_bytes(source))
    _check_image(source, image.shape, image.dtype, shape, dtype)
    return image


def read_cbf_header(source, timezone=None):
    """The PILATUS header, image shape and dtype of a CBF file; reads only its first KBs.

    Returns
    -------
    header : PilatusHeader
    shape : tuple of int
    dtype : numpy.dtype
    """
    layout = read_cbf_layout(source)
    return parse_pilatus_header(layout.header_text, timezone, source.url), layout.shape, layout.dtype


def _read_cbf_into(source, row_for, timezone):
    layout, image = _decode_cbf(source, read_bytes(source))
    row = row_for(source, image.shape, image.dtype)
    row[...] = image
    return parse_pilatus_header(layout.header_text, timezone, source.url)


# -- TIFF files -----------------------------------------------------------------------

IMAGE_DESCRIPTION = 270  # TIFF tag; camserver writes the PILATUS header there
# camserver's TIFF writer ("TVX TIFF") also writes the detector line in the Model tag
# ("PILATUS 100K, 1-0118, CARS") and the time in DateTime ("2009:02:20 18:53:21", local).
MODEL, DATE_TIME = 272, 306
TIFF_TIME_FORMATS = ("%Y:%m:%d %H:%M:%S",)


def _tag_text(tif, tag_code):
    tag = tif.pages[0].tags.get(tag_code)
    value = tag.value if tag is not None else ""
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def _tiff_texts(tif):
    """The ImageDescription, Model and DateTime of a TIFF's first page."""
    return tuple(_tag_text(tif, code) for code in (IMAGE_DESCRIPTION, MODEL, DATE_TIME))


def _tiff_pilatus_header(texts, timezone, file=None):
    """The PILATUS header of the ImageDescription, with the detector from the Model tag
    and the time from the DateTime tag where the description has no such line."""
    description, model, date_time = texts
    header = parse_pilatus_header(description, timezone, file)
    if model.strip() and not any(key in header.values for key in _DETECTOR_KEYS):
        _add_detector(header, model.strip().rstrip("\x00"), source="TIFF tag Model")
    if header.time is None and date_time.strip():
        header.time = parse_time(date_time.strip().rstrip("\x00"), TIFF_TIME_FORMATS, timezone)
    return header


def read_pilatus_tiff_header(source, timezone=None):
    """The PILATUS header (ImageDescription), image shape and dtype of a TIFF file; no pixels.

    Returns
    -------
    header : PilatusHeader
    shape : tuple of int
    dtype : numpy.dtype
    """

    def header(tif):
        series = tif.series[0]
        check_series_size(source, tif, series)
        return _tiff_texts(tif), tuple(series.shape), np.dtype(series.dtype)

    try:
        texts, shape, dtype = read_tiff_with(source, header, header_only=True)
    except MissingFileError:
        raise
    except IngestError:
        if source.is_local:
            raise
        # Seeking a remote file failed (an HTTP server without range requests, say):
        # the whole file, in memory, once more.
        texts, shape, dtype = read_tiff_with(source, header)
    return _tiff_pilatus_header(texts, timezone, source.url), shape, dtype


def read_pilatus_tiff_image(source, shape=None, dtype=None):
    """The image of one PILATUS TIFF file, checked against the shape and dtype expected."""

    def read(tif):
        series = tif.series[0]
        check_series(source, series, shape, dtype)
        check_series_size(source, tif, series)
        return series.asarray()

    return read_tiff_with(source, read)


def _read_tiff_into(source, row_for, timezone):
    def read(tif):
        series = tif.series[0]
        check_series_size(source, tif, series)  # before row_for allocates the run's buffer
        series.asarray(out=row_for(source, tuple(series.shape), np.dtype(series.dtype)))
        return _tiff_texts(tif)

    return _tiff_pilatus_header(read_tiff_with(source, read), timezone, source.url)


# -- the run ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Format:
    """How to read one file format: its header alone, header and pixels, pixels later."""

    name: str  # the registry name
    read_header: object  # (source, timezone) -> (PilatusHeader, shape, dtype)
    read_into: object  # (source, row_for, timezone) -> PilatusHeader; pixels into row_for(...)
    read_image: object  # (source, shape, dtype) -> array; module-level, so dask can pickle it


_CBF = _Format("pilatus_cbf", read_cbf_header, _read_cbf_into, read_cbf_image)
_TIFF = _Format("pilatus_tiff", read_pilatus_tiff_header, _read_tiff_into, read_pilatus_tiff_image)


def _first_header(file_format, source, timezone):
    """The first file's header for the RunStart; None if it cannot be read (the error is
    raised when the run is read, so that a catalog still lists the run)."""
    try:
        return file_format.read_header(source, timezone)[0]
    except IngestError:
        return None


def _start_metadata(file_format, pattern, series, first):
    metadata = {
        "ingestor": file_format.name,
        "source": source_label(pattern),
        "num_points": len(series),
    }
    if first is not None:
        for key in START_KEYS:
            if key in first.values:
                value = first.values[key].value
                metadata[key] = list(value) if isinstance(value, tuple) else value
    return metadata


def _read_all(file_format, series, lazy, timezone):
    """Every file's header and, unless lazy, every image into one read-only buffer.

    Returns
    -------
    headers : list of PilatusHeader
    shape, dtype
    buffer : numpy.ndarray or None
    """
    if lazy:
        # Header values are event data, so each file's header is read; pixels wait for compute.
        headers, expected = [], None
        for source in series:
            header, shape, dtype = file_format.read_header(source, timezone)
            if expected is None:
                expected = (shape, dtype)
            _check_image(source, shape, dtype, *expected)
            headers.append(header)
        return headers, expected[0], expected[1], None
    buffer = None

    def slot(index):
        def row_for(source, shape, dtype):
            nonlocal buffer
            if buffer is None:
                # One buffer for the series, each file read into its row (see tiff.py).
                buffer = np.empty((len(series),) + tuple(shape), dtype)
            _check_image(source, shape, dtype, buffer.shape[1:], buffer.dtype)
            return buffer[index]

        return row_for

    headers = [file_format.read_into(source, slot(index), timezone) for index, source in enumerate(series)]
    buffer.flags.writeable = False  # documents are records: their arrays are read-only
    return headers, buffer.shape[1:], buffer.dtype, buffer


def _ingest(file_format, pattern, lazy, timezone, storage_options):
    check_timezone(timezone)
    sources = expand(pattern, storage_options)
    # Same files give the same uid, however they were matched or listed.
    uid = deterministic_uid(source.identity for source in sources)
    series = one_numbered_series(pattern, sources, "PILATUS")
    mtimes = timestamps(series)
    first = _first_header(file_format, series[0], timezone)
    start_time = first.time if first is not None and first.time is not None else mtimes[0]
    run_bundle = compose_run(
        uid=uid, time=start_time, metadata=_start_metadata(file_format, pattern, series, first)
    )
    yield "start", run_bundle.start_doc

    headers, shape, dtype, buffer = _read_all(file_format, series, lazy, timezone)
    # The time stamp line says when each image was taken; without one, the file's mtime.
    times = [mtime if header.time is None else header.time for header, mtime in zip(headers, mtimes)]
    sources_of_keys, labels_of_keys = {}, {}
    for header in headers:
        for key, where in header.sources.items():
            sources_of_keys.setdefault(key, where)
        for key, name in header.labels.items():
            labels_of_keys.setdefault(key, name)
    header_keys, event_data, configuration = describe_header_values(
        [header.values for header in headers], sources_of_keys, time=times[0], files=series
    )
    for data_keys in (header_keys, *(group["data_keys"] for group in configuration.values())):
        for key, data_key in data_keys.items():
            labelled(data_key, key, labels_of_keys.get(key, key))
    image_key = array_data_key(shape, dtype, source_label(pattern), object_name=OBJECT_NAME)
    stream_bundle = compose_image_descriptor(run_bundle, image_key, header_keys, configuration, times[0])
    yield "descriptor", stream_bundle.descriptor_doc

    for begin, end in page_slices(len(series), shape, dtype):
        if lazy:
            images = lazy_images(file_format.read_image, series[begin:end], shape, dtype)
        else:
            images = buffer[begin:end]
        page_data = {key: values[begin:end] for key, values in event_data.items()}
        yield from page_as_events(stream_bundle, {"image": images, **page_data}, times[begin:end], begin)

    yield "stop", run_bundle.compose_stop(time=max(mtimes[-1], times[-1]))


_INGEST_DOC = """Wrap one numbered series of PILATUS {kind} files, one event per file, in the event model.

    Parameters
    ----------
    pattern : str, SourceFile or list of those
        Glob, path or fsspec URL of the files of one series (``'data/sample_*.{ext}'``);
        files are taken in numeric order (``x_9`` before ``x_10``).
    lazy : bool, optional
        If True, events hold dask arrays that read their file's pixels only when
        computed; every file's header is still read while the documents are generated
        (its changing values are event data).
    timezone : str or datetime.tzinfo, optional
        The time zone of the header's time stamps, which camserver writes in local time
        without a zone (an IANA name such as ``'Europe/Zurich'``); by default the local
        time of the computer that ingests.
    storage_options : dict, optional
        Passed to fsspec.

    Yields
    ------
    name, doc : str, dict
        start, descriptor ``primary`` (data key ``image`` and the header values that change
        from file to file; the others in ``configuration['detector']``), one event per
        file, stop.

    Raises
    ------
    IngestError
        If no file matches, the files belong to more than one numbered series, a file is
        not a readable {kind} file (truncated, damaged), or images differ in shape or dtype.
    """


def ingest_pilatus_cbf(pattern, *, lazy=False, timezone=None, storage_options=None):
    yield from _ingest(_CBF, pattern, lazy, timezone, storage_options)


def ingest_pilatus_tiff(pattern, *, lazy=False, timezone=None, storage_options=None):
    yield from _ingest(_TIFF, pattern, lazy, timezone, storage_options)


ingest_pilatus_cbf.__doc__ = _INGEST_DOC.format(kind="miniCBF", ext="cbf")
ingest_pilatus_tiff.__doc__ = _INGEST_DOC.format(kind="TIFF", ext="tif")


# -- detection --------------------------------------------------------------------------


def sniff_pilatus_cbf(head, source):
    """A CBF file with a PILATUS header: 0.95; another CBF file: 0.3 (pixels, no metadata)."""
    if not head.startswith(CBF_MAGIC):
        return 0.0
    return 0.95 if b"PILATUS" in head or b"# Detector:" in head else 0.3


def sniff_pilatus_tiff(head, source):
    """A TIFF whose ImageDescription is a PILATUS header: 0.8 (above generic TIFF's 0.3).

    The description is often within the first bytes; if not, the first IFD is read
    with tifffile (parsed once per file for every TIFF sniffer).
    """
    if head[:4] not in TIFF_MAGIC:
        return 0.0
    if looks_like_pilatus_header(head.decode("latin-1")):
        return 0.8
    try:
        description = tiff_header(source).tags.get(IMAGE_DESCRIPTION, "")
    except Exception:  # a damaged TIFF is not recognisably camserver's; sniffers never raise
        return 0.0
    if isinstance(description, bytes):
        description = description.decode("latin-1")
    return 0.8 if isinstance(description, str) and looks_like_pilatus_header(description) else 0.0


PILATUS_CBF = IngestorSpec(
    name="pilatus_cbf",
    ingest=ingest_pilatus_cbf,
    software=SOFTWARE,
    patterns=("*.cbf",),
    mimetypes=(),
    sniff=sniff_pilatus_cbf,
    grouping="prefix",
    description="a numbered series of PILATUS miniCBF files, one event per file, "
    "header values as event data or configuration",
)

PILATUS_TIFF = IngestorSpec(
    name="pilatus_tiff",
    ingest=ingest_pilatus_tiff,
    software=SOFTWARE,
    patterns=("*.tif", "*.tiff"),
    mimetypes=("image/tiff",),
    sniff=sniff_pilatus_tiff,
    grouping="prefix",
    description="a numbered series of PILATUS TIFF files (PILATUS header in ImageDescription), "
    "one event per file",
)
