"""The XRDML ingestor, on real files of X'Pert Data Collector 2.0e (XRDML 1.0, shipped with
xrdtools) and Empyrean Data Collector 5.4 (XRDML 1.6, shipped with pynxtools-xrd), and on
files written here in the XRDML schema's layout for the cases those files lack
(``counts`` and ``listPositions`` of XRDML 2.x, per-point counting times, aborted scans,
damaged and hostile XML).
"""

import datetime
import pathlib
import re
import shutil
import xml.etree.ElementTree as ElementTree

import intake
import numpy as np
import pytest

from intake_ingest import BlueskyIngestCatalog, BlueskyRun, IngestError, MissingFileError
from intake_ingest.detect import detect
from intake_ingest.drivers.xrdml import XrdmlRun
from intake_ingest.files import expand
from intake_ingest.ingestors.xrdml import XRDML, ingest_xrdml, runs_in, sniff_xrdml
from intake_ingest.registry import HEAD_BYTES, get_spec

REAL = pathlib.Path(__file__).parent.parent / "data" / "real" / "xrdml"


def events(documents):
    return [doc for name, doc in documents if name == "event"]


def column(documents, key):
    return np.array([event["data"][key] for event in events(documents)])


def plain_scans(path):
    """An independent reading with the standard library's parser: per scan, the
    intensities, the 2Theta start and end, and the time stamps."""
    root = ElementTree.parse(path).getroot()
    namespace = {"x": root.tag[1:].partition("}")[0]}
    scans = []
    for scan in root.iterfind("x:xrdMeasurement/x:scan", namespace):
        points = scan.find("x:dataPoints", namespace)
        two_theta = points.find("x:positions[@axis='2Theta']", namespace)
        scans.append(
            {
                "intensities": np.array(points.find("x:intensities", namespace).text.split(), dtype=float),
                "start": float(two_theta.find("x:startPosition", namespace).text),
                "end": float(two_theta.find("x:endPosition", namespace).text),
                "begin_time": scan.find("x:header/x:startTimeStamp", namespace).text,
                "end_time": scan.find("x:header/x:endTimeStamp", namespace).text,
            }
        )
    return scans


def xrdml(scans, *, version="2.1", measurement_type="Scan", prolog='<?xml version="1.0" encoding="UTF-8"?>\n'):
    """An XRDML document holding the given <scan> bodies (dataPoints content, status)."""
    body = "".join(
        f'<scan appendNumber="0" mode="Pre-set time" scanAxis="2Theta" status="{status}">'
        "<header><startTimeStamp>2026-11-26T10:00:00+01:00</startTimeStamp>"
        "<endTimeStamp>2026-11-26T10:10:00+01:00</endTimeStamp></header>"
        f"<dataPoints>{points}</dataPoints></scan>"
        for points, status in scans
    )
    return (
        f'{prolog}<xrdMeasurements xmlns="http://www.xrdml.com/XRDMeasurement/{version}" status="Completed">'
        "<sample type=\"To be analyzed\"><id>S-17</id><name>quartz</name></sample>"
        f'<xrdMeasurement measurementType="{measurement_type}" status="Completed">'
        '<usedWavelength intended="K-Alpha 1"><kAlpha1 unit="Angstrom">1.5405980</kAlpha1>'
        '<kAlpha2 unit="Angstrom">1.5444260</kAlpha2><ratioKAlpha2KAlpha1>0.5000</ratioKAlpha2KAlpha1></usedWavelength>'
        f"{body}</xrdMeasurement></xrdMeasurements>"
    )


LISTED = (
    '<positions axis="2Theta" unit="deg"><listPositions>10.0 10.5 11.25 12.0</listPositions></positions>'
    '<positions axis="Omega" unit="deg"><commonPosition>5.00</commonPosition></positions>'
    '<countingTimes unit="seconds">1.0 1.0 2.0 2.0</countingTimes>'
    '<counts unit="counts">10 12 40 22</counts>'
)


# ------------------------------------------------------------------ real files


@pytest.mark.parametrize("filename", ["test_scan.xrdml", "XRD-918-16_10.xrdml"])
def test_real_single_scan_files(filename, validated):
    path = REAL / filename
    (expected,) = plain_scans(path)
    (source,) = expand(str(path))
    assert runs_in(source) == [{"scan": 1}]
    documents = validated(ingest_xrdml(str(path)))
    n = expected["intensities"].size
    assert [name for name, _ in documents] == ["start", "descriptor"] + ["event"] * n + ["stop"]
    np.testing.assert_array_equal(column(documents, "intensities"), expected["intensities"])
    np.testing.assert_allclose(column(documents, "X2Theta"), np.linspace(expected["start"], expected["end"], n))
    start, stop = documents[0][1], documents[-1][1]
    assert start["num_points"] == n
    assert start["time"] == datetime.datetime.fromisoformat(expected["begin_time"]).timestamp()
    assert stop["time"] == datetime.datetime.fromisoformat(expected["end_time"]).timestamp()
    assert stop["exit_status"] == "success"
    assert start["wavelength"]["kAlpha1"] == 1.540598 and start["anode"] == "Cu"
    assert start["measurement_type"] == "Scan"
    times = [event["time"] for event in events(documents)]
    assert times == sorted(times) and start["time"] <= times[0] and times[-1] < stop["time"]


def test_real_values_for_the_xpert_file():
    documents = list(ingest_xrdml(str(REAL / "test_scan.xrdml")))
    start, descriptor = documents[0][1], documents[1][1]
    assert start["sample_id"] == "B10135" and start["scan_axis"] == "2Theta-Omega"
    assert start["software"] == "X'Pert Data Collector" and start["software_version"] == "2.0e"
    assert start["num_points"] == 750
    configuration = descriptor["configuration"]["diffractometer"]["data"]
    assert configuration == {"Phi": 0.0, "Psi": -0.6, "X": 1.17, "Y": 0.26, "Z": 9.607, "counting_time": 10.0}
    omega = column(documents, "Omega")
    assert (omega[0], omega[-1]) == (8.1243, 15.6143)
    assert set(column(documents, "beam_attenuation_factor")) == {1.0}


def test_real_area_measurement_gives_one_run_per_scan(validated):
    path = REAL / "test_area.xrdml"
    expected = plain_scans(path)
    (source,) = expand(str(path))
    assert len(expected) == 76 and runs_in(source) == [{"scan": n} for n in range(1, 77)]
    for number in (1, 40, 76):
        documents = validated(ingest_xrdml(str(path), scan=number))
        np.testing.assert_array_equal(column(documents, "intensities"), expected[number - 1]["intensities"])
        start = documents[0][1]
        assert start["scan_id"] == number and start["measurement_type"] == "Area measurement"
        assert start["measurement_step_axis"] == "Omega" and start["reflection_material"] == "SrTiO3"
    uids = {next(ingest_xrdml(str(path), scan=n))[1]["uid"] for n in range(1, 77)}
    assert len(uids) == 76


def test_real_files_are_detected_as_xrdml(tmp_path):
    for path in REAL.glob("*.xrdml"):
        shutil.copy(path, tmp_path / path.name)
        (source,) = expand(str(path))
        assert XRDML.confidence(path.read_bytes()[:HEAD_BYTES], source) == 0.98
    plan = detect(str(tmp_path), progress=False)
    assert {run.ingestor for run in plan.runs} == {"xrdml"}
    assert len(plan.runs) == 1 + 1 + 76
    assert plan.unrecognised == [] and plan.ambiguous == []


# ------------------------------------------------------------------ XRDML 2.x and edge cases written here


def test_counts_list_positions_and_counting_times(tmp_path, validated):
    path = tmp_path / "listed.xrdml"
    path.write_text(xrdml([(LISTED, "Completed")]))
    documents = validated(ingest_xrdml(str(path)))
    np.testing.assert_array_equal(column(documents, "counts"), [10, 12, 40, 22])
    np.testing.assert_array_equal(column(documents, "X2Theta"), [10.0, 10.5, 11.25, 12.0])
    assert documents[1][1]["data_keys"]["X2Theta"]["label"] == "2Theta"  # the axis as XRDML names it
    np.testing.assert_array_equal(column(documents, "counting_time"), [1, 1, 2, 2])
    start, descriptor = documents[0][1], documents[1][1]
    assert descriptor["configuration"]["diffractometer"]["data"] == {"Omega": 5.0}
    assert descriptor["hints"] == {"diffractometer": {"fields": ["counts"]}}
    assert start["sample_id"] == "S-17" and start["sample_name"] == "quartz"
    assert start["time"] == datetime.datetime(2026, 11, 26, 9, 0, tzinfo=datetime.timezone.utc).timestamp()
    assert [event["time"] - start["time"] for event in events(documents)] == [0, 150, 300, 450]


def test_aborted_scan_and_scan_choice(tmp_path):
    path = tmp_path / "two.xrdml"
    path.write_text(xrdml([(LISTED, "Completed"), (LISTED, "Aborted")]))
    with pytest.raises(IngestError, match="holds 2 scans; choose one with scan=<1...2>"):
        next(ingest_xrdml(str(path)))
    with pytest.raises(IngestError, match="has no scan 3; its scans are numbered 1 to 2"):
        next(ingest_xrdml(str(path), scan=3))
    stop = list(ingest_xrdml(str(path), scan=2))[-1][1]
    assert stop["exit_status"] == "abort" and stop["reason"] == "scan status 'Aborted'"


def test_scans_of_several_measurements_are_numbered_over_the_file(tmp_path):
    path = tmp_path / "two_measurements.xrdml"
    one = xrdml([(LISTED, "Completed")])
    measurement = one[one.index("<xrdMeasurement ") : one.index("</xrdMeasurements>")]
    second = measurement.replace('measurementType="Scan"', 'measurementType="Repeated scan"')
    second = second.replace("10 12 40 22", "1 2 3 4")
    path.write_text(one.replace("</xrdMeasurements>", second + "</xrdMeasurements>"))
    (source,) = expand(str(path))
    assert runs_in(source) == [{"scan": 1}, {"scan": 2}]
    documents = list(ingest_xrdml(str(path), scan=2))
    assert documents[0][1]["measurement_type"] == "Repeated scan"
    np.testing.assert_array_equal(column(documents, "counts"), [1, 2, 3, 4])


def test_entity_expansion_is_refused(tmp_path):
    path = tmp_path / "bomb.xrdml"
    prolog = '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>\n'
    path.write_text(xrdml([(LISTED.replace("10 12", "&lol2; 12"), "Completed")], prolog=prolog))
    with pytest.raises(IngestError, match=r"bomb\.xrdml: is refused: .*DTD"):
        next(ingest_xrdml(str(path)))


@pytest.mark.parametrize(
    "content, message",
    [
        (xrdml([(LISTED, "Completed")])[:-200], "is not well-formed XML"),
        ('<?xml version="1.0"?><catalog/>', "is XML whose root is <catalog>"),
        (xrdml([(LISTED.replace("10.0 10.5 11.25 12.0", "10 11"), "Completed")]), "2Theta lists 2 positions for 4 points"),
        (xrdml([(LISTED.replace("10 12 40 22", "10 x 40 22"), "Completed")]), "<counts> holds text that is not numbers"),
        (xrdml([(re.sub("<counts.*</counts>", "", LISTED), "Completed")]), "has neither <intensities> nor <counts>"),
        (xrdml([]), "holds no <scan>"),
    ],
)
def test_damaged_files(tmp_path, content, message):
    path = tmp_path / "damaged.xrdml"
    path.write_text(content)
    with pytest.raises(IngestError, match=re.escape(message)):
        list(ingest_xrdml(str(path)))


def test_missing_file_and_sniffer(tmp_path):
    with pytest.raises(MissingFileError):
        next(ingest_xrdml(str(tmp_path / "gone.xrdml")))
    assert sniff_xrdml(b"<?xml version='1.0'?><catalog/>", None) == 0.0
    assert sniff_xrdml(b"2theta intensity\n10 12\n", None) == 0.0


# ------------------------------------------------------------------ fsspec, driver, catalog


def test_memory_filesystem(memory_folder, validated):
    fs, root = memory_folder
    path = REAL / "test_scan.xrdml"
    fs.pipe(f"{root}/test_scan.xrdml", path.read_bytes())
    documents = validated(ingest_xrdml(f"memory://{root}/test_scan.xrdml"))
    np.testing.assert_array_equal(column(documents, "intensities"), plain_scans(path)[0]["intensities"])


def test_driver_and_catalog(tmp_path, folder_snapshot):
    assert intake.registry["bluesky-xrdml"] is XrdmlRun and get_spec("xrdml") is XRDML
    run = XrdmlRun(str(REAL / "XRD-918-16_10.xrdml"))
    assert isinstance(run, BlueskyRun)
    dataset = run.primary.read()
    assert dataset["intensities"].shape == (5027,)
    shutil.copy(REAL / "test_area.xrdml", tmp_path / "map.xrdml")
    (tmp_path / "listed.xrdml").write_text(xrdml([(LISTED, "Completed")]))
    before = folder_snapshot(tmp_path)
    catalog = BlueskyIngestCatalog(str(tmp_path / "*.xrdml"), "xrdml")
    assert len(catalog) == 77
    assert len(catalog.search({"measurement_type": "Area measurement"})) == 76
    assert folder_snapshot(tmp_path) == before


def test_axes_named_as_event_fields_or_as_the_ingestors_keys_are_renamed(tmp_path, validated):
    points = (
        '<positions axis="time" unit="s"><listPositions>0 1 2 3</listPositions></positions>'
        '<positions axis="counting_time" unit="s"><listPositions>5 6 7 8</listPositions></positions>'
        '<countingTimes unit="seconds">1.0 1.0 2.0 2.0</countingTimes>'
        '<counts unit="counts">10 12 40 22</counts>'
    )
    path = tmp_path / "clash.xrdml"
    path.write_text(xrdml([(points, "Completed")]))
    documents = validated(ingest_xrdml(str(path)))
    assert list(documents[1][1]["data_keys"]) == ["counts", "time_2", "counting_time_2", "counting_time"]
    np.testing.assert_array_equal(column(documents, "time_2"), [0, 1, 2, 3])
    np.testing.assert_array_equal(column(documents, "counting_time_2"), [5, 6, 7, 8])
    np.testing.assert_array_equal(column(documents, "counting_time"), [1, 1, 2, 2])
