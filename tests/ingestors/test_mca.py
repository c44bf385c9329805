"""The MCA ingestor, on real Amptek spectra and PyMca's shipped spectrum, and on SPEC-style
``.mca`` files written here as PyMca writes them.

No real SPEC-style ``.mca`` file under a redistributable licence was found; the files
written here follow PyMca's writer (``McaWindow``/``ScanWindow`` "save as .mca"):
``#F``, ``#D``, a blank line, ``#S 1 <legend>``, ``#D``, ``#@MCA %16C``,
``#@CHANN n first last 1``, ``#@CALIB a b c``, then ``@A`` and 16 values a line, each
line but the last ended with ``\\``. ``#@CTIME preset live real`` is SPEC's own line.
"""

import datetime
import pathlib
import shutil

import intake
import numpy as np
import pytest
import spec2nexus

from intake_ingest import BlueskyIngestCatalog, BlueskyRun, IngestError, MissingFileError
from intake_ingest.detect import detect
from intake_ingest.drivers.mca import McaRun
from intake_ingest.files import expand
from intake_ingest.ingestors.mca import MCA, ingest_mca, layout_of, runs_in, sniff_mca
from intake_ingest.ingestors.spec import SPEC
from intake_ingest.registry import HEAD_BYTES, get_spec

REAL = pathlib.Path(__file__).parent.parent / "data" / "real" / "mca"
AMPTEK_FILES = ["minix_20kV_15uA_sdd.mca", "20241217_111314_25kV_40uA_Alwin1_0pt2mm_unfilt1.mca"]
SPEC2NEXUS_DATA = pathlib.Path(spec2nexus.__file__).parent / "data"


def names(documents):
    return [name for name, _ in documents]


def events(documents):
    return [doc for name, doc in documents if name == "event"]


def amptek_text_sections(path):
    """An independent reading of an Amptek file: header dict, counts, calibration points."""
    lines = [line.strip() for line in path.read_text("latin-1").splitlines()]
    data = lines[lines.index("<<DATA>>") + 1 : lines.index("<<END>>")]
    header = dict(line.split(" - ", 1) for line in lines[1 : lines.index("<<CALIBRATION>>")] if " - " in line)
    calibration = [
        tuple(map(float, line.split()))
        for line in lines[lines.index("<<CALIBRATION>>") + 2 : lines.index("<<ROI>>")]
    ]
    status = dict(line.split(": ", 1) for line in lines[lines.index("<<DPP STATUS>>") + 1 :] if ": " in line)
    return {key.strip(): value.strip() for key, value in header.items()}, np.array(data, dtype=np.int64), calibration, status


def pymca_spectrum(values):
    """The lines PyMca's array2SpecMca writes: '@A' and 16 values a line, continued with '\\'."""
    chunks = [" ".join(f"{v:d}" for v in values[i : i + 16]) for i in range(0, len(values), 16)]
    return "@A " + "\\\n".join(chunks) + "\n"


def pymca_file(scans):
    """A SPEC-style .mca file: scans is a list of (legend, calib, spectra, ctime or None)."""
    text = "#F /data/saved.mca\n#D Thu Nov 26 10:00:00 2026\n"
    for number, (legend, calibration, spectra, ctime) in enumerate(scans, start=1):
        text += f"\n#S {number} {legend}\n#D Thu Nov 26 10:0{number}:00 2026\n#@MCA %16C\n"
        text += f"#@CHANN {len(spectra[0])} 0 {len(spectra[0]) - 1} 1\n"
        text += "#@CALIB {:.7g} {:.7g} {:.7g}\n".format(*calibration)
        if ctime:
            text += "#@CTIME {} {} {}\n".format(*ctime)
        text += "".join(pymca_spectrum(spectrum) for spectrum in spectra)
    return text


@pytest.fixture
def pymca_mca(tmp_path):
    """Two scans: one spectrum of 100 channels with CTIME, then two spectra of 100 channels."""
    rng = np.random.default_rng(5)
    spectra = rng.integers(0, 5000, size=(3, 100))
    path = tmp_path / "saved.mca"
    path.write_text(
        pymca_file(
            [
                ("Fe foil", (0.05, 0.01, 1e-6), [spectra[0]], (10, 9.25, 10.5)),
                ("sum of two", (0.0, 0.02, 0.0), [spectra[1], spectra[2]], None),
            ]
        )
    )
    return path, spectra


# ------------------------------------------------------------------ real Amptek files


@pytest.mark.parametrize("filename", AMPTEK_FILES)
def test_real_amptek_spectrum(filename, validated):
    path = REAL / filename
    header, counts, calibration, status = amptek_text_sections(path)
    documents = validated(ingest_mca(str(path)))
    assert names(documents) == ["start", "descriptor", "event", "stop"]
    start, descriptor = documents[0][1], documents[1][1]
    (event,) = events(documents)
    assert counts.size == 2048 == descriptor["data_keys"]["mca"]["shape"][0]
    np.testing.assert_array_equal(event["data"]["mca"], counts)
    # the DPP's own count of pulses into the spectrum ('Slow Count') is the spectrum's sum
    assert event["data"]["mca"].sum() == int(status["Slow Count"])
    assert event["data"]["live_time"] == float(header["LIVE_TIME"])
    assert event["data"]["real_time"] == float(header["REAL_TIME"])
    when = datetime.datetime.strptime(header["START_TIME"], "%m/%d/%Y %H:%M:%S")
    assert start["time"] == when.timestamp()
    assert start["layout"] == "amptek" and start["device_type"] == "PX5"
    assert start["dp5_configuration"]["MCAC"] == "2048"
    configuration = descriptor["configuration"]["mca"]["data"]
    assert configuration["calibration_points"] == [list(point) for point in calibration]
    # the energy axis is the least-squares line through the calibration points
    energy = np.array(configuration["energy"])
    for channel, keV in calibration:
        assert abs(np.interp(channel, np.arange(2048), energy) - keV) < 0.1
    gain, offset = np.polyfit(*np.array(calibration).T, 1)
    np.testing.assert_allclose(energy, offset + gain * np.arange(2048))


def test_real_amptek_file_with_windows_line_ends_reads_like_unix_one(tmp_path):
    crlf = REAL / AMPTEK_FILES[0]
    assert b"\r\n" in crlf.read_bytes()
    unix = tmp_path / "unix.mca"
    unix.write_bytes(crlf.read_bytes().replace(b"\r\n", b"\n"))
    a, b = list(ingest_mca(str(crlf))), list(ingest_mca(str(unix)))
    np.testing.assert_array_equal(events(a)[0]["data"]["mca"], events(b)[0]["data"]["mca"])
    assert a[1][1]["configuration"]["mca"]["data"] == b[1][1]["configuration"]["mca"]["data"]
    assert a[0][1]["dpp_status"] == b[0][1]["dpp_status"]


def test_real_pymca_column_spectrum(validated):
    path = REAL / "XRFSpectrum.mca"
    expected = np.loadtxt(path)
    documents = validated(ingest_mca(str(path)))
    (event,) = events(documents)
    assert expected.size == 4096
    np.testing.assert_array_equal(event["data"]["mca"], expected)
    assert event["data"]["mca"].dtype == np.int64  # written as 0.00000000E+00, ... all whole
    start = documents[0][1]
    assert start["layout"] == "column"
    assert any("Co peak" in line for line in start["comments"])


# ------------------------------------------------------------------ SPEC-style, written as PyMca does


def test_pymca_style_file_one_run_per_scan(pymca_mca, validated):
    path, spectra = pymca_mca
    (source,) = expand(str(path))
    assert runs_in(source) == [{"scan": "1.1"}, {"scan": "2.1"}]
    first = validated(ingest_mca(str(path), scan="1.1"))
    second = validated(ingest_mca(str(path), scan=2))
    np.testing.assert_array_equal(events(first)[0]["data"]["mca"], spectra[0])
    np.testing.assert_array_equal([e["data"]["mca"] for e in events(second)], spectra[1:])
    start = first[0][1]
    assert start["title"] == "Fe foil" and start["scan_id"] == 1 and start["num_points"] == 1
    assert start["time"] == datetime.datetime(2026, 11, 26, 10, 1).timestamp()
    assert events(first)[0]["data"]["live_time"] == 9.25
    assert events(first)[0]["data"]["real_time"] == 10.5
    configuration = first[1][1]["configuration"]["mca"]["data"]
    channels = np.arange(100)
    np.testing.assert_allclose(configuration["energy"], 0.05 + 0.01 * channels + 1e-6 * channels**2)
    assert configuration["preset_time"] == 10
    assert "live_time" not in second[1][1]["data_keys"]  # no #@CTIME in scan 2
    assert start["uid"] != second[0][1]["uid"]


def test_spectra_match_an_independent_reading_of_the_at_lines(pymca_mca):
    path, _ = pymca_mca
    text = path.read_text().replace("\\\n", " ")
    expected = [np.array(line[2:].split(), dtype=float) for line in text.splitlines() if line.startswith("@A")]
    read = [e["data"]["mca"] for scan in ("1.1", "2.1") for e in events(list(ingest_mca(str(path), scan=scan)))]
    assert len(read) == len(expected) == 3
    for spectrum, values in zip(read, expected):
        np.testing.assert_array_equal(spectrum, values)


def test_run_start_is_made_from_the_headers_without_reading_spectra(pymca_mca, monkeypatch):
    from intake_ingest.ingestors import mca as mca_module

    def no_reading(*args):
        raise AssertionError("spectra read before the RunStart")

    monkeypatch.setattr(mca_module, "_scan_spectra", no_reading)
    start = next(ingest_mca(str(pymca_mca[0]), scan="2.1"))[1]
    assert start["num_points"] == 2 and start["title"] == "sum of two"


def test_scan_with_an_mca_header_and_no_spectrum(tmp_path):
    path = tmp_path / "empty.mca"
    path.write_text("#F x\n\n#S 1 nothing saved\n#@MCA %16C\n#@CHANN 16 0 15 1\n")
    with pytest.raises(IngestError, match=r"empty\.mca: scan 1\.1 holds no MCA spectrum"):
        list(ingest_mca(str(path)))


def test_several_scans_need_a_choice(pymca_mca):
    path, _ = pymca_mca
    with pytest.raises(IngestError, match="holds 2 spectra scans"):
        next(ingest_mca(str(path)))
    with pytest.raises(IngestError, match="has no spectra scan 7; its scans are 1.1, 2.1"):
        next(ingest_mca(str(path), scan=7))


def test_spectra_shorter_than_chann_declares_are_refused(tmp_path):
    path = tmp_path / "cut.mca"
    text = pymca_file([("cut", (0, 1, 0), [np.arange(40)], None)])
    path.write_text(text[: text.rindex("\\") + 2])  # the writer stopped after a continued line
    with pytest.raises(IngestError, match=r"cut\.mca: scan 1\.1: #@CHANN declares 40 channels"):
        list(ingest_mca(str(path)))


def test_scan_with_columns_is_left_to_the_spec_ingestor(tmp_path):
    path = tmp_path / "mixed.mca"
    spectra = pymca_file([("only spectra", (0, 1, 0), [np.arange(20)], None)])
    path.write_text(spectra + "\n#S 2 ascan x 0 1 2 1\n#L x  I0\n0 1\n@A 1 2 3\n1 2\n@A 4 5 6\n")
    (source,) = expand(str(path))
    assert runs_in(source) == [{"scan": "1.1"}]
    with pytest.raises(IngestError, match="has no spectra scan '2.1'"):
        next(ingest_mca(str(path), scan="2.1"))


# ------------------------------------------------------------------ detection against spec


def _scores(path):
    (source,) = expand(str(path))
    head = path.read_bytes()[:HEAD_BYTES]
    return MCA.confidence(head, source), SPEC.confidence(head, source)


@pytest.mark.parametrize("filename", AMPTEK_FILES + ["XRFSpectrum.mca"])
def test_real_files_are_sniffed_as_mca_not_spec(filename):
    mca_score, spec_score = _scores(REAL / filename)
    assert mca_score >= 0.5 and spec_score == 0.0


def test_spec_style_mca_beats_spec_by_more_than_the_ambiguity_margin(pymca_mca):
    from intake_ingest.detect.detection import AMBIGUITY_MARGIN

    mca_score, spec_score = _scores(pymca_mca[0])
    assert spec_score == 0.9  # the spec sniffer claims any file with #S lines
    assert mca_score - spec_score > AMBIGUITY_MARGIN


@pytest.mark.parametrize("filename", ["33id_spec.dat", "mca_spectra_example.dat"])
def test_real_spec_files_with_mca_spectra_named_mca_stay_spec(filename, tmp_path):
    """SPEC files whose scans have #L columns and @A spectra are SPEC scans, whatever their name."""
    copy = tmp_path / (pathlib.Path(filename).stem + ".mca")
    copy.write_bytes((SPEC2NEXUS_DATA / filename).read_bytes()[: 2**20])
    mca_score, spec_score = _scores(copy)
    assert mca_score == 0.0 and spec_score == 0.9
    assert layout_of(copy.read_bytes()[:HEAD_BYTES]) is None


def test_detection_over_a_folder_picks_each_ingestor(pymca_mca, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    for name in AMPTEK_FILES + ["XRFSpectrum.mca"]:
        shutil.copy(REAL / name, folder / name)
    shutil.copy(pymca_mca[0], folder / "saved.mca")
    # a SPEC file with #L columns and MCA spectra, under an .mca name (its first scans only)
    content = (SPEC2NEXUS_DATA / "33id_spec.dat").read_bytes()
    (folder / "33id_spec.mca").write_bytes(content[: content.index(b"\n#S 4 ")])
    plan = detect(str(folder), progress=False)
    chosen = {}
    for run in plan.runs:
        chosen.setdefault(pathlib.Path(run.files[0].url).name, set()).add(run.ingestor)
    assert chosen == {
        "minix_20kV_15uA_sdd.mca": {"mca"},
        "20241217_111314_25kV_40uA_Alwin1_0pt2mm_unfilt1.mca": {"mca"},
        "XRFSpectrum.mca": {"mca"},
        "saved.mca": {"mca"},
        "33id_spec.mca": {"spec"},
    }
    assert sum(1 for run in plan.runs if run.files[0].url.endswith("saved.mca")) == 2  # one per scan
    assert plan.ambiguous == [] and plan.unrecognised == []


def test_sniffer_names_nothing_else():
    assert sniff_mca(b"\x00\x01binary", None) == 0.0
    assert sniff_mca(b"# a comment\nhello world\n", None) == 0.0
    assert layout_of(b"#F x\n#S 1 ascan\n#L a  b\n1 2\n") is None


# ------------------------------------------------------------------ bad input


def test_amptek_cut_off_inside_data(tmp_path):
    path = tmp_path / "cut.mca"
    content = (REAL / AMPTEK_FILES[1]).read_bytes()
    path.write_bytes(content[: content.index(b"<<END>>") - 200])
    with pytest.raises(IngestError, match=r"cut\.mca: ends inside its <<DATA>> section"):
        list(ingest_mca(str(path)))


def test_amptek_with_a_word_among_the_counts(tmp_path):
    path = tmp_path / "bad.mca"
    content = (REAL / AMPTEK_FILES[1]).read_bytes().replace(b"<<DATA>>\n0\n", b"<<DATA>>\nzero\n", 1)
    path.write_bytes(content)
    with pytest.raises(IngestError, match="holds 'zero' in its <<DATA>> section"):
        list(ingest_mca(str(path)))


def test_amptek_with_fewer_counts_than_its_configuration_says(tmp_path):
    path = tmp_path / "short.mca"
    content = (REAL / AMPTEK_FILES[1]).read_bytes().replace(b"<<DATA>>\n0\n0\n", b"<<DATA>>\n", 1)
    path.write_bytes(content)
    with pytest.raises(IngestError, match="holds 2046 counts where its configuration"):
        list(ingest_mca(str(path)))


def test_not_an_mca_file_and_missing_file(tmp_path):
    path = tmp_path / "notes.mca"
    path.write_text("measured on Tuesday\n")
    with pytest.raises(IngestError, match=r"notes\.mca: is not an MCA file"):
        list(ingest_mca(str(path)))
    with pytest.raises(MissingFileError):
        list(ingest_mca(str(tmp_path / "gone.mca")))
    with pytest.raises(IngestError, match="holds one spectrum"):
        list(ingest_mca(str(REAL / AMPTEK_FILES[0]), scan="1.1"))


# ------------------------------------------------------------------ fsspec, driver, catalog


def test_memory_filesystem(pymca_mca, memory_folder, validated):
    fs, root = memory_folder
    fs.pipe(f"{root}/saved.mca", pymca_mca[0].read_bytes())
    fs.pipe(f"{root}/amptek.mca", (REAL / AMPTEK_FILES[0]).read_bytes())
    remote = validated(ingest_mca(f"memory://{root}/saved.mca", scan="2.1"))
    np.testing.assert_array_equal([e["data"]["mca"] for e in events(remote)], pymca_mca[1][1:])
    amptek = validated(ingest_mca(f"memory://{root}/amptek.mca"))
    assert events(amptek)[0]["data"]["mca"].sum() == 65028866


def test_driver_and_catalog(pymca_mca, tmp_path, folder_snapshot):
    assert intake.registry["bluesky-mca"] is McaRun and get_spec("mca") is MCA
    run = McaRun(str(REAL / AMPTEK_FILES[1]))
    assert isinstance(run, BlueskyRun)
    dataset = run.primary.read()
    assert dataset["mca"].shape == (1, 2048)
    before = folder_snapshot(tmp_path)
    catalog = BlueskyIngestCatalog(str(tmp_path / "*.mca"), "mca")
    assert len(catalog) == 2  # one run per scan of saved.mca
    titles = sorted(catalog[uid].metadata["start"]["title"] for uid in catalog)
    assert titles == ["Fe foil", "sum of two"]
    assert folder_snapshot(tmp_path) == before
