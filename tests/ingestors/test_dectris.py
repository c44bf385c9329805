"""The Dectris PILATUS ingestors (miniCBF and TIFF), on files written as camserver writes them.

Conventions followed by the fixtures:

- The PILATUS CBF header (convention "PILATUS_1.2"), as Dectris specifies it
  (https://www.dectris.com/support/downloads/header-docs/cbf/): '# Keyword value(s)
  unit(s)' lines, values and units at fixed positions between spaces and the space-like
  characters '#=:,()'; a detector line '# Detector: PILATUS 1M, S/N 10-0111', a time
  stamp line '# 2012-05-04T15:43:28.577' (local time, no zone) and a sensor line
  '# Silicon sensor, thickness 0.000320 m'. The keyword list and formats below are those
  of a real camserver header (a PILATUS 6M file: "###CBF: VERSION 1.5, CBFlib v0.7.8 -
  PILATUS detectors", '# Exposure_time 0.9900000 s', '# Tau = 199.1e-09 s',
  '# Threshold_setting: 6000 eV', '# Gain_setting: mid gain (vrf = -0.200)',
  '# Beam_xy (1277.00, 1246.00) pixels', ...) and of the strings listed in CBFlib's
  convert_minicbf.c (from E. Eikenberry, 2007: '# Flux 0 ph/s', '# Start_angle 0.0900
  deg.', '# Oscillation_axis  X, CW').
- In a CBF file the header is the text field of '_array_data.header_contents', after
  '_array_data.header_convention "PILATUS_1.2"', before '_array_data.data' with the
  byte-offset compressed image ('conversions="x-CBF_BYTE_OFFSET"'); fabio's CbfImage
  writes exactly that layout from a header dict with those two CIF keys.
- In a TIFF file (camserver's other format), the same header text is the ImageDescription
  (tag 270), lines ending '\\r\\n' (as in fabio's pilatusimage docstring), pixels int32.
- Files are numbered name_00001.cbf, name_00002.cbf... (camserver's 5-digit numbering).
"""

import base64
import datetime
import hashlib
import os
from pathlib import Path

import dask.array as da
import fabio
import fabio.cbfimage
import fabio.pilatusimage
import intake
import numpy as np
import pytest
import tifffile

from intake_ingest import BlueskyIngestCatalog, IngestError, IngestWarning, MissingFileError
from intake_ingest.drivers.dectris import PilatusCbfRun, PilatusTiffRun
from intake_ingest.files import expand
from intake_ingest.ingestors import dectris
from intake_ingest.ingestors.dectris import (
    PILATUS_CBF,
    PILATUS_TIFF,
    ingest_pilatus_cbf,
    ingest_pilatus_tiff,
    parse_pilatus_header,
    read_cbf_header,
)
from intake_ingest.registry import get_spec, read_head
from intake_ingest.run import BlueskyRun

from .tiff_tags import declare_image_length

REAL = Path(__file__).parents[1] / "data" / "real" / "pilatus"
N_FILES = 5
SHAPE = (195, 487)  # a PILATUS 100K module
START = datetime.datetime(2012, 5, 4, 15, 43, 28, 577000)


def pilatus_header(index, *, start_angle=None, flux=None, omit=()):
    """The header camserver writes for image ``index`` of a 0.1 s/frame oscillation series."""
    taken = START + datetime.timedelta(seconds=0.1 * index)
    lines = {
        "Detector": "# Detector: PILATUS 100K, S/N 1-0111",
        "time": f"# {taken.isoformat(timespec='milliseconds')}",
        "Pixel_size": "# Pixel_size 172e-6 m x 172e-6 m",
        "sensor": "# Silicon sensor, thickness 0.000320 m",
        "Exposure_time": "# Exposure_time 0.0970000 s",
        "Exposure_period": "# Exposure_period 0.1000000 s",
        "Tau": "# Tau = 199.1e-09 s",
        "Count_cutoff": "# Count_cutoff 1077896 counts",
        "Threshold_setting": "# Threshold_setting: 6000 eV",
        "Gain_setting": "# Gain_setting: mid gain (vrf = -0.200)",
        "N_excluded_pixels": "# N_excluded_pixels = 3",
        "Excluded_pixels": "# Excluded_pixels: badpix_mask.tif",
        "Flat_field": "# Flat_field: (nil)",
        "Trim_file": "# Trim_file: p100k0111_E12000_T6000_vrf_m0p20.bin",
        "Image_path": "# Image_path: /ramdisk/lyso/",
        "Wavelength": "# Wavelength 1.0332 A",
        "Energy_range": "# Energy_range (0, 0) eV",
        "Detector_distance": "# Detector_distance 0.20000 m",
        "Detector_Voffset": "# Detector_Voffset 0.00000 m",
        "Beam_xy": "# Beam_xy (243.12, 97.50) pixels",
        "Flux": f"# Flux {flux if flux is not None else 1.2e12 * (1 - 0.01 * index):.6e} ph/s",
        "Filter_transmission": "# Filter_transmission 1.0000",
        "Start_angle": f"# Start_angle {start_angle if start_angle is not None else 0.1 * index:.4f} deg.",
        "Angle_increment": "# Angle_increment 0.1000 deg.",
        "Detector_2theta": "# Detector_2theta 0.0000 deg.",
        "Polarization": "# Polarization 0.990",
        "Alpha": "# Alpha 0.0000 deg.",
        "Kappa": "# Kappa 0.0000 deg.",
        "Phi": "# Phi 0.0000 deg.",
        "Chi": "# Chi 0.0000 deg.",
        "Oscillation_axis": "# Oscillation_axis  X, CW",
        "N_oscillations": "# N_oscillations 1",
    }
    return "\r\n".join(line for key, line in lines.items() if key not in omit)


def pilatus_image(seed, shape=SHAPE):
    """Counts as a PILATUS reads them: int32, -1 in the gaps between chips, -2 at bad pixels."""
    image = np.random.default_rng(seed).poisson(20, size=shape).astype(np.int32)
    image[:, 60:61] = -1
    image[3, 7] = -2
    return image


def write_cbf(path, image, header_text):
    """A miniCBF file as camserver writes it (header convention PILATUS_1.2, byte offset)."""
    fabio.cbfimage.CbfImage(
        data=image,
        header={"_array_data.header_convention": "PILATUS_1.2", "_array_data.header_contents": header_text},
    ).write(str(path))


def write_pilatus_tiff(path, image, header_text):
    """A TIFF file as camserver writes it: int32 pixels, the header in ImageDescription."""
    tifffile.imwrite(path, image, description=header_text + "\r\n", metadata=None)


@pytest.fixture
def cbf_series(tmp_path):
    """Five miniCBF files lyso_00001.cbf ... Returns (pattern, images, paths, header texts)."""
    folder = tmp_path / "cbf"
    folder.mkdir()
    images, paths, headers = [], [], []
    for index in range(N_FILES):
        path = folder / f"lyso_{index + 1:05d}.cbf"
        image, header = pilatus_image(index), pilatus_header(index)
        write_cbf(path, image, header)
        images.append(image)
        paths.append(str(path))
        headers.append(header)
    return str(folder / "lyso_*.cbf"), np.stack(images), paths, headers


@pytest.fixture
def tiff_series(tmp_path):
    """Five PILATUS TIFF files lyso_00001.tif ... Returns (pattern, images, paths, header texts)."""
    folder = tmp_path / "tif"
    folder.mkdir()
    images, paths, headers = [], [], []
    for index in range(N_FILES):
        path = folder / f"lyso_{index + 1:05d}.tif"
        image, header = pilatus_image(10 + index), pilatus_header(index)
        write_pilatus_tiff(path, image, header)
        images.append(image)
        paths.append(str(path))
        headers.append(header)
    return str(folder / "lyso_*.tif"), np.stack(images), paths, headers


def names(documents):
    return [name for name, _ in documents]


def events_of(documents):
    return [doc for name, doc in documents if name == "event"]


def utc(moment):
    return moment.replace(tzinfo=datetime.timezone.utc).timestamp()


INGESTORS = {"cbf": ingest_pilatus_cbf, "tif": ingest_pilatus_tiff}


@pytest.fixture(params=["cbf", "tif"])
def series(request, cbf_series, tiff_series):
    """Each format: (ingestor, pattern, images, paths, header texts)."""
    files = cbf_series if request.param == "cbf" else tiff_series
    return (INGESTORS[request.param], *files)


# -- documents --------------------------------------------------------------------------------


def test_documents_validate_and_hold_images_and_times(series, validated):
    ingest, pattern, images, paths, _ = series
    documents = validated(ingest(pattern, timezone="UTC"))
    assert names(documents) == ["start", "descriptor"] + ["event"] * N_FILES + ["stop"]
    start, descriptor = documents[0][1], documents[1][1]

    expected_uid = hashlib.sha256("".join(sorted(paths)).encode()).digest()
    assert start["uid"] == base64.urlsafe_b64encode(expected_uid).decode()
    assert start["time"] == pytest.approx(utc(START))  # the first image's time stamp
    assert start["num_points"] == N_FILES
    assert start["ingestor"] == ("pilatus_cbf" if ingest is ingest_pilatus_cbf else "pilatus_tiff")
    assert start["source"] == pattern

    assert descriptor["data_keys"]["image"] == {
        "shape": list(SHAPE),
        "dtype": "number",
        "dtype_numpy": "<i4",
        "source": pattern,
        "object_name": "detector",
    }
    events = events_of(documents)
    for index, (event, image) in enumerate(zip(events, images)):
        np.testing.assert_array_equal(event["data"]["image"], image)
        assert event["data"]["image"].dtype == np.int32
        taken = utc(START + datetime.timedelta(seconds=0.1 * index))
        assert event["time"] == pytest.approx(taken)
        assert set(event["timestamps"].values()) == {event["time"]}
    stop = documents[-1][1]
    assert stop["exit_status"] == "success" and stop["num_events"] == {"primary": N_FILES}
    assert stop["time"] >= events[-1]["time"]


def test_start_holds_the_detector(series):
    ingest, pattern, *_ = series
    start = next(ingest(pattern))[1]
    assert start["detector_model"] == "PILATUS 100K"
    assert start["detector_serial"] == "1-0111"
    assert start["pixel_size"] == [172e-6, 172e-6]
    assert start["sensor_material"] == "Silicon"
    assert start["sensor_thickness"] == 0.00032


def test_changing_values_are_event_data_constant_ones_configuration(series, validated):
    ingest, pattern, *_ = series
    documents = validated(ingest(pattern, timezone="UTC"))
    descriptor = documents[1][1]
    assert set(descriptor["data_keys"]) == {"image", "flux", "start_angle"}
    assert descriptor["data_keys"]["start_angle"] == {
        "dtype": "number",
        "dtype_numpy": "<f8",
        "shape": [],
        "units": "deg",
        "source": "PILATUS header Start_angle",
        "object_name": "detector",
        "label": "Start_angle",
    }
    assert descriptor["data_keys"]["flux"]["units"] == "ph/s"
    events = events_of(documents)
    assert [event["data"]["start_angle"] for event in events] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])

    configuration = descriptor["configuration"]["detector"]
    data, data_keys = configuration["data"], configuration["data_keys"]
    assert data["exposure_time"] == 0.097 and data_keys["exposure_time"]["units"] == "s"
    assert data["tau"] == 199.1e-09
    assert data["count_cutoff"] == 1077896 and data_keys["count_cutoff"]["dtype"] == "integer"
    assert data["threshold_setting"] == 6000 and data_keys["threshold_setting"]["units"] == "eV"
    assert data["beam_xy"] == [243.12, 97.5]
    assert data_keys["beam_xy"] == {
        "dtype": "array", "dtype_numpy": "<f8", "shape": [2], "units": "pixels",
        "source": "PILATUS header Beam_xy", "label": "Beam_xy",
    }
    assert data["wavelength"] == 1.0332 and data_keys["wavelength"]["units"] == "angstrom"
    assert data["energy_range"] == [0, 0]
    assert data["gain_setting"] == "mid gain (vrf = -0.200)"
    assert data["oscillation_axis"] == "X, CW"
    assert data["flat_field"] == "(nil)"
    assert data["detector_model"] == "PILATUS 100K"
    assert list(configuration["timestamps"].values()) == pytest.approx([utc(START)] * len(data))
    assert descriptor["hints"] == {"detector": {"fields": ["image"]}}
    assert descriptor["object_keys"] == {"detector": ["image", "flux", "start_angle"]}


def test_values_match_fabio(cbf_series, tiff_series):
    """The header as fabio reads it: CBF through CbfImage's PilatusHeader, TIFF through PilatusImage."""
    _, cbf_images, cbf_paths, _ = cbf_series
    source = expand(cbf_paths[2])[0]
    ours, shape, dtype = read_cbf_header(source, timezone="UTC")
    with fabio.open(cbf_paths[2]) as image:
        assert (shape, dtype) == (image.data.shape, image.data.dtype)
        np.testing.assert_array_equal(image.data, cbf_images[2])
        assert parse_pilatus_header(image.header["_array_data.header_contents"], "UTC") == ours
        theirs = image.pilatus_headers  # fabio's own parse of the PILATUS_1.2 convention
        assert ours.values["exposure_time"].value == theirs["Exposure_time"]
        assert ours.values["start_angle"].value == theirs["Start_angle"]
        assert ours.values["beam_xy"].value == theirs["Beam_xy"]
        assert ours.values["pixel_size"].value == theirs["Pixel_size"]
        assert (ours.values["sensor_material"].value, ours.values["sensor_thickness"].value) == theirs["sensor"]
        assert ours.values["count_cutoff"].value == theirs["Count_cutoff"]
        assert ours.values["wavelength"].value == theirs["Wavelength"]

    _, tif_images, tif_paths, _ = tiff_series
    pilatus = fabio.pilatusimage.PilatusImage().read(tif_paths[1])
    np.testing.assert_array_equal(pilatus.data, tif_images[1])
    fabio_values = dict(pilatus.header)  # keyword -> the rest of its line: '0.0970000 s'
    documents = list(ingest_pilatus_tiff(tif_paths[1]))
    np.testing.assert_array_equal(documents[2][1]["data"]["image"], pilatus.data)
    config = documents[1][1]["configuration"]["detector"]["data"]
    for keyword in ("Exposure_time", "Start_angle", "Threshold_setting", "Detector_distance", "Tau"):
        assert config[keyword.lower()] == float(fabio_values[keyword].split()[0])
    assert config["count_cutoff"] == int(fabio_values["Count_cutoff"].split()[0])


def test_header_parsing_of_every_kind_of_line():
    header = parse_pilatus_header(pilatus_header(0), timezone="UTC")
    values = {key: value.value for key, value in header.values.items()}
    units = {key: value.units for key, value in header.values.items() if value.units}
    assert header.time == pytest.approx(utc(START))
    assert values["pixel_size"] == (172e-6, 172e-6) and units["pixel_size"] == "m"
    assert values["n_excluded_pixels"] == 3
    assert values["excluded_pixels"] == "badpix_mask.tif"
    assert values["image_path"] == "/ramdisk/lyso/"
    assert values["flux"] == 1.2e12 and units["flux"] == "ph/s"
    assert values["filter_transmission"] == 1.0 and "filter_transmission" not in units
    assert values["n_oscillations"] == 1
    assert header.sources["sensor_thickness"] == "PILATUS header sensor"
    # Older camserver: the 2007 time format, 'SN:' for the serial number.
    old = parse_pilatus_header("# Detector: PILATUS 6M SN: 60-0001\n# 2007/Jun/17 15:12:36.928\n", "UTC")
    assert old.values["detector_model"].value == "PILATUS 6M"
    assert old.values["detector_serial"].value == "60-0001"
    assert old.time == pytest.approx(utc(datetime.datetime(2007, 6, 17, 15, 12, 36, 928000)))
    # No serial number: the whole line is the model.
    assert parse_pilatus_header("# Detector: PILATUS 6MF-0109").values["detector_model"].value == "PILATUS 6MF-0109"
    # A time stamp in no known format is kept as text.
    odd = parse_pilatus_header("# 2012-05-04 at 15:43")
    assert odd.time is None and odd.values["timestamp"].value == "2012-05-04 at 15:43"


def test_times_are_local_unless_a_zone_is_given(cbf_series):
    pattern = cbf_series[0]
    local = next(ingest_pilatus_cbf(pattern))[1]["time"]
    assert local == pytest.approx(START.timestamp())  # naive: this computer's local time
    zurich = next(ingest_pilatus_cbf(pattern, timezone="Europe/Zurich"))[1]["time"]
    assert zurich == pytest.approx(utc(START) - 2 * 3600)  # CEST is UTC+2 in May
    with pytest.raises(ValueError, match="Mars/Olympus"):
        next(ingest_pilatus_cbf(pattern, timezone="Mars/Olympus"))


def test_uid_is_deterministic(cbf_series):
    pattern, _, paths, _ = cbf_series
    first = next(ingest_pilatus_cbf(pattern))[1]["uid"]
    assert next(ingest_pilatus_cbf(list(reversed(paths))))[1]["uid"] == first
    assert next(ingest_pilatus_cbf(paths[:-1]))[1]["uid"] != first


def test_event_arrays_are_read_only(series):
    ingest, pattern, *_ = series
    event = events_of(ingest(pattern))[0]
    with pytest.raises(ValueError, match="read-only"):
        event["data"]["image"][0, 0] = 1


# -- what is read when -----------------------------------------------------------------------


def copy_to_memory(paths, memory_folder):
    fs, root = memory_folder
    for path in paths:
        fs.pipe(f"{root}/{os.path.basename(path)}", Path(path).read_bytes())
    return fs, root


def test_start_reads_only_the_first_files_header(cbf_series, memory_folder, count_memory_opens, monkeypatch):
    _, _, paths, _ = cbf_series
    fs, root = copy_to_memory(paths, memory_folder)
    monkeypatch.setattr(fabio.cbfimage.CbfImage, "read", lambda *a, **k: 1 / 0)
    count_memory_opens.clear()
    name, start = next(ingest_pilatus_cbf(f"memory://{root}/lyso_*.cbf"))
    assert name == "start" and start["detector_model"] == "PILATUS 100K"
    assert dict(count_memory_opens) == {f"{root}/lyso_00001.cbf": 1}


def test_start_of_a_tiff_series_reads_no_pixels(tiff_series, monkeypatch):
    pattern = tiff_series[0]
    monkeypatch.setattr(tifffile.TiffPageSeries, "asarray", lambda *a, **k: 1 / 0)
    assert next(ingest_pilatus_tiff(pattern))[1]["detector_model"] == "PILATUS 100K"


def test_lazy_reads_headers_while_generating_and_pixels_on_compute(
    cbf_series, memory_folder, count_memory_opens, validated
):
    _, images, paths, _ = cbf_series
    fs, root = copy_to_memory(paths, memory_folder)
    count_memory_opens.clear()
    documents = validated(ingest_pilatus_cbf(f"memory://{root}/lyso_*.cbf", lazy=True, timezone="UTC"))
    # Each file's header once (its first 4 KB), the first also for the RunStart; no whole file.
    assert sum(count_memory_opens.values()) == N_FILES + 1
    events = events_of(documents)
    assert all(isinstance(event["data"]["image"], da.Array) for event in events)
    assert [event["data"]["start_angle"] for event in events] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
    np.testing.assert_array_equal(np.stack([event["data"]["image"].compute() for event in events]), images)


def test_lazy_tiff_series(tiff_series, validated):
    pattern, images, paths, _ = tiff_series
    events = events_of(validated(ingest_pilatus_tiff(pattern, lazy=True)))
    np.testing.assert_array_equal(np.stack([event["data"]["image"].compute() for event in events]), images)
    tifffile.imwrite(paths[1], images[1][:5])
    with pytest.raises(IngestError, match="shape") as info:
        events[1]["data"]["image"].compute()
    assert info.value.path == paths[1]


@pytest.mark.parametrize("lazy", [False, True])
def test_memory_filesystem(series, memory_folder, lazy):
    ingest, _, images, paths, _ = series
    fs, root = copy_to_memory(paths, memory_folder)
    extension = os.path.splitext(paths[0])[1]
    events = events_of(ingest(f"memory://{root}/lyso_*{extension}", lazy=lazy))
    np.testing.assert_array_equal(np.stack([np.asarray(event["data"]["image"]) for event in events]), images)


@pytest.mark.parametrize("lazy", [False, True])
def test_over_http_even_without_range_requests(series, http_server, validated, lazy):
    """Python's http.server answers no range requests: where seeking fails, whole files are read."""
    ingest, _, images, paths, _ = series
    folder = os.path.basename(os.path.dirname(paths[0]))
    urls = [f"{http_server}/{folder}/{os.path.basename(path)}" for path in paths]
    # Blocks smaller than a file, so that reading a TIFF's IFD must seek past the first one.
    documents = validated(ingest(urls, lazy=lazy, timezone="UTC", storage_options={"block_size": 512}))
    assert documents[0][1]["detector_model"] == "PILATUS 100K"
    events = events_of(documents)
    np.testing.assert_array_equal(np.stack([np.asarray(event["data"]["image"]) for event in events]), images)


def test_files_are_read_in_numeric_order(tmp_path):
    """camserver pads to 5 digits, but a user's own numbering may not pad at all."""
    for number in (1, 2, 9, 10, 11):
        write_cbf(tmp_path / f"x_{number}.cbf", pilatus_image(number), pilatus_header(number))
    events = events_of(ingest_pilatus_cbf(str(tmp_path / "x_*.cbf")))
    assert [event["data"]["start_angle"] for event in events] == pytest.approx([0.1, 0.2, 0.9, 1.0, 1.1])


# -- intake, catalogs, the registry ------------------------------------------------------------


def test_driver_round_trip(cbf_series, tiff_series):
    for driver, (pattern, images, *_) in [
        ("bluesky-pilatus-cbf", cbf_series),
        ("bluesky-pilatus-tiff", tiff_series),
    ]:
        run = intake.registry[driver](pattern, timezone="UTC")
        assert isinstance(run, BlueskyRun)
        dataset = run.primary.read()
        np.testing.assert_array_equal(dataset["image"].values, images)
        np.testing.assert_allclose(dataset["start_angle"].values, [0.0, 0.1, 0.2, 0.3, 0.4])
        assert run.metadata["start"]["detector_model"] == "PILATUS 100K"
    assert PilatusCbfRun.name == "bluesky-pilatus-cbf" and PilatusTiffRun.name == "bluesky-pilatus-tiff"
    lazy = PilatusCbfRun(cbf_series[0], lazy=True).primary.to_dask()
    np.testing.assert_array_equal(lazy["image"].values, cbf_series[1])


def test_catalog_of_a_folder_makes_one_run_per_series(cbf_series, validated):
    pattern, _, paths, _ = cbf_series
    folder = os.path.dirname(paths[0])
    for number in (1, 2):
        write_cbf(os.path.join(folder, f"dark_{number:05d}.cbf"), np.zeros(SHAPE, np.int32), pilatus_header(0))
    catalog = BlueskyIngestCatalog(os.path.join(folder, "*.cbf"), "pilatus_cbf", group_by="prefix")
    assert len(catalog) == 2
    for uid in catalog:
        validated(catalog[uid].canonical(fill="yes"))
    sizes = sorted(catalog[uid].primary.read().sizes["time"] for uid in catalog)
    assert sizes == [2, N_FILES]
    with pytest.raises(IngestError, match="2 series") as info:
        next(ingest_pilatus_cbf(os.path.join(folder, "*.cbf")))
    assert "group_by='prefix'" in str(info.value)


def test_specs_are_registered():
    assert get_spec("pilatus_cbf") is PILATUS_CBF
    assert get_spec("pilatus_tiff") is PILATUS_TIFF
    assert PILATUS_CBF.grouping == PILATUS_TIFF.grouping == "prefix"
    assert PILATUS_CBF.matches_name("/data/lyso_00001.cbf")
    assert PILATUS_TIFF.matches_name("/data/lyso_00001.tif")


def test_sniffers(cbf_series, tiff_series, tmp_path):
    cbf = expand(cbf_series[2][0])[0]
    tif = expand(tiff_series[2][0])[0]
    assert PILATUS_CBF.confidence(read_head(cbf), cbf) == 0.95
    assert PILATUS_TIFF.confidence(read_head(tif), tif) == 0.8
    # Beyond the head the sniffer reads the ImageDescription from the first IFD.
    assert dectris.sniff_pilatus_tiff(read_head(tif)[:8], tif) == 0.8
    plain = tmp_path / "plain_00001.tif"
    tifffile.imwrite(plain, np.zeros((4, 4), np.uint16))
    plain_source = expand(str(plain))[0]
    assert PILATUS_TIFF.confidence(read_head(plain_source), plain_source) == 0.0
    assert dectris.sniff_pilatus_cbf(read_head(plain_source), plain_source) == 0.0
    other_cbf = tmp_path / "other.cbf"
    fabio.cbfimage.CbfImage(data=np.zeros((4, 4), np.int32)).write(str(other_cbf))
    other_source = expand(str(other_cbf))[0]
    assert dectris.sniff_pilatus_cbf(read_head(other_source), other_source) == 0.3
    assert dectris.sniff_pilatus_cbf(b"not a CBF", other_source) == 0.0


# -- bad input -----------------------------------------------------------------------------------


def test_truncated_cbf_names_the_file(cbf_series):
    pattern, _, paths, _ = cbf_series
    contents = Path(paths[3]).read_bytes()
    Path(paths[3]).write_bytes(contents[:-2000])
    with pytest.raises(IngestError, match="truncated") as info:
        list(ingest_pilatus_cbf(pattern))
    assert info.value.path == paths[3]
    assert "Traceback" not in str(info.value)


def test_cbf_truncated_inside_its_header_names_the_file(cbf_series):
    """fabio would wait forever for the binary section's start bytes; this is an error."""
    pattern, _, paths, _ = cbf_series
    contents = Path(paths[2]).read_bytes()
    Path(paths[2]).write_bytes(contents[: contents.index(b"X-Binary-Size:")])
    for lazy in (False, True):
        with pytest.raises(IngestError, match="binary data section") as info:
            list(ingest_pilatus_cbf(pattern, lazy=lazy))
        assert info.value.path == paths[2]


def test_damaged_cbf_data_fails_its_checksum(cbf_series):
    pattern, _, paths, _ = cbf_series
    contents = bytearray(Path(paths[1]).read_bytes())
    contents[-100] ^= 0xFF
    Path(paths[1]).write_bytes(bytes(contents))
    with pytest.raises(IngestError, match="MD5") as info:
        list(ingest_pilatus_cbf(pattern))
    assert info.value.path == paths[1]


def test_file_that_is_not_a_cbf_names_it(cbf_series):
    pattern, _, paths, _ = cbf_series
    Path(paths[4]).write_bytes(b"this is not a CBF file\n")
    with pytest.raises(IngestError, match="not a CBF file") as info:
        list(ingest_pilatus_cbf(pattern))
    assert info.value.path == paths[4]


def test_unreadable_first_file_still_lists_and_fails_on_read(cbf_series):
    pattern, _, paths, _ = cbf_series
    Path(paths[0]).write_bytes(b"###CBF: VERSION 1.5\r\n")
    documents = ingest_pilatus_cbf(pattern)
    start = next(documents)[1]  # what a catalog pulls to list the run
    assert start["num_points"] == N_FILES and "detector_model" not in start
    with pytest.raises(IngestError, match="binary data section") as info:
        list(documents)
    assert info.value.path == paths[0]


def test_header_missing_fields_still_ingests_with_less_metadata(tmp_path, validated):
    bare = ("Detector", "time", "Pixel_size", "sensor", "Beam_xy", "Flux", "Start_angle")
    paths = []
    for index in range(3):
        path = tmp_path / f"bare_{index + 1:05d}.cbf"
        write_cbf(path, pilatus_image(index), pilatus_header(index, omit=bare))
        paths.append(str(path))
    documents = validated(ingest_pilatus_cbf(str(tmp_path / "bare_*.cbf")))
    start, descriptor = documents[0][1], documents[1][1]
    assert not {"detector_model", "pixel_size", "sensor_material"} & set(start)
    assert start["time"] == os.path.getmtime(paths[0])  # no time stamp line: the mtime
    assert set(descriptor["data_keys"]) == {"image"}
    assert "exposure_time" in descriptor["configuration"]["detector"]["data"]
    assert [event["time"] for event in events_of(documents)] == [os.path.getmtime(p) for p in paths]


def test_a_value_missing_from_some_files_is_nan_with_a_warning(cbf_series, validated):
    pattern, _, paths, _ = cbf_series
    write_cbf(paths[2], pilatus_image(2), pilatus_header(2, omit=("Flux",)))
    with pytest.warns(IngestWarning, match="'flux'") as record:
        documents = validated(ingest_pilatus_cbf(pattern))
    assert paths[2] in str(record[0].message)
    fluxes = [event["data"]["flux"] for event in events_of(documents)]
    assert np.isnan(fluxes[2]) and not np.isnan(fluxes[1])


def test_mixed_shapes_name_the_file_and_both_shapes(series):
    ingest, pattern, images, paths, headers = series
    writer = write_cbf if ingest is ingest_pilatus_cbf else write_pilatus_tiff
    writer(paths[3], images[3][:-1], headers[3])
    for lazy in (False, True):
        with pytest.raises(IngestError) as info:
            list(ingest(pattern, lazy=lazy))
        assert info.value.path == paths[3]
        assert str(SHAPE) in str(info.value) and str((SHAPE[0] - 1, SHAPE[1])) in str(info.value)


def test_truncated_tiff_names_the_file(tiff_series):
    pattern, _, paths, _ = tiff_series
    contents = Path(paths[2]).read_bytes()
    Path(paths[2]).write_bytes(contents[:3000])
    with pytest.raises(IngestError) as info:
        list(ingest_pilatus_tiff(pattern))
    assert info.value.path == paths[2]


def test_tiff_without_a_pilatus_header_is_read_without_metadata(tmp_path, validated):
    path = tmp_path / "plain_00001.tif"
    tifffile.imwrite(path, np.ones((4, 6), np.int32), metadata=None)
    documents = validated(ingest_pilatus_tiff(str(path)))
    assert set(documents[1][1]["data_keys"]) == {"image"}
    assert documents[1][1]["configuration"] == {"detector": {"data": {}, "timestamps": {}, "data_keys": {}}}


def test_missing_file_names_it(tmp_path):
    path = str(tmp_path / "gone_00001.cbf")
    with pytest.raises(MissingFileError) as info:
        next(ingest_pilatus_cbf(path))
    assert info.value.path == path


def test_file_deleted_after_listing_names_it(cbf_series):
    pattern, _, paths, _ = cbf_series
    documents = ingest_pilatus_cbf(pattern)
    next(documents)
    os.remove(paths[4])
    with pytest.raises(MissingFileError) as info:
        list(documents)
    assert info.value.path == paths[4]


# -- the detector line ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line, model, serial, site",
    [
        ("PILATUS 6M, S/N 60-0104, ESRF ID29", "PILATUS 6M", "60-0104", "ESRF ID29"),
        ("PILATUS 1M, S/N 10-0111", "PILATUS 1M", "10-0111", None),
        ("PILATUS 300K, S/N 3-0104, Diamond", "PILATUS 300K", "3-0104", "Diamond"),  # xia2's I19 files
        ("PILATUS 2M, S/N 24-0107 Diamond", "PILATUS 2M", "24-0107", "Diamond"),  # xia2's I04-1 header
        ("PILATUS 300K, S/N 3-0118, Universite de Geneve", "PILATUS 300K", "3-0118", "Universite de Geneve"),
        ("PILATUS 6M, S/N 60-0108, Alba", "PILATUS 6M", "60-0108", "Alba"),  # mxcube's header for ALBA
        ("PILATUS 300K, 3-0101", "PILATUS 300K", "3-0101", None),  # tifffile's Pilatus test header
        ("PILATUS 6M SN: 60-0001", "PILATUS 6M", "60-0001", None),  # camserver before 2008
        ("PILATUS3 6M, S/N: 60-0127, , SLS X06SA,", "PILATUS3 6M", "60-0127", "SLS X06SA"),
        ("PILATUS 100K, In-house (m141) Test System", "PILATUS 100K", None, "In-house (m141) Test System"),
        ("PILATUS 6MF-0109", "PILATUS 6MF-0109", None, None),
        ("EIGER 2XE 16M S/N 160-0001 Diamond", "EIGER 2XE 16M", "160-0001", "Diamond"),  # dxtbx's Eiger-to-CBF
    ],
)
def test_detector_line_gives_model_serial_and_site(line, model, serial, site):
    assert dectris.parse_detector_line(line) == (model, serial, site)
    values = parse_pilatus_header(f"# Detector: {line}\r\n").values
    parsed = {key: values[key].value for key in ("detector_model", "detector_serial", "detector_site") if key in values}
    expected = {"detector_model": model, "detector_serial": serial, "detector_site": site}
    assert parsed == {key: value for key, value in expected.items() if value is not None}


def test_tiff_model_and_date_time_tags_stand_in_for_missing_lines(tmp_path, validated):
    # camserver's TIFF writer ("TVX TIFF") puts the detector line in the Model tag and the
    # time in DateTime (as in the real Pilatus.tiff); lines of the description come first.
    tags = [(272, "s", 0, "PILATUS 300K, 3-0101, SSRL", True), (306, "s", 0, "2012:05:04 15:43:28", True)]
    image = np.arange(12, dtype=np.int32).reshape(3, 4)
    bare = tmp_path / "bare_00001.tif"
    tifffile.imwrite(bare, image, description=pilatus_header(0, omit=("Detector", "time")), metadata=None, extratags=tags)
    documents = validated(ingest_pilatus_tiff(str(bare), timezone="UTC"))
    start = documents[0][1]
    assert (start["detector_model"], start["detector_serial"], start["detector_site"]) == ("PILATUS 300K", "3-0101", "SSRL")
    assert start["time"] == utc(datetime.datetime(2012, 5, 4, 15, 43, 28))
    full = tmp_path / "full_00001.tif"
    tifffile.imwrite(full, image, description=pilatus_header(0), metadata=None, extratags=tags)
    start = next(ingest_pilatus_tiff(str(full), timezone="UTC"))[1]
    assert (start["detector_model"], start["detector_serial"]) == ("PILATUS 100K", "1-0111")
    assert "detector_site" not in start and start["time"] == pytest.approx(utc(START))


# -- real files ------------------------------------------------------------------------------------


def cbf_header_text(path):
    """The text field of '_array_data.header_contents', read as plain text (not with fabio)."""
    text = Path(path).read_bytes().split(b"--CIF-BINARY-FORMAT-SECTION--")[0].decode("ascii")
    return text.split("_array_data.header_contents")[1].split("\n;")[1]


@pytest.mark.parametrize("name, phi_increment", [("omega_scan.cbf", 0.0), ("phi_scan.cbf", 0.5)])
def test_real_cbf_files_match_fabio(name, phi_increment, validated):
    # Diamond I19's PILATUS 300K (camserver with a full-CBF template), from xia2's tests.
    path = str(REAL / name)
    documents = validated(ingest_pilatus_cbf(path, timezone="Europe/London"))
    assert [doc_name for doc_name, _ in documents] == ["start", "descriptor", "event", "stop"]
    start, descriptor, event = documents[0][1], documents[1][1], documents[2][1]
    taken = utc(datetime.datetime(2011, 7, 14, 12, 45, 19, 719000)) - 3600  # BST
    assert start["time"] == pytest.approx(taken) and event["time"] == pytest.approx(taken)
    assert (start["detector_model"], start["detector_serial"], start["detector_site"]) == (
        "PILATUS 300K", "3-0104", "Diamond",
    )
    assert start["pixel_size"] == [172e-6, 172e-6] and start["sensor_thickness"] == 0.00032
    with fabio.open(path) as image:
        fabio_image, theirs = image.data, image.pilatus_headers
    assert fabio_image.shape == (619, 487) and fabio_image.dtype == np.int32
    np.testing.assert_array_equal(event["data"]["image"], fabio_image)
    assert int(np.asarray(event["data"]["image"]).sum()) == -16611  # gaps between modules are -1
    config = descriptor["configuration"]["detector"]["data"]
    for keyword in ("Exposure_time", "Exposure_period", "Tau", "Count_cutoff", "Wavelength", "Start_angle",
                    "Angle_increment", "Detector_2theta", "Kappa", "Phi", "Phi_increment", "Chi_increment"):
        assert config[keyword.lower()] == pytest.approx(theirs[keyword]), keyword
    assert config["beam_xy"] == list(theirs["Beam_xy"])
    assert config["phi_increment"] == phi_increment
    # Lines after the text field ('# CBF_template_file', CIF items) are not header values.
    assert config["image_path"] == "/dls/i19/data/2011/cm2067-3/14072011/S/"
    assert parse_pilatus_header(cbf_header_text(path), "Europe/London").values == read_cbf_header(
        expand(path)[0], timezone="Europe/London"
    )[0].values


def test_real_header_only_cbf(tmp_path):
    # xia2's 'fred_header.cbf': the header of a Diamond I04-1 PILATUS 2M image, without
    # its binary section.
    path = str(REAL / "fred_header.cbf")
    header = parse_pilatus_header(cbf_header_text(path), timezone="Europe/London")
    values = {key: value.value for key, value in header.values.items()}
    assert (values["detector_model"], values["detector_serial"], values["detector_site"]) == (
        "PILATUS 2M", "24-0107", "Diamond",
    )
    assert values["beam_xy"] == (734.30, 839.50) and values["start_angle"] == 24.4499
    assert header.time == pytest.approx(utc(datetime.datetime(2011, 6, 29, 7, 33, 51, 394000)))
    with pytest.raises(IngestError) as info:
        list(ingest_pilatus_cbf(path))
    assert info.value.path == path


def test_real_pilatus_tiff_matches_fabio_and_tifffile(validated):
    # A PILATUS 100K TIFF as camserver writes it (the header in ImageDescription without
    # detector or time stamp lines; those in the Model and DateTime tags, "TVX TIFF"),
    # from GSECARS (APS 13-ID, Chicago), shipped with xraylarch's examples.
    path = str(REAL / "Pilatus.tiff")
    documents = validated(ingest_pilatus_tiff(path, timezone="America/Chicago"))
    start, descriptor, event = documents[0][1], documents[1][1], documents[2][1]
    assert documents[-1][0] == "stop"
    with tifffile.TiffFile(path) as tif:
        tags = tif.pages[0].tags
        assert "# Detector" not in tags["ImageDescription"].value
        assert (tags["Model"].value, tags["DateTime"].value) == ("PILATUS 100K, 1-0118, CARS", "2009:02:20 18:53:21")
    taken = utc(datetime.datetime(2009, 2, 21, 0, 53, 21))  # CST is UTC-6
    assert start["time"] == event["time"] == taken
    assert (start["detector_model"], start["detector_serial"], start["detector_site"]) == (
        "PILATUS 100K", "1-0118", "CARS",
    )
    assert descriptor["configuration"]["detector"]["data_keys"]["detector_site"]["source"] == "TIFF tag Model"
    assert start["pixel_size"] == [172e-6, 172e-6]
    stored = tifffile.imread(path)
    fabio_image = fabio.pilatusimage.PilatusImage().read(path)
    assert stored.shape == (195, 487) and stored.dtype == np.int32
    np.testing.assert_array_equal(fabio_image.data, stored)
    np.testing.assert_array_equal(event["data"]["image"], stored)
    assert int(stored.sum()) == 118542 and int(stored.max()) == 10799
    config = descriptor["configuration"]["detector"]["data"]
    fabio_values = dict(fabio_image.header)
    for keyword in ("Exposure_time", "Exposure_period", "Tau", "Threshold_setting"):
        assert config[keyword.lower()] == float(fabio_values[keyword].split()[0]), keyword
    assert config["count_cutoff"] == 239516 and config["n_excluded_pixels"] == 0
    assert config["trim_directory"] == "m231_T9p9_vrf_m0p2_071115"


def test_real_files_are_sniffed():
    for name in ("omega_scan.cbf", "phi_scan.cbf", "fred_header.cbf"):
        source = expand(str(REAL / name))[0]
        assert PILATUS_CBF.confidence(read_head(source), source) == 0.95, name
    tif = expand(str(REAL / "Pilatus.tiff"))[0]
    assert PILATUS_TIFF.confidence(read_head(tif), tif) == 0.8


@pytest.mark.parametrize("kind", ["cbf", "tif"])
def test_header_integer_beyond_int64_is_a_float_with_a_warning(kind, cbf_series, tiff_series, validated):
    pattern, _, paths, _ = cbf_series if kind == "cbf" else tiff_series
    write = write_cbf if kind == "cbf" else write_pilatus_tiff
    huge = 2**64 + 1
    text = pilatus_header(2).replace("# N_oscillations 1", f"# N_oscillations {huge}")
    write(paths[2], pilatus_image(2), text)
    for lazy in (False, True):
        with pytest.warns(IngestWarning, match=rf"N_oscillations {huge} is beyond 64-bit") as record:
            documents = validated(INGESTORS[kind](pattern, lazy=lazy))
        assert any(paths[2] in str(warning.message) for warning in record)
        values = [event["data"]["n_oscillations"] for event in events_of(documents)]
        assert values == [1.0, 1.0, float(huge), 1.0, 1.0]
        assert BlueskyRun(iter(documents)).primary.read()["n_oscillations"].dtype == np.float64


@pytest.mark.parametrize("lazy", [False, True])
def test_cbf_dimensions_beyond_its_data_are_an_error_before_allocating(cbf_series, lazy):
    pattern, _, paths, _ = cbf_series
    contents = Path(paths[0]).read_bytes()
    rows = f"X-Binary-Size-Second-Dimension: {SHAPE[0]}".encode()
    assert rows in contents
    Path(paths[0]).write_bytes(contents.replace(rows, b"X-Binary-Size-Second-Dimension: 2147483647"))
    with pytest.raises(IngestError, match=r"declares an image of shape \(2147483647, 487\) int32") as info:
        list(ingest_pilatus_cbf(pattern, lazy=lazy))
    assert info.value.path == paths[0]


@pytest.mark.parametrize("lazy", [False, True])
def test_pilatus_tiff_height_beyond_the_file_is_an_error_before_allocating(tiff_series, lazy):
    pattern, _, paths, _ = tiff_series
    declare_image_length(paths[0])
    with pytest.raises(IngestError, match=r"declares an image series of shape") as info:
        list(ingest_pilatus_tiff(pattern, lazy=lazy))
    assert info.value.path == paths[0]
