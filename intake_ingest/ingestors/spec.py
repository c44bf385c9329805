"""Ingestor for SPEC data files (Certified Scientific Software's ``spec``): one run per scan.

A SPEC data file holds many scans, each a ``#S`` header block followed by rows of
numbers, under a file header (``#F``, ``#E``, ``#D``, ``#O`` ...). The control lines are
those of the standard data-file format (spec manual, "Standard Data-File Format",
https://certif.com/spec_manual/mac_3_13.html). Files are read with silx's
:class:`silx.io.specfile.SpecFile`, a maintained C parser; this module maps what silx
reads onto the event model, and checks the data lines that silx drops or misreads
without saying so (see :func:`scan_lines`). A scan whose data lines are all rows of
numbers, as most are, has them converted here from the lines those checks split anyway
(:func:`_converted_rows`); silx reads the headers of every scan and the data of the others.

See ``docs/formats/spec.md`` for what goes where.
"""

import bisect
import collections
import contextlib
import dataclasses
import datetime
import functools
import math
import os
import re
import tempfile
import threading
import warnings

import numpy as np
from silx.io.specfile import SfErrFileOpen, SfErrLineNotFound, SpecFile

from ..errors import IngestError, IngestWarning, MissingFileError
from ..files import deterministic_uid, expand, read_bytes, timestamps
from ..registry import IngestorSpec
from ._common import DataKeyNamer, array_data_key, labelled, safe_key, source_label, time_zone
from ._compose import compose_run, unpack_event_page
from ._c_output import c_stdout_silenced
from ._silx_guard import check_for_silx

__all__ = [
    "SCAN_TYPES",
    "SPEC",
    "DataLine",
    "PATTERNS",
    "ScanHeader",
    "ScanLines",
    "ingest_spec",
    "read_scan_index",
    "runs_in",
    "scan_lines",
    "sniff_spec",
]

# -- the scan index: every scan's headers, read with silx ---------------------------------


@dataclasses.dataclass(frozen=True)
class ScanHeader:
    """What silx reads from the headers of one scan, and where the scan is in the file.

    ``scan``, ``file`` and ``mca`` are silx's header dictionaries (``#S`` -> ``'S'``;
    repeated control lines joined by newlines); ``file`` is the file header in force for
    this scan (a file may hold several). ``begin`` and ``end`` are the byte offsets of
    the scan's block, from its ``#S`` line to the next ``#S`` or ``#F`` line.
    """

    key: str  # silx's scan key: 'number.order', the order counting repeats of a number
    index: int  # 0-based position of the scan in the file
    number: int
    order: int
    scan: dict
    file: dict
    mca: dict
    labels: tuple
    motor_names: tuple
    motor_positions: tuple
    unmatched_motors: tuple  # '#P1 gives 3 motor positions for 4 #O1 motor names', ...
    motor_mnemonics: dict  # mnemonic -> motor name, from SPEC 6's '#o' lines beside '#O'
    begin: int
    end: int
    first_line: int  # line number of the '#S' line, from 1


def _column_labels(scan):
    """``#L`` labels, split on single spaces where a writer did not use SPEC's two.

    SPEC separates labels by two spaces, as a label may hold one ('Two Theta'); some
    macro sets write one, which silx reads as a single label. ``#N`` then tells.
    """
    labels = list(scan.labels)
    try:
        n_columns = int(scan.scan_header_dict.get("N", "").split()[0])
    except (IndexError, ValueError):
        n_columns = None
    if len(labels) == 1 and n_columns and n_columns > 1 and len(labels[0].split()) == n_columns:
        labels = labels[0].split()
    return tuple(labels)


# SPEC separates motor names on '#O' lines by two spaces or more (a name may hold one).
_NAME_SEPARATOR = re.compile(r"\s{2,}")


@functools.lru_cache(maxsize=1024)  # the same '#O' lines head every scan of a file
def _motor_names_of_line(text, n_positions):
    """The names of one ``#O`` line: split at two spaces or more, or at every space where
    that is what matches its ``#P`` line's count (some macro sets write one space)."""
    names = tuple(name for name in _NAME_SEPARATOR.split(text.strip()) if name)
    if len(names) != n_positions:
        words = text.split()
        if len(words) == n_positions:
            return tuple(words)
    return names


def _motors(name_lines, position_lines, mnemonic_lines):
    """``#O`` names and ``#P`` positions, line by line: ``#O0`` pairs with ``#P0``, and so on.

    Read from the lines' text rather than silx's ``motor_names`` and ``motor_positions``:
    silx counts a position too many when a ``#P`` line ends in spaces (then no name
    matches its position), and takes the ``#O`` lines of the file's first header block even where a later one
    (starting with ``#E``) renamed the motors.

    Parameters
    ----------
    name_lines, position_lines, mnemonic_lines : dict
        ``{0: text of #O0, 1: ...}``, the ``#O`` lines in force for the scan,
        ``{0: text of #P0, ...}``, the scan's ``#P`` lines, and the ``#o`` lines in force.

    Returns
    -------
    names, positions : tuple
        The motors whose line pairs up, in file order.
    unmatched : tuple of str
        One description per ``#O``/``#P`` line pair whose counts differ.
    mnemonics : dict
        Mnemonic -> name, for the motors of lines whose ``#o`` line has as many words.
    """
    if position_lines and not name_lines:
        count = sum(len(text.split()) for text in position_lines.values())
        return (), (), (f"#P gives {count} motor positions but no #O line names them",), {}
    names, positions, unmatched, mnemonics = [], [], [], {}
    for number, text in sorted(position_lines.items()):
        words = text.split()
        line_positions = [_number_or_none(word) for word in words]
        line_names = _motor_names_of_line(name_lines.get(number, ""), len(words))
        if None in line_positions or len(line_names) != len(line_positions):
            what = "a word that is not a number" if None in line_positions else f"{len(words)} motor positions"
            unmatched.append(f"#P{number} gives {what} for {len(line_names)} #O{number} motor names")
            continue
        names += line_names
        positions += line_positions
        line_mnemonics = mnemonic_lines.get(number, "").split()
        if len(line_mnemonics) == len(line_names):
            mnemonics.update(zip(line_mnemonics, line_names))
    return tuple(names), tuple(positions), tuple(unmatched), mnemonics


# '#O0 name  name ...', '#o0 mne mne ...' and '#P0 1 2 ...' lines; '#F' and '#E' start a
# file header.
_MOTOR_LINE = re.compile(rb"^#([OoP])(\d+)[ \t]?([^\n]*)$|^#[FE]\b", re.M)


def _motor_lines(content, blocks):
    """For each scan block, the ``#O`` and ``#o`` lines in force at its first ``#P`` line
    and its ``#P`` lines, as ``({number: text}, {number: text}, {number: text})``.

    A file header (``#F`` or ``#E``) or a new ``#O0`` (``#o0``) line starts a new set of
    names (mnemonics); Sardana's spock writes the ``#O`` lines inside each scan, SPEC in
    the file header.
    """
    matches = (_MOTOR_LINE.match(content, at) for at in _line_starts(content, b"#"))  # control lines only
    found = [(match.start(), match.group(1), match.group(2), match.group(3)) for match in matches if match]
    result, in_force, position = [], {b"O": {}, b"o": {}}, 0
    for begin, end, _ in blocks:
        positions, at_first_position = {}, None
        while position < len(found) and found[position][0] < end:
            at, code, number, text = found[position]
            position += 1
            text = text.decode("utf-8", "replace").rstrip("\r") if text is not None else None
            if code == b"P":
                if at >= begin:  # not a '#P' line outside any scan
                    if at_first_position is None:
                        at_first_position = {key: dict(lines) for key, lines in in_force.items()}
                    positions.setdefault(int(number), text)  # a repeated '#P<n>': the first holds
            elif code is None:
                in_force = {b"O": {}, b"o": {}}
            else:
                if int(number) == 0:
                    in_force[code] = {}
                in_force[code][int(number)] = text
        lines = at_first_position or {key: dict(found_lines) for key, found_lines in in_force.items()}
        result.append((lines[b"O"], positions, lines[b"o"]))
    return result


def _line_starts(content, prefix):
    """Offsets of the lines that begin with ``prefix``, in order (a search at C speed)."""
    found = [0] if content.startswith(prefix) else []
    needle = b"\n" + prefix
    at = content.find(needle)
    while at != -1:
        found.append(at + 1)
        at = content.find(needle, at + 1)
    return found


def _scan_blocks(content):
    """(begin, end, first line number) of every scan block, in file order.

    silx starts a scan at a line beginning '#S' and a file header at one beginning '#F';
    a block ends where the next of either begins.
    """
    scan_starts = _line_starts(content, b"#S")
    block_starts = sorted(scan_starts + _line_starts(content, b"#F"))
    blocks, line, previous = [], 1, 0
    for begin in scan_starts:
        line += content.count(b"\n", previous, begin)
        previous = begin
        following = bisect.bisect_right(block_starts, begin)
        end = block_starts[following] if following < len(block_starts) else len(content)
        blocks.append((begin, end, line))
    return blocks


@dataclasses.dataclass(frozen=True)
class _SilxScanHeaders:
    """What silx's ``Scan`` holds of one scan's headers, read without its other work.

    silx's ``Scan(specfile, index)`` also reads the ``#O`` names and ``#P`` positions
    in C, which the index reads from the lines itself (:func:`_motors`), and parses the
    file header anew for every scan: for a file of hundreds of scans that was most of
    the time to index it.
    """

    number: int
    order: int
    scan_header_dict: dict
    file_header_dict: dict
    mca_header_dict: dict
    labels: list


# silx's Scan splits a header line with these ('#S 1 ascan' -> 'S', '1 ascan'; '#@CALIB'
# lines are MCA headers), joining the values of a repeated key by newlines.
_SILX_HEADER = re.compile(r"#(\w+) *(.*)")
_SILX_MCA_HEADER = re.compile(r"#@(\w+) *(.*)")


def _add_or_join(headers, key, value):
    headers[key] = headers[key] + "\n" + value if key in headers else value


def _silx_header_dicts(lines):
    """``(headers, mca headers)`` of header lines, keyed as silx's ``Scan`` keys them."""
    headers, mca = {}, {}
    for line in lines:
        match = _SILX_HEADER.search(line)
        if match:
            _add_or_join(headers, match.group(1).lstrip("#").strip(), match.group(2).strip())
            continue
        match = _SILX_MCA_HEADER.search(line)
        if match:
            _add_or_join(mca, match.group(1).lstrip("#").strip(), match.group(2).strip())
    return headers, mca


def _silx_scan_headers(specfile):
    """:class:`_SilxScanHeaders` of every scan, as silx's ``Scan`` reads them.

    The file header in force is parsed once for all the scans it heads.
    """
    result, file_headers, file_has_labels = [], {}, {}
    for index in range(len(specfile)):
        scan_lines = specfile.scan_header(index)
        file_lines = specfile.file_header(index)
        if file_lines == scan_lines:
            file_lines = []
        file_key = tuple(file_lines)
        if file_key not in file_headers:
            file_headers[file_key] = _silx_header_dicts(file_lines)[0]
        scan_headers, mca_headers = _silx_header_dicts(scan_lines)
        labels = []
        if file_key not in file_has_labels:
            file_has_labels[file_key] = any(line.startswith("#L") for line in file_lines)
        if file_has_labels[file_key] or any(line.startswith("#L") for line in scan_lines):
            try:
                labels = specfile.labels(index)
            except (IndexError, SfErrLineNotFound):  # a scan without data lines: the #L line's words
                labels = re.sub(r" {2,}", "  ", scan_headers["L"]).split("  ")
        result.append(
            _SilxScanHeaders(
                number=specfile.number(index),
                order=specfile.order(index),
                scan_header_dict=scan_headers,
                file_header_dict=file_headers[file_key],  # _scan_header copies it
                mca_header_dict=mca_headers,
                labels=labels,
            )
        )
    return result


def _read_index(source):
    content = read_bytes(source)
    blocks = _scan_blocks(content)

    def headers(specfile):
        return _silx_scan_headers(specfile), specfile.keys()

    scans, keys = _with_specfile(source, headers, content)
    motor_lines = _motor_lines(content, blocks)
    if len(scans) != len(blocks):
        raise IngestError(
            source.url, f"silx found {len(scans)} scans where the file has {len(blocks)} '#S' lines"
        )
    return tuple(
        _scan_header(index, key, scan, block, lines)
        for index, (scan, key, block, lines) in enumerate(zip(scans, keys, blocks, motor_lines))
    )


def _scan_header(index, key, scan, block, motor_lines):
    motor_names, motor_positions, unmatched_motors, motor_mnemonics = _motors(*motor_lines)
    begin, end, first_line = block
    return ScanHeader(
        key=key,
        index=index,
        number=scan.number,
        order=scan.order,
        scan=dict(scan.scan_header_dict),
        file=dict(scan.file_header_dict),
        mca=dict(scan.mca_header_dict),
        labels=_column_labels(scan),
        motor_names=motor_names,
        motor_positions=motor_positions,
        unmatched_motors=unmatched_motors,
        motor_mnemonics=motor_mnemonics,
        begin=begin,
        end=end,
        first_line=first_line,
    )


@contextlib.contextmanager
def _temporary_copy(content):
    """A temporary local file holding ``content``; removed afterwards."""
    descriptor, path = tempfile.mkstemp(prefix="intake-ingest-spec-", suffix=".spec")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)
        yield path
    finally:
        os.remove(path)


def _silx_path(source, content):
    """A path silx can open: the file itself, or a temporary copy of ``content``.

    silx's C library opens local files by an ASCII name only; files elsewhere
    (memory://, http://, archives) and non-ASCII names are read from a copy.
    """
    if source.is_local and source.path.isascii():
        return contextlib.nullcontext(source.path)
    return _temporary_copy(content)


def _with_specfile(source, action, content, what=""):
    """``action(specfile)`` on silx's SpecFile of ``content``, naming the file in errors.

    ``what`` says which part of the file ``content`` is ('scan 3.1: '); without it,
    ``content`` is the whole file and a local file is opened in place.
    """
    check_for_silx(source.url, content)  # before silx: its C reader crashes on what it cannot take
    opening = _temporary_copy(content) if what else _silx_path(source, content)
    try:
        with opening as path:
            try:
                specfile = SpecFile(path)
            except SfErrFileOpen:  # silx's word for both 'no such file' and 'not SPEC'
                if not os.path.exists(path):
                    raise MissingFileError(source.url) from None
                raise IngestError(
                    source.url,
                    f"{what}is not SPEC data (no '#F' or '#S' line among the first lines)",
                ) from None
            try:
                with c_stdout_silenced():  # silx prints 'Error on scan 1 line 20'; checks below name the file
                    return action(specfile)
            finally:
                specfile.close()
    except IngestError:
        raise
    except Exception as error:  # the C library reports damage in many ways
        raise IngestError(
            source.url, f"{what}is not readable SPEC data ({type(error).__name__}: {error})"
        ) from None


# The scan index of the files read last, by file version. A catalog asks for the scans of
# a file (runs_in), then for each scan's RunStart: one read of the file serves them all.
_INDEX_CACHE = collections.OrderedDict()
_INDEX_CACHE_SIZE = 16
_INDEX_LOCK = threading.Lock()


def read_scan_index(source):
    """The headers of every scan in a SPEC file, in file order; no data row is converted.

    Parameters
    ----------
    source : SourceFile

    Returns
    -------
    tuple of ScanHeader
        Kept for the same file version (path, modification time, size): listing the
        scans of a file and composing each scan's RunStart read the file once.
    """
    version = (source.identity, source.mtime, source.size)
    cacheable = source.mtime is not None  # without a time, a changed file looks the same
    if cacheable:
        with _INDEX_LOCK:
            if version in _INDEX_CACHE:
                _INDEX_CACHE.move_to_end(version)
                return _INDEX_CACHE[version]
    index = _read_index(source)
    if cacheable:
        with _INDEX_LOCK:
            _INDEX_CACHE[version] = index
            while len(_INDEX_CACHE) > _INDEX_CACHE_SIZE:
                _INDEX_CACHE.popitem(last=False)
    return index


# -- one scan's data: its block of the file, read by silx and checked line by line ------


def _read_block(source, header):
    """The bytes of one scan's block, checked to be the scan the index says is there."""
    try:
        with source.fs.open(source.path, "rb") as file:
            file.seek(header.begin)
            block = file.read(header.end - header.begin)
    except FileNotFoundError:
        raise MissingFileError(source.url) from None
    except (OSError, ValueError):  # e.g. an HTTP server that serves no byte ranges
        block = read_bytes(source)[header.begin : header.end]
    words = block[:64].split()
    number = int(words[1]) if len(words) > 1 and words[0] == b"#S" and words[1].isdigit() else None
    if len(block) != header.end - header.begin or number != header.number:
        raise IngestError(
            source.url,
            f"has changed since its scans were listed (scan {header.key} is no longer at byte "
            f"{header.begin}); list the file again",
        )
    return block


def _silx_table(source, header, block):
    """The scan's rows (rows x columns) and MCA spectra, as silx reads the block."""

    def read(specfile):
        table = specfile.data(0)
        return table, [specfile.get_mca(0, n) for n in range(specfile.number_of_mca(0))]

    return _with_specfile(source, read, block, what=f"scan {header.key}: ")


@dataclasses.dataclass(frozen=True)
class DataLine:
    """One data line of a scan: its line number in the file (from 1), its values as text."""

    number: int
    values: tuple


@dataclasses.dataclass(frozen=True)
class ScanLines:
    """The data lines of a scan block, and whether a control line follows the last one."""

    data: list
    header_after_data: bool
    mca: bool = False  # the block has MCA lines ('@A ...'), spectra only silx reads


def scan_lines(block, first_line=1):
    """The data lines of one scan block as written: lines that are not control or MCA lines.

    silx skips a row whose number of values differs from the first row's (it prints
    "Error on scan ..." to the C stdout) and reads 'nan', 'inf' and words as 0 (silx
    issue #3210); the ingestor checks silx's table against these lines.

    Parameters
    ----------
    block : bytes
        The scan's block, from its ``#S`` line.
    first_line : int
        The line number of the ``#S`` line in the file.

    Returns
    -------
    ScanLines
    """
    data, last_control, in_mca, mca = [], 0, False, False
    for number, raw in enumerate(block.decode("latin-1").split("\n"), start=first_line):
        text = raw.rstrip("\r")
        if in_mca or text.startswith("@"):
            in_mca = text.endswith("\\")  # an MCA spectrum continues on lines ending in '\'
            mca = True
        elif text.startswith("#"):
            last_control = number
        elif text.strip():
            data.append(DataLine(number, tuple(text.split())))
    return ScanLines(data, bool(data) and last_control > data[-1].number, mca)


# What silx converts as written: it keeps only digits, signs, '.', 'e' and 'E'.
_PLAIN_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
# Bluesky's SpecWriterCallback writes a missing reading as Python's None.
_MISSING = "None"


def _value(text):
    return float("nan") if text == _MISSING else float(text)


def _line_problem(line, n_columns):
    """Why a data line cannot be a row of the scan, or None if it can."""
    if len(line.values) != n_columns:
        return f"has {len(line.values)} values where #L names {n_columns} columns"
    for text in line.values:
        try:
            _value(text)
        except ValueError:
            return f"holds {text!r}, which is not a number"
    return None


@dataclasses.dataclass(frozen=True)
class _Rows:
    kept: list  # the data lines that are rows
    cut_off: list  # incomplete lines at the end of the scan, left out
    exact: bool  # every kept value is a number silx reads as written


def _sort_rows(source, header, lines):
    """Keep the well-formed lines; cut off bad lines at the end; refuse bad lines before good ones.

    A scan cut off while it was written (SPEC killed, the file copied mid-write) ends in
    incomplete lines: the rows before them are its data. A bad line followed by good
    lines is damage in the middle of the scan.
    """
    n_columns = len(header.labels)
    problems = [_line_problem(line, n_columns) for line in lines]
    n_kept = len(lines)
    while n_kept and problems[n_kept - 1] is not None:
        n_kept -= 1
    for line, problem in zip(lines[:n_kept], problems[:n_kept]):
        if problem is not None:
            raise IngestError(source.url, f"scan {header.key}: line {line.number} {problem}")
    kept = lines[:n_kept]
    exact = all(_PLAIN_NUMBER.fullmatch(text) for line in kept for text in line.values)
    return _Rows(kept, lines[n_kept:], exact)


def _converted_rows(lines, n_columns):
    """The usual scan's table: every data line ``n_columns`` numbers; else None.

    Each value is converted by ``float`` (numpy calls it), as :func:`_value` converts
    values silx misreads, and as silx's ``strtod`` reads plain numbers: the same table
    silx would give, without writing the block out for silx to read it again. A line of
    another length, ``None`` or a word leaves the scan to silx and :func:`_sort_rows`.
    """
    if not lines or any(len(line.values) != n_columns for line in lines):
        return None
    try:
        table = np.array([line.values for line in lines], dtype=np.float64)
    except ValueError:
        return None
    table.flags.writeable = False  # documents are records: their arrays are read-only
    return table


def _checked_table(source, header, table, rows):
    """The rows to keep: silx's values, or the file's where silx cannot read them.

    silx keeps rows in order, skipping those of another length, so the kept lines are
    its first rows. Where a kept line holds 'nan', 'inf' or 'None', which silx reads as
    0 or skips, the values are converted from the lines themselves.
    """
    n_columns = len(header.labels)
    if not rows.kept:
        table = np.empty((0, n_columns))
    elif not rows.exact:
        table = np.array([[_value(text) for text in line.values] for line in rows.kept])
    elif table.shape[0] < len(rows.kept) or table.shape[1] != n_columns:
        raise IngestError(
            source.url,
            f"scan {header.key}: silx read {table.shape[0]} rows of {table.shape[1]} values "
            f"where the scan has {len(rows.kept)} lines of {n_columns}",
        )
    else:
        table = table[: len(rows.kept)]
    table = np.ascontiguousarray(table, dtype=np.float64)
    table.flags.writeable = False  # documents are records: their arrays are read-only
    return table


def _plain_table(block, n_columns):
    """``(table, header_after_data)`` of the usual scan; None where it cannot tell.

    The usual scan has no MCA lines and its data lines are all ``n_columns`` numbers:
    then its table is what :func:`_converted_rows` makes of :func:`scan_lines`' data, and
    ``header_after_data`` is :func:`scan_lines`'. Here numpy's ``loadtxt`` splits the lines
    at whitespace, as ``str.split`` does, and converts each value with Python's own parser
    (``PyOS_string_to_double``, which ``float`` calls): where it succeeds, with a table of
    ``n_columns`` columns, the values are the same, converted in C. A line it cannot take (an
    odd length, a word, '1_000', which ``float`` alone reads) gives None, and
    :func:`_table_of_lines` reads the scan.
    """
    if not n_columns or block.startswith(b"@") or b"\n@" in block:
        return None
    lines = block.decode("latin-1").split("\n")
    data = [line for line in lines if line[:1] != "#" and line.strip()]  # as scan_lines has them
    if not data:
        return None
    try:
        table = np.loadtxt(data, dtype=np.float64, comments=None, ndmin=2)
    except Exception:  # ValueError for a line it cannot take; whatever it is, scan_lines decides
        return None
    if table.shape != (len(data), n_columns):
        return None
    table.flags.writeable = False  # documents are records: their arrays are read-only
    # Whether a control line follows the last data line: the last line not blank is one.
    header_after_data = next(line[:1] == "#" for line in reversed(lines) if line.strip())
    return table, header_after_data


def _table_of_lines(source, header, block):
    """The table of a scan that is not the usual one, its MCA spectra, the incomplete
    lines cut off at its end, and whether a control line follows its last data line."""
    lines = scan_lines(block, header.first_line)
    if lines.data and not header.labels:
        raise IngestError(
            source.url, f"scan {header.key} has data lines but no #L line naming its columns"
        )
    table = None if lines.mca else _converted_rows(lines.data, len(header.labels))
    if table is not None:
        return table, [], [], lines.header_after_data
    silx_table, spectra = _silx_table(source, header, block)
    rows = _sort_rows(source, header, lines.data)
    if rows.cut_off:
        first = rows.cut_off[0]
        warnings.warn(
            f"{source.url}: scan {header.key} ends in {len(rows.cut_off)} incomplete line(s) from "
            f"line {first.number} ({_line_problem(first, len(header.labels))}); they are left out",
            IngestWarning,
            stacklevel=3,
        )
    return _checked_table(source, header, silx_table, rows), spectra, rows.cut_off, lines.header_after_data


# -- header values -------------------------------------------------------------------------


def _number_or_none(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _first_line(header_dict, code):
    value = header_dict.get(code)
    return value.split("\n")[0].strip() if value is not None else None


def _lines(header_dict, code):
    value = header_dict.get(code)
    return value.split("\n") if value else []


def _numbers(text):
    """The numbers of a control line ('#Q 1 0 0'), or None if it holds anything else."""
    numbers = [_number_or_none(word) for word in (text or "").split()]
    return numbers if numbers and None not in numbers else None


def _numbered_codes(header_dict, letter):
    """'G0', 'G1', ... of a header, in numeric order."""
    codes = [code for code in header_dict if re.fullmatch(f"{letter}\\d+", code)]
    return sorted(codes, key=lambda code: int(code[1:]))


_MONTHS = {
    name: number
    for number, name in enumerate(
        "jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1
    )
}
# SPEC's date() is ctime()'s format, 'Wed Nov 03 13:39:34 2010', day possibly space-padded;
# read here without the locale, which would change what %a and %b match.
_SPEC_DATE = re.compile(r"\s*\w+\s+(\w{3})\w*\s+(\d{1,2})\s+(\d{1,2}):(\d{2}):(\d{2})\s+(\d{4})\s*")


def _naive_date(text):
    """A ``#D`` date as a naive datetime (SPEC writes local time without a zone), or None."""
    match = _SPEC_DATE.fullmatch(text or "")
    if match is None:
        return None
    month, day, hour, minute, second, year = match.groups()
    try:
        return datetime.datetime(
            int(year), _MONTHS[month.lower()], int(day), int(hour), int(minute), int(second)
        )
    except (KeyError, ValueError):
        return None


def _file_epoch(header):
    """The file header's ``#E``: the Unix time at which ``newfile`` opened the file."""
    words = (_first_line(header.file, "E") or "").split()
    epoch = _number_or_none(words[0]) if words else None
    # 'nan', 'inf' or a number beyond any clock is no time: as if #E were absent
    return epoch if epoch is not None and math.isfinite(epoch) and abs(epoch) < 1e11 else None


def _utc_offset(header):
    """Seconds by which the SPEC computer's clock was ahead of UTC, or None if unknown.

    ``newfile`` writes ``#E`` (Unix time) and ``#D`` (local time) of the same moment,
    so their difference is the acquisition computer's UTC offset, to the quarter hour.
    """
    epoch = _file_epoch(header)
    local = _naive_date(_first_line(header.file, "D"))
    if epoch is None or local is None:
        return None
    as_if_utc = local.replace(tzinfo=datetime.timezone.utc).timestamp()
    offset = round((as_if_utc - epoch) / 900) * 900
    return offset if abs(offset) <= 14 * 3600 else None


def _date_time(text, header, zone):
    """The Unix time of a ``#D`` value: a number (as Sardana writes it), or a local date.

    A local date is read in ``zone`` if given; else with the UTC offset that the file
    header's ``#E`` and ``#D`` give; else as local time of the computer that ingests.
    """
    number = _number_or_none(text)
    if number is not None:
        return number
    local = _naive_date(text)
    if local is None:
        return None
    if zone is not None:
        return local.replace(tzinfo=zone).timestamp()
    utc_offset = _utc_offset(header)
    if utc_offset is not None:
        return local.replace(tzinfo=datetime.timezone.utc).timestamp() - utc_offset
    return local.timestamp()


def _start_time(header, source, zone):
    """When the scan started: its ``#D`` (see :func:`_date_time`), else the file's mtime."""
    start = _date_time(_first_line(header.scan, "D"), header, zone)
    if start is None:
        (start,) = timestamps([source])
    return start


def _row_times(header, table, start):
    """Unix times of the rows: ``#E`` + the ``Epoch`` column, else an absolute ``Time``.

    The standard macros write ``Epoch`` as seconds since the file's ``#E``; it is used
    when the first row is then no earlier than the scan's ``#D`` (a column counted from
    elsewhere, as Bluesky's SpecWriterCallback counts it from the scan start, is not).
    Some beamline macros write ``Time`` as the Unix time itself. Otherwise every row
    gets the scan's start time.
    """
    slack = 2.0  # #D has whole seconds; old SPEC versions write Epoch as whole seconds
    if len(table):
        epoch = _file_epoch(header)
        if epoch is not None and "Epoch" in header.labels:
            times = epoch + table[:, header.labels.index("Epoch")]
            if np.isfinite(times).all() and times[0] >= start - slack:
                return times.tolist()
        if "Time" in header.labels:
            times = table[:, header.labels.index("Time")]
            if np.isfinite(times).all() and start - slack <= times[0] <= start + 86400:
                return times.tolist()
    return [float(start)] * len(table)


def _count_mode(header):
    """``#T`` (count to time) or ``#M`` (count to monitor): mode, preset and counter."""
    for code, mode in (("T", "time"), ("M", "monitor")):
        line = _first_line(header.scan, code)
        if line:
            preset, _, counter = line.partition(" ")
            number = _number_or_none(preset)
            metadata = {"count_mode": mode, "count_preset": preset if number is None else number}
            if counter.strip().strip("()"):
                metadata["count_counter"] = counter.strip().strip("()")
            return metadata
    return {}


# newfile writes '#C <TITLE>  User = <USER>'; Bluesky's writer '#C Bluesky  user = <name> ...'.
_USER_COMMENT = re.compile(r"(?P<title>.*?)\s+user\s*=\s*(?P<user>\S+)", re.I)


def _file_metadata(header):
    """RunStart keys from the file header: ``#F``, ``#E``, ``#D``, ``#C`` (title, user)."""
    metadata = {}
    for code, key in (("F", "spec_file"), ("D", "spec_file_date")):
        if _first_line(header.file, code):
            metadata[key] = _first_line(header.file, code)
    epoch = _file_epoch(header)
    if epoch is not None:
        metadata["spec_epoch"] = int(epoch) if epoch.is_integer() else epoch
    comments = _lines(header.file, "C")
    if comments:
        metadata["spec_file_comments"] = comments
        match = _USER_COMMENT.match(comments[0])
        if match:
            metadata["spec_title"] = match["title"].strip()
            metadata["user"] = match["user"]
    return metadata


# Control lines with a place of their own; the others are kept as text in the RunStart.
_MAPPED_SCAN_CODES = re.compile(r"[SDTMQCNL]|G\d+|P\d+")
_MAPPED_FILE_CODES = re.compile(r"[FEDC]|O\d+|o\d+")


def _unmapped(header_dict, mapped):
    """Control lines not mapped elsewhere, as text: ``{'UXML': [...], 'V0': [...]}``."""
    return {
        code: value.split("\n") for code, value in header_dict.items() if not mapped.fullmatch(code)
    }


# -- the scan command ------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _ScanType:
    """The arguments of a standard scan as its usage line names them, and what they imply."""

    arguments: tuple
    optional: int = 0  # trailing arguments that may be left out
    motors: object = lambda args: []  # callable(args) -> the motors it moves
    points: object = lambda args: None  # callable(args) -> the number of points asked for


def _points(*interval_arguments):
    """Points of a scan of ``intervals`` steps (one more), or of a mesh (the product)."""

    def points(args):
        total = 1
        for name in interval_arguments:
            intervals = args.get(name)
            if not isinstance(intervals, int) or intervals < 0:
                return None
            total *= intervals + 1
        return total

    return points


def _motor_scan(n_motors):
    """ascan motor start finish intervals time; a2scan m1 s1 f1 m2 s2 f2 intervals time ..."""
    if n_motors == 1:
        names = ("motor", "start", "finish")
    else:
        names = sum(((f"m{i}", f"s{i}", f"f{i}") for i in range(1, n_motors + 1)), ())
    return _ScanType(
        names + ("intervals", "time"),
        motors=lambda args: [args[name] for name in names[0::3]],
        points=_points("intervals"),
    )


def _fixed(*motors, arguments=("start", "finish", "intervals", "time"), optional=0):
    """A scan of fixed (pseudo)motors, such as hscan's H."""
    return _ScanType(arguments, optional, lambda args: list(motors), _points("intervals"))


_MESH = _ScanType(
    ("m1", "s1", "f1", "intervals1", "m2", "s2", "f2", "intervals2", "time"),
    motors=lambda args: [args["m1"], args["m2"]],
    points=_points("intervals1", "intervals2"),
)
# The circle and radial scans take an optional expression for the third coordinate ('L=2').
_CIRCLE = ("radius", "start_angle", "finish_angle", "intervals", "time", "expression")
_RADIAL = ("angle", "start_radius", "finish_radius", "intervals", "time", "expression")

#: The standard scans, from the spec manual (certif.com/spec_manual/mac_3_9_2.html motor
#: scans; mac_3_9_3.html and mac_3_9_4.html reciprocal space scans; help 'scans'):
#: their arguments as the usage lines name them.
SCAN_TYPES = {
    "ascan": _motor_scan(1),
    "dscan": _motor_scan(1),
    "lup": _motor_scan(1),
    "a2scan": _motor_scan(2),
    "d2scan": _motor_scan(2),
    "a3scan": _motor_scan(3),
    "d3scan": _motor_scan(3),
    "a4scan": _motor_scan(4),
    "d4scan": _motor_scan(4),
    "mesh": _MESH,
    "dmesh": _MESH,
    "th2th": _fixed(
        "tth", "th", arguments=("tth_start_rel", "tth_finish_rel", "intervals", "time")
    ),
    "hscan": _fixed("H"),
    "kscan": _fixed("K"),
    "lscan": _fixed("L"),
    "hklscan": _fixed(
        "H",
        "K",
        "L",
        arguments=(
            "h_start", "h_finish", "k_start", "k_finish", "l_start", "l_finish", "intervals", "time"
        ),
    ),
    "hklmesh": _ScanType(
        ("Q1", "s1", "f1", "intervals1", "Q2", "s2", "f2", "intervals2", "time"),
        motors=lambda args: [args["Q1"], args["Q2"]],
        points=_points("intervals1", "intervals2"),
    ),
    "hkcircle": _fixed("H", "K", arguments=_CIRCLE, optional=1),
    "hlcircle": _fixed("H", "L", arguments=_CIRCLE, optional=1),
    "klcircle": _fixed("K", "L", arguments=_CIRCLE, optional=1),
    "hkradial": _fixed("H", "K", arguments=_RADIAL, optional=1),
    "hlradial": _fixed("H", "L", arguments=_RADIAL, optional=1),
    "klradial": _fixed("K", "L", arguments=_RADIAL, optional=1),
    "Escan": _fixed(),  # energy.mac: moves the monochromator energy, no motor named
    "timescan": _ScanType(("time", "sleep"), optional=2),
    "loopscan": _ScanType(
        ("npts", "time", "sleep"),
        optional=1,
        points=lambda args: args["npts"] if isinstance(args["npts"], int) else None,
    ),
}
_TEXT_ARGUMENTS = {"motor", "m1", "m2", "m3", "m4", "Q1", "Q2", "expression"}


def _argument_value(name, text):
    if name not in _TEXT_ARGUMENTS:
        for kind in (int, float):
            try:
                return kind(text)
            except ValueError:
                pass
    return text


def _command_metadata(header, mnemonics):
    """``plan_name``, ``command``, ``plan_args``, ``motors`` and ``num_points`` from ``#S``.

    ``plan_args`` names the arguments of the standard scans as their usage lines do;
    other commands (site macros) keep their words as ``{'args': [...]}``.
    """
    words = (_first_line(header.scan, "S") or "").split()[1:]  # after the scan number
    if not words:
        return {}
    plan_name, args = words[0], words[1:]
    metadata = {"plan_name": plan_name, "command": " ".join(words), "plan_args": {"args": args}}
    scan_type = SCAN_TYPES.get(plan_name)
    if scan_type is None or not (
        len(scan_type.arguments) - scan_type.optional <= len(args) <= len(scan_type.arguments)
    ):
        return metadata
    plan_args = {name: _argument_value(name, text) for name, text in zip(scan_type.arguments, args)}
    metadata["plan_args"] = plan_args
    # As data keys: a mnemonic ('tth') by its name ('Two Theta') where #o gives it.
    motors = scan_type.motors(plan_args)
    metadata["motors"] = [_key_name(mnemonics.get(motor, motor)) for motor in motors]
    points = scan_type.points(plan_args)
    if points is not None:
        metadata["num_points"] = points
    return metadata


def _start_metadata(header, label):
    metadata = {
        "ingestor": "spec",
        "source": label,
        "scan_id": header.number,
        "scan_key": header.key,
        **_command_metadata(header, header.motor_mnemonics),
        **_count_mode(header),
        **_file_metadata(header),
    }
    if _first_line(header.scan, "D"):
        metadata["spec_date"] = _first_line(header.scan, "D")
    if _lines(header.scan, "C"):
        metadata["comments"] = _lines(header.scan, "C")
    if _numbers(_first_line(header.scan, "Q")):
        metadata["hkl"] = _numbers(_first_line(header.scan, "Q"))
    keys = _data_key_names(header.labels)
    if keys:
        # SPEC plots against the first column; a mesh's first two columns are its motors,
        # the first the fast one. Bluesky's hints list dimensions slow to fast.
        mesh = metadata.get("plan_name") in ("mesh", "dmesh", "hklmesh") and len(keys) > 1
        dimensions = reversed(keys[: 2 if mesh else 1])
        metadata["hints"] = {"dimensions": [[[key], "primary"] for key in dimensions]}
    for key, text in (
        ("spec_header", _unmapped(header.scan, _MAPPED_SCAN_CODES)),
        ("spec_file_header", _unmapped(header.file, _MAPPED_FILE_CODES)),
    ):
        if text:
            metadata[key] = text
    return metadata


# -- data keys and configuration ----------------------------------------------------------

# The units SPEC's conventions fix: 'Epoch' counts seconds since #E, 'Seconds' is the
# count time of the standard timer. Motor and counter units are set per site, unknown here.
_CONVENTIONAL_UNITS = {"Epoch": "s", "Seconds": "s"}


def _key_name(label):
    """A label as a data key, by the shared rule ('Two Theta' -> 'Two_Theta', '2-theta' ->
    'X2_theta': :func:`._common.safe_key`)."""
    return safe_key(label)


@functools.lru_cache(maxsize=64)
def _data_key_names(labels, unnamed="column"):
    """A valid, unique data key per label (see :func:`_key_name`), as a tuple.

    Kept for the last label tuples: the scans of a file mostly share their ``#L`` and
    ``#O`` names, and each scan names its columns twice (RunStart hints, descriptor).
    """
    namer = DataKeyNamer()
    return tuple(
        namer(label, fallback=f"{unnamed}_{position}")
        for position, label in enumerate(labels, start=1)
    )


def _scalar_data_key(label, key, source, units=None):
    data_key = labelled({"dtype": "number", "dtype_numpy": "<f8", "shape": [], "source": source}, key, label)
    if units:
        data_key["units"] = units
    return data_key


def _motor_positions(source, header, label):
    """``#O`` names and ``#P`` positions at the scan's start, as data keys and values.

    A ``#P`` line whose count differs from its ``#O`` line's is left out with a warning
    (the other lines are kept): pairing its values by order could name them wrongly. No
    ``#O`` line at all means the file header that names the motors is not the one silx
    sees (a header block starting with ``#E`` rather than ``#F``).
    """
    if header.unmatched_motors:
        warnings.warn(
            f"{source.url}: scan {header.key}: {'; '.join(header.unmatched_motors)}; "
            f"{'those positions are' if header.motor_names else 'the motor positions are'} left out",
            IngestWarning,
            stacklevel=3,
        )
    names, positions = header.motor_names, header.motor_positions
    keys = _data_key_names(names, unnamed="motor")
    data_keys = {key: _scalar_data_key(name, key, label) for key, name in zip(keys, names)}
    return data_keys, dict(zip(keys, positions))


def _geometry(header, label):
    """``#G0`` ... ``#G4`` (the arrays G[], U[], UB[], Q[] of the geometry) as arrays."""
    data_keys, values = {}, {}
    for code in _numbered_codes(header.scan, "G"):
        numbers = _numbers(header.scan[code])
        if numbers:
            values[code] = np.asarray(numbers)
            values[code].flags.writeable = False
            data_key = array_data_key([len(numbers)], np.float64, label)
            data_keys[code] = {**data_key, "dtype": "array"}
    return data_keys, values


def _configuration(data_keys, values, time):
    return {"data": values, "timestamps": {key: time for key in values}, "data_keys": data_keys}


def _mca_data(source, header, spectra, n_rows, label):
    """MCA spectra (``@A`` lines) as array keys ``mca_0``, ``mca_1`` ... (one per device).

    silx gives the spectra in file order; with ``k`` per row, spectrum ``j`` is device
    ``j % k`` of row ``j // k``. Spectra after the last row's are left out.
    """
    if not spectra:
        return {}, {}
    if n_rows == 0:
        warnings.warn(
            f"{source.url}: scan {header.key}: {len(spectra)} MCA spectra and no data rows; "
            "the spectra are left out",
            IngestWarning,
            stacklevel=3,
        )
        return {}, {}
    per_row, extra = divmod(len(spectra), n_rows)
    by_device = [spectra[device : per_row * n_rows : per_row] for device in range(per_row)]
    problem = None
    if per_row == 0:
        problem = f"{len(spectra)} MCA spectra for {n_rows} rows; they are left out"
    elif any(len({spectrum.shape for spectrum in device}) > 1 for device in by_device):
        problem, by_device = "the MCA spectra of one device differ in length; they are left out", []
    elif extra:
        problem = f"{len(spectra)} MCA spectra for {n_rows} rows; the last {extra} are left out"
    if problem:
        warnings.warn(f"{source.url}: scan {header.key}: {problem}", IngestWarning, stacklevel=3)
    # '#@CALIB a b c': energy = a + b * channel + c * channel**2; a line per device or for all.
    calibrations = [_numbers(line) for line in _lines(header.mca, "CALIB")]
    data_keys, values = {}, {}
    for device, device_spectra in enumerate(by_device):
        key = f"mca_{device}"  # as silx's spech5 names them
        array = np.stack(device_spectra)
        array.flags.writeable = False
        dims = [f"{key}_channel"]
        data_keys[key] = array_data_key(array.shape[1:], array.dtype, label, dims=dims)
        if calibrations and calibrations[min(device, len(calibrations) - 1)]:
            data_keys[key]["calibration"] = calibrations[min(device, len(calibrations) - 1)]
        values[key] = array
    return data_keys, values


def _primary_events(primary, keys, table, arrays, times):
    """``('event', doc)`` per row: one event page composed and checked, then unpacked.

    The page's schema check (compiled, see :mod:`._compose`) costs a few microseconds per
    row where jsonschema spent 0.2 ms per event; the columns go in as lists of floats so
    that each event holds Python floats, as a RunEngine's would.
    """
    if not times:
        return
    data = dict(zip(keys, table.T.tolist()))
    data.update(arrays)
    page = primary.compose_event_page(
        data=data, timestamps=dict.fromkeys(data, times), time=times, seq_num=list(range(1, len(times) + 1))
    )
    for event in unpack_event_page(page):
        yield "event", event


# -- how the scan ended ---------------------------------------------------------------------


def _abort_comment(header, cut_off):
    """The comment saying the scan was aborted (the standard 'Scan aborted after N points.')."""
    for text in _lines(header.scan, "C") + [" ".join(line.values) for line in cut_off]:
        if re.search(r"\baborted\b", text, re.I):
            return text.strip()
    return None


def _stop_status(source, header, index, n_rows, cut_off, header_after_data, points):
    """(exit_status, reason) of the RunStop, or None where the data shows no end.

    - an abort comment: 'abort';
    - incomplete lines at the end: no RunStop, the scan was cut off while written;
    - fewer rows than the command asks for: 'abort' if SPEC started a new file header
      next (it was restarted); no RunStop if the scan ends the file with nothing after
      its last row (still being written, or SPEC stopped); else 'success' with the
      count as reason (fly scans and site macros record their own number of points).

    ``n_rows`` rows were kept, ``cut_off`` lists the incomplete lines after them, and
    ``header_after_data`` tells whether a control line follows the last data line.
    """
    aborted = _abort_comment(header, cut_off)
    if aborted:
        return "abort", aborted
    if cut_off:
        return None
    if points is None or n_rows >= points:
        return "success", ""
    short = f"{n_rows} of the {points} points the command asks for"
    is_last = header.index == len(index) - 1
    if is_last and not header_after_data:
        warnings.warn(
            f"{source.url}: scan {header.key} holds {short} and ends the file: it is still being "
            "written or SPEC stopped; the run has no RunStop",
            IngestWarning,
            stacklevel=3,
        )
        return None
    if not is_last and index[header.index + 1].begin != header.end:  # a '#F' block between
        return "abort", f"ended after {short}; the next scan follows a new file header"
    return "success", f"recorded {short}"


# -- the ingestor ----------------------------------------------------------------------------


def _scan_number(scan):
    """The scan number asked for as an int or a string of digits, else None."""
    if isinstance(scan, (int, np.integer)) and not isinstance(scan, bool):
        return int(scan)
    if isinstance(scan, str) and scan.strip().isdigit():
        return int(scan)
    return None


def _choose_scan(source, index, scan):
    """The header of the scan asked for: a key 'n.m', a scan number, or the only scan."""
    number = _scan_number(scan)
    if not index:
        raise IngestError(source.url, "holds no scans (no '#S' line)")
    if scan is None:
        if len(index) == 1:
            return index[0]
        raise IngestError(
            source.url,
            f"holds {len(index)} scans ({_listing(index)}); choose one with scan='<number>.<order>' "
            "(the order counts repeats of a scan number) or scan=<number>",
        )
    if number is not None:
        matches = [header for header in index if header.number == number]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise IngestError(source.url, f"has no scan number {number}; its scans are {_listing(index)}")
        repeats = ", ".join(f"'{header.key}'" for header in matches)
        raise IngestError(
            source.url,
            f"holds scan number {number} {len(matches)} times ({repeats}); choose one by key",
        )
    if isinstance(scan, str):
        found = _headers_by_key(index).get(scan.strip())
        if found is not None:
            return found
        if re.fullmatch(r"\d+\.\d+", scan.strip()):
            raise IngestError(source.url, f"has no scan {scan!r}; its scans are {_listing(index)}")
    raise IngestError(
        source.url,
        f"scan={scan!r}: give a scan key such as '3.1' (number.order) or an int scan number",
    )


# The scans of the indexes read last by key: a catalog asks for each of a file's scans by key.
_BY_KEY = {}  # id(index) -> (index, {key: header})


def _headers_by_key(index):
    """``{key: header}`` of a scan index (the first header of a key, were one repeated)."""
    entry = _BY_KEY.get(id(index))
    if entry is None or entry[0] is not index:  # the index itself is kept: its id is not reused
        by_key = {}
        for header in index:
            by_key.setdefault(header.key, header)
        entry = (index, by_key)
        with _INDEX_LOCK:
            if len(_BY_KEY) >= _INDEX_CACHE_SIZE:
                _BY_KEY.clear()
            _BY_KEY[id(index)] = entry
    return entry[1]


def _listing(index):
    """The first scan keys and the last, for messages: "'1.1', '2.1', ... '430.1'"."""
    listing = ", ".join(f"'{header.key}'" for header in index[:5])
    if len(index) > 5:
        listing += f", ... '{index[-1].key}'"
    return listing


def ingest_spec(filename, scan=None, *, timezone=None, storage_options=None):
    """Wrap one scan of a SPEC data file in the event model.

    Parameters
    ----------
    filename : str or SourceFile
        Path or fsspec URL of the SPEC file.
    scan : str or int, optional
        Which scan: silx's key ``'3.1'`` (scan number 3, its first occurrence: the
        order counts repeats of a scan number in the file), or a scan number ``3`` that
        occurs once. May be left out when the file holds one scan.
    timezone : str or datetime.tzinfo, optional
        The zone of the SPEC computer's clock (an IANA name such as
        ``'America/Chicago'``), in which ``#D`` dates are written. By default the UTC
        offset is taken from the file header's ``#E`` and ``#D`` (one offset for the
        file: a daylight-saving change after ``newfile`` is not seen), or, without
        ``#E``, dates are read as local time of the computer that ingests.
    storage_options : dict, optional
        Passed to fsspec.

    Yields
    ------
    name, doc : str, dict
        start; descriptor ``baseline`` and one event (the ``#P`` motor positions at
        the scan's start) where the file has them; descriptor ``primary`` (a data key
        per ``#L`` column, ``mca_<n>`` arrays for MCA spectra) and one event per data
        row; stop, ``exit_status`` 'abort' for an aborted scan. A scan cut off while it
        was written gives no RunStop (a partial run), with an ``IngestWarning``.

    Raises
    ------
    IngestError
        If the file is not a SPEC file, has no such scan, has several and none was
        chosen, or has a malformed data line before the last rows of the scan.
    ValueError
        If ``timezone`` is not a known time zone.

    Examples
    --------
    >>> run = BlueskyRun(ingest_spec("data/sample.spec", "3.1"))  # doctest: +SKIP
    """
    zone = time_zone(timezone)
    sources = expand(filename, storage_options)
    if len(sources) != 1:
        raise IngestError(
            str(filename), f"matches {len(sources)} files; a SPEC run is a scan of one file"
        )
    (source,) = sources
    label = source_label(filename)
    index = read_scan_index(source)
    header = _choose_scan(source, index, scan)
    start_time = _start_time(header, source, zone)
    run_bundle = compose_run(
        uid=deterministic_uid([source.identity, header.key]),
        time=start_time,
        metadata=_start_metadata(header, label),
    )
    yield "start", run_bundle.start_doc

    # The motor positions at the start of the scan, as Bluesky's baseline reading.
    motor_keys, motor_values = _motor_positions(source, header, label)
    if motor_values:
        baseline = run_bundle.compose_descriptor(
            data_keys=motor_keys, name="baseline", time=start_time
        )
        yield "descriptor", baseline.descriptor_doc
        yield "event", baseline.compose_event(
            data=motor_values,
            timestamps=dict.fromkeys(motor_values, start_time),
            time=start_time,
            seq_num=1,
        )

    # From here on the scan's data lines are read, which listing a catalog never does.
    block = _read_block(source, header)
    plain = _plain_table(block, len(header.labels))
    if plain is not None:
        table, header_after_data = plain
        cut_off, spectra = [], []
    else:
        table, spectra, cut_off, header_after_data = _table_of_lines(source, header, block)
    keys = _data_key_names(header.labels)
    data_keys = {
        key: _scalar_data_key(column, key, label, _CONVENTIONAL_UNITS.get(column))
        for key, column in zip(keys, header.labels)
    }
    mca_keys, mca_values = _mca_data(source, header, spectra, len(table), label)
    data_keys.update(mca_keys)

    configuration = {}
    if motor_values:
        configuration["motors"] = _configuration(motor_keys, motor_values, start_time)
    geometry_keys, geometry_values = _geometry(header, label)
    if geometry_values:
        configuration["geometry"] = _configuration(geometry_keys, geometry_values, start_time)

    times = _row_times(header, table, start_time)
    if data_keys:
        primary = run_bundle.compose_descriptor(
            data_keys=data_keys, name="primary", time=start_time, configuration=configuration
        )
        yield "descriptor", primary.descriptor_doc
        yield from _primary_events(primary, keys, table, mca_values, times)

    points = run_bundle.start_doc.get("num_points")
    status = _stop_status(source, header, index, len(table), cut_off, header_after_data, points)
    if status is not None:
        exit_status, reason = status
        stop_time = times[-1] if times else start_time
        yield "stop", run_bundle.compose_stop(
            exit_status=exit_status, reason=reason, time=stop_time
        )


def runs_in(source):
    """One ``{'scan': key}`` per scan of the file, in file order (reads the headers only)."""
    return [{"scan": header.key} for header in read_scan_index(source)]


# SPEC names its files freely: usual extensions, numbered ones ('sample.001'), and often
# none at all ('CdOsO', 'CdSe'), which a glob says as "no dot among the last five characters".
_NO_EXTENSION = ("[!.]", "[!.][!.]", "[!.][!.][!.]", "[!.][!.][!.][!.]", "*[!.][!.][!.][!.][!.]")
PATTERNS = (
    ("*.spec", "*.spc", "*.spe", "*.dat", "*.mca", "*.txt")
    + tuple("*." + "[0-9]" * digits for digits in range(1, 5))
    + _NO_EXTENSION
)


def sniff_spec(head, source):
    """A SPEC file starts with its ``#F`` header or has ``#S`` scan lines early on."""
    if head.startswith((b"#F ", b"#S ")) or b"\n#S " in head:
        return 0.9
    if head.startswith(b"#") and (head.startswith(b"#L ") or b"\n#L " in head):
        return 0.6
    return 0.0


SPEC = IngestorSpec(
    name="spec",
    ingest=ingest_spec,
    software="SPEC (Certified Scientific Software) standard data files, read with silx",
    patterns=PATTERNS,
    mimetypes=(),
    sniff=sniff_spec,
    grouping="file",
    description="one run per #S scan of a SPEC data file",
    runs_in=runs_in,
)
