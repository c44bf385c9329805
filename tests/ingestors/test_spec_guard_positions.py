"""The count of a scan's ``#P`` motor positions at the guard's limit, with the shortest positions.

The guard counts positions word by word only in scans whose ``#P`` lines are long enough to
hold too many; one-byte positions are the densest a line can be, so these cases sit on that bound.
"""

import pytest

from intake_ingest import IngestError
from intake_ingest.ingestors._silx_guard import MAX_MOTOR_POSITIONS, check_for_silx


def _scan_with_positions(count, per_line=8, separator=b" ", numbered=True):
    lines = [b"#F demo.spec", b"", b"#S 1 ascan m0 0 1 2 1"]
    positions = [b"%d" % (n % 10) for n in range(count)]
    for number, first in enumerate(range(0, count, per_line)):
        name = b"#P%d" % number if numbered else b"#P"  # '#P 1 2': the shortest line
        lines.append(name + separator + b" ".join(positions[first : first + per_line]))
    lines += [b"#N 1", b"#L m0", b"0", b"1", b""]
    return b"\n".join(lines)


@pytest.mark.parametrize("numbered", [True, False])
@pytest.mark.parametrize("separator", [b" ", b"\t"])
@pytest.mark.parametrize("per_line", [1, 8, 290])
def test_one_byte_positions_at_the_limit_pass(per_line, separator, numbered):
    check_for_silx("demo.spec", _scan_with_positions(MAX_MOTOR_POSITIONS, per_line, separator, numbered))


@pytest.mark.parametrize("numbered", [True, False])
@pytest.mark.parametrize("separator", [b" ", b"\t"])
@pytest.mark.parametrize("per_line", [1, 8, 291])
def test_one_byte_positions_over_the_limit_are_refused(per_line, separator, numbered):
    content = _scan_with_positions(MAX_MOTOR_POSITIONS + 1, per_line, separator, numbered)
    with pytest.raises(IngestError, match=f"over {MAX_MOTOR_POSITIONS} motor positions"):
        check_for_silx("demo.spec", content)


def test_positions_of_a_later_scan_are_counted_apart():
    first = _scan_with_positions(MAX_MOTOR_POSITIONS)
    second = _scan_with_positions(MAX_MOTOR_POSITIONS + 1).replace(b"#F demo.spec\n\n", b"").replace(b"#S 1", b"#S 2")
    check_for_silx("demo.spec", first + _scan_with_positions(MAX_MOTOR_POSITIONS).replace(b"#F demo.spec\n\n", b"\n"))
    with pytest.raises(IngestError, match=f"over {MAX_MOTOR_POSITIONS} motor positions"):
        check_for_silx("demo.spec", first + b"\n" + second)
