"""What silx's SPEC reader (C) cannot take, refused before it sees the file.

silx reads SPEC files with the C library of the ESRF's ``specfile``, whose fixed-size
buffers overflow on lines longer than it expects: the process dies (SIGSEGV) instead of
raising. The limits below are those buffers (silx ``io/specfile/src``), with margin:

- ``sfOneLine``'s ``static char linebuf[5000]`` holds any header line (``#L``, ``#C``, ...);
- ``SfData``'s ``double valline[512]`` holds the numbers of one data line, and
  ``char strval[100]`` one number's text;
- ``SfAllMotorPos``'s ``static double pos[300]`` holds a scan's ``#P`` motor positions.

Checking costs a few regular-expression scans of the bytes already read (C speed); a file
that fails is an :class:`~intake_ingest.IngestError` naming it and the line, never a crash.
"""

import bisect
import re

from ..errors import IngestError

__all__ = ["MAX_COLUMNS", "MAX_LINE_BYTES", "MAX_MOTOR_POSITIONS", "MAX_NUMBER_BYTES", "check_for_silx"]

#: Longest line handed to silx (its header line buffer is 5000 bytes).
MAX_LINE_BYTES = 4096
#: Most numbers on one data line (its buffer holds 512).
MAX_COLUMNS = 500
#: Longest text of one number on a data line (its buffer is 100 bytes).
MAX_NUMBER_BYTES = 90
#: Most ``#P`` motor positions in one scan (its buffer holds 300).
MAX_MOTOR_POSITIONS = 290

_LONG_LINE = re.compile(rb"[^\n]{%d,}" % (MAX_LINE_BYTES + 1))
# A data line long enough that it might hold too many numbers (each takes two bytes at least).
_WIDE_LINE = re.compile(rb"^[^#\n][^\n]{%d,}" % (2 * MAX_COLUMNS - 1), re.M)
_LONG_NUMBER = re.compile(rb"^[^#\n][^\n]*?[^\s]{%d,}" % (MAX_NUMBER_BYTES + 1), re.M)
_SCAN_START = re.compile(rb"^#S ", re.M)
_MOTOR_LINE = re.compile(rb"^#P\d*[ \t]([^\n]*)", re.M)


def _line_number(content, offset):
    return content.count(b"\n", 0, offset) + 1


def check_for_silx(url, content):
    """Raise an IngestError if silx's C reader could crash on ``content``.

    Parameters
    ----------
    url : str
        The file, as the error names it.
    content : bytes
        The file's bytes (or the part of it handed to silx).
    """
    long_line = _LONG_LINE.search(content)
    if long_line is not None:
        raise IngestError(
            url,
            f"line {_line_number(content, long_line.start())} is {len(long_line.group())} bytes long; "
            f"SPEC files read through silx may have lines up to {MAX_LINE_BYTES} bytes",
        )
    for wide in _WIDE_LINE.finditer(content):
        if wide.group().startswith(b"@"):  # an MCA line continues with '\' instead
            continue
        columns = len(wide.group().split())
        if columns > MAX_COLUMNS:
            raise IngestError(
                url,
                f"line {_line_number(content, wide.start())} holds {columns} values; "
                f"SPEC data read through silx may have up to {MAX_COLUMNS} columns",
            )
    long_number = _LONG_NUMBER.search(content)
    if long_number is not None and not long_number.group().startswith(b"@"):
        raise IngestError(
            url,
            f"line {_line_number(content, long_number.start())} has a value over {MAX_NUMBER_BYTES} "
            "characters long; silx's SPEC reader does not take it",
        )
    _check_motor_positions(url, content)


def _check_motor_positions(url, content):
    scan_starts = [match.start() for match in _SCAN_START.finditer(content)]
    counts = {}
    for match in _MOTOR_LINE.finditer(content):
        scan = bisect.bisect_right(scan_starts, match.start())  # 0: before the first scan
        counts[scan] = counts.get(scan, 0) + len(match.group(1).split())
        if counts[scan] > MAX_MOTOR_POSITIONS:
            raise IngestError(
                url,
                f"line {_line_number(content, match.start())}: over {MAX_MOTOR_POSITIONS} motor "
                "positions (#P) in one scan; silx's SPEC reader does not take more",
            )
