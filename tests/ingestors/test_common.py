"""The pieces every ingestor shares: data key names, declared sizes."""

import pytest

from intake_ingest import IngestError
from intake_ingest.ingestors import _common
from intake_ingest.ingestors._common import check_declared_size, unique_key


def test_unique_key_renames_event_fields_and_taken_names():
    taken = {"time_2"}
    assert [unique_key(name, taken) for name in ["time", "seq_num", "uid", "time", "a.b/c d", ""]] == [
        "time_3", "seq_num_2", "uid_2", "time_4", "a_b_c_d", "value",
    ]
    assert taken == {"time_2", "time_3", "seq_num_2", "uid_2", "time_4", "a_b_c_d", "value"}


def test_declared_size_is_checked_only_above_the_floor_and_when_stored_is_known():
    floor = _common.ALLOCATION_FLOOR
    check_declared_size("f", floor, 0, "x")  # at the floor: allowed
    check_declared_size("f", 10 * floor, None, "x")  # stored size unknown: nothing checked
    check_declared_size("f", 10 * floor, 10 * floor, "x")  # stored whole: allowed
    with pytest.raises(IngestError, match=r"^f: declares x: .* but only 100 bytes are stored for it"):
        check_declared_size("f", floor + 1, 100, "x")
    ratio = _common.MAX_DECOMPRESSION_RATIO
    check_declared_size("f", 10 * floor, 10 * floor // ratio + 1, "x", compressed=True)
    with pytest.raises(IngestError, match="MAX_DECOMPRESSION_RATIO"):
        check_declared_size("f", 10 * floor, 10 * floor // ratio - 1, "x", compressed=True)
