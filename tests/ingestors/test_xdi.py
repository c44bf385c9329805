"""The XDI ingestor on real XDI files (tests/data/real/xdi) and on files written here for edge cases."""

import datetime
import os
import pathlib
import re
import shutil
import warnings

import intake
import numpy as np
import pytest

from intake_ingest import BlueskyInMemoryCatalog, BlueskyRun, IngestError, IngestWarning
from intake_ingest.drivers.xdi import XdiRun
from intake_ingest.files import expand
from intake_ingest.ingestors.xdi import XDI, ingest_xdi, sniff_xdi
from intake_ingest.registry import HEAD_BYTES, get_spec

REAL = pathlib.Path(__file__).parent.parent / "data" / "real" / "xdi"
REAL_FILES = sorted(REAL.glob("*.xdi"))

#: Rows of each real file, counted with ``grep -vc '^#'``, to check the readers count right.
REAL_ROWS = {
    "cu_metal_10K.xdi": 612,
    "cu_metal_rt.xdi": 408,
    "fe_xanes_8ch.xdi": 100,
    "nonxafs_negvalues.xdi": 10,
    "v_foil.xdi": 463,
}

NUMBER_FIELDS = {"facility.energy", "facility.current", "mono.d_spacing", "sample.temperature", "scan.edge_energy"}


def names(documents):
    return [name for name, _ in documents]


def page(documents):
    (event_page,) = [doc for name, doc in documents if name == "event_page"]
    return event_page


def plain_fields(path):
    """``{'namespace.tag': value}`` of the header, read as plain text (last occurrence wins)."""
    fields = {}
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        name, colon, value = line[1:].partition(":")
        if colon and re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*\.[A-Za-z0-9_-]+", name.strip()):
            fields[name.strip().lower()] = value.strip()
    return fields


def plain_column_names(path):
    fields = plain_fields(path)
    n_columns = np.loadtxt(path, comments="#", ndmin=2).shape[1]
    return [fields[f"column.{n}"].split("||")[0].split()[0] for n in range(1, n_columns + 1)]


def local_time(text):
    return datetime.datetime.fromisoformat(text).timestamp()


def write_xdi(path, header_lines, rows, *, newline="\n"):
    path.write_text(newline.join(header_lines + rows) + newline, newline="")
    return path


BASIC_HEADER = [
    "# XDI/1.0 Test/0.1",
    "# Column.1: energy eV",
    "# Column.2: i0",
    "# Element.symbol: Cu",
    "# Element.edge: K",
    "# Mono.d_spacing: 3.13553",
    "# Scan.start_time: 2024-05-01T10:00:00",
    "# ///",
    "# a comment",
    "#----",
    "# energy i0",
]
BASIC_ROWS = ["8979.0  1000", "8980.0  1010", "8981.0  1020"]


# ------------------------------------------------------------------ real files


def test_the_real_files_are_there():
    assert {path.name for path in REAL_FILES} == set(REAL_ROWS)


@pytest.mark.parametrize("path", REAL_FILES, ids=lambda path: path.name)
def test_real_file_rows_and_columns_equal_a_plain_text_read(path, validated):
    documents = validated(ingest_xdi(str(path)))
    assert names(documents) == ["start", "descriptor", "event_page", "stop"]
    start, descriptor, event_page, stop = (doc for _, doc in documents)
    expected = np.loadtxt(path, comments="#", ndmin=2)
    assert expected.shape[0] == REAL_ROWS[path.name]
    assert start["num_points"] == expected.shape[0]
    assert stop["num_events"] == {"primary": expected.shape[0]}
    assert event_page["seq_num"] == list(range(1, expected.shape[0] + 1))

    column_names = plain_column_names(path)
    assert list(descriptor["data_keys"]) == column_names
    for index, name in enumerate(column_names):
        np.testing.assert_array_equal(event_page["data"][name], expected[:, index])


@pytest.mark.parametrize("path", REAL_FILES, ids=lambda path: path.name)
def test_real_file_header_fields_are_all_in_the_run_start(path, validated):
    start = validated(ingest_xdi(str(path)))[0][1]
    xdi = start["xdi"]
    namespaces = {namespace.lower(): namespace for namespace in xdi}
    fields = plain_fields(path)
    for name, text in fields.items():
        namespace, tag = name.split(".", 1)
        value = xdi[namespaces[namespace]][tag]
        if namespace != "column":
            text = text.split("||")[0].strip()
        if name in NUMBER_FIELDS:
            assert value == float(text.split()[0]), name
        elif name in ("element.symbol", "element.edge"):
            assert value.lower() == text.lower(), name
        else:
            assert value == text, name
    assert sum(len(tags) for key, tags in xdi.items() if key not in ("version", "applications")) == len(fields)

    first_line = path.read_text().splitlines()[0]
    assert xdi["version"] == re.match(r"#\s*XDI/(\S+)", first_line)[1]
    start_time = fields.get("scan.start_time")
    assert start["time"] == (local_time(start_time) if start_time else os.path.getmtime(path))


def test_real_gse_file_metadata(validated):
    path = REAL / "cu_metal_rt.xdi"
    documents = validated(ingest_xdi(str(path)))
    start, descriptor, event_page, stop = (doc for _, doc in documents)
    assert start["ingestor"] == "xdi" and start["source"] == str(path)
    assert start["xdi"]["version"] == "1.0" and start["xdi"]["applications"] == ["GSE/1.0"]
    assert start["xdi"]["Element"] == {"symbol": "Cu", "edge": "K"}
    assert start["xdi"]["Mono"] == {"name": "Si 111", "d_spacing": 3.13553}
    assert start["xdi"]["Facility"]["energy"] == 7.0
    assert start["units"] == {"Facility": {"energy": "GeV"}, "Mono": {"d_spacing": "Å"}}
    assert start["xdi"]["GSE"] == {"extra": "config 1"}
    assert start["comments"] == ["Cu foil Room Temperature", "measured at beamline 13-ID"]
    assert start["sample"] == "Cu" and start["beamline_id"] == "13ID"
    assert start["hints"] == {"dimensions": [[["energy"], "primary"]]}
    assert start["time"] == local_time("2001-06-26T22:27:31")
    assert descriptor["data_keys"]["energy"] == {
        "dtype": "number", "dtype_numpy": "<f8", "shape": [], "source": str(path), "units": "eV"
    }
    assert "units" not in descriptor["data_keys"]["mutrans"]
    assert set(event_page["time"]) == {start["time"]}  # no per-point times in the file
    assert stop["time"] == start["time"]


def test_real_edc_file_with_sorted_fields_and_a_sample_temperature(validated):
    start = validated(ingest_xdi(str(REAL / "cu_metal_10K.xdi")))[0][1]
    assert start["xdi"]["applications"] == ["EDC/5.02"]
    assert start["xdi"]["Sample"]["temperature"] == 10.0 and start["units"]["Sample"]["temperature"] == "K"
    assert start["xdi"]["EDC"]["gains"] == "8 7 10"  # extension fields stay text
    assert start["xdi"]["Column"] == {"1": "energy eV", "2": "mutrans"}
    assert start["comments"] == ["Cu foil, 10K, rolled and annealled foil by matt"]


def test_real_larch_epics_step_scan_start_end_and_pvs(validated):
    path = REAL / "v_foil.xdi"
    documents = validated(ingest_xdi(str(path)))
    start, descriptor, event_page, stop = (doc for _, doc in documents)
    assert start["time"] == local_time("2005-07-23 16:45:48")
    assert stop["time"] == local_time("2005-07-23 17:02:30")
    assert start["xdi"]["Element"] == {"symbol": "V", "edge": "K"}
    assert start["xdi"]["Facility"]["name"] == "APS"  # 'Facility.Name' in the file: names ignore case
    assert start["xdi"]["Beamline"]["storage_ring_current"] == "102.047"
    assert start["epics_pvs"]["Beamline"]["storage_ring_current"] == "S:SRcurrentAI.VAL"
    assert "comments" not in start  # the file has no '# ///' section
    assert descriptor["data_keys"]["energy"]["source"] == "PV:13BMA:E:Energy.VAL"
    assert start["hints"] == {"dimensions": [[["energy"], "primary"]]}
    assert descriptor["data_keys"]["i0"]["units"] == "counts"


def test_real_files_are_found_by_a_mongo_query_on_the_namespaces():
    catalog = BlueskyInMemoryCatalog()
    for path in REAL_FILES:
        catalog.upsert(ingest_xdi, (str(path),), {})
    copper = catalog.search({"xdi.Element.symbol": "Cu"})
    assert sorted(copper[uid].metadata["start"]["source"] for uid in copper) == [
        str(REAL / "cu_metal_10K.xdi"), str(REAL / "cu_metal_rt.xdi")
    ]
    assert len(catalog.search({"xdi.Mono.d_spacing": {"$gt": 3.1354}})) == 1  # 3.13553 (cu_metal_rt)
    assert len(catalog.search({"xdi.Facility.name": "APS", "xdi.Element.edge": "K"})) == 2
    (uid,) = catalog.search({"sample": "Cu", "beamline_id": "X11A"})
    assert catalog[uid].metadata["start"]["source"] == str(REAL / "cu_metal_10K.xdi")


def test_real_file_read_as_a_run_and_through_the_driver():
    path = REAL / "fe_xanes_8ch.xdi"
    driver = intake.registry["bluesky-xdi"]
    assert driver is XdiRun
    run = driver(filename=str(path))
    dataset = run.primary.read()
    expected = np.loadtxt(path, comments="#")
    assert dataset.sizes["time"] == 100
    np.testing.assert_array_equal(dataset["Energy"], expected[:, 0])
    np.testing.assert_array_equal(dataset["DTFactor_mca8"], expected[:, 38])
    assert run.uid == next(ingest_xdi(str(path)))[1]["uid"]
    assert isinstance(BlueskyRun(ingest_xdi(str(path))), BlueskyRun)


@pytest.mark.parametrize("path", REAL_FILES, ids=lambda path: path.name)
def test_real_files_sniff_as_xdi(path):
    (source,) = expand(str(path))
    assert sniff_xdi(path.read_bytes()[:HEAD_BYTES], source) == 0.95


# ------------------------------------------------------------------ detection


def test_registry_and_detection_choose_xdi_also_for_a_dat_name(tmp_path):
    from intake_ingest.detect import detect

    assert get_spec("xdi") is XDI
    shutil.copy(REAL / "cu_metal_rt.xdi", tmp_path / "cu_metal_rt.xdi")
    shutil.copy(REAL / "v_foil.xdi", tmp_path / "v_foil_scan.dat")  # XDI under another name
    np.savetxt(tmp_path / "plain.dat", np.arange(6.0).reshape(3, 2))
    plan = detect(str(tmp_path), progress=False)
    chosen = {pathlib.Path(run.files[0].url).name: run.ingestor for run in plan.runs}
    assert chosen == {"cu_metal_rt.xdi": "xdi", "v_foil_scan.dat": "xdi", "plain.dat": "column_text"}
    assert plan.unrecognised == [] and plan.ambiguous == []


def test_sniff_rejects_other_files(tmp_path):
    (source,) = expand(str(REAL / "cu_metal_rt.xdi"))
    assert sniff_xdi(b"# energy i0\n1 2\n", source) == 0.0
    assert sniff_xdi(b"#F spec.dat\n#S 1 ascan\n", source) == 0.0
    assert sniff_xdi(b"II*\x00\xff\xfe", source) == 0.0
    assert sniff_xdi(b"", source) == 0.0
    assert sniff_xdi(b"\xef\xbb\xbf#XDI/1.1 Epics StepScan File / 2.0\r\n", source) == 0.95


# ------------------------------------------------------------------ edge cases (written here)


def test_field_names_ignore_case_and_the_last_occurrence_wins(tmp_path, validated):
    path = write_xdi(
        tmp_path / "case.xdi",
        ["# XDI/1.0", "# ELEMENT.SYMBOL: cu", "# element.Edge: l3", "# sample.NAME: first",
         "# Sample.name: second", "# MyDaq.Gain: 5", "# mydaq.offset: 2", "# Column.1: energy eV", "#---"],
        BASIC_ROWS,
    )
    start = validated(ingest_xdi(str(path)))[0][1]
    assert start["xdi"]["Element"] == {"symbol": "Cu", "edge": "L3"}
    assert start["xdi"]["Sample"] == {"name": "second"}
    assert start["xdi"]["MyDaq"] == {"gain": "5", "offset": "2"}  # the first spelling of a namespace


def test_elapsed_time_column_gives_event_times_and_a_time_column_is_renamed(tmp_path, validated):
    path = write_xdi(
        tmp_path / "timed.xdi",
        ["# XDI/1.0", "# Column.1: energy eV", "# Column.2: elapsed_time seconds", "# Column.3: time s",
         "# Scan.start_time: 2024-05-01T10:00:00Z", "# Scan.end_time: 2024-05-01T10:00:09Z", "#----"],
        ["1 0.0 2", "2 4.5 2", "3 9.0 2"],
    )
    documents = validated(ingest_xdi(str(path)))
    start, descriptor, event_page, stop = (doc for _, doc in documents)
    t0 = datetime.datetime(2024, 5, 1, 10, tzinfo=datetime.timezone.utc).timestamp()
    assert start["time"] == t0 and stop["time"] == t0 + 9
    assert event_page["time"] == [t0, t0 + 4.5, t0 + 9.0]
    assert list(descriptor["data_keys"]) == ["energy", "elapsed_time", "time_column"]
    assert descriptor["data_keys"]["energy"]["dtype_numpy"] == "<i8"  # integers stay integers
    assert descriptor["data_keys"]["time_column"]["units"] == "s"


def test_columns_named_by_the_labels_line_without_column_fields(tmp_path, validated):
    path = write_xdi(tmp_path / "labels.xdi", ["# XDI/1.0", "# Column.1: energy eV", "#----", "# e i0 it"],
                     ["1 2 3", "4 5 6"], newline="\r")  # old Mac line ends, which XDI allows
    descriptor = validated(ingest_xdi(str(path)))[1][1]
    assert list(descriptor["data_keys"]) == ["energy", "i0", "it"]


def test_comment_lines_in_the_data_and_stray_header_lines_warn(tmp_path, validated):
    path = write_xdi(
        tmp_path / "map.xdi",
        ["# XDI/1.0", "# Column.1: energy eV", "# not a field", "#----", "# energy i0", "# one more"],
        ["1 2", "# Outer.value: 1.1", "3 4"],
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        documents = validated(ingest_xdi(str(path)))
    messages = [str(warning.message) for warning in caught if warning.category is IngestWarning]
    assert any("2 header lines" in message and "line 3" in message for message in messages)
    assert any("1 comment lines among the data rows" in message and "line 8" in message for message in messages)
    np.testing.assert_array_equal(page(documents)["data"]["energy"], [1, 3])


def test_bad_start_time_warns_and_the_file_time_is_used(tmp_path, validated):
    path = write_xdi(tmp_path / "t.xdi", ["# XDI/1.0", "# Scan.start_time: yesterday", "#---"], BASIC_ROWS)
    with pytest.warns(IngestWarning, match="Scan.start_time 'yesterday' is not an ISO 8601"):
        start = validated(ingest_xdi(str(path)))[0][1]
    assert start["time"] == os.path.getmtime(path)
    assert start["xdi"]["Scan"]["start_time"] == "yesterday"


def test_file_without_rows_gives_a_run_without_events(tmp_path, validated):
    path = write_xdi(tmp_path / "empty.xdi", BASIC_HEADER, [])
    with pytest.warns(IngestWarning, match="holds no data rows"):
        documents = validated(ingest_xdi(str(path)))
    assert names(documents) == ["start", "stop"]
    assert documents[0][1]["num_points"] == 0


def test_not_xdi_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "plain.xdi"
    path.write_text("# energy i0\n1 2\n")
    with pytest.raises(IngestError, match="is not an XDI file: its first line is '# energy i0'") as error:
        list(ingest_xdi(str(path)))
    assert error.value.path == str(path)


@pytest.mark.parametrize(
    ("rows", "reason"),
    [
        (["1 2", "3 4 5"], "line 13 has 3 values, not 2 as line 12"),
        (["1 2", "3 n/a"], "line 13 has 'n/a', which is not a number"),
    ],
)
def test_bad_rows_fail_after_the_run_start_naming_the_line(tmp_path, rows, reason):
    path = write_xdi(tmp_path / "bad.xdi", BASIC_HEADER, rows)
    documents = ingest_xdi(str(path))
    assert next(documents)[0] == "start"
    with pytest.raises(IngestError) as error:
        list(documents)
    assert error.value.path == str(path) and error.value.reason == reason


def test_other_encoding_names_the_line_and_encoding_reads_it(tmp_path, validated):
    path = tmp_path / "latin.xdi"
    lines = BASIC_HEADER[:7] + ["# Sample.name: Fe in Ca-Al glass, 25 °C"] + BASIC_HEADER[7:] + BASIC_ROWS
    path.write_bytes("\n".join(lines).encode("latin-1"))
    with pytest.raises(IngestError, match="is not UTF-8 text: byte 0xb0 on line 8"):
        list(ingest_xdi(str(path)))
    start = validated(ingest_xdi(str(path), encoding="latin-1"))[0][1]
    assert start["sample"] == "Fe in Ca-Al glass, 25 °C"


def test_source_file_is_not_written(tmp_path):
    path = tmp_path / "cu.xdi"
    shutil.copy(REAL / "cu_metal_rt.xdi", path)
    before = (path.read_bytes(), os.stat(path).st_mtime_ns)
    list(ingest_xdi(str(path)))
    assert (path.read_bytes(), os.stat(path).st_mtime_ns) == before


def test_memory_filesystem_gives_the_same_run(memory_folder, validated):
    fs, root = memory_folder
    fs.pipe(f"{root}/cu.xdi", (REAL / "cu_metal_rt.xdi").read_bytes())
    documents = validated(ingest_xdi(f"memory://{root}/cu.xdi"))
    local = list(ingest_xdi(str(REAL / "cu_metal_rt.xdi")))
    assert documents[0][1]["xdi"] == local[0][1]["xdi"]
    np.testing.assert_array_equal(page(documents)["data"]["mutrans"], page(local)["data"]["mutrans"])


def test_canonical_gives_one_event_per_row(validated):
    run = XdiRun(filename=str(REAL / "nonxafs_negvalues.xdi"))
    documents = validated(run.canonical(fill="yes"))
    rows = [[doc["data"][key] for key in ("X", "Y", "Z")] for name, doc in documents if name == "event"]
    np.testing.assert_array_equal(rows, np.loadtxt(REAL / "nonxafs_negvalues.xdi", comments="#"))
    assert [doc["seq_num"] for name, doc in documents if name == "event"] == list(range(1, 11))
