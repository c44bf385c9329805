"""The SPEC ingestor, on real SPEC files (shipped with spec2nexus) and small files written
here in the conventions of SPEC's standard macros.

The small files follow the spec manual's "Standard Data-File Format"
(https://certif.com/spec_manual/mac_3_13.html): a file header written by ``newfile``
(``#F`` name, ``#E`` Unix time, ``#D`` local date, ``#C <title>  User = <user>``, ``#O``
motor names, SPEC 6's ``#o`` mnemonics), then per scan ``#S <n>  <command>``, ``#D``,
``#T <time>  (Seconds)`` or ``#M <counts>  (<monitor>)``, ``#G``, ``#Q``, ``#P``, ``#N``
and ``#L`` with labels two spaces apart, rows of numbers, and on ^C the standard
comment ``#C <date>.  Scan aborted after <n> points.``. Scan syntax follows the manual's
usage lines (mac_3_9_2.html: ``ascan motor start finish intervals time``, ``mesh m1 s1 f1
intervals1 m2 s2 f2 intervals2 time``).
"""

import base64
import datetime
import hashlib
import os
import pathlib
import re

import intake
import numpy as np
import pytest
import spec2nexus
from silx.io.specfile import SpecFile

from intake_ingest import (
    BlueskyIngestCatalog,
    BlueskyRun,
    IngestError,
    IngestWarning,
    MissingFileError,
)
from intake_ingest.drivers.spec import SpecRun
from intake_ingest.files import expand
from intake_ingest.ingestors import spec as spec_module
from intake_ingest.ingestors.spec import SPEC, ingest_spec, runs_in, sniff_spec
from intake_ingest.registry import get_spec

SPEC2NEXUS_DATA = pathlib.Path(spec2nexus.__file__).parent / "data"
REAL = pathlib.Path(__file__).parents[1] / "data" / "real" / "spec"

# newfile at Wed Nov 03 13:39:34 2010 local time = 18:39:34 UTC (#E): the clock ran 5 h behind UTC.
FILE_HEADER = """\
#F /home/specuser/data/sample.spec
#E 1288809574
#D Wed Nov 03 13:39:34 2010
#C sample  User = specuser
#O0 Two Theta  Theta  Chi  Phi
#o0 tth th chi phi
"""

ASCAN = """
#S 1  ascan  tth 10 11  4 1
#D Wed Nov 03 13:42:03 2010
#T 1  (Seconds)
#G0 0 0 1 0 0 1 0 0 0 0 0 0 50 0 0.1 0 68 68 50 -1 1 1 3.13542 3.13542 0 463.6 838.8
#G1 5.43 5.43 5.43 90 90 90 1.157 1.157 1.157 90 90 90 0 0 4 0 0 4 60 30 0 0 0 0 60 30 0 -90 0 0 1.54 1.54
#Q 1 0 0
#P0 10 5 90 0
#C alignment of the sample
#N 5
#L Two Theta  Epoch  Seconds  I0  Detector
10  150 1 1000 12
10.25  151 1 1001 15
10.5  153 1 1002 40
10.75  154 1 1003 22
11  156 1 1004 13
"""

MESH = """
#S 2  mesh  th 0 1 2  chi 89 90 1  0.5
#D Wed Nov 03 13:45:00 2010
#M 20000  (I0)
#P0 11 0 89 0
#N 4
#L Theta  Chi  Epoch  Detector
0  89 330 5
0.5  89 331 6
1  89 332 7
0  90 333 8
0.5  90 334 9
1  90 335 10
"""


def write_spec(path, *scans, header=FILE_HEADER):
    path = pathlib.Path(path)
    path.write_text(header + "".join(scans))
    return str(path)


def scan_block(
    number, command, rows, labels="th  Epoch  Detector", date="Wed Nov 03 13:50:00 2010", tail=""
):
    """A scan as the standard macros write it; its first row is line 14 after FILE_HEADER."""
    lines = [f"\n#S {number}  {command}", f"#D {date}", "#T 1  (Seconds)", "#P0 1 2 3 4"]
    lines += [f"#N {len(labels.split())}", f"#L {labels}"]
    return "\n".join(lines + list(rows)) + "\n" + tail


def documents_of(filename, scan=None, **kwargs):
    return list(ingest_spec(filename, scan, **kwargs))


def names(documents):
    return [name for name, _ in documents]


def stream(documents, stream_name):
    (descriptor,) = [
        doc for name, doc in documents if name == "descriptor" and doc["name"] == stream_name
    ]
    events = [
        doc for name, doc in documents if name == "event" and doc["descriptor"] == descriptor["uid"]
    ]
    return descriptor, events


def column(events, key):
    return np.array([event["data"][key] for event in events])


@pytest.fixture
def sample_spec(tmp_path):
    """A SPEC file of an ascan and a mesh, as the standard macros write them."""
    return write_spec(tmp_path / "sample.spec", ASCAN, MESH)


# -- documents ---------------------------------------------------------------------------


def test_ascan_documents(sample_spec, validated):
    documents = validated(ingest_spec(sample_spec, "1.1"))
    assert names(documents) == ["start", "descriptor", "event", "descriptor", *["event"] * 5, "stop"]

    start = documents[0][1]
    expected_uid = hashlib.sha256(sample_spec.encode() + b"1.1").digest()
    assert start["uid"] == base64.urlsafe_b64encode(expected_uid).decode()
    assert start["ingestor"] == "spec" and start["source"] == sample_spec
    assert start["scan_id"] == 1 and start["scan_key"] == "1.1"
    assert start["plan_name"] == "ascan"
    assert start["command"] == "ascan tth 10 11 4 1"
    assert start["plan_args"] == {
        "motor": "tth", "start": 10, "finish": 11, "intervals": 4, "time": 1
    }
    assert start["motors"] == ["Two_Theta"]  # the mnemonic tth, named by #o0/#O0
    assert start["num_points"] == 5
    assert start["hints"] == {"dimensions": [[["Two_Theta"], "primary"]]}
    assert start["comments"] == ["alignment of the sample"]
    assert start["hkl"] == [1.0, 0.0, 0.0]
    count = (start["count_mode"], start["count_preset"], start["count_counter"])
    assert count == ("time", 1.0, "Seconds")
    assert start["spec_date"] == "Wed Nov 03 13:42:03 2010"
    assert start["spec_file"] == "/home/specuser/data/sample.spec"
    assert start["spec_epoch"] == 1288809574
    assert start["spec_file_date"] == "Wed Nov 03 13:39:34 2010"
    assert (start["spec_title"], start["user"]) == ("sample", "specuser")
    # #D is local time; #E and the file's #D tell the offset: 13:42:03 CDT is 18:42:03 UTC.
    utc = datetime.timezone.utc
    assert start["time"] == datetime.datetime(2010, 11, 3, 18, 42, 3, tzinfo=utc).timestamp()

    baseline, (positions,) = stream(documents, "baseline")
    assert positions["data"] == {"Two_Theta": 10.0, "Theta": 5.0, "Chi": 90.0, "Phi": 0.0}
    assert positions["time"] == start["time"]

    primary, events = stream(documents, "primary")
    assert list(primary["data_keys"]) == ["Two_Theta", "Epoch", "Seconds", "I0", "Detector"]
    assert primary["data_keys"]["Detector"] == {
        "dtype": "number", "dtype_numpy": "<f8", "shape": [], "source": sample_spec
    }
    assert primary["data_keys"]["Epoch"]["units"] == "s"  # SPEC's convention: seconds since #E
    assert primary["configuration"]["motors"]["data"] == positions["data"]
    geometry = primary["configuration"]["geometry"]
    assert list(geometry["data"]) == ["G0", "G1"]
    assert geometry["data_keys"]["G1"]["shape"] == [32]
    np.testing.assert_array_equal(geometry["data"]["G1"][:3], [5.43, 5.43, 5.43])

    silx_table = SpecFile(sample_spec).data(0)
    for index, key in enumerate(primary["data_keys"]):
        np.testing.assert_array_equal(column(events, key), silx_table[:, index])
    assert [event["seq_num"] for event in events] == [1, 2, 3, 4, 5]
    # Row times: #E + the Epoch column, which the standard macros count from #E.
    epochs = (150, 151, 153, 154, 156)
    assert [event["time"] for event in events] == [1288809574.0 + epoch for epoch in epochs]
    assert events[0]["timestamps"]["Detector"] == events[0]["time"]

    stop = documents[-1][1]
    assert (stop["exit_status"], stop["reason"]) == ("success", "")
    assert stop["time"] == events[-1]["time"]
    assert stop["num_events"] == {"baseline": 1, "primary": 5}


def test_mesh_counts_points_names_dimensions_and_monitor(sample_spec, validated):
    documents = validated(ingest_spec(sample_spec, 2))
    start = documents[0][1]
    assert start["plan_args"] == {
        "m1": "th", "s1": 0, "f1": 1, "intervals1": 2,
        "m2": "chi", "s2": 89, "f2": 90, "intervals2": 1,
        "time": 0.5,
    }
    assert start["motors"] == ["Theta", "Chi"]
    assert start["num_points"] == 6  # (2 + 1) * (1 + 1)
    # A mesh moves its first motor fastest; Bluesky lists dimensions slow to fast.
    assert start["hints"] == {"dimensions": [[["Chi"], "primary"], [["Theta"], "primary"]]}
    count = (start["count_mode"], start["count_preset"], start["count_counter"])
    assert count == ("monitor", 20000.0, "I0")
    _, events = stream(documents, "primary")
    np.testing.assert_array_equal(column(events, "Detector"), [5, 6, 7, 8, 9, 10])
    assert documents[-1][1]["exit_status"] == "success"


@pytest.mark.parametrize(
    "command, plan_args, motors, num_points",
    [
        (
            "a2scan  th 1 2  tth 2 4  10 1",
            {"m1": "th", "s1": 1, "f1": 2, "m2": "tth", "s2": 2, "f2": 4, "intervals": 10, "time": 1},
            ["th", "tth"],
            11,
        ),
        (
            "dscan  samx -1 1  20 0.5",
            {"motor": "samx", "start": -1, "finish": 1, "intervals": 20, "time": 0.5},
            ["samx"],
            21,
        ),
        ("hklscan  1 1  0 0  2 3  50 1", {"h_start": 1, "h_finish": 1, "k_start": 0, "k_finish": 0,
                                          "l_start": 2, "l_finish": 3, "intervals": 50, "time": 1},
         ["H", "K", "L"], 51),
        (
            "th2th  -1 1  10 1",
            {"tth_start_rel": -1, "tth_finish_rel": 1, "intervals": 10, "time": 1},
            ["tth", "th"],
            11,
        ),
        ("loopscan  30 1 0", {"npts": 30, "time": 1, "sleep": 0}, [], 30),
        ("timescan  1", {"time": 1}, [], None),
        ("tune_mr()", {"args": []}, None, None),  # a site macro: kept as written
        ("ascan  th 1 2", {"args": ["th", "1", "2"]}, None, None),  # not the standard usage
    ],
)
def test_scan_commands(tmp_path, command, plan_args, motors, num_points):
    block = scan_block(1, command, ["1 2 3"])
    path = write_spec(tmp_path / "commands.spec", block, header="#F commands\n")
    start = next(ingest_spec(path))[1]
    assert start["plan_name"] == command.split()[0]
    assert start["command"] == " ".join(command.split())
    assert start["plan_args"] == plan_args
    assert start.get("motors") == motors
    assert start.get("num_points") == num_points


# -- real files ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "file_name, scan",
    [
        ("APS_spec_data.dat", "1.1"),
        ("33bm_spec.dat", "16.1"),  # an hklmesh
        ("lmn40.spe", "3.1"),
        ("CdOsO", "35.1"),
        ("20220311-161530.dat", "2.2"),  # a repeated scan number, written by Bluesky
        ("YSZ011_ALDITO_Fe2O3_planar_fired_1.spc", "3.1"),
    ],
)
def test_real_files_match_silx(file_name, scan, validated):
    path = str(SPEC2NEXUS_DATA / file_name)
    documents = validated(ingest_spec(path, scan))
    start = documents[0][1]
    silx_scan = SpecFile(path)[scan]
    assert start["scan_id"] == silx_scan.number and start["scan_key"] == scan
    assert start["command"] == " ".join(silx_scan.scan_header_dict["S"].split()[1:])
    primary, events = stream(documents, "primary")
    assert len(events) == silx_scan.data.shape[1]
    for key, data_key in primary["data_keys"].items():
        label = data_key.get("label", key)
        silx_column = silx_scan.data[silx_scan.labels.index(label)]
        np.testing.assert_array_equal(column(events, key), silx_column)
    named = [(n, p) for n, p in zip(silx_scan.motor_names, silx_scan.motor_positions) if n.strip()]
    if named:
        baseline, (positions,) = stream(documents, "baseline")
        spec_names = [key.get("label", name) for name, key in baseline["data_keys"].items()]
        assert list(zip(spec_names, positions["data"].values())) == named


@pytest.mark.parametrize(
    "file_name",
    sorted(path.name for path in SPEC2NEXUS_DATA.iterdir() if path.is_file() and path.suffix not in (".h5", ".txt")),
)
def test_index_headers_are_silx_scans_headers(file_name):
    # The index reads the headers without building silx's Scan objects: the same values, every scan.
    path = SPEC2NEXUS_DATA / file_name
    (source,) = expand(str(path))
    index = spec_module._read_index(source)
    specfile = SpecFile(str(path))
    assert [header.key for header in index] == specfile.keys()
    for header, silx_scan in zip(index, specfile):
        assert (header.number, header.order) == (silx_scan.number, silx_scan.order)
        assert header.scan == silx_scan.scan_header_dict
        assert header.file == silx_scan.file_header_dict
        assert header.mca == silx_scan.mca_header_dict
        assert header.labels == spec_module._column_labels(silx_scan)


def test_mca_spectra_with_continued_lines_and_calibration(tmp_path, validated):
    # As 33-ID writes them: '#@MCA 16C' format, '#@CHANN', an '@A' line before each row,
    # continued with '\' (spec help 'mca': '#@CALIB a b c').
    mca_header = "#@MCA 16C\n#@CHANN 6 0 5 1\n#@CALIB 0.5 0.01 0\n"
    rows = [f"@A {r} 1 2 3\\\n {r} 5\n{r} 1 {10 + r}" for r in range(3)]
    block = scan_block(1, "ascan  th 0 2  2 1", rows).replace("#L th", mca_header + "#L th")
    path = write_spec(tmp_path / "mca.spec", block)
    primary, events = stream(validated(ingest_spec(path)), "primary")
    assert primary["data_keys"]["mca_0"] == {
        "shape": [6], "dtype": "number", "dtype_numpy": "<f8", "source": path,
        "dims": ["mca_0_channel"], "calibration": [0.5, 0.01, 0.0],
    }
    np.testing.assert_array_equal(events[2]["data"]["mca_0"], [2, 1, 2, 3, 2, 5])
    np.testing.assert_array_equal(column(events, "Detector"), [10, 11, 12])


def test_real_file_with_mca_spectra_maps_one_key_per_device():
    path = str(SPEC2NEXUS_DATA / "mca_spectra_example.dat")
    documents = documents_of(path, "1.1")
    primary, events = stream(documents, "primary")
    silx_scan = SpecFile(path)["1.1"]
    devices = len(silx_scan.mca) // silx_scan.data.shape[1]
    assert devices == 4  # @A1 ... @A4 after each row
    mca_keys = [key for key in primary["data_keys"] if key.startswith("mca")]
    assert mca_keys == ["mca_0", "mca_1", "mca_2", "mca_3"]
    assert primary["data_keys"]["mca_2"]["shape"] == [257]
    assert primary["data_keys"]["mca_2"]["dims"] == ["mca_2_channel"]
    for row in (0, 1, len(events) - 1):
        for device in range(devices):
            np.testing.assert_array_equal(
                events[row]["data"][f"mca_{device}"], silx_scan.mca[row * devices + device]
            )
    with pytest.raises(ValueError, match="read-only"):
        events[0]["data"]["mca_0"][0] = 1


def test_real_file_with_an_extra_mca_spectrum_warns_and_keeps_the_rows_spectra():
    path = str(SPEC2NEXUS_DATA / "33id_spec.dat")
    with pytest.warns(IngestWarning, match="124 MCA spectra for 121 rows; the last 3 are left out"):
        documents = documents_of(path, "26.1")
    _, events = stream(documents, "primary")
    silx_scan = SpecFile(path)["26.1"]
    np.testing.assert_array_equal(events[120]["data"]["mca_0"], silx_scan.mca[120])


def test_real_file_cut_off_mid_row_keeps_its_rows_and_the_abort(validated):
    # CdSe scan 92: its 20th row was cut short and the abort comment run into the next line.
    path = str(SPEC2NEXUS_DATA / "CdSe")
    expected = (
        r"scan 92\.1 ends in 2 incomplete line\(s\) from line 5918 "
        r"\(has 29 values where #L names 55 columns\)"
    )
    with pytest.warns(IngestWarning, match=expected) as record:
        documents = validated(ingest_spec(path, 92))
    assert path in str(record[0].message)
    _, events = stream(documents, "primary")
    assert len(events) == 19
    stop = documents[-1][1]
    assert stop["exit_status"] == "abort"
    assert stop["reason"].endswith("Scan aborted after 19 points.")


def test_real_file_with_nan_values_keeps_them(validated):
    # Sardana's spock writes 'nan', which silx reads as 0 (silx issue #3210); #D is a Unix time.
    path = str(SPEC2NEXUS_DATA / "spec_from_spock.spc")
    documents = validated(ingest_spec(path, "1.1"))
    assert documents[0][1]["time"] == 1505468350.0
    _, events = stream(documents, "primary")
    assert np.isnan(column(events, "lks336_outputchannela")).all()
    assert SpecFile(path).data_column_by_name(0, "lks336_outputchannela")[0] == 0.0


def test_real_file_with_windows_line_ends_names_every_motor():
    path = str(SPEC2NEXUS_DATA / "xpcs_plugin_sample.spec")
    documents = documents_of(path, "130.1")
    _, (positions,) = stream(documents, "baseline")
    assert list(positions["data"])[-3:] == ["piezox", "apdlld", "piezoz"]


def test_bluesky_written_epoch_is_not_taken_for_seconds_since_the_file_opened():
    # apstools' SpecWriterCallback counts Epoch from the scan's start, not from #E.
    path = str(SPEC2NEXUS_DATA / "20220311-161530.dat")
    documents = documents_of(path, "2.1")
    start = documents[0][1]
    _, events = stream(documents, "primary")
    assert {event["time"] for event in events} == {start["time"]}


def test_all_scans_of_a_real_file_give_valid_runs(validated):
    path = str(SPEC2NEXUS_DATA / "APS_spec_data.dat")
    (source,) = expand(path)
    silx_file = SpecFile(path)
    for kwargs, key in zip(runs_in(source), silx_file.keys()):
        assert kwargs == {"scan": key}
        documents = validated(ingest_spec(path, **kwargs))
        assert documents[-1][0] == "stop"


# -- choosing a scan -----------------------------------------------------------------------


def test_a_file_of_one_scan_needs_no_scan_argument(tmp_path, validated):
    path = write_spec(tmp_path / "one.spec", ASCAN)
    assert validated(ingest_spec(path))[0][1]["scan_key"] == "1.1"


def test_several_scans_and_no_choice_names_the_file_and_says_how_to_choose(sample_spec):
    with pytest.raises(IngestError) as info:
        next(ingest_spec(sample_spec))
    assert info.value.path == sample_spec
    assert "holds 2 scans ('1.1', '2.1')" in info.value.reason
    assert "scan='<number>.<order>'" in info.value.reason


def test_repeated_scan_numbers_are_told_apart_by_order(tmp_path, validated):
    rows_a, rows_b = ["0 1 10", "1 2 11"], ["0 1 20", "1 2 21"]
    path = write_spec(
        tmp_path / "repeated.spec",
        scan_block(1, "ascan  th 0 1  1 1", rows_a),
        scan_block(1, "ascan  th 0 1  1 1", rows_b),
    )
    (source,) = expand(path)
    assert runs_in(source) == [{"scan": "1.1"}, {"scan": "1.2"}]
    first, second = validated(ingest_spec(path, "1.1")), validated(ingest_spec(path, "1.2"))
    assert first[0][1]["uid"] != second[0][1]["uid"]
    np.testing.assert_array_equal(column(stream(second, "primary")[1], "Detector"), [20, 21])
    expected = r"holds scan number 1 2 times \('1.1', '1.2'\); choose one by key"
    with pytest.raises(IngestError, match=expected):
        next(ingest_spec(path, 1))


def test_unknown_scans_are_refused_with_the_scans_there_are(sample_spec):
    for scan, message in [
        ("7.1", "has no scan '7.1'; its scans are '1.1', '2.1'"),
        (7, "has no scan number 7"),
        (1.1, "give a scan key such as '3.1'"),
    ]:
        with pytest.raises(IngestError, match=message):
            next(ingest_spec(sample_spec, scan))


def test_uid_is_deterministic_per_file_and_scan(sample_spec):
    first = next(ingest_spec(sample_spec, "1.1"))[1]["uid"]
    assert next(ingest_spec(sample_spec, 1))[1]["uid"] == first
    assert next(ingest_spec(sample_spec, "2.1"))[1]["uid"] != first


# -- how scans end ---------------------------------------------------------------------------


def test_aborted_scan_keeps_its_rows_and_stops_with_abort(tmp_path, validated):
    abort = "#C Wed Nov 03 13:50:09 2010.  Scan aborted after 2 points.\n"
    block = scan_block(1, "ascan  th 0 1  10 1", ["0 1 10", "0.1 2 11"], tail=abort)
    path = write_spec(tmp_path / "aborted.spec", block)
    documents = validated(ingest_spec(path))
    assert len(stream(documents, "primary")[1]) == 2
    stop = documents[-1][1]
    assert stop["exit_status"] == "abort"
    assert stop["reason"] == "Wed Nov 03 13:50:09 2010.  Scan aborted after 2 points."


def test_short_scan_before_a_new_file_header_was_aborted(tmp_path, validated):
    # SPEC restarted mid-scan: newfile wrote a new file header before the next scan.
    new_header = FILE_HEADER.replace("1288809574", "1288810174").replace("13:39:34", "13:49:34")
    path = write_spec(
        tmp_path / "restarted.spec",
        scan_block(1, "ascan  th 0 1  10 1", ["0 1 10", "0.1 2 11"]),
        "\n" + new_header,
        scan_block(2, "ascan  th 0 1  1 1", ["0 1 10", "1 2 11"]),
    )
    stop = validated(ingest_spec(path, 1))[-1][1]
    assert stop["exit_status"] == "abort"
    assert stop["reason"] == (
        "ended after 2 of the 11 points the command asks for; the next scan follows a new file header"
    )


def test_short_scan_followed_by_others_records_its_count(tmp_path, validated):
    # Fly scans and site macros write 'ascan ... N' headings over N rows, then go on.
    path = write_spec(
        tmp_path / "fly.spec",
        scan_block(1, "ascan  th 0 1  2 1", ["0 1 10", "0.5 2 11"], tail="#C Flyscan completed.\n"),
        scan_block(2, "ascan  th 0 1  1 1", ["0 1 10", "1 2 11"]),
    )
    stop = validated(ingest_spec(path, 1))[-1][1]
    assert stop["exit_status"] == "success"
    assert stop["reason"] == "recorded 2 of the 3 points the command asks for"


def test_short_last_scan_is_a_partial_run(tmp_path, validated):
    # A scan still being written (or SPEC stopped): the data shows no end.
    block = scan_block(1, "ascan  th 0 1  10 1", ["0 1 10", "0.1 2 11"])
    path = write_spec(tmp_path / "running.spec", block)
    with pytest.warns(IngestWarning, match=r"scan 1\.1 holds 2 of the 11 points .* ends the file"):
        documents = validated(ingest_spec(path))
    assert names(documents)[-1] == "event"


def test_row_cut_off_at_the_end_of_the_file_is_left_out_and_warned(tmp_path, validated):
    block = scan_block(1, "ascan  th 0 2  2 1", ["0 1 10", "1 2 11", "2 3"])
    path = write_spec(tmp_path / "truncated.spec", block)
    expected = (
        r"truncated.spec: scan 1\.1 ends in 1 incomplete line\(s\) from line 16 "
        r"\(has 2 values where #L names 3 columns\); they are left out"
    )
    with pytest.warns(IngestWarning, match=expected):
        documents = validated(ingest_spec(path))
    np.testing.assert_array_equal(column(stream(documents, "primary")[1], "Detector"), [10, 11])
    assert names(documents)[-1] == "event"  # no RunStop: the file ends mid-row


def test_row_with_too_few_values_before_good_rows_names_file_scan_and_line(tmp_path):
    block = scan_block(1, "ascan  th 0 2  2 1", ["0 1 10", "1 2", "2 3 12"])
    path = write_spec(tmp_path / "damaged.spec", block)
    documents = ingest_spec(path)
    next(documents)
    with pytest.raises(IngestError) as info:
        list(documents)
    assert info.value.path == path
    assert info.value.reason == "scan 1.1: line 15 has 2 values where #L names 3 columns"


def test_row_with_a_word_names_it(tmp_path):
    block = scan_block(1, "ascan  th 0 2  2 1", ["0 1 10", "1 two 11", "2 3 12"])
    path = write_spec(tmp_path / "word.spec", block)
    with pytest.raises(IngestError, match="scan 1.1: line 15 holds 'two', which is not a number"):
        list(ingest_spec(path))


def test_scan_aborted_before_its_first_point_has_a_descriptor_and_no_events(tmp_path, validated):
    abort = "#C Wed Nov 03 13:50:01 2010.  Scan aborted after 0 points.\n"
    path = write_spec(tmp_path / "empty.spec", scan_block(1, "ascan  th 0 1  10 1", [], tail=abort))
    documents = validated(ingest_spec(path))
    assert names(documents) == ["start", "descriptor", "event", "descriptor", "stop"]
    assert documents[-1][1]["exit_status"] == "abort"
    run = BlueskyRun(iter(documents))
    assert run.primary.read().sizes["time"] == 0


# -- values and keys ---------------------------------------------------------------------------


def test_labels_become_valid_unique_keys_that_keep_the_label(tmp_path, validated):
    # SQL identifiers too (tiled stores scalars in SQL tables): 2-theta and 2_theta both
    # start with a digit, and must still differ; Epoch and EPOCH differ only by case.
    labels = "I0/I00  Ch.1  I0  I0  time  2-theta  2_theta  Epoch  EPOCH"
    path = write_spec(tmp_path / "labels.spec", scan_block(1, "ct 1", ["1 2 3 4 5 6 7 8 9"], labels=labels))
    primary, (event,) = stream(validated(ingest_spec(path)), "primary")
    keys = ["I0_I00", "Ch_1", "I0", "I0_2", "time_2", "X2_theta", "X2_theta_2", "Epoch", "EPOCH_2"]
    assert list(primary["data_keys"]) == keys
    assert [primary["data_keys"][key].get("label") for key in keys] == [
        "I0/I00", "Ch.1", None, "I0", "time", "2-theta", "2_theta", None, "EPOCH"
    ]
    assert event["data"] == dict(zip(keys, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]))


def test_nan_inf_and_none_are_kept(tmp_path, validated):
    # silx reads these as 0 or skips the row; Bluesky's SPEC writer writes None for a missing reading.
    block = scan_block(1, "ct 1", ["0 nan 1", "1 2 inf", "2 None 3"])
    path = write_spec(tmp_path / "nan.spec", block)
    documents = validated(ingest_spec(path))
    _, events = stream(documents, "primary")
    np.testing.assert_array_equal(column(events, "Epoch"), [np.nan, 2, np.nan])
    np.testing.assert_array_equal(column(events, "Detector"), [1, np.inf, 3])
    # An Epoch column with gaps gives no row times: every row takes the scan's start.
    assert {event["time"] for event in events} == {documents[0][1]["time"]}


def test_single_space_labels_are_split_when_n_says_so(tmp_path):
    block = scan_block(1, "ct 1", ["1 2 3"], labels="th Epoch Detector")
    path = write_spec(tmp_path / "single.spec", block)
    primary, _ = stream(documents_of(path), "primary")
    assert list(primary["data_keys"]) == ["th", "Epoch", "Detector"]


def test_motor_positions_not_matching_the_names_are_left_out_with_a_warning(tmp_path, validated):
    block = scan_block(1, "ct 1", ["1 2 3"]).replace("#P0 1 2 3 4", "#P0 1 2 3")
    path = write_spec(tmp_path / "motors.spec", block)
    expected = r"scan 1\.1: #P0 gives 3 motor positions for 4 #O0 motor names; the motor positions are left out"
    with pytest.warns(IngestWarning, match=expected):
        documents = validated(ingest_spec(path))
    assert [doc["name"] for name, doc in documents if name == "descriptor"] == ["primary"]
    assert "motors" not in stream(documents, "primary")[0]["configuration"]


def baseline_positions(documents):
    """(SPEC motor name, position) of the baseline event, in data key order."""
    baseline, (event,) = stream(documents, "baseline")
    return [
        (data_key.get("label", key), event["data"][key]) for key, data_key in baseline["data_keys"].items()
    ]


def plain_motor_lines(path, code, scan_line):
    """The text of the ``#<code>N`` lines last written before line ``scan_line`` (from 1)
    of a file: plain text reading, independent of silx and of the ingestor."""
    lines = pathlib.Path(path).read_text(errors="replace").splitlines()[: scan_line - 1]
    found = {}
    for line in lines:
        if line.startswith(f"#{code}") and line[2:3].isdigit():
            number, _, text = line[2:].partition(" ")
            if number == "0":
                found = {}
            found[int(number)] = text
    return [found[number] for number in sorted(found)]


def test_indented_motor_position_lines_keep_all_seventy_motors(tmp_path, validated):
    # As a beamline's SPEC writes them (an APS 33-ID-style header): 70 motors over 9 '#O'
    # lines of 8, names two or more spaces apart (one holds a space), and '#P' lines
    # padded with spaces before and after the numbers; silx counts a position too many
    # for each '#P' line that ends in spaces.
    names = ["Two Theta"] + [f"m{index}" for index in range(1, 70)]
    positions = [round(0.25 * index - 3, 4) for index in range(70)]
    o_lines = [f"#O{n} " + "  ".join(names[8 * n : 8 * n + 8]) for n in range(9)]
    p_lines = [f"#P{n}    " + " ".join(f"{value:g}" for value in positions[8 * n : 8 * n + 8]) + "   " for n in range(9)]
    header = FILE_HEADER.replace("#O0 Two Theta  Theta  Chi  Phi\n#o0 tth th chi phi\n", "\n".join(o_lines) + "\n")
    block = scan_block(1, "ascan  m1 0 1 2 1", ["0 1 2", "0.5 2 3", "1 3 4"], labels="m1  Epoch  Detector")
    block = block.replace("#P0 1 2 3 4", "\n".join(p_lines))
    path = write_spec(tmp_path / "seventy.spec", block, header=header)
    silx_scan = SpecFile(path)["1.1"]
    assert len(silx_scan.motor_positions) > len(silx_scan.motor_names) == 70  # what silx gets wrong
    documents = validated(ingest_spec(path))
    assert baseline_positions(documents) == list(zip(names, positions))


def test_real_file_with_a_second_file_header_names_motors_by_the_header_in_force(validated):
    # lmn40.spe (APS 1-BM/POLAR, 1999): from scan 8 on, the scans are under a second file
    # header ('#E', no '#F') whose '#O' lines rename and add motors (13 then 17); silx
    # pairs scan 7's positions with the later names and scan 8's with the earlier ones.
    path = str(SPEC2NEXUS_DATA / "lmn40.spe")
    for scan, scan_line, next_scan_line in (("7.1", 324, 386), ("8.1", 398, 450)):
        silx_scan = SpecFile(path)[scan]
        assert len(silx_scan.motor_positions) != len(silx_scan.motor_names)
        documents = validated(ingest_spec(path, scan))
        expected_names = [
            name for text in plain_motor_lines(path, "O", scan_line) for name in re.split(r"\s{2,}", text.strip()) if name
        ]
        expected_positions = [
            float(word) for text in plain_motor_lines(path, "P", next_scan_line) for word in text.split()
        ]
        assert baseline_positions(documents) == list(zip(expected_names, expected_positions))
        assert len(expected_names) == len(expected_positions) == {"7.1": 13, "8.1": 17}[scan]
    assert expected_names[0] == "Two Theta" and expected_positions[0] == 22.118501


@pytest.mark.parametrize("scan, scan_line, next_scan_line, n_points", [("1.1", 57, 147, 51), ("2.1", 147, 227, 41)])
def test_real_4idd_file_keeps_every_motor_as_its_lines_name_it(scan, scan_line, next_scan_line, n_points, validated):
    # APS 4-ID-D (SPEC fourc, 2018), from polartools' test data (its first two scans):
    # 58 motors over 8 '#O'/'#P' lines, names with spaces up to the end of a line
    # ('PhasR2 Y', which silx reads as 'PhasR2Y'), '#P7' ending in a space.
    path = str(REAL / "pressure_calibration_scans_1_2.dat")
    documents = validated(ingest_spec(path, scan))
    names_ = [name for text in plain_motor_lines(path, "O", scan_line) for name in re.split(r"\s{2,}", text.strip())]
    values = [float(word) for text in plain_motor_lines(path, "P", next_scan_line) for word in text.split()]
    assert len(names_) == len(values) == 58 and "PhasR2 Y" in names_
    assert baseline_positions(documents) == list(zip(names_, values))
    silx_scan = SpecFile(path)[scan]
    assert "PhasR2 Y" not in silx_scan.motor_names and silx_scan.motor_positions == values
    primary, events = stream(documents, "primary")
    assert len(events) == silx_scan.data.shape[1] == n_points
    for key, data_key in primary["data_keys"].items():
        np.testing.assert_array_equal(column(events, key), silx_scan.data[silx_scan.labels.index(data_key.get("label", key))])


def test_a_later_file_header_renames_motors_and_mnemonics(tmp_path, validated):
    # As SPEC writes a new file header ('#E', no '#F') after the motor configuration changed.
    later_header = "\n#E 1288810000\n#D Wed Nov 03 13:46:40 2010\n#O0 Delta  Two Theta  Theta\n#o0 del tth th\n"
    first = scan_block(1, "ascan  tth 10 11  2 1", ["10 150 1", "10.5 151 2", "11 152 3"], labels="Two Theta  Epoch  Detector")
    second = scan_block(2, "ascan  tth 10 11  2 1", ["10 250 1", "10.5 251 2", "11 252 3"], labels="Two Theta  Epoch  Detector")
    path = write_spec(tmp_path / "renamed.spec", first + later_header + second.replace("#P0 1 2 3 4", "#P0 7 10 5"))
    first_documents = validated(ingest_spec(path, "1.1"))
    second_documents = validated(ingest_spec(path, "2.1"))
    assert baseline_positions(first_documents) == [("Two Theta", 1.0), ("Theta", 2.0), ("Chi", 3.0), ("Phi", 4.0)]
    assert baseline_positions(second_documents) == [("Delta", 7.0), ("Two Theta", 10.0), ("Theta", 5.0)]
    assert first_documents[0][1]["motors"] == second_documents[0][1]["motors"] == ["Two_Theta"]


def test_real_files_with_single_space_and_in_scan_motor_names(validated):
    # user6idd.dat (APS 6-ID-D) writes '#O' names one space apart, each line as long as
    # its '#P' line; spec_from_spock.spc (Sardana's spock) writes the '#O' lines in each scan.
    documents = validated(ingest_spec(str(SPEC2NEXUS_DATA / "user6idd.dat"), "1.1"))
    positions = baseline_positions(documents)
    assert len(positions) == 59
    assert positions[:3] == [("Delta", 0.0), ("Eta", 0.0), ("Chi", 90.0)]
    assert positions[-3:] == [("aux_th", 0.0), ("aux_x", 21.74875), ("x_detector", 0.0)]
    path = str(SPEC2NEXUS_DATA / "spec_from_spock.spc")
    silx_scan = SpecFile(path)["2.1"]
    documents = validated(ingest_spec(path, "2.1"))
    assert baseline_positions(documents) == list(zip(silx_scan.motor_names, silx_scan.motor_positions))
    assert len(silx_scan.motor_names) == 155


def test_a_motor_line_that_does_not_match_its_names_is_left_out_alone(tmp_path, validated):
    header = FILE_HEADER + "#O1 Sample X  Sample Y\n"
    block = scan_block(1, "ct 1", ["1 2 3"]).replace("#P0 1 2 3 4", "#P0 1 2 3\n#P1 7.5 -2")
    path = write_spec(tmp_path / "motors.spec", block, header=header)
    with pytest.warns(IngestWarning, match=r"#P0 gives 3 motor positions for 4 #O0 motor names; those positions"):
        documents = validated(ingest_spec(path))
    assert baseline_positions(documents) == [("Sample X", 7.5), ("Sample Y", -2.0)]


def test_unmapped_header_lines_are_kept_as_text(tmp_path):
    extra = "#UXML <group name='x'/>\n#X 300 (Setpoint)\n#T 1"
    block = scan_block(1, "ct 1", ["1 2 3"]).replace("#T 1", extra)
    header = FILE_HEADER + "#H0 SR_current  SR_fill\n"
    start = next(ingest_spec(write_spec(tmp_path / "extra.spec", block, header=header)))[1]
    assert start["spec_header"] == {"UXML": ["<group name='x'/>"], "X": ["300 (Setpoint)"]}
    assert start["spec_file_header"] == {"H0": ["SR_current  SR_fill"]}


def test_timezone_reads_dates_across_a_daylight_saving_change(tmp_path):
    # The file was opened on CDT (UTC-5); the scan ran after the change to CST (UTC-6).
    block = scan_block(1, "ct 1", ["1 2 3"], date="Mon Nov 08 10:00:00 2010")
    path = write_spec(tmp_path / "dst.spec", block)
    one_offset = next(ingest_spec(path))[1]["time"]
    zoned = next(ingest_spec(path, timezone="America/Chicago"))[1]["time"]
    utc = datetime.timezone.utc
    assert one_offset == datetime.datetime(2010, 11, 8, 15, 0, tzinfo=utc).timestamp()
    assert zoned == datetime.datetime(2010, 11, 8, 16, 0, tzinfo=utc).timestamp()
    with pytest.raises(ValueError, match="'Mars/Olympus' is not a known IANA time zone"):
        next(ingest_spec(path, timezone="Mars/Olympus"))


def test_date_without_epoch_is_local_time_of_this_computer(tmp_path):
    header = "#F noepoch\n#D Wed Nov 03 13:39:34 2010\n"
    path = write_spec(tmp_path / "noepoch.spec", scan_block(1, "ct 1", ["1 2 3"]), header=header)
    start = next(ingest_spec(path))[1]
    assert start["time"] == datetime.datetime(2010, 11, 3, 13, 50, 0).timestamp()


def test_scan_without_date_takes_the_file_time(tmp_path):
    block = scan_block(1, "ct 1", ["1 2 3"]).replace("#D Wed Nov 03 13:50:00 2010\n", "")
    path = write_spec(tmp_path / "nodate.spec", block, header="#F nodate\n")
    assert next(ingest_spec(path))[1]["time"] == os.path.getmtime(path)


# -- laziness, fsspec, catalogs, drivers ------------------------------------------------------


def test_run_start_reads_headers_only(sample_spec, monkeypatch):
    class HeadersOnly(SpecFile):
        def data(self, *args):
            raise AssertionError("data rows read")

    monkeypatch.setattr(spec_module, "SpecFile", HeadersOnly)
    monkeypatch.setattr(spec_module, "_read_block", lambda *args: 1 / 0)
    documents = ingest_spec(sample_spec, "1.1")
    name, start = next(documents)
    assert name == "start" and start["scan_id"] == 1


def test_memory_file_is_read_once_for_all_run_starts(memory_folder, count_memory_opens, validated):
    fs, root = memory_folder
    real = SPEC2NEXUS_DATA / "APS_spec_data.dat"
    fs.pipe(f"{root}/APS_spec_data.dat", real.read_bytes())
    url = f"memory://{root}/APS_spec_data.dat"
    count_memory_opens.clear()
    (source,) = expand(url)
    scans = runs_in(source)
    starts = [next(ingest_spec(source, **kwargs))[1] for kwargs in scans]
    assert len(starts) == 20
    assert dict(count_memory_opens) == {f"{root}/APS_spec_data.dat": 1}  # one read for the index

    count_memory_opens.clear()
    documents = validated(ingest_spec(url, "3.1"))
    assert sum(count_memory_opens.values()) == 1  # the block of scan 3 only
    _, events = stream(documents, "primary")
    silx_scan = SpecFile(str(real))["3.1"]
    np.testing.assert_array_equal(column(events, "I0"), silx_scan.data_column_by_name("I0"))


def test_http_files_are_read_through_a_temporary_copy(tmp_path, http_server, validated):
    write_spec(tmp_path / "served.spec", ASCAN, MESH)
    documents = validated(ingest_spec(f"{http_server}/served.spec", "2.1"))
    epochs = column(stream(documents, "primary")[1], "Epoch")
    np.testing.assert_array_equal(epochs, [330, 331, 332, 333, 334, 335])


def test_non_ascii_local_name_is_read(tmp_path, validated):
    path = write_spec(tmp_path / "échantillon.spec", ASCAN)
    documents = validated(ingest_spec(path))
    assert len(stream(documents, "primary")[1]) == 5


def test_catalog_has_a_run_per_scan_and_searches_them(
    tmp_path, sample_spec, validated, folder_snapshot
):
    write_spec(tmp_path / "other.spec", scan_block(7, "ascan  th 0 1  1 1", ["0 1 10", "1 2 11"]))
    before = folder_snapshot(tmp_path)
    catalog = BlueskyIngestCatalog(str(tmp_path / "*.spec"), "spec")
    assert len(catalog) == 3
    assert [catalog[uid].start["scan_key"] for uid in catalog] == ["7.1", "1.1", "2.1"]
    meshes = catalog.search({"plan_name": "mesh"})
    assert len(meshes) == 1
    (uid,) = list(catalog.search({"scan_id": 7}))
    validated(catalog[uid].canonical())
    np.testing.assert_array_equal(catalog[uid].primary.read()["Detector"].values, [10, 11])
    assert folder_snapshot(tmp_path) == before  # nothing written next to the data


def test_catalog_of_a_memory_folder(memory_folder):
    fs, root = memory_folder
    fs.pipe(f"{root}/a.spec", (FILE_HEADER + ASCAN + MESH).encode())
    catalog = BlueskyIngestCatalog(f"memory://{root}/*.spec", "spec")
    assert sorted(catalog[uid].start["plan_name"] for uid in catalog) == ["ascan", "mesh"]


def test_driver_round_trip(sample_spec):
    run = intake.registry["bluesky-spec"](sample_spec, scan="1.1")
    assert isinstance(run, SpecRun)
    dataset = run.primary.read()
    expected = SpecFile(sample_spec).data_column_by_name(0, "Detector")
    np.testing.assert_array_equal(dataset["Detector"].values, expected)
    assert run.baseline.read()["Theta"].values.tolist() == [5.0]


def test_registry_entry():
    assert get_spec("spec") is SPEC
    assert SPEC.runs_in is runs_in and SPEC.grouping == "file"


# -- bad input ----------------------------------------------------------------------------------


def test_not_a_spec_file_names_the_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("just some notes\nand more\n")
    with pytest.raises(IngestError, match="is not a SPEC file|is not SPEC data") as info:
        next(ingest_spec(str(path)))
    assert info.value.path == str(path)


def test_file_without_scans_says_so(tmp_path):
    path = write_spec(tmp_path / "new.spec")
    with pytest.raises(IngestError, match=r"holds no scans \(no '#S' line\)"):
        next(ingest_spec(path))


def test_missing_file_names_the_file(tmp_path):
    path = str(tmp_path / "gone.spec")
    with pytest.raises(MissingFileError) as info:
        next(ingest_spec(path))
    assert info.value.path == path


def test_file_deleted_after_listing_names_the_file(sample_spec):
    documents = ingest_spec(sample_spec, "2.1")
    next(documents)
    os.remove(sample_spec)
    with pytest.raises(MissingFileError) as info:
        list(documents)
    assert info.value.path == sample_spec


def test_file_rewritten_after_listing_is_reported(tmp_path, sample_spec):
    (source,) = expand(sample_spec)  # the listing's version of the file
    runs_in(source)
    write_spec(sample_spec, MESH.replace("#S 2", "#S 1"))  # shorter: scan 2's bytes are gone
    with pytest.raises(IngestError, match="has changed since its scans were listed") as info:
        list(ingest_spec(source, "2.1"))
    assert info.value.path == sample_spec


# -- sniffing -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "head, confidence",
    [
        (FILE_HEADER.encode(), 0.9),
        (b"#S 1  ascan  th 0 1  10 1\n#D x\n", 0.9),
        (b"# comment\n\n#S 3  ct\n", 0.9),
        (b"# counts\n#L energy  counts\n1 2\n", 0.6),
        (b"II*\x00\x08\x00\x00\x00", 0.0),
        (b"energy counts\n1 2\n", 0.0),
    ],
)
def test_sniff(head, confidence):
    assert sniff_spec(head, None) == confidence


@pytest.mark.parametrize(
    "name, matches",
    [
        ("sample.spec", True), ("fourc.dat", True), ("lmn40.spe", True), ("a.spc", True),
        ("sample.001", True), ("CdOsO", True), ("CdSe", True), ("data_2010", True),
        ("notes.md", False), ("scan_0001.tif", False), ("image.tiff", False), ("master.h5", False),
    ],
)
def test_file_names_sniffed(name, matches):
    assert SPEC.matches_name(f"/data/{name}") is matches


def test_sniff_recognises_every_real_file():
    for path in SPEC2NEXUS_DATA.iterdir():
        if path.suffix != ".h5" and path.is_file() and path.name != "README.txt":
            (source,) = expand(str(path))
            assert SPEC.confidence(path.read_bytes()[:4096], source) >= 0.6, path.name
