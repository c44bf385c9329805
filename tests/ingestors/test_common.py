"""The pieces every ingestor shares: data key names, declared sizes."""

import pytest

from intake_ingest import IngestError
from intake_ingest.ingestors import _common
from intake_ingest.ingestors._common import DataKeyNamer, check_declared_size, labelled, unique_key


def test_the_namer_renames_event_fields_and_taken_names():
    namer = DataKeyNamer({"time_2"})
    assert [namer(name) for name in ["time", "seq_num", "uid", "time", "a.b/c d", ""]] == [
        "time_3", "seq_num_2", "uid_2", "time_4", "a_b_c_d", "value",
    ]
    assert namer("", fallback="2-theta") == "X2_theta"


def test_unique_key_names_one_key_and_adds_it_to_the_set():
    taken = {"time_2", "IMAGE"}
    assert [unique_key(name, taken) for name in ["time", "image", "time"]] == ["time_3", "image_2", "time_4"]
    assert taken == {"time_2", "IMAGE", "time_3", "image_2", "time_4"}
    taken.discard("time_3")  # the set is read anew on every call
    assert unique_key("TIME_3", taken) == "TIME_3"
    assert unique_key("time", set()) == "time_2"


def test_keys_are_sql_identifiers_unique_whatever_the_case_and_deterministic():
    names = ["2-theta", "2_theta", "Two Theta", "I0/I00", "Counts (cps)", "Time", "EPOCH", "epoch",
             "θ", "x", "ts_x", "-", "a" * 80, "a" * 80, "é" * 40, "mon;drop", "it's", "a--b"]  # fmt: skip
    namer = DataKeyNamer()
    keys = [namer(name) for name in names]
    assert keys[:9] == ["X2_theta", "X2_theta_2", "Two_Theta", "I0_I00", "Counts_cps", "Time_2", "EPOCH", "epoch_2", "Xθ"]
    assert keys[9:11] == ["x", "ts_x_2"]  # ts_x is the column TiledWriter gives x's timestamps
    assert keys[11] == "value"
    assert keys[12] == "a" * 60 and keys[13] == "a" * 58 + "_2"
    assert keys[15:] == ["mon_drop", "it_s", "a_b"]
    assert [unique_key(name, set()) for name in names][:3] == ["X2_theta", "X2_theta", "Two_Theta"]
    lowered = [key.lower() for key in keys]
    assert len(set(lowered)) == len(keys)  # SQL columns: unique without case
    assert not {"time", "seq_num"} & set(lowered)
    assert all(len(key.encode()) <= _common.KEY_BYTES for key in keys)
    assert keys == [namer(name) for namer in [DataKeyNamer()] for name in names]  # same names, same keys
    taken = set()
    assert keys == [unique_key(name, taken) for name in names]  # one key at a time: the same keys


def test_keys_are_what_tiled_accepts_as_table_columns():
    sql = pytest.importorskip("tiled.adapters.sql", reason="tiled[server] is not installed")
    namer = DataKeyNamer()
    for name in ["2-theta", "_hidden", "Counts (cps)", "a(b)=c+d", "x/*y*/", "it's \\ \"q\"", "100%", "é" * 40]:
        assert sql.is_safe_identifier(namer(name), sql.COLUMN_NAME_PATTERN, allow_reserved_words=True)
        assert sql.is_safe_identifier("ts_" + unique_key(name, set()), sql.COLUMN_NAME_PATTERN)
        assert not unique_key(name, set()).startswith("_")  # tiled's TableStructure keeps those for itself


def test_labelled_keeps_the_name_only_where_the_key_differs():
    assert labelled({}, "X2_theta", "2-theta") == {"label": "2-theta"}
    assert labelled({}, "I0", "I0") == {}
    assert labelled({}, "col_1", "") == {}


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
