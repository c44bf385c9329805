"""Column text read into a table: the header, the delimiter, column names and units, typed columns.

The parsing half of the column text ingestor (:mod:`intake_ingest.ingestors.column_text`,
which maps the table onto the event model): :func:`scan_header` reads the lines before
the data, :func:`read_column_text` a whole file, :func:`row_times` the rows' times from
a time column. The conventions it follows are listed in ``docs/formats/column_text.md``.
"""

import codecs
import csv
import datetime
import itertools
import re
from dataclasses import dataclass, field

import numpy as np

from ..errors import IngestError
from ..files import read_bytes
from ._common import EVENT_FIELD_NAMES, DataKeyNamer, safe_key

__all__ = [
    "COMMENT_MARKERS",
    "ColumnTable",
    "SNIFF_ROWS",
    "TextHeader",
    "data_key_name",
    "is_comment",
    "read_column_text",
    "row_times",
    "scan_header",
    "sniff_delimiter",
    "split_fields",
    "split_lines",
]

#: Characters that start a comment line (gnuplot/numpy '#', MATLAB/Octave '%', ';', WinPLOTR '!').
COMMENT_MARKERS = "#%;!"

#: Delimiters tried, in this order, before falling back to runs of whitespace. ';' first,
#: because a European CSV ('0,5;12,3') also splits on ','; tab before ',' for the same reason.
DELIMITERS = (";", "\t", ",")

#: Data rows looked at to choose the delimiter.
SNIFF_ROWS = 50

#: Column names that can hold the time of each row (compared in lower case, without unit).
TIME_COLUMN_NAMES = frozenset(
    {"time", "timestamp", "time_stamp", "epoch", "epoch_time", "unix_time", "datetime", "date_time"}
)

#: Numbers in a time column are taken as Unix seconds only within this range (1973 to 2286),
#: so that a time column counting seconds from the start of a scan stays plain data.
EPOCH_SECONDS_RANGE = (1e8, 1e10)

#: RunStart keys that the ingestor sets or the schema types; header keys named so get 'header_'.
RESERVED_START_KEYS = frozenset(
    {
        "uid", "time", "ingestor", "source", "num_points", "comments", "units",
        "hints", "projections", "data_groups", "data_type", "scan_id",
    }
)  # fmt: skip

#: RunStart keys the schema requires to be strings: header values for them are kept as text.
STRING_START_KEYS = frozenset({"sample", "project", "owner", "group", "data_session"})

_NUMBER_TOKEN = re.compile(r"[-+]?(\d+([.,]\d*)?|[.,]\d+)([eE][-+]?\d+)?$|[-+]?(nan|inf)$", re.I)
_DATE_TOKEN = re.compile(r"\d{4}-\d\d-\d\d([T ]\S*)?$")
_CLOCK_TOKEN = re.compile(r"\d{1,2}:\d\d(:\d\d([.,]\d+)?)?$")
_TOKEN_SPLIT = re.compile(r"[\s,;]+")
_INTEGER = re.compile(r"[-+]?(0|[1-9]\d*)$")
_FLOAT = re.compile(r"[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?$")
_UNIT = re.compile(r"[^\d\s.,+-]\S{0,15}$")
# A key: a letter first, then words (no ',', ';' or tabs, so a data row with a clock time is
# not one), at most five of them; the value must not be the rest of a URL.
_KEY_VALUE = re.compile(r"(?P<key>[A-Za-z][\w .()\[\]-]{0,39}?)\s*[:=]\s*(?P<value>(?!//)\S.*)$")
# A line of several 'Key: "value"' pairs, as some lab diffractometers export their scan
# settings ('Id: "" Operator: "Lab Manager" Anode: "Mo"'), maybe after a BASIC-style "'".
_QUOTED_PAIR = re.compile(r'\s*(?P<key>[A-Za-z]\w*)\s*[:=]\s*"(?P<value>[^"]*)"')
_QUOTED_PAIRS = re.compile(r"'?(\s*[A-Za-z]\w*\s*[:=]\s*\"[^\"]*\"){2,}\s*$")
_NAME_UNIT = (
    re.compile(r"(?P<name>.*?\S)\s*\((?P<unit>[^()]+)\)$"),
    re.compile(r"(?P<name>.*?\S)\s*\[(?P<unit>[^\[\]]+)\]$"),
    re.compile(r"(?P<name>[^/]*?\S)\s*/\s*(?P<unit>[^/\s][^/]*)$"),
)


@dataclass
class TextHeader:
    """What the lines before the data say.

    ``data_start`` is the index of the first data line (None if there is none);
    ``names_line`` the (index, text, is_row) of the line that may name the columns: a
    header row (``is_row``) or the comment just before the data.
    """

    metadata: dict = field(default_factory=dict)
    units: dict = field(default_factory=dict)
    comments: list = field(default_factory=list)
    title: str | None = None
    declared_points: int | None = None
    data_start: int | None = None
    names_line: tuple | None = None


@dataclass
class ColumnTable:
    """The parsed file: its header and one array per column, in file order."""

    header: TextHeader
    names: list
    units: list
    columns: list
    line_numbers: list  # of the data rows, 1-based
    delimiter: str | None  # None: runs of whitespace
    labels: list = field(default_factory=list)  # the names as the file writes them, by column


# ---------------------------------------------------------------------------- header


def is_comment(stripped):
    return stripped[:1] in COMMENT_MARKERS and stripped != ""


def _comment_text(stripped):
    return stripped.lstrip(stripped[0]).strip()


def _is_data_token(token):
    return bool(_NUMBER_TOKEN.match(token) or _DATE_TOKEN.match(token) or _CLOCK_TOKEN.match(token))


def _looks_like_data(stripped, delimiter=None):
    """A row of values: at least half of its tokens are numbers, dates or clock times."""
    if delimiter is not None and delimiter not in " \t,;":
        stripped = stripped.replace(delimiter, " ")
    tokens = [token for token in _TOKEN_SPLIT.split(stripped) if token]
    if not tokens:
        return False
    return 2 * sum(_is_data_token(token) for token in tokens) >= len(tokens)


def _start_key(key):
    """A header key as a RunStart key: snake case, with 'header_' where the document uses it."""
    normalized = re.sub(r"\W+", "_", key.lower()).strip("_")  # letters of any language stay
    if normalized in RESERVED_START_KEYS:
        return "header_" + normalized
    return normalized


def _header_value(text):
    """A header value: a number, a number and its unit, or the text. Returns (value, unit)."""
    text = text.strip()
    tokens = text.split()
    if len(tokens) in (1, 2) and (len(tokens) == 1 or _UNIT.match(tokens[1])):
        number = tokens[0]
        if _INTEGER.match(number):
            return int(number), (tokens[1] if len(tokens) == 2 else None)
        if _FLOAT.match(number):
            return float(number), (tokens[1] if len(tokens) == 2 else None)
    return text, None


def _add_key_value(header, key, text):
    """Put one header value into the RunStart metadata; False if the key is empty."""
    start_key = _start_key(key)
    if not start_key:
        return False
    value, unit = _header_value(text)
    if start_key in STRING_START_KEYS:
        value, unit = text.strip(), None
    if start_key == "header_scan_id" and isinstance(value, int) and unit is None:
        start_key = "scan_id"  # a scan number is what scan_id means
    header.metadata[start_key] = value
    if unit is not None:
        header.units[start_key] = unit
    else:
        header.units.pop(start_key, None)
    return True


def _balanced(text):
    return text.count("(") == text.count(")") and text.count("[") == text.count("]")


def _key_value(text):
    """``(key, value)`` of a ``key: value`` or ``key = value`` line, else None.

    A key has at most five words, balanced brackets and no file name or number in it
    (no '.' inside a word), so that a CSV header row such as ``Time (hh:mm:ss),Value`` or
    GSAS-II's histogram name ``LaB6_0001.tif Azm=   0.00`` is not taken for one.
    """
    match = _KEY_VALUE.match(text)
    if match is None:
        return None
    key = match["key"]
    if len(key.split()) > 5 or not _balanced(key) or re.search(r"\.\w", key):
        return None
    return match["key"], match["value"]


def _fit2d_chi_header(first_lines):
    """The header of fit2d's ``.chi`` layout, or None if the first four lines are not one.

    fit2d (and GSAS-II's Fit2D "chi" export, ``G2export_FIT2D.py``) writes a title, the
    x-axis label (``2-Theta Angle (Degrees)``), the y-axis label (``Intensity``), and the
    number of points (``       2048``, sometimes followed by the number of data sets),
    then one ``x y`` row per point. Dioptas writes the same layout with a blank y-axis
    label line: a blank title or label is allowed as long as one of the three has text,
    none is a comment and no label is a row of data (nor the title, if both labels are blank).
    """
    if len(first_lines) < 4:
        return None
    stripped = [line.strip() for line in first_lines[:4]]
    if not any(stripped[:3]) or any(is_comment(text) for text in stripped[:3]):
        return None
    checked = stripped[1:3] if any(stripped[1:3]) else stripped[:1]
    if any(text and _looks_like_data(text) for text in checked):
        return None
    counts = stripped[3].split()
    if not 1 <= len(counts) <= 2 or not all(_INTEGER.match(count) for count in counts):
        return None
    return TextHeader(
        title=stripped[0] or None,
        declared_points=int(counts[0]),
        names_line=(None, [stripped[1], stripped[2]], True),
    )


def scan_header(lines, delimiter=None):
    """Read header lines up to the first data line.

    Parameters
    ----------
    lines : iterable of str
        The file's lines (without line ends), read lazily: iteration stops at the first
        data line (or, for the fit2d check, the fourth line), so a caller streaming a
        file reads no further than that.
    delimiter : str, optional
        A delimiter the user gave, for telling data rows from text.

    Returns
    -------
    TextHeader
    """
    lines = iter(lines)
    first = list(itertools.islice(lines, 4))
    chi = _fit2d_chi_header(first)
    if chi is not None:
        for index, line in enumerate(lines, start=4):
            if line.strip() and not is_comment(line.strip()):
                chi.data_start = index
                break
        return chi

    header = TextHeader()
    # The last non-blank line before the data, if it may name the columns: (index, text, is_row),
    # a text row (CSV header) or a comment. A text row that turns out not to be followed by
    # the data (a title, FullProf's XYDATA) is kept as a comment.
    candidate = None

    def keep_earlier_text_row():
        nonlocal candidate
        if candidate is not None and candidate[2]:
            header.comments.append(candidate[1])
        candidate = None

    in_block = False
    for index, line in enumerate(itertools.chain(first, lines)):
        stripped = line.strip()
        if not stripped:
            continue
        if in_block or stripped.startswith("/*"):
            # Topas' C-style comment block, as GSAS-II writes it atop .xye files.
            keep_earlier_text_row()
            in_block = "*/" not in stripped
            body = stripped.removeprefix("/*").split("*/")[0].strip().lstrip(COMMENT_MARKERS).strip()
            if body:
                _header_comment(header, body)
        elif is_comment(stripped):
            body = _comment_text(stripped)
            if body:
                keep_earlier_text_row()
                if not _header_comment(header, body):
                    candidate = (index, body, False)
        elif _quoted_pairs(header, stripped):
            keep_earlier_text_row()
        elif (pair := _key_value(stripped)) is not None and _add_key_value(header, *pair):
            keep_earlier_text_row()
        elif _looks_like_data(stripped, delimiter) or _row_under_header_row(candidate, stripped, delimiter):
            header.data_start = index
            header.names_line = candidate
            return header
        else:
            keep_earlier_text_row()
            candidate = (index, stripped, True)
    if candidate is not None and candidate[2]:
        header.names_line = candidate  # a header row with no data after it
    return header


def _row_under_header_row(candidate, stripped, delimiter=None):
    """True for a row of mostly text under a CSV header row: the first row of a table.

    A CSV's rows may hold more text than numbers (sample names, status words); such a row
    is data when the line before it is a header row without numbers, both lines cut into
    the same number (two or more) of fields on the same delimiter (';', tab or ','), and
    the row has at least one number, date or clock time.
    """
    if candidate is None or not candidate[2] or isinstance(candidate[1], list):
        return False
    header_row = candidate[1]
    for separator in (delimiter,) if delimiter not in (None, " ") else DELIMITERS:
        if separator not in header_row or separator not in stripped:
            continue
        names, fields = split_fields(header_row, separator), split_fields(stripped, separator)
        if len(names) != len(fields) or len(fields) < 2:
            continue
        if any(_is_data_token(name) for name in names if name):
            return False
        return any(_is_data_token(field) for field in fields if field)
    return False


def _quoted_pairs(header, text):
    """Put a line of 'Key: "value"' pairs into the metadata (True), if it is one."""
    if not _QUOTED_PAIRS.match(text):
        return False
    for match in _QUOTED_PAIR.finditer(text.removeprefix("'")):
        _add_key_value(header, match["key"], match["value"])
    return True


def _header_comment(header, body):
    """File a comment: key-value metadata (True) or a comment kept as text (False)."""
    if _quoted_pairs(header, body):
        return True
    pair = _key_value(body)
    if pair is not None and _add_key_value(header, *pair):
        return True
    header.comments.append(body)
    return False


# ---------------------------------------------------------------------------- columns


class FieldTooLongError(ValueError):
    """A delimited field longer than the csv module takes (:func:`csv.field_size_limit`)."""


def split_fields(line, delimiter):
    """The fields of one line: runs of whitespace, or the ``delimiter`` with csv quoting.

    Raises
    ------
    FieldTooLongError
        If a field is over :func:`csv.field_size_limit` characters (128 KiB): no column
        text holds one, and the csv module refuses it.
    """
    if delimiter is None:
        return line.split()
    try:
        return [field.strip() for field in next(csv.reader([line], delimiter=delimiter))]
    except csv.Error as error:
        raise FieldTooLongError(str(error)) from None


def _whitespace_decimal_commas(line):
    """True for whitespace-separated numbers written with decimal commas: ``0,5  12,3``."""
    tokens = line.split()
    return (
        len(tokens) > 1
        and all(_NUMBER_TOKEN.match(token) for token in tokens)
        and any("," in token for token in tokens)
    )


def sniff_delimiter(data_lines):
    """The first of ';', tab and ',' that every line holds; else None, for runs of whitespace.

    Lines that are whitespace-separated numbers with decimal commas (``0,5  12,3``) are
    not comma-separated. Whether every row then has as many fields as the first is for
    the caller to check (a ragged row is an error, not a reason to choose another delimiter).
    """
    for delimiter in DELIMITERS:
        if not data_lines or not all(delimiter in line for line in data_lines):
            continue
        if delimiter == "," and any(_whitespace_decimal_commas(line) for line in data_lines):
            continue
        if len(split_fields(data_lines[0], delimiter)) > 1:
            return delimiter
    return None


def _parse_name(text):
    """``'2-Theta Angle (Degrees)'`` -> ``('2-Theta Angle', 'Degrees')``; no unit -> None."""
    text = text.strip().strip('"').strip()
    for pattern in _NAME_UNIT:
        match = pattern.match(text)
        if match:
            return match["name"].strip(), match["unit"].strip()
    return text, None


def _whitespace_name_splits(text):
    """Ways to cut a names line on whitespace: keeping '(unit)' with its name, on 2+ spaces, on each."""
    merged, depth = [], 0
    for token in text.split():
        if merged and (depth > 0 or token[:1] in "(["):
            merged[-1] += " " + token
        else:
            merged.append(token)
        depth = max(0, depth + token.count("(") + token.count("[") - token.count(")") - token.count("]"))
    return [merged, re.split(r"\s{2,}|\t", text.strip()), text.split()]


def _names_fields(text, delimiter, n_columns):
    """The fields of a names line that give ``n_columns`` names, or None."""
    splits = [] if delimiter is None else [split_fields(text, delimiter)]
    splits += _whitespace_name_splits(text)
    for fields in splits:
        if len(fields) == n_columns:
            return fields
    return None


def _columns(count):
    return f"{count} column" if count == 1 else f"{count} columns"


def data_key_name(name, index, namer):
    """A column's data key: ``col_<index>`` if unnamed, ``_column`` after an event field's name
    (``time``, ``seq_num``, ``uid``), ``_2``, ``_3``... after a key ``namer`` (the table's
    :class:`._common.DataKeyNamer`) gave already; otherwise the shared rule (``2-Theta`` ->
    ``X2_Theta``)."""
    base = safe_key(name, fallback=f"col_{index}")
    if base.lower() in EVENT_FIELD_NAMES:
        base += "_column"
    return namer(base)


def _column_names(source, header, delimiter, n_columns, first_data_line):
    """Data key names and units of the columns, from the header; col_0, col_1... without one."""
    fields = None
    if header.names_line is not None:
        line_index, text, is_row = header.names_line
        if isinstance(text, list):  # fit2d .chi: the axis labels, then unnamed extra columns
            fields = (text + [""] * n_columns)[:n_columns]
        else:
            fields = _names_fields(text, delimiter, n_columns)
            if fields is None and is_row:
                n_named = len(split_fields(text, delimiter) if delimiter else text.split())
                raise IngestError(
                    source.url,
                    f"line {first_data_line} has {_columns(n_columns)} but the header row "
                    f"(line {line_index + 1}) names {n_named}",
                )
            if fields is not None and all(_is_data_token(f) for f in fields if f):
                fields = None  # a comment of numbers is not a names line
    if fields is None:
        fields = [""] * n_columns
    namer, names, units, labels = DataKeyNamer(), [], [], []
    for index, text in enumerate(fields):
        name, unit = _parse_name(text) if text else ("", None)
        names.append(data_key_name(name, index, namer))
        units.append(unit)
        labels.append(name)
    return names, units, labels


def _column_array(values, delimiter):
    """A column of text fields as int64, float64 (empty fields NaN) or, failing both, str."""
    text = np.asarray(values, dtype=str)
    for dtype in (np.int64, np.float64):
        try:
            return text.astype(dtype)
        except (ValueError, OverflowError):
            pass
    empty = text == ""
    if delimiter != ",":
        # A decimal comma (Excel in German or French locales writes '0,5;12,3').
        if not any("." in value for value in values):
            text = np.char.replace(text, ",", ".")
    try:
        return np.where(empty, "nan", text).astype(np.float64)
    except ValueError:
        return np.asarray(list(values), dtype=str)  # as wide as this column's longest text


def _decode(source, data, encoding):
    nul = data.find(b"\0")
    if nul >= 0:
        raise IngestError(source.url, f"is a binary file, not column text (a NUL byte at offset {nul})")
    try:
        if codecs.lookup(encoding).name == "utf-8":
            encoding = "utf-8-sig"  # drop the byte-order mark Windows programs write
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        byte = data[error.start]
        raise IngestError(
            source.url,
            f"is not {error.encoding.removesuffix('-sig').upper()} text: byte 0x{byte:02x} on "
            f"line {line}; if the file is text in another encoding, pass encoding= (e.g. 'latin-1')",
        ) from None


def split_lines(text):
    """The lines of a text, ended by LF, CR LF or a lone CR (classic Mac OS exports)."""
    if "\r" in text:  # a scan for one character, cheap next to the parse; most files have none
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.split("\n")


def _field_too_long(source, lines):
    """The error for a field over the csv module's limit, naming the first line that has one."""
    limit = csv.field_size_limit()
    for number, line in enumerate(lines, start=1):
        if len(line) > limit:
            break
    else:
        number = "?"
    return IngestError(
        source.url,
        f"line {number} has a field over {limit // 1024} KiB ({limit} characters), more than "
        "Python's csv module reads; column text holds no such field (an unclosed quote?)",
    )


def read_column_text(source, *, delimiter=None, encoding="utf-8"):
    """Parse a whole column text file.

    Parameters
    ----------
    source : SourceFile
    delimiter : str, optional
        ``','``, ``';'``, ``'\\t'`` (or any one character), or ``' '`` for runs of
        whitespace; sniffed if not given.
    encoding : str, optional
        The file's text encoding.

    Returns
    -------
    ColumnTable

    Raises
    ------
    IngestError
        Binary or undecodable content, or a row with another number of columns than the
        header (naming the line).
    """
    lines = split_lines(_decode(source, read_bytes(source), encoding))
    try:
        return _parse_lines(source, lines, delimiter)
    except FieldTooLongError:
        raise _field_too_long(source, lines) from None


def _parse_lines(source, lines, delimiter):
    header = scan_header(lines, delimiter)
    if header.data_start is None:
        return _empty_table(source, header, delimiter)
    data_rows = [
        (number, line)
        for number, line in enumerate(lines[header.data_start :], start=header.data_start + 1)
        if line.strip() and not is_comment(line.strip())
    ]
    texts = [line for _, line in data_rows]
    if delimiter is None:
        delimiter = sniff_delimiter(texts[:SNIFF_ROWS])
    elif delimiter == " ":
        delimiter = None  # runs of whitespace
    # Line by line, so that an unclosed quote cannot swallow the lines after it.
    rows = [split_fields(line, delimiter) for line in texts]
    n_columns = len(rows[0])
    names, units, labels = _column_names(source, header, delimiter, n_columns, data_rows[0][0])
    for (number, _), row in zip(data_rows, rows):
        if len(row) != n_columns:
            raise IngestError(
                source.url,
                f"line {number} has {_columns(len(row))}, not {n_columns} as line {data_rows[0][0]}",
            )
    table = np.asarray(rows, dtype=str).reshape(len(rows), n_columns)
    columns = [_column_array(table[:, index], delimiter) for index in range(n_columns)]
    for column in columns:
        column.flags.writeable = False  # documents are records
    return ColumnTable(header, names, units, columns, [n for n, _ in data_rows], delimiter, labels)


def _empty_table(source, header, delimiter):
    """A file without data rows: columns named by its header row, if it has one."""
    names, units, labels = [], [], []
    if header.names_line is not None:
        _, text, _ = header.names_line
        if isinstance(text, list):
            fields = text
        else:
            if delimiter is None:
                delimiter = sniff_delimiter([text])
            fields = split_fields(text, delimiter) if delimiter else _whitespace_name_splits(text)[0]
        namer = DataKeyNamer()
        for index, field_text in enumerate(fields):
            name, unit = _parse_name(field_text)
            names.append(data_key_name(name, index, namer))
            units.append(unit)
            labels.append(name)
    columns = [np.empty(0, dtype=np.float64) for _ in names]
    return ColumnTable(header, names, units, columns, [], delimiter, labels)


# ---------------------------------------------------------------------------- times


def _iso_times(values):
    try:
        return np.array([datetime.datetime.fromisoformat(str(value)).timestamp() for value in values])
    except ValueError:
        return None


def row_times(names, columns):
    """Each row's time from a time column, with that column's name; (None, None) if there is none.

    A column named time, timestamp, epoch, datetime, ... (see :data:`TIME_COLUMN_NAMES`)
    counts when it holds ISO 8601 date-times (naive ones are local time) or Unix seconds
    (numbers within :data:`EPOCH_SECONDS_RANGE`).
    """
    for name, column in zip(names, columns):
        base = name.removesuffix("_column").lower()
        if base not in TIME_COLUMN_NAMES or len(column) == 0:
            continue
        if column.dtype.kind in "iuf":
            low, high = EPOCH_SECONDS_RANGE
            if np.all(np.isfinite(column)) and low <= column.min() and column.max() < high:
                return column.astype(np.float64), name
        elif column.dtype.kind == "U":
            times = _iso_times(column)
            if times is not None:
                return times, name
    return None, None
