"""What the ingestors built on fabio share: header values, their columns, times and errors.

Detector image formats read with `fabio <https://github.com/silx-kit/fabio>`_ (Dectris
PILATUS miniCBF and TIFF, ESRF EDF) carry a text header per image: values that stay the
same over a run describe the detector (descriptor configuration), values that change
from image to image are event data. The helpers here turn per-frame header values into
data keys, event columns and configuration, the same way for every such format.
"""

import datetime
import math
import re
import warnings
import zoneinfo
from dataclasses import dataclass

from ..errors import IngestError, IngestWarning
from ..files import errors_named
from ..grouping import numbered_order, series_key
from ._common import safe_key, source_label

__all__ = [
    "OBJECT_NAME",
    "HeaderValue",
    "as_column",
    "check_timezone",
    "compose_image_descriptor",
    "data_key_name",
    "describe_header_values",
    "fabio_errors_named",
    "numbered_order",
    "object_keys",
    "one_numbered_series",
    "parse_number",
    "parse_time",
]

#: The object every header-derived data key and configuration value belongs to.
OBJECT_NAME = "detector"

_INTEGER = re.compile(r"^[-+]?\d+$")
_FLOAT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
_NOT_A_NUMBER = {"nan", "+nan", "-nan", "inf", "+inf", "-inf"}


@dataclass(frozen=True)
class HeaderValue:
    """One header value: an int, float, str or tuple of numbers, and its units (or None)."""

    value: object
    units: str | None = None


def parse_number(text):
    """``text`` as an int or a float; None if it is not one number.

    Stricter than ``float()``: ``'1_000'``, ``'infinity'`` or ``'0x10'`` are not numbers
    in a header, but ``'nan'`` and ``'inf'`` (as C's ``printf`` writes them) are.
    """
    text = text.strip()
    if _INTEGER.match(text):
        return int(text)
    if _FLOAT.match(text) or text.lower() in _NOT_A_NUMBER:
        return float(text)
    return None


def _zone(timezone):
    if timezone is None or isinstance(timezone, datetime.tzinfo):
        return timezone
    return zoneinfo.ZoneInfo(str(timezone))


def parse_time(text, formats=(), timezone=None):
    """Unix time of a date written in a header, or None if it is in none of the formats.

    Parameters
    ----------
    text : str
    formats : sequence of str
        ``strptime`` formats tried after ISO 8601.
    timezone : str or datetime.tzinfo, optional
        The zone of dates written without one (an IANA name such as ``'Europe/Paris'``);
        by default the local time of the computer that ingests, as Python reads naive times.
    """
    text = text.strip()
    moment = None
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        for time_format in formats:
            try:
                moment = datetime.datetime.strptime(text, time_format)
                break
            except ValueError:
                continue
    if moment is None:
        return None
    if moment.tzinfo is None and timezone is not None:
        moment = moment.replace(tzinfo=_zone(timezone))
    return moment.timestamp()


def check_timezone(timezone):
    """Fail early, naming the argument, on a time zone name that does not exist."""
    try:
        _zone(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"timezone {timezone!r} is not a known IANA time zone name") from None


def data_key_name(name):
    """A data key for a header name, by the shared rule (:func:`._common.safe_key`)."""
    return safe_key(name, fallback="unnamed")


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def as_column(values):
    """One field's values over the frames as a list, with the data key's type and shape.

    All integers: an integer field; all numbers: a number field (floats); all tuples of
    numbers of one length: an array field of that shape; anything else: strings. Missing
    values (None) are NaN in number and array fields (making an integer field a number
    field) and ``''`` in string fields.

    Returns
    -------
    column : list
    dtype : str
        The JSON-schema type: 'integer', 'number', 'array' or 'string'.
    dtype_numpy : str
    shape : list of int
    """
    present = [value for value in values if value is not None]
    complete = len(present) == len(values)
    if present and all(isinstance(value, int) and not isinstance(value, bool) for value in present):
        if complete:
            return list(values), "integer", "<i8", []
    if present and all(_is_number(value) for value in present):
        return [math.nan if value is None else float(value) for value in values], "number", "<f8", []
    lengths = {len(value) for value in present if isinstance(value, tuple)}
    if (
        present
        and all(isinstance(value, tuple) and all(_is_number(v) for v in value) for value in present)
        and len(lengths) == 1
    ):
        (length,) = lengths
        if complete and all(isinstance(v, int) for value in present for v in value):
            return [list(value) for value in values], "array", "<i8", [length]
        column = [
            [math.nan] * length if value is None else [float(v) for v in value] for value in values
        ]
        return column, "array", "<f8", [length]
    strings = ["" if value is None else _text(value) for value in values]
    return strings, "string", f"<U{max([len(string) for string in strings] + [1])}", []


def _text(value):
    if isinstance(value, tuple):
        return " ".join(str(v) for v in value)
    return str(value)


def describe_header_values(frames, sources, *, time, event_keys=(), object_names=None, files=None):
    """Data keys and event columns of the changing header values, configuration of the rest.

    Parameters
    ----------
    frames : list of dict
        One dict per frame (event), data key -> :class:`HeaderValue`.
    sources : dict
        Data key -> the data key's ``source`` (where in the header the value is).
    time : float
        The time of the configuration readings (the first frame's).
    event_keys : collection of str
        Keys that are event data even where they do not change (counters, motors).
    object_names : dict, optional
        Data key -> the ``object_name`` of its event data key; ``'detector'`` by default.
    files : list of SourceFile, optional
        The file of each frame, to name one that lacks a value others have.

    Returns
    -------
    data_keys : dict
    event_data : dict
        Data key -> list of values, one per frame.
    configuration : dict
        ``{'detector': {'data', 'timestamps', 'data_keys'}}``.
    """
    keys = list(dict.fromkeys(key for frame in frames for key in frame))
    data_keys, event_data = {}, {}
    constant = {"data": {}, "timestamps": {}, "data_keys": {}}
    lacking = []
    for key in keys:
        readings = [frame.get(key) for frame in frames]
        values = [None if reading is None else reading.value for reading in readings]
        if None in values:
            lacking.append((values.index(None), key))
        column, dtype, dtype_numpy, shape = as_column(values)
        data_key = {"dtype": dtype, "dtype_numpy": dtype_numpy, "shape": shape, "source": sources[key]}
        units = next((reading.units for reading in readings if reading and reading.units), None)
        if units:
            data_key["units"] = units
        if key not in event_keys and None not in values and all(v == values[0] for v in values):
            constant["data"][key] = column[0]
            constant["timestamps"][key] = time
            constant["data_keys"][key] = data_key
        else:
            data_keys[key] = {**data_key, "object_name": (object_names or {}).get(key, OBJECT_NAME)}
            event_data[key] = column
    if lacking:
        _warn_of_missing_values(frames, lacking, files)
    return data_keys, event_data, {OBJECT_NAME: constant}


def _warn_of_missing_values(frames, lacking, files):
    first_index = min(index for index, _ in lacking)
    missing = [key for index, key in lacking if frames[first_index].get(key) is None]
    where = files[first_index].url if files else f"frame {first_index + 1}"
    warnings.warn(
        f"{where}: has no header value {', '.join(map(repr, missing))}, which other frames "
        f"have ({len(lacking)} fields are missing from some frames); missing values are NaN "
        "in numeric fields and '' in string fields",
        IngestWarning,
        stacklevel=3,
    )


def fabio_errors_named(source, action, kind):
    """Run ``action()``, turning any failure of fabio (bare assertions included) into an
    error naming the file."""
    with errors_named(source, kind):
        return action()


def one_numbered_series(pattern, sources, software):
    """The files in numeric order, checked to be one numbered series of one folder.

    Raises
    ------
    IngestError
        Naming the series, if the files belong to more than one.
    """
    keys = {series_key(source)[:3] for source in sources}
    if len(keys) > 1:
        names = sorted(prefix + "*" + suffix for _, prefix, suffix in keys)
        raise IngestError(
            str(source_label(pattern)),
            f"matches files of {len(names)} series ({', '.join(names)}); a {software} run is "
            "one numbered series: give the files of one, or read the folder with "
            "BlueskyIngestCatalog(..., group_by='prefix')",
        )
    return numbered_order(sources)


def object_keys(data_keys):
    """The descriptor's ``object_keys``: each data key listed under its ``object_name``.

    Object names come from the file (a counter's or motor's mnemonic); the event model
    allows no '.' or '/' in them, so those become '_' here and in the data key.
    """
    objects = {}
    for key, data_key in data_keys.items():
        name = re.sub(r"[./]", "_", str(data_key.get("object_name", OBJECT_NAME))) or OBJECT_NAME
        if "object_name" in data_key:
            data_key["object_name"] = name
        objects.setdefault(name, []).append(key)
    return objects


def compose_image_descriptor(run_bundle, image_key, header_keys, configuration, time):
    """The ``primary`` descriptor of detector images with their per-frame header values.

    Every key is listed under its ``object_name`` (the detector, or a counter or motor),
    and the image is the hinted field.
    """
    data_keys = {"image": image_key, **header_keys}
    return run_bundle.compose_descriptor(
        data_keys=data_keys,
        name="primary",
        time=time,
        configuration=configuration,
        object_keys=object_keys(data_keys),
        hints={OBJECT_NAME: {"fields": ["image"]}},
    )
