"""Lines silx's C reader would crash on are refused before it sees them, naming the file and line."""

import subprocess
import sys
import textwrap

import pytest

from intake_ingest import BlueskyRun, IngestError
from intake_ingest.ingestors._silx_guard import MAX_COLUMNS, MAX_LINE_BYTES, MAX_MOTOR_POSITIONS, check_for_silx
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
