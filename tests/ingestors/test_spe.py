"""The SPE ingestor, on real SPE 2.x files (written by SDT-control, shipped with pims and
sdt-python) and on files written here in the WinView 2.x and LightField 3.0 layouts.

The 2.x header offsets are those of the WinView/WinSpec manual's header structure
(``exp_sec`` at 10, ``date`` at 20, ``xdim`` 42, ``datatype`` 108, ``time_local`` 172,
``time_utc`` 179, ``Comments`` 200, ``ydim`` 656, ``NumFrames`` 1446, ``NumROI`` 1510,
``ROIinfoblk`` 1512, ``file_header_ver`` 1992, ``lastvalue`` 0x5555 at 4098); the 3.0
footer follows Princeton Instruments' "SPE 3.0 File Format Specification" (the XML
offset at 678, ``DataFormat``/``DataBlock`` with size and stride, ``Calibrations``
with ``SensorMapping`` and ``WavelengthMapping``, ``DataHistories``/``Origin``).
"""

import datetime
import pathlib
import shutil
import struct
import warnings

import intake
import numpy as np
import pytest

from intake_ingest import BlueskyIngestCatalog, BlueskyRun, IngestError, IngestWarning, MissingFileError
from intake_ingest.detect import detect
from intake_ingest.drivers.spe import WinViewSpeRun
from intake_ingest.files import expand
from intake_ingest.ingestors.spe import WINVIEW_SPE, ingest_winview_spe, sniff_spe
from intake_ingest.ingestors.spec import SPEC
from intake_ingest.registry import HEAD_BYTES, get_spec

REAL = pathlib.Path(__file__).parent.parent / "data" / "real" / "spe"
# file -> (frames, date and local time in the header, exposure time SDT-control recorded)
REAL_FILES = {
    "spestack_test.spe": (5, datetime.datetime(2015, 7, 22, 9, 40, 18), 0.004),
    "test_000_.SPE": (2, datetime.datetime(2018, 7, 2, 9, 46, 15), 0.002),
}
DTYPE_CODES = {np.dtype("<f4"): 0, np.dtype("<i4"): 1, np.dtype("<i2"): 2, np.dtype("<u2"): 3, np.dtype("<u4"): 8}


def events(documents):
    return [doc for name, doc in documents if name == "event"]


def frames_of(documents):
    return np.stack([event["data"]["image"] for event in events(documents)])


def raw_frames(path):
    """An independent reading: the 2.x header's sizes with struct, the frames with numpy."""
    content = path.read_bytes()
    xdim, ydim = struct.unpack_from("<H", content, 42)[0], struct.unpack_from("<H", content, 656)[0]
    dtype = {v: k for k, v in DTYPE_CODES.items()}[struct.unpack_from("<h", content, 108)[0]]
    n_frames = struct.unpack_from("<i", content, 1446)[0]
    return np.frombuffer(content, dtype, count=n_frames * xdim * ydim, offset=4100).reshape(n_frames, ydim, xdim)


def winview_header(shape, dtype, n_frames, *, date="26Nov2026", time_local="143005", time_utc="133005",
                   exposure=0.5, rois=((10, 41, 1, 20, 27, 1),), comments=("",), version=2.5):  # fmt: skip
    """A 4100-byte WinView/WinSpec 2.x header."""
    header = bytearray(4100)
    struct.pack_into("<f", header, 10, exposure)
    header[20:30] = date.encode().ljust(10, b"\0")
    struct.pack_into("<H", header, 42, shape[1])
    struct.pack_into("<h", header, 108, DTYPE_CODES[np.dtype(dtype)])
    header[172:179] = time_local.encode().ljust(7, b"\0")
    header[179:186] = time_utc.encode().ljust(7, b"\0")
    for index, comment in enumerate(comments):
        header[200 + 80 * index : 200 + 80 * (index + 1)] = comment.encode().ljust(80, b" ")
    struct.pack_into("<H", header, 656, shape[0])
    struct.pack_into("<i", header, 1446, n_frames)
    struct.pack_into("<h", header, 1510, len(rois))
    for index, roi in enumerate(rois):
        struct.pack_into("<6H", header, 1512 + 12 * index, *roi)
    struct.pack_into("<f", header, 1992, version)
    struct.pack_into("<H", header, 4098, 0x5555)
    return header


def write_winview(path, frames, **kwargs):
    path.write_bytes(bytes(winview_header(frames.shape[1:], frames.dtype, len(frames), **kwargs)) + frames.tobytes())
    return path


LIGHTFIELD_FOOTER = """<?xml version="1.0" encoding="utf-8"?>
<SpeFormat version="3.0" xmlns="http://www.princetoninstruments.com/spe/2009">
  <DataFormat>
    <DataBlock type="Frame" version="3.0" count="{count}" pixelFormat="MonochromeUnsigned16" size="{size}" stride="{stride}">
      <DataBlock type="Region" version="3.0" count="1" width="{width}" height="{height}" size="{size}" stride="{size}" calibrations="1,2"/>
    </DataBlock>
  </DataFormat>
  <Calibrations>
    <WavelengthMapping id="1"><Wavelength>{wavelength}</Wavelength></WavelengthMapping>
    <SensorMapping id="2" x="100" y="40" width="{sensor_width}" height="{sensor_height}" xBinning="2" yBinning="4"/>
  </Calibrations>
  <DataHistories>
    <DataHistory>
      <Origin experimentName="Raman map" created="2026-11-26T14:30:05.1234567+01:00" software="LightField" softwareVersion="6.16.1">
        <Experiment><Devices><Cameras><Camera model="PIXIS: 100BR" serialNumber="2703910001">
          <ShutterTiming><ExposureTime>250</ExposureTime></ShutterTiming>
        </Camera></Cameras></Devices></Experiment>
      </Origin>
    </DataHistory>
  </DataHistories>
</SpeFormat>
"""


def write_lightfield(path, frames, *, metadata_bytes=0, footer=LIGHTFIELD_FOOTER):
    """An SPE 3.0 file; ``metadata_bytes`` per frame stand for LightField's per-frame time stamps."""
    n, height, width = frames.shape
    size = frames[0].nbytes
    body = b"".join(frame.tobytes() + b"\xab" * metadata_bytes for frame in frames)
    header = winview_header((height, width), frames.dtype, n, version=3.0)
    struct.pack_into("<Q", header, 678, 4100 + len(body))
    text = footer.format(
        count=n, size=size, stride=size + metadata_bytes, width=width, height=height,
        sensor_width=width * 2, sensor_height=height * 4,
        wavelength=",".join(f"{500 + 0.25 * i:.2f}" for i in range(width)),
    )  # fmt: skip
    path.write_bytes(bytes(header) + body + text.encode())
    return path


@pytest.fixture
def frames():
    return np.random.default_rng(3).integers(0, 60000, size=(4, 8, 32)).astype("<u2")


# ------------------------------------------------------------------ real files


@pytest.mark.parametrize("filename", REAL_FILES)
def test_real_spe_files(filename, validated):
    path = REAL / filename
    n_frames, local_time, exposure = REAL_FILES[filename]
    expected = raw_frames(path)
    assert len(expected) == n_frames == (path.stat().st_size - 4100) // expected[0].nbytes
    documents = validated(ingest_winview_spe(str(path)))
    assert [name for name, _ in documents] == ["start", "descriptor"] + ["event"] * n_frames + ["stop"]
    np.testing.assert_array_equal(frames_of(documents), expected)
    start, descriptor = documents[0][1], documents[1][1]
    assert start["num_points"] == n_frames and start["exposure_time"] == pytest.approx(exposure)
    assert start["time"] == local_time.timestamp()  # no UTC time in the header: local time
    assert descriptor["data_keys"]["image"]["shape"] == list(expected.shape[1:])
    assert descriptor["data_keys"]["image"]["dtype_numpy"] == "<u2"
    # the ROI as the header's ROIinfoblk holds it (startx, endx, groupx, starty, endy, groupy)
    startx, endx, groupx, starty, endy, groupy = struct.unpack_from("<6H", path.read_bytes(), 1512)
    camera = descriptor["configuration"]["camera"]["data"]
    assert camera["roi"] == [[startx, starty, endx, endy]] and camera["binning"] == [[groupx, groupy]]
    assert (endx - startx + 1, endy - starty + 1) == (expected.shape[2], expected.shape[1])
    assert start["sdt_control_version"] == "2.18"


def test_real_files_are_detected_as_spe_not_spec(tmp_path):
    for filename in REAL_FILES:
        shutil.copy(REAL / filename, tmp_path / filename)
    (tmp_path / "scan.spe").write_text("#F scan.spe\n#S 1 ascan th 0 1 2 1\n#L th  I0\n0 1\n0.5 2\n1 3\n")
    plan = detect(str(tmp_path), progress=False)
    chosen = {pathlib.Path(run.files[0].url).name: run.ingestor for run in plan.runs}
    assert chosen == {"spestack_test.spe": "winview_spe", "test_000_.SPE": "winview_spe", "scan.spe": "spec"}
    for filename in REAL_FILES:
        (source,) = expand(str(tmp_path / filename))
        assert SPEC.confidence((tmp_path / filename).read_bytes()[:HEAD_BYTES], source) == 0.0


# ------------------------------------------------------------------ WinView 2.x written here


def test_winview_header_times_exposure_rois_and_comments(tmp_path, frames, validated):
    path = write_winview(
        tmp_path / "ccd.spe", frames, exposure=0.5, comments=("sample A", "", "", "", "dark subtracted"),
        rois=((10, 41, 1, 20, 27, 1), (100, 131, 2, 0, 7, 2)),
    )  # fmt: skip
    documents = validated(ingest_winview_spe(str(path)))
    np.testing.assert_array_equal(frames_of(documents), frames)
    start, descriptor = documents[0][1], documents[1][1]
    # 14:30:05 local, 13:30:05 UTC: the computer ran at UTC+1
    assert start["time"] == datetime.datetime(2026, 11, 26, 13, 30, 5, tzinfo=datetime.timezone.utc).timestamp()
    assert start["exposure_time"] == 0.5 and start["spe_version"] == 2.5
    assert start["comments"] == ["sample A", "dark subtracted"]
    camera = descriptor["configuration"]["camera"]["data"]
    assert camera["roi"] == [[10, 20, 41, 27], [100, 0, 131, 7]] and camera["binning"] == [[1, 1], [2, 2]]
    assert camera["exposure_time"] == 0.5
    assert [event["seq_num"] for event in events(documents)] == [1, 2, 3, 4]


def test_utc_time_across_midnight_and_explicit_zone(tmp_path, frames):
    # 00:30 local on the 27th is 23:30 UTC on the 26th: UTC+1
    path = write_winview(tmp_path / "late.spe", frames, date="27Nov2026", time_local="003000", time_utc="233000")
    start = next(ingest_winview_spe(str(path)))[1]
    assert start["time"] == datetime.datetime(2026, 11, 26, 23, 30, tzinfo=datetime.timezone.utc).timestamp()
    path = write_winview(tmp_path / "no_utc.spe", frames, time_utc="")
    start = next(ingest_winview_spe(str(path), timezone="America/Chicago"))[1]
    assert start["time"] == datetime.datetime(2026, 11, 26, 20, 30, 5, tzinfo=datetime.timezone.utc).timestamp()


@pytest.mark.parametrize("dtype", ["<f4", "<i4", "<i2", "<u4"])
def test_every_winview_data_type(tmp_path, dtype):
    frames = (np.arange(2 * 3 * 5) - 7).reshape(2, 3, 5).astype(dtype)
    path = write_winview(tmp_path / "typed.spe", frames)
    documents = list(ingest_winview_spe(str(path)))
    np.testing.assert_array_equal(frames_of(documents), frames)
    assert documents[1][1]["data_keys"]["image"]["dtype_numpy"] == np.dtype(dtype).str


def test_file_cut_off_after_some_frames(tmp_path, frames):
    path = write_winview(tmp_path / "cut.spe", frames)
    content = path.read_bytes()
    path.write_bytes(content[: 4100 + 2 * frames[0].nbytes + 100])  # two frames and part of a third
    with pytest.warns(IngestWarning, match=r"cut\.spe: .*claims there are 4 frames, but there are actually 2"):
        documents = list(ingest_winview_spe(str(path)))
    np.testing.assert_array_equal(frames_of(documents), frames[:2])
    assert documents[0][1]["num_points"] == 2


# ------------------------------------------------------------------ LightField 3.0 written here


@pytest.mark.parametrize("metadata_bytes", [0, 16])
def test_lightfield_footer_and_frame_stride(tmp_path, frames, metadata_bytes, validated):
    path = write_lightfield(tmp_path / "raman.spe", frames, metadata_bytes=metadata_bytes)
    documents = validated(ingest_winview_spe(str(path)))
    np.testing.assert_array_equal(frames_of(documents), frames)
    start, descriptor = documents[0][1], documents[1][1]
    assert start["spe_version"] == 3.0 and start["software"] == "LightField"
    assert start["exposure_time"] == 0.25  # LightField writes milliseconds
    assert start["camera_model"] == "PIXIS: 100BR" and start["experiment_name"] == "Raman map"
    created = datetime.datetime(2026, 11, 26, 13, 30, 5, 123456, tzinfo=datetime.timezone.utc)
    assert start["time"] == created.timestamp()
    camera = descriptor["configuration"]["camera"]["data"]
    assert camera["roi"] == [[100, 40, 100 + 64 - 1, 40 + 32 - 1]] and camera["binning"] == [[2, 4]]
    np.testing.assert_allclose(camera["wavelength"], 500 + 0.25 * np.arange(32))


def test_lightfield_footer_with_a_dtd_is_refused(tmp_path, frames):
    footer = '<?xml version="1.0"?>\n<!DOCTYPE SpeFormat [<!ENTITY big "xxxxxxxx">]>\n' + LIGHTFIELD_FOOTER.split("\n", 1)[1]
    path = write_lightfield(tmp_path / "dtd.spe", frames, footer=footer)
    with pytest.raises(IngestError, match=r"dtd\.spe: has an unreadable SPE 3.0 XML footer"):
        list(ingest_winview_spe(str(path)))


def test_lightfield_with_two_regions_is_refused(tmp_path, frames):
    footer = LIGHTFIELD_FOOTER.replace("</DataBlock>\n  </DataFormat>", '<DataBlock type="Region" width="4" height="4"/></DataBlock>\n  </DataFormat>')
    path = write_lightfield(tmp_path / "regions.spe", frames, footer=footer)
    with pytest.raises(IngestError, match="holds 2 regions per frame"):
        list(ingest_winview_spe(str(path)))


# ------------------------------------------------------------------ bad input, fsspec, driver


def test_not_an_spe_file_and_missing_file(tmp_path):
    path = tmp_path / "notes.spe"
    path.write_text("not an SPE file\n")
    (source,) = expand(str(path))
    assert sniff_spe(path.read_bytes(), source) == 0.0
    with pytest.raises(IngestError, match=r"notes\.spe: is not a readable SPE file"):
        list(ingest_winview_spe(str(path)))
    with pytest.raises(MissingFileError):
        list(ingest_winview_spe(str(tmp_path / "gone.spe")))


def test_memory_filesystem(memory_folder, validated):
    fs, root = memory_folder
    path = REAL / "test_000_.SPE"
    fs.pipe(f"{root}/test_000_.SPE", path.read_bytes())
    documents = validated(ingest_winview_spe(f"memory://{root}/test_000_.SPE"))
    np.testing.assert_array_equal(frames_of(documents), raw_frames(path))


def test_driver_and_catalog(tmp_path, frames, folder_snapshot):
    assert intake.registry["bluesky-winview-spe"] is WinViewSpeRun and get_spec("winview_spe") is WINVIEW_SPE
    run = WinViewSpeRun(str(REAL / "spestack_test.spe"))
    assert isinstance(run, BlueskyRun)
    np.testing.assert_array_equal(run.primary.read()["image"].values, raw_frames(REAL / "spestack_test.spe"))
    write_winview(tmp_path / "a.spe", frames)
    write_lightfield(tmp_path / "b.spe", frames)
    before = folder_snapshot(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        catalog = BlueskyIngestCatalog(str(tmp_path / "*.spe"), "winview_spe")
        assert sorted(catalog[uid].metadata["start"]["spe_version"] for uid in catalog) == [2.5, 3.0]
    assert folder_snapshot(tmp_path) == before
