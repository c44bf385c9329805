"""Lines silx's C reader would crash on are refused before it sees them, naming the file and line."""

import collections
import random
import re
import subprocess
import sys
import textwrap

import pytest

from intake_ingest import BlueskyRun, IngestError
from intake_ingest.ingestors._silx_guard import (
    MAX_COLUMNS,
    MAX_LINE_BYTES,
    MAX_MOTOR_POSITIONS,
    MAX_NUMBER_BYTES,
    check_for_silx,
)
from intake_ingest.ingestors.spec import ingest_spec

SCAN = b"""#F demo.spec
#E 1700000000
#D Tue Nov 14 10:00:00 2023
#O0 m0  m1

#S 1 ascan m0 0 1 2 1
#D Tue Nov 14 10:00:01 2023
#P0 0.5 1.5
#N 3
#L m0  det  mon
0 10 100
0.5 20 100
1 30 100
"""


def spec_file(tmp_path, content, name="scan.spec"):
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


def test_a_real_looking_file_passes_the_check(tmp_path):
    check_for_silx("scan.spec", SCAN)
    assert len(BlueskyRun(ingest_spec(spec_file(tmp_path, SCAN), scan="1.1")).primary.read()["time"]) == 3


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda text: text.replace(b"#D Tue Nov 14 10:00:01", b"#C " + b"x" * 20_000 + b"\n#D Tue Nov 14 10:00:01"), "line 7 is 20003 bytes long"),
        (lambda text: text.replace(b"#L m0  det  mon", b"#L " + b"  ".join(b"c%d" % i for i in range(3000))), "bytes long"),
        (lambda text: text.replace(b"0.5 20 100", b" ".join([b"1"] * 1000)), f"holds 1000 values; SPEC data read through silx may have up to {MAX_COLUMNS} columns"),
        (lambda text: text.replace(b"0.5 20 100", b"0.5 " + b"9" * 200 + b" 100"), "has a value over 90 characters long"),
        (lambda text: text.replace(b"#P0 0.5 1.5", b"\n".join(b"#P%d " % i + b" ".join([b"1.0"] * 8) for i in range(40))), f"over {MAX_MOTOR_POSITIONS} motor positions"),
    ],
    ids=["long-comment", "long-labels", "many-columns", "long-number", "many-motors"],
)
def test_what_silx_cannot_take_is_an_ingest_error_naming_the_file(tmp_path, change, message):
    path = spec_file(tmp_path, change(SCAN))
    with pytest.raises(IngestError, match=message) as raised:
        list(ingest_spec(path, scan="1.1"))
    assert str(raised.value).startswith(path)


def test_a_line_of_the_longest_allowed_length_is_read(tmp_path):
    comment = b"#C " + b"y" * (MAX_LINE_BYTES - 3)
    path = spec_file(tmp_path, SCAN.replace(b"#N 3", comment + b"\n#N 3"))
    assert len(BlueskyRun(ingest_spec(path, scan="1.1")).primary.read()["time"]) == 3


def test_without_the_check_silx_really_crashes(tmp_path):
    """The check is not for show: silx itself dies on a long comment (run in a child process).

    (On a data line of too many values it does not crash here, but reads the scan as
    empty: refusing that file is right too.)
    """
    path = spec_file(tmp_path, SCAN.replace(b"#N 3", b"#C " + b"x" * 20_000 + b"\n#N 3"))
    code = textwrap.dedent(
        f"""
        from silx.io.specfile import SpecFile
        scan = SpecFile({path!r})[0]
        print(scan.data.shape, scan.labels)
        """
    )
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
    assert child.returncode < 0  # killed by a signal (SIGSEGV)


# -- the check is linear (numpy over line bounds); it refuses what the first, regex one did --

_OLD_LONG_LINE = re.compile(rb"[^\n]{%d,}" % (MAX_LINE_BYTES + 1))
_OLD_WIDE_LINE = re.compile(rb"^[^#\n][^\n]{%d,}" % (2 * MAX_COLUMNS - 1), re.M)
_OLD_LONG_NUMBER = re.compile(rb"^[^#\n][^\n]*?[^\s]{%d,}" % (MAX_NUMBER_BYTES + 1), re.M)


def refused_by_regular_expressions(content):
    """Why the first version of the check (regular expressions) refused ``content``, or None."""
    def line(offset):
        return content.count(b"\n", 0, offset) + 1

    found = _OLD_LONG_LINE.search(content)
    if found:
        return f"line {line(found.start())} is {len(found.group())} bytes long"
    for wide in _OLD_WIDE_LINE.finditer(content):
        if not wide.group().startswith(b"@") and len(wide.group().split()) > MAX_COLUMNS:
            return f"line {line(wide.start())} holds {len(wide.group().split())} values"
    found = _OLD_LONG_NUMBER.search(content)
    if found and not found.group().startswith(b"@"):
        return f"line {line(found.start())} has a value over"
    counts = {}
    for match in re.finditer(rb"^#S |^#P\d*[ \t]([^\n]*)", content, re.M):
        if match.group(1) is None:
            counts = {}
            continue
        counts["n"] = counts.get("n", 0) + len(match.group(1).split())
        if counts["n"] > MAX_MOTOR_POSITIONS:
            return f"line {line(match.start())}: over {MAX_MOTOR_POSITIONS} motor"
    return None


def refused(content):
    try:
        check_for_silx("f.spec", content)
    except IngestError as error:
        return str(error)
    return None


def random_file(rng):
    """A small SPEC-like file with, now and then, a line silx cannot take, CRLF or not."""
    pieces = [b"#F f.spec", b"#O0 a  b"]
    for scan in range(rng.randrange(1, 4)):
        pieces += [b"", b"#S %d ascan a 0 1 2 1" % (scan + 1)]
        pieces += [b"#P%d " % n + b" ".join([b"1.5"] * rng.randrange(1, 60)) for n in range(rng.randrange(0, 8))]
        pieces += [b"#N 3", b"#L a  b  c"]
        for _ in range(rng.randrange(0, 6)):
            kind = rng.random()
            if kind < 0.05:
                pieces.append(b"#C " + b"x" * rng.randrange(4000, 4200))
            elif kind < 0.1:
                pieces.append(b" ".join([b"1"] * rng.randrange(480, 520)))
            elif kind < 0.15:
                pieces.append(b"1 " + b"9" * rng.randrange(85, 95) + b" 3")
            elif kind < 0.2:
                pieces.append(b"@A " + b" ".join([b"7"] * rng.randrange(600, 700)))
            else:
                pieces.append(b"0.5 " + b" ".join([b"2e3"] * rng.randrange(1, 6)))
    newline = b"\r\n" if rng.random() < 0.3 else b"\n"
    return newline.join(pieces) + (newline if rng.random() < 0.8 else b"")


def test_the_linear_check_refuses_what_the_regular_expressions_refused():
    rng = random.Random(430)
    outcomes = collections.Counter()
    for _ in range(600):
        content = random_file(rng)
        expected, got = refused_by_regular_expressions(content), refused(content)
        if expected is None:
            assert got is None, content
        else:
            assert got is not None and expected in got, (expected, got)
        outcomes[expected.split()[2] if expected else None] += 1
    assert len(outcomes) == 5, outcomes  # passed, and each of the four reasons, all seen


def test_a_long_number_after_a_long_mca_word_is_still_refused():
    """The regular expression stopped at the first long word, an MCA line's: the data line after it passed."""
    content = SCAN.replace(b"0.5 20 100", b"@A " + b"7" * 200 + b"\n0.5 " + b"9" * 200 + b" 100")
    assert "line 13 has a value over 90 characters long" in refused(content)


def test_a_large_file_is_checked_to_its_last_line():
    """A 3 MB file (the regular expression for long lines went back over each line from every byte)."""
    content = SCAN + b"\n".join(b" ".join(b"%d" % (n * 31 + k) for k in range(30)) for n in range(30_000))
    assert len(content) > 3_000_000
    assert refused(content) is None
    assert refused(content + b"\n1 " + b"5" * 100) == "f.spec: line 30014 has a value over 90 characters long; silx's SPEC reader does not take it"
