"""What silx's SPEC reader (C) cannot take, refused before it sees the file.

silx reads SPEC files with the C library of the ESRF's ``specfile``, whose fixed-size
buffers overflow on lines longer than it expects: the process dies (SIGSEGV) instead of
raising. The limits below are those buffers (silx ``io/specfile/src``), with margin:

- ``sfOneLine``'s ``static char linebuf[5000]`` holds any header line (``#L``, ``#C``, ...);
- ``SfData``'s ``double valline[512]`` holds the numbers of one data line, and
  ``char strval[100]`` one number's text;
- ``SfAllMotorPos``'s ``static double pos[300]`` holds a scan's ``#P`` motor positions.

Checking is linear in the file and done at C speed (numpy over the bytes already read):
only lines long enough to break a limit are looked at one by one. A file that fails is an
:class:`~intake_ingest.IngestError` naming it and the line, never a crash.
"""

import re

import numpy as np

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

_MOTOR_LINE = re.compile(rb"#P\d*[ \t]([^\n]*)")


class _Lines:
    """Where the lines of ``content`` start and end (without their newline), as arrays."""

    def __init__(self, content):
        self.content = content
        self.bytes = np.frombuffer(content, np.uint8)
        self.newlines = np.flatnonzero(self.bytes == ord("\n"))
        self.starts = np.concatenate(([0], self.newlines + 1))
        self.ends = np.concatenate((self.newlines, [len(content)]))

    def number(self, offset):
        """The line number (from 1) of the byte at ``offset``."""
        return int(np.searchsorted(self.newlines, offset)) + 1

    def text(self, line):
        """The bytes of line ``line`` (counted from 0)."""
        return self.content[self.starts[line] : self.ends[line]]

    def starting_with(self, prefix):
        """Indices of the lines that start with ``prefix``, in order."""
        lines = np.flatnonzero(self.ends - self.starts >= len(prefix))
        for position, byte in enumerate(prefix):
            lines = lines[self.bytes[self.starts[lines] + position] == byte]
        return lines

    def data_lines(self, longer_than):
        """Indices of lines over ``longer_than`` bytes that are not control (``#``) lines."""
        long = np.flatnonzero(self.ends - self.starts > longer_than)
        return long[self.bytes[self.starts[long]] != ord("#")]


def _long_words(lines):
    """(start, end) of every run of non-space bytes over :data:`MAX_NUMBER_BYTES` long."""
    spaces = np.flatnonzero(lines.bytes <= ord(" "))  # a few control bytes too: kept below
    found = lines.bytes[spaces]
    spaces = spaces[(found == ord(" ")) | ((found >= ord("\t")) & (found <= ord("\r")))]
    bounds = np.concatenate(([-1], spaces, [len(lines.content)]))
    runs = np.flatnonzero(np.diff(bounds) - 1 > MAX_NUMBER_BYTES)
    return zip((bounds[runs] + 1).tolist(), bounds[runs + 1].tolist())


def check_for_silx(url, content):
    """Raise an IngestError if silx's C reader could crash on ``content``.

    Parameters
    ----------
    url : str
        The file, as the error names it.
    content : bytes
        The file's bytes (or the part of it handed to silx).
    """
    lines = _Lines(content)
    lengths = lines.ends - lines.starts
    long_lines = np.flatnonzero(lengths > MAX_LINE_BYTES)
    if len(long_lines):
        line = int(long_lines[0])
        raise IngestError(
            url,
            f"line {line + 1} is {int(lengths[line])} bytes long; "
            f"SPEC files read through silx may have lines up to {MAX_LINE_BYTES} bytes",
        )
    # A data line long enough that it might hold too many numbers (each takes two bytes at least).
    for line in lines.data_lines(2 * MAX_COLUMNS - 1).tolist():
        text = lines.text(line)
        if text.startswith(b"@"):  # an MCA line continues with '\' instead
            continue
        columns = len(text.split())
        if columns > MAX_COLUMNS:
            raise IngestError(
                url,
                f"line {line + 1} holds {columns} values; "
                f"SPEC data read through silx may have up to {MAX_COLUMNS} columns",
            )
    if len(lines.data_lines(MAX_NUMBER_BYTES)):
        for begin, end in _long_words(lines):
            line = lines.number(begin) - 1
            start = int(lines.starts[line])
            if content[start : start + 1] in (b"#", b"@"):  # a control or MCA line
                continue
            raise IngestError(
                url,
                f"line {line + 1} has a value over {MAX_NUMBER_BYTES} "
                "characters long; silx's SPEC reader does not take it",
            )
    _check_motor_positions(url, lines)


def _check_motor_positions(url, lines):
    """Count the ``#P`` positions of each scan (and of the lines before the first)."""
    scan_starts = lines.starting_with(b"#S ")
    position_lines = lines.starting_with(b"#P")
    scans = np.searchsorted(scan_starts, position_lines, side="right")  # 0: before the first scan
    # A '#P<n> ' line of L bytes holds at most (L - 2) / 2 positions (one byte and a space
    # each): only the scans whose lines could hold too many are counted word by word.
    bound = np.bincount(scans, weights=(lines.ends - lines.starts)[position_lines] - 2)
    suspect = set(np.flatnonzero(bound / 2 > MAX_MOTOR_POSITIONS).tolist())
    counts = {}
    for line, scan in zip(position_lines.tolist(), scans.tolist()):
        if scan not in suspect:
            continue
        match = _MOTOR_LINE.match(lines.text(line))
        if match is None:
            continue
        counts[scan] = counts.get(scan, 0) + len(match.group(1).split())
        if counts[scan] > MAX_MOTOR_POSITIONS:
            raise IngestError(
                url,
                f"line {line + 1}: over {MAX_MOTOR_POSITIONS} motor "
                "positions (#P) in one scan; silx's SPEC reader does not take more",
            )
