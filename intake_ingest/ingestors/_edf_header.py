"""The header of an EDF frame: its measurement values, counters and motors, and its time.

An EDF header is ``Key = Value ;`` lines. Some keys describe the binary data (fabio's
``MINIMUM_KEYS`` and the ``EDF_*`` keys); the ESRF SPEC macros, LIMA and BLISS add the
rest: counters and motors as space-separated mnemonics and values (``counter_mne`` /
``counter_pos``, ``motor_mne`` / ``motor_pos``, the keys PyMca and silx's ``fabioh5``
read), the scan's ``title``, times, presets...
"""

import dataclasses
import math
import re

from ._common import EVENT_FIELD_NAMES, unique_key
from ._fabio import HeaderValue, data_key_name, parse_number, parse_time

__all__ = ["DATE_KEYS", "EVENT_GROUPS", "TIME_FORMATS", "TIME_KEYS", "EdfHeader", "parse_edf_header"]

# Keys that describe the binary data block, not the measurement (fabio's MINIMUM_KEYS,
# MINIMUM_KEYS2 and RESERVED_HEADER_KEYS, compared in upper case); and every EDF_* key.
_LAYOUT_KEYS = {
    "HEADERID", "IMAGE", "BYTEORDER", "DATATYPE", "SIZE", "COMPRESSION", "DIM_1", "DIM_2", "DIM_3",
}
#: Mnemonic groups whose values are event data in every frame, changing or not.
EVENT_GROUPS = ("counter", "motor")
# SPEC writes ``time`` with date(): "Tue Nov 26 16:02:05 2013"; others write ISO 8601.
TIME_FORMATS = ("%a %b %d %H:%M:%S %Y", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%d-%b-%Y %H:%M:%S")
#: Header keys that say when a frame was taken, compared in lower case, in order of
#: preference, each with how it is written: ``time_of_day`` (Unix time, as LIMA writes it
#: from gettimeofday()); ``time`` and ``date``, dates in local time unless they carry a
#: zone (SPEC's ccd macros write the scan's date(), "Thu Jul 06 03:41:29 2017"); last
#: ``epoch``, which those macros fill with SPEC's EPOCH, the Unix time at which the SPEC
#: data file was opened (before the scan, hours before in darfix's ID06 files).
TIME_KEYS = (("time_of_day", "unix"), ("time", "date"), ("date", "date"), ("epoch", "unix"))
DATE_KEYS = tuple(name for name, kind in TIME_KEYS if kind == "date")
# A value "<number> <unit>" is read with its unit only for units a header would write
# (Boesecke's "Double Float Value with Unit"); anything else after a number is text.
_UNITS = {
    "m", "mm", "um", "nm", "pm", "s", "ms", "us", "ns", "eV", "keV", "MeV", "deg", "rad",
    "mrad", "Hz", "kHz", "K", "V", "kV", "mA", "W", "Pa", "mbar", "bar", "pixel", "pixels",
}
# An integer a number column holds exactly: event data and msgpack stop at 64 bits.
_INT64 = (-(2**63), 2**63 - 1)
# Digits of an integer, without sign or leading zeros: more than 19 is beyond 64 bits
# (and is never handed to int(), which refuses over 4300 digits).
_DIGITS = re.compile(r"[+-]?(?=\d)0*(\d*)")


@dataclasses.dataclass
class EdfHeader:
    """One frame's header, parsed.

    Attributes
    ----------
    values : dict
        Data key -> :class:`~intake_ingest.ingestors._fabio.HeaderValue`.
    sources : dict
        Data key -> where in the header it comes from.
    event_keys : dict
        The data keys of counters and motors (event data even where constant) -> their
        mnemonics, the ``object_name`` of each (a counter or motor is a device of its own).
    time : float or None
        When the frame was taken (Unix time), from the first of :data:`TIME_KEYS` that
        the header has and that reads as a time.
    time_key : str or None
        The header key that gave ``time``.
    title : str or None
    unpaired : list of str
        What did not pair up: mnemonics without values, or values without mnemonics.
    labels : dict
        Data key -> the header's name for it (``data_key['label']`` where they differ).
    beyond_64_bits : list of str
        Data keys whose header value holds an integer beyond 64 bits: kept exactly, as
        the header's text (a number column would round it to a float, or refuse it).
    """

    values: dict = dataclasses.field(default_factory=dict)
    sources: dict = dataclasses.field(default_factory=dict)
    labels: dict = dataclasses.field(default_factory=dict)
    event_keys: dict = dataclasses.field(default_factory=dict)
    time: float | None = None
    time_key: str | None = None
    title: str | None = None
    unpaired: list = dataclasses.field(default_factory=list)
    beyond_64_bits: list = dataclasses.field(default_factory=list)

    def add_text(self, name, text, where, prefix):
        """Add a header value (:func:`_value` of ``text``) under ``name``; its data key."""
        value = _value(text)
        key = self.add(name, value, where, prefix)
        if isinstance(value.value, str) and _numbers_beyond_64_bits(text):
            self.beyond_64_bits.append(key)
        return key

    def add(self, name, value, where, prefix):
        """Add a value under ``name``, or ``prefix_name`` if ``name`` is taken.

        A name that is an event's own field (a counter ``time``, a header key ``uid``) is
        renamed ``time_2``... by the shared :func:`._common.unique_key`, as in every
        ingestor: it would hide the stream's time or sequence number.
        """
        key = data_key_name(name)
        if key in self.values or key == "image":
            key = data_key_name(f"{prefix}_{name}")
        if key.lower() in EVENT_FIELD_NAMES:
            key = unique_key(key, {*self.values, "image"})
        if key not in self.values:
            self.values[key] = value
            self.sources[key] = where
            self.labels[key] = name  # the header's own name, kept where the key differs
        return key


def _beyond_64_bits(text):
    """True if a word of ``text`` is an integer a 64-bit integer cannot hold."""
    for word in text.split():
        digits = _DIGITS.fullmatch(word)
        if digits is None:
            continue
        if len(digits.group(1)) > 19:
            return True
        if not _INT64[0] <= int(word) <= _INT64[1]:
            return True
    return False


def _numbers_beyond_64_bits(text):
    """True if ``text`` would be a number (or numbers, or a number and unit) but for an integer beyond 64 bits."""
    words = text.split()
    if not any(_beyond_64_bits(word) for word in words):
        return False
    if len(words) == 2 and words[1] in _UNITS:
        words = words[:1]
    return all(_beyond_64_bits(word) or parse_number(word) is not None for word in words)


def _number(word):
    """:func:`parse_number` of one word, None for an integer beyond 64 bits (no column holds it)."""
    if _beyond_64_bits(word):
        return None
    return parse_number(word)


def _value(text):
    """A header value: a number, numbers (a tuple), a number with a unit, or text.

    An integer beyond 64 bits makes the value text, as written: exact, never a float.
    """
    words = text.split()
    numbers = [_number(word) for word in words]
    if words and None not in numbers:
        return HeaderValue(numbers[0] if len(numbers) == 1 else tuple(numbers))
    if len(words) == 2 and numbers[0] is not None and words[1] in _UNITS:
        return HeaderValue(numbers[0], words[1])
    return HeaderValue(text.strip())


def _is_layout_key(key):
    upper = key.upper()
    return upper in _LAYOUT_KEYS or upper.startswith("EDF_") or upper.startswith("DIM_")


def _mnemonic_groups(header):
    """``{'counter': ('counter_mne', 'counter_pos'), ...}``: every ``X_mne`` with its ``X_pos``."""
    groups = {}
    for key in header:
        if key.endswith("_mne") and key[:-4] + "_pos" in header:
            groups[key[:-4]] = (key, key[:-4] + "_pos")
    # Counters, then motors, first: they keep their mnemonics as data keys.
    rank = {group: index for index, group in enumerate(EVENT_GROUPS)}
    return dict(sorted(groups.items(), key=lambda item: rank.get(item[0], len(rank))))


def _add_mnemonics(result, header, group, keys):
    mne_key, pos_key = keys
    names, positions = header[mne_key].split(), header[pos_key].split()
    if len(names) != len(positions):
        result.unpaired.append(
            f"{mne_key} names {len(names)} {group}s but {pos_key} has {len(positions)} values; "
            f"{'values' if len(positions) > len(names) else 'names'} without a partner are left out"
        )
    for name, position in zip(names, positions):
        key = result.add_text(name, position, f"EDF header {pos_key} ({name})", group)
        if group in EVENT_GROUPS:
            result.event_keys[key] = name


def _header_time(header, timezone):
    """(Unix time, key) of the frame, from the keys that say when it was taken; (None, None)."""
    by_name = {}
    for key in header:
        by_name.setdefault(key.strip().lower(), key)
    for name, kind in TIME_KEYS:
        if name not in by_name:
            continue
        text = header[by_name[name]]
        if kind == "unix":
            seconds = _number(text)
            # A Unix time is a finite positive number (nan, inf or 1e999 are no time).
            moment = float(seconds) if seconds is not None and math.isfinite(seconds) and seconds > 0 else None
        else:
            moment = parse_time(text, TIME_FORMATS, timezone)
        if moment is not None:
            return moment, by_name[name]
    return None, None


def parse_edf_header(header, timezone=None):
    """The measurement values of one frame's header (a dict of strings, as fabio reads it).

    Parameters
    ----------
    header : dict
    timezone : str or datetime.tzinfo, optional
        The zone of a ``time`` or ``Date`` written without one (SPEC writes local time);
        by default the local time of the computer that ingests.

    Returns
    -------
    EdfHeader
    """
    result = EdfHeader()
    result.time, result.time_key = _header_time(header, timezone)
    groups = _mnemonic_groups(header)
    for group, keys in groups.items():
        _add_mnemonics(result, header, group, keys)
    grouped = {key for keys in groups.values() for key in keys}
    for key, text in header.items():
        if key in grouped or _is_layout_key(key):
            continue
        if key == result.time_key and key.strip().lower() in DATE_KEYS:
            continue  # a date: the event's time (a Unix time stays a number too)
        if key.lower() == "title" and result.title is None:
            result.title = text
        result.add_text(key, text, f"EDF header {key}", "header")
    return result
