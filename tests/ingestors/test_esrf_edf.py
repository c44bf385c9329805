"""The ESRF EDF ingestor, on files written as ESRF's SPEC, LIMA and BLISS write them.

Conventions followed by the fixtures:

- An EDF frame is an ASCII header block '{\\n', 'Key = Value ;' lines, padded with spaces
  to a multiple of 512 bytes and closed by '}\\n', then the binary data (P. Boesecke,
  "Keywords for SAXS Data in EDF Files"; P. Mikulik's pmedf_emptyHeader.m pads the same
  way). The keys that describe the data, HeaderID ('EH:000001:000000:000000'), Image,
  ByteOrder ('LowByteFirst' / 'HighByteFirst'), DataType ('UnsignedShort',
  'SignedInteger', ...), Dim_1 (fast axis), Dim_2 and Size (bytes), are written by fabio's
  EdfImage as by the ESRF writers (fabio adds EDF_DataBlockID, EDF_BinarySize and
  EDF_HeaderSize, the EDF 2 keys).
- Counters and motors as the ESRF SPEC macros write them and PyMca / silx's fabioh5 read
  them: 'counter_mne' and 'motor_mne' hold the space-separated mnemonics, 'counter_pos'
  and 'motor_pos' the values in the same order; SPEC also writes 'time' (its date(),
  'Tue Nov 26 16:02:05 2013', local time) and the count 'preset'. Beamline headers carry
  more groups of the same shape (silx issue #682: 'UB_mne'/'UB_pos',
  'sample_mne'/'sample_pos' in a medipix.edf) and free keys (fabio issue #459, an ID16A
  header: 'energy = 33.5 ;', 'dir = /data/visitor/... ;').
- A multi-frame file (LIMA, BLISS) has one header+data block per frame; fabio writes it
  with EdfImage.append_frame.
"""

import datetime
import gzip
import os
import re
from pathlib import Path

import dask.array as da
import fabio
import fabio.edfimage
import intake
import numpy as np
import pytest

from intake_ingest import BlueskyIngestCatalog, IngestError, IngestWarning, MissingFileError
from intake_ingest.drivers.esrf_edf import EsrfEdfRun
from intake_ingest.files import expand
from intake_ingest.ingestors import esrf_edf
from intake_ingest.ingestors.esrf_edf import (
    ESRF_EDF,
    ingest_esrf_edf,
    parse_edf_header,
    read_edf_layout,
)
from intake_ingest.registry import get_spec, read_head
from intake_ingest.run import BlueskyRun

REAL = Path(__file__).parents[1] / "data" / "real" / "edf"
SHAPE = (16, 24)  # Dim_2 rows of Dim_1 pixels
N_FRAMES = 6
START = datetime.datetime(2013, 11, 26, 16, 2, 5)
COUNTERS = ["sec", "mon", "det", "roi1"]
MOTORS = ["eta", "del", "chi", "phi"]


def spec_header(index, *, title="ascan eta 10.1 10.6 5 1", counters=COUNTERS, motors=MOTORS):
    """The header keys SPEC's ccd macros write for point ``index`` of an ascan of eta."""
    counter_values = [1.0, 100_000 + 17 * index, 2_000 + 3 * index, 150 + index]
    motor_values = [10.1 + 0.1 * index, 20.2, 90.0, 0.0]  # only eta moves
    return {
        "Title": title,
        "time": (START + datetime.timedelta(seconds=index)).strftime("%a %b %d %H:%M:%S %Y"),
        "preset": "1",
        "count_time": "1",
        "counter_mne": " ".join(counters),
        "counter_pos": " ".join(f"{value:g}" for value in counter_values[: len(counters)]),
        "motor_mne": " ".join(motors),
        "motor_pos": " ".join(f"{value:.4f}" for value in motor_values[: len(motors)]),
        "UB_mne": "UB0 UB1 UB2",
        "UB_pos": "1.99593e-16 2.73682e-16 -1.54",
        "energy": "8.0 keV",
        "dir": "/data/visitor/hc1234/id01/",
    }


def edf_image(seed, shape=SHAPE, dtype=np.uint16):
    return np.random.default_rng(seed).integers(0, 4000, size=shape).astype(dtype)


@pytest.fixture
def multi_frame(tmp_path):
    """One file of six frames, a scan as LIMA saves it. Returns (path, images, headers)."""
    images = [edf_image(index) for index in range(N_FRAMES)]
    headers = [spec_header(index) for index in range(N_FRAMES)]
    edf = fabio.edfimage.EdfImage(data=images[0], header=headers[0])
    for image, header in zip(images[1:], headers[1:]):
        edf.append_frame(data=image, header=header)
    path = tmp_path / "eta_scan.edf"
    edf.write(str(path))
    return str(path), np.stack(images), headers


@pytest.fixture
def edf_series(tmp_path):
    """Four single-frame files sample_0001.edf ..., one per scan point, as SPEC's ccd macros
    save them. Returns (pattern, images, paths, headers)."""
    folder = tmp_path / "series"
    folder.mkdir()
    images, paths, headers = [], [], []
    for index in range(4):
        image, header = edf_image(10 + index), spec_header(index)
        path = folder / f"sample_{index + 1:04d}.edf"
        fabio.edfimage.EdfImage(data=image, header=header).write(str(path))
        images.append(image)
        paths.append(str(path))
        headers.append(header)
    return str(folder / "sample_*.edf"), np.stack(images), paths, headers


def handwritten_frame(image, keys, byte_order="HighByteFirst", data_type="SignedInteger"):
    """One frame as an old ESRF writer makes it: keys, spaces to 512 bytes, '}\\n', data."""
    lines = [
        "{",
        "HeaderID = EH:000001:000000:000000 ;",
        "Image = 1 ;",
        f"ByteOrder = {byte_order} ;",
        f"DataType = {data_type} ;",
        f"Dim_1 = {image.shape[1]} ;",
        f"Dim_2 = {image.shape[0]} ;",
        f"Size = {image.nbytes} ;",
        *(f"{key} = {value} ;" for key, value in keys.items()),
    ]
    text = "\n".join(lines) + "\n"
    padding = -(len(text) + 2) % 512
    order = ">" if byte_order == "HighByteFirst" else "<"
    return (text + " " * padding + "}\n").encode("ascii") + image.astype(image.dtype.newbyteorder(order)).tobytes()


def names(documents):
    return [name for name, _ in documents]


def events_of(documents):
    return [doc for name, doc in documents if name == "event"]


def utc(moment):
    return moment.replace(tzinfo=datetime.timezone.utc).timestamp()


# -- documents ------------------------------------------------------------------------------------


def test_multi_frame_file_is_one_run_one_event_per_frame(multi_frame, validated):
    path, images, headers = multi_frame
    documents = validated(ingest_esrf_edf(path, timezone="UTC"))
    assert names(documents) == ["start", "descriptor"] + ["event"] * N_FRAMES + ["stop"]
    start, descriptor = documents[0][1], documents[1][1]
    assert start["ingestor"] == "esrf_edf"
    assert start["source"] == path
    assert start["num_points"] == N_FRAMES
    assert start["title"] == "ascan eta 10.1 10.6 5 1"
    assert start["time"] == utc(START)

    assert descriptor["data_keys"]["image"] == {
        "shape": list(SHAPE), "dtype": "number", "dtype_numpy": "<u2", "source": path, "object_name": "detector",
    }
    # Every counter and motor is event data, also 'del', 'chi', 'phi', which do not move.
    assert set(descriptor["data_keys"]) == {"image", *COUNTERS, *MOTORS}
    assert descriptor["data_keys"]["eta"] == {
        "dtype": "number", "dtype_numpy": "<f8", "shape": [], "source": "EDF header motor_pos (eta)",
        "object_name": "eta",
    }
    assert descriptor["data_keys"]["mon"]["dtype"] == "integer"
    assert descriptor["object_keys"]["detector"] == ["image"]
    assert descriptor["object_keys"]["eta"] == ["eta"]

    events = events_of(documents)
    for index, event in enumerate(events):
        np.testing.assert_array_equal(event["data"]["image"], images[index])
        assert event["time"] == utc(START) + index
        assert event["data"]["eta"] == pytest.approx(10.1 + 0.1 * index)
        assert event["data"]["del"] == 20.2
        assert event["data"]["mon"] == 100_000 + 17 * index
    stop = documents[-1][1]
    assert stop["exit_status"] == "success" and stop["num_events"] == {"primary": N_FRAMES}


def test_constant_header_values_are_configuration(multi_frame):
    path, _, _ = multi_frame
    descriptor = list(ingest_esrf_edf(path))[1][1]
    configuration = descriptor["configuration"]["detector"]
    assert configuration["data"] == {
        "Title": "ascan eta 10.1 10.6 5 1",
        "preset": 1,
        "count_time": 1,
        "UB0": 1.99593e-16,
        "UB1": 2.73682e-16,
        "UB2": -1.54,
        "energy": 8.0,
        "dir": "/data/visitor/hc1234/id01/",
    }
    assert configuration["data_keys"]["energy"]["units"] == "keV"
    assert configuration["data_keys"]["UB2"]["source"] == "EDF header UB_pos (UB2)"
    assert configuration["data_keys"]["dir"]["dtype"] == "string"
    # What describes the binary data (HeaderID, Image, ByteOrder, Size, EDF_*...) is left out.
    assert not {"HeaderID", "Image", "Size", "EDF_BinarySize", "ByteOrder"} & set(configuration["data"])


def test_values_match_fabio(multi_frame):
    path, _, _ = multi_frame
    documents = list(ingest_esrf_edf(path))
    events = events_of(documents)
    with fabio.open(path) as image:
        assert image.nframes == len(events)
        for index, event in enumerate(events):
            frame = image.getframe(index)
            np.testing.assert_array_equal(event["data"]["image"], frame.data)
            assert event["data"]["image"].dtype == frame.data.dtype
            counters = dict(zip(frame.header["counter_mne"].split(), frame.header["counter_pos"].split()))
            motors = dict(zip(frame.header["motor_mne"].split(), frame.header["motor_pos"].split()))
            for mnemonic, value in {**counters, **motors}.items():
                assert event["data"][mnemonic] == float(value)


def test_series_of_single_frame_files_is_one_run(edf_series, validated):
    pattern, images, paths, _ = edf_series
    documents = validated(ingest_esrf_edf(pattern, timezone="UTC"))
    start = documents[0][1]
    assert "num_points" not in start  # known only once every file's header is read
    events = events_of(documents)
    assert len(events) == 4
    np.testing.assert_array_equal(np.stack([event["data"]["image"] for event in events]), images)
    assert [event["data"]["eta"] for event in events] == pytest.approx([10.1, 10.2, 10.3, 10.4])
    assert documents[-1][1]["num_events"] == {"primary": 4}
    with fabio.open(paths[2]) as image:
        np.testing.assert_array_equal(events[2]["data"]["image"], image.data)


def test_big_endian_frames_written_by_hand(tmp_path, validated):
    images = [np.arange(-60, 60, dtype=np.int32).reshape(10, 12) * (k + 1) for k in range(2)]
    path = tmp_path / "old_writer.edf"
    path.write_bytes(b"".join(handwritten_frame(image, {"counter_mne": "mon", "counter_pos": str(k)})
                              for k, image in enumerate(images)))
    with fabio.open(str(path)) as image:
        reference = [image.get_frame(k).data for k in range(image.nframes)]
    for lazy in (False, True):
        events = events_of(validated(ingest_esrf_edf(str(path), lazy=lazy)))
        for event, image, theirs in zip(events, images, reference):
            ours = np.asarray(event["data"]["image"])
            np.testing.assert_array_equal(ours, image)
            np.testing.assert_array_equal(ours, theirs)
            assert ours.dtype == np.int32
        assert [event["data"]["mon"] for event in events] == [0, 1]


def test_header_parsing():
    header = parse_edf_header(spec_header(2), timezone="UTC")
    assert header.time == utc(START) + 2
    assert header.title == "ascan eta 10.1 10.6 5 1"
    assert set(header.event_keys) == {*COUNTERS, *MOTORS}
    assert header.values["det"].value == 2006
    assert header.values["energy"].value == 8.0 and header.values["energy"].units == "keV"
    # A motor named like a counter keeps its value, under 'motor_<name>'.
    clash = parse_edf_header({"counter_mne": "th", "counter_pos": "1", "motor_mne": "th", "motor_pos": "2"})
    assert clash.values["th"].value == 1 and clash.values["motor_th"].value == 2
    # Numbers in a row are an array; a time in no known format stays a value.
    other = parse_edf_header({"center": "512.5 498.25", "time": "sometime", "name": "2000 hi!"})
    assert other.values["center"].value == (512.5, 498.25)
    # ... under 'time_2': 'time' is the event's own field.
    assert other.time is None and other.values["time_2"].value == "sometime" and "time" not in other.values
    assert other.values["name"].value == "2000 hi!"


def test_time_zone(multi_frame):
    path, _, _ = multi_frame
    assert next(ingest_esrf_edf(path))[1]["time"] == START.timestamp()  # local time
    paris = next(ingest_esrf_edf(path, timezone="Europe/Paris"))[1]["time"]
    assert paris == utc(START) - 3600  # CET is UTC+1 in November


def test_without_time_the_files_mtime_stands_in(tmp_path):
    path = tmp_path / "plain.edf"
    fabio.edfimage.EdfImage(data=edf_image(0), header={"counter_mne": "mon", "counter_pos": "3"}).write(str(path))
    documents = list(ingest_esrf_edf(str(path)))
    assert documents[0][1]["time"] == os.path.getmtime(path)
    assert events_of(documents)[0]["time"] == os.path.getmtime(path)


# -- what is read when --------------------------------------------------------------------------


def test_start_reads_headers_only(multi_frame, monkeypatch):
    path, _, _ = multi_frame
    monkeypatch.setattr(fabio.edfimage.EdfImage, "read", lambda *a, **k: 1 / 0)
    name, start = next(ingest_esrf_edf(path))
    assert name == "start" and start["num_points"] == N_FRAMES


def test_start_of_a_series_opens_only_the_first_file(edf_series, memory_folder, count_memory_opens):
    _, _, paths, _ = edf_series
    fs, root = memory_folder
    for path in paths:
        fs.pipe(f"{root}/{os.path.basename(path)}", Path(path).read_bytes())
    count_memory_opens.clear()
    next(ingest_esrf_edf(f"memory://{root}/sample_*.edf"))
    assert set(count_memory_opens) == {f"{root}/sample_0001.edf"}


def test_lazy_reads_only_headers_while_generating(multi_frame, memory_folder, count_memory_opens, validated):
    path, images, _ = multi_frame
    fs, root = memory_folder
    fs.pipe(f"{root}/scan.edf", Path(path).read_bytes())
    count_memory_opens.clear()
    documents = validated(ingest_esrf_edf(f"memory://{root}/scan.edf", lazy=True))
    assert dict(count_memory_opens) == {f"{root}/scan.edf": 1}  # one header scan
    events = events_of(documents)
    assert all(isinstance(event["data"]["image"], da.Array) for event in events)
    count_memory_opens.clear()
    np.testing.assert_array_equal(events[4]["data"]["image"].compute(), images[4])
    assert dict(count_memory_opens) == {f"{root}/scan.edf": 1}  # that frame's bytes only


@pytest.mark.parametrize("lazy", [False, True])
def test_gzipped_files_local_and_in_memory(multi_frame, memory_folder, lazy):
    path, images, _ = multi_frame
    zipped = path + ".gz"
    with open(path, "rb") as file, gzip.open(zipped, "wb") as out:
        out.write(file.read())
    fs, root = memory_folder
    fs.pipe(f"{root}/scan.edf.gz", Path(zipped).read_bytes())
    for url in (zipped, f"memory://{root}/scan.edf.gz"):
        events = events_of(ingest_esrf_edf(url, lazy=lazy))
        np.testing.assert_array_equal(np.stack([np.asarray(e["data"]["image"]) for e in events]), images)


def test_memory_series(edf_series, memory_folder):
    _, images, paths, _ = edf_series
    fs, root = memory_folder
    for path in paths:
        fs.pipe(f"{root}/{os.path.basename(path)}", Path(path).read_bytes())
    events = events_of(ingest_esrf_edf(f"memory://{root}/sample_*.edf"))
    np.testing.assert_array_equal(np.stack([event["data"]["image"] for event in events]), images)


@pytest.mark.parametrize("lazy", [False, True])
def test_over_http_even_without_range_requests(multi_frame, http_server, validated, lazy):
    """Python's http.server answers no range requests: seeking fails, the whole file is read."""
    path, images, _ = multi_frame
    url = f"{http_server}/{os.path.basename(path)}"
    # Blocks smaller than a frame, so that fsspec must seek past the first one.
    documents = validated(ingest_esrf_edf(url, lazy=lazy, timezone="UTC", storage_options={"block_size": 512}))
    events = events_of(documents)
    assert documents[0][1]["num_points"] == N_FRAMES and events[0]["time"] == utc(START)
    np.testing.assert_array_equal(np.stack([np.asarray(event["data"]["image"]) for event in events]), images)


def test_event_arrays_are_read_only(multi_frame):
    event = events_of(ingest_esrf_edf(multi_frame[0]))[0]
    with pytest.raises(ValueError, match="read-only"):
        event["data"]["image"][0, 0] = 1


# -- intake, catalogs, the registry -------------------------------------------------------------


def test_driver_round_trip(multi_frame):
    path, images, _ = multi_frame
    run = intake.registry["bluesky-esrf-edf"](path, timezone="UTC")
    assert isinstance(run, BlueskyRun)
    dataset = run.primary.read()
    np.testing.assert_array_equal(dataset["image"].values, images)
    np.testing.assert_allclose(dataset["eta"].values, [10.1, 10.2, 10.3, 10.4, 10.5, 10.6])
    assert run.metadata["start"]["num_points"] == N_FRAMES
    lazy = EsrfEdfRun(path, lazy=True).primary.to_dask()
    np.testing.assert_array_equal(lazy["image"].values, images)


def test_catalog_groups_a_series_and_keeps_a_multi_frame_file_alone(edf_series, multi_frame, validated):
    _, _, paths, _ = edf_series
    folder = os.path.dirname(paths[0])
    os.rename(multi_frame[0], os.path.join(folder, "eta_scan.edf"))
    catalog = BlueskyIngestCatalog(os.path.join(folder, "*.edf"), "esrf_edf", group_by=ESRF_EDF.grouping)
    assert len(catalog) == 2
    sizes = []
    for uid in catalog:
        validated(catalog[uid].canonical(fill="yes"))
        sizes.append(catalog[uid].primary.read().sizes["time"])
    assert sorted(sizes) == [4, N_FRAMES]


def test_spec_is_registered():
    assert get_spec("esrf_edf") is ESRF_EDF
    assert ESRF_EDF.grouping == "prefix"
    assert ESRF_EDF.matches_name("/data/img_0001.edf") and ESRF_EDF.matches_name("/data/img_0001.edf.gz")


def test_sniffer(multi_frame, tmp_path):
    path, _, _ = multi_frame
    source = expand(path)[0]
    assert ESRF_EDF.confidence(read_head(source), source) == 0.9
    zipped = tmp_path / "scan.edf.gz"
    zipped.write_bytes(gzip.compress(Path(path).read_bytes()))
    zipped_source = expand(str(zipped))[0]
    assert ESRF_EDF.confidence(read_head(zipped_source), zipped_source) == 0.9
    old = tmp_path / "old.edf"
    old.write_bytes(handwritten_frame(np.zeros((2, 2), np.int32), {}))
    assert esrf_edf.sniff_esrf_edf(old.read_bytes()[:4096], expand(str(old))[0]) == 0.9
    # d*TREK files also start with '{' (fabio tells them apart the same way).
    assert esrf_edf.sniff_esrf_edf(b"{\nHEADER_BYTES=  512;\nDIM=2;\n}", source) == 0.0
    assert esrf_edf.sniff_esrf_edf(b"just some text", source) == 0.0


# -- bad input ------------------------------------------------------------------------------------


def test_truncated_file_is_a_partial_run_with_a_warning(multi_frame, validated):
    path, images, _ = multi_frame
    contents = Path(path).read_bytes()
    Path(path).write_bytes(contents[:-100])
    with pytest.warns(IngestWarning, match="frame 6 is cut short") as record:
        documents = validated(ingest_esrf_edf(path))
    assert path in str(record[0].message) and "no RunStop" in str(record[0].message)
    assert names(documents) == ["start", "descriptor"] + ["event"] * (N_FRAMES - 1)
    np.testing.assert_array_equal(np.stack([e["data"]["image"] for e in events_of(documents)]), images[:-1])
    run = BlueskyRun(ingest_esrf_edf(path))
    with pytest.warns(IngestWarning):
        assert run.primary.read().sizes["time"] == N_FRAMES - 1


def test_truncated_file_in_a_series_ends_the_run_there(edf_series):
    pattern, _, paths, _ = edf_series
    contents = Path(paths[1]).read_bytes()
    Path(paths[1]).write_bytes(contents[:-10])
    with pytest.warns(IngestWarning, match="2 files after it are left out") as record:
        documents = list(ingest_esrf_edf(pattern))
    assert paths[1] in str(record[0].message)
    assert len(events_of(documents)) == 1 and documents[-1][0] == "event"


def test_file_cut_inside_its_first_frame_names_it(multi_frame, tmp_path):
    path, _, _ = multi_frame
    single = str(tmp_path / "single.edf")
    Path(single).write_bytes(Path(path).read_bytes()[:1500])  # header, part of the data
    with pytest.raises(IngestError, match="no complete EDF frame: frame 1 is cut short") as info:
        list(ingest_esrf_edf(single))
    assert info.value.path == single


def test_file_cut_inside_its_first_header_names_it(multi_frame):
    path, _, _ = multi_frame
    contents = Path(path).read_bytes()
    Path(path).write_bytes(contents[:200])
    documents = ingest_esrf_edf(path)
    assert next(documents)[0] == "start"  # listed all the same, from the file name
    with pytest.raises(IngestError) as info:
        list(documents)
    assert info.value.path == path
    assert "EDF" in info.value.reason


def test_file_that_is_not_edf_names_it(edf_series):
    pattern, _, paths, _ = edf_series
    Path(paths[2]).write_bytes(b"this is not an EDF file\n" * 40)
    with pytest.raises(IngestError, match="not a readable EDF file") as info:
        list(ingest_esrf_edf(pattern))
    assert info.value.path == paths[2]
    assert "Traceback" not in str(info.value)


def test_mixed_shapes_name_the_file_and_frame(edf_series):
    pattern, _, paths, headers = edf_series
    fabio.edfimage.EdfImage(data=edf_image(0, shape=(8, 24)), header=headers[3]).write(paths[3])
    for lazy in (False, True):
        with pytest.raises(IngestError, match=r"\(8, 24\)") as info:
            list(ingest_esrf_edf(pattern, lazy=lazy))
        assert info.value.path == paths[3] and str(SHAPE) in info.value.reason


def test_counter_names_and_values_that_do_not_pair_up_warn(tmp_path, validated):
    header = {**spec_header(0), "counter_pos": "1 2 3"}  # four mnemonics, three values
    path = tmp_path / "short.edf"
    fabio.edfimage.EdfImage(data=edf_image(0), header=header).write(str(path))
    with pytest.warns(IngestWarning, match="counter_mne names 4 counters but counter_pos has 3") as record:
        documents = validated(ingest_esrf_edf(str(path)))
    assert str(path) in str(record[0].message)
    assert "roi1" not in documents[1][1]["data_keys"]


def test_unpaired_mnemonics_in_every_frame_warn_once(tmp_path):
    header = {**spec_header(0), "motor_pos": "1 2 3 4 5"}  # four mnemonics, five values
    edf = fabio.edfimage.EdfImage(data=edf_image(0), header=header)
    for index in range(1, N_FRAMES):
        edf.append_frame(data=edf_image(index), header=header)
    path = tmp_path / "long.edf"
    edf.write(str(path))
    with pytest.warns(IngestWarning) as record:
        list(ingest_esrf_edf(str(path)))
    assert len(record) == 1
    assert str(record[0].message) == (
        f"{path}: frame 1: motor_mne names 4 motors but motor_pos has 5 values; values without a "
        f"partner are left out (and {N_FRAMES - 1} more frames)"
    )


def test_a_counter_missing_from_some_frames_is_nan_with_a_warning(edf_series):
    pattern, _, paths, headers = edf_series
    fewer = spec_header(2, counters=COUNTERS[:3])
    fabio.edfimage.EdfImage(data=edf_image(12), header=fewer).write(paths[2])
    with pytest.warns(IngestWarning, match="'roi1'") as record:
        documents = list(ingest_esrf_edf(pattern))
    assert paths[2] in str(record[0].message)
    values = [event["data"]["roi1"] for event in events_of(documents)]
    assert np.isnan(values[2]) and values[3] == 153


def test_missing_file_names_it(tmp_path):
    path = str(tmp_path / "gone.edf")
    with pytest.raises(MissingFileError) as info:
        next(ingest_esrf_edf(path))
    assert info.value.path == path


def test_layout_of_frames(multi_frame):
    layouts, problem, notes = read_edf_layout(expand(multi_frame[0])[0])
    assert problem is None and notes == () and len(layouts) == N_FRAMES
    assert all(layout.error is None for layout in layouts)
    header_size = int(layouts[0].header["EDF_HeaderSize"])  # fabio pads to 512-byte blocks
    assert header_size % 512 == 0 and layouts[0].offset == header_size
    assert layouts[1].offset == 2 * header_size + SHAPE[0] * SHAPE[1] * 2
    assert layouts[0].stored_dtype == "<u2"


# -- error blocks ---------------------------------------------------------------------------------


def error_of(image):
    """The error (standard deviation) of a counted image, as PyMca / the SAXS programs store it."""
    return np.sqrt(image).astype(np.float32)


def write_with_error_blocks(path, images, headers, interleaved=True):
    """Image blocks ``<n>.Image.Psd`` and their error blocks ``<n>.Image.Error`` (P. Boesecke's
    EDF_DataBlockID), each error after its image (PyMca) or all errors after all images."""
    blocks = [(image, {"EDF_DataBlockID": f"{n}.Image.Psd", **header}) for n, (image, header) in enumerate(zip(images, headers), 1)]
    errors = [(error_of(image), {"EDF_DataBlockID": f"{n}.Image.Error"}) for n, image in enumerate(images, 1)]
    if interleaved:
        ordered = [block for pair in zip(blocks, errors) for block in pair]
    else:
        ordered = blocks + errors
    edf = fabio.edfimage.EdfImage(data=ordered[0][0], header=ordered[0][1])
    for data, header in ordered[1:]:
        edf.append_frame(data=data, header=header)
    edf.write(str(path))
    return str(path)


@pytest.mark.parametrize("interleaved", [True, False])
@pytest.mark.parametrize("lazy", [False, True])
def test_an_image_and_its_error_block_are_one_frame(tmp_path, validated, interleaved, lazy):
    images = [edf_image(index) for index in range(3)]
    headers = [spec_header(index) for index in range(3)]
    path = write_with_error_blocks(tmp_path / "with_errors.edf", images, headers, interleaved)
    with fabio.open(path) as opened:  # fabio lists every block as a frame
        assert opened.nframes == 6
        blocks = [(opened.get_frame(index).header["EDF_DataBlockID"], opened.get_frame(index).data) for index in range(6)]
    documents = validated(ingest_esrf_edf(path, lazy=lazy))
    assert documents[0][1]["num_points"] == 3
    descriptor = documents[1][1]
    assert descriptor["data_keys"]["image_error"]["shape"] == list(SHAPE)
    assert descriptor["data_keys"]["image_error"]["dtype_numpy"] == "<f4"
    events = events_of(documents)
    assert len(events) == 3 and documents[-1][0] == "stop"
    image_blocks = [data for block_id, data in blocks if block_id.endswith("Psd")]
    error_blocks = [data for block_id, data in blocks if block_id.endswith("Error")]
    for event, image_block, error_block in zip(events, image_blocks, error_blocks, strict=True):
        np.testing.assert_array_equal(np.asarray(event["data"]["image"]), image_block)
        np.testing.assert_array_equal(np.asarray(event["data"]["image_error"]), error_block)
    assert [event["data"]["mon"] for event in events] == [100_000 + 17 * index for index in range(3)]


def test_frames_without_error_blocks_leave_the_error_arrays_out_with_a_warning(tmp_path, validated):
    images, headers = [edf_image(0), edf_image(1)], [spec_header(0), spec_header(1)]
    edf = fabio.edfimage.EdfImage(data=images[0], header={"EDF_DataBlockID": "1.Image.Psd", **headers[0]})
    edf.append_frame(data=error_of(images[0]), header={"EDF_DataBlockID": "1.Image.Error"})
    edf.append_frame(data=images[1], header={"EDF_DataBlockID": "2.Image.Psd", **headers[1]})
    path = str(tmp_path / "some_errors.edf")
    edf.write(path)
    with pytest.warns(IngestWarning, match="1 of the run's 2 frames have an error block"):
        documents = validated(ingest_esrf_edf(path))
    assert "image_error" not in documents[1][1]["data_keys"] and len(events_of(documents)) == 2


def test_an_error_block_of_no_image_is_left_out_with_a_warning(tmp_path, validated):
    image = edf_image(0)
    edf = fabio.edfimage.EdfImage(data=image, header={"EDF_DataBlockID": "1.Image.Psd", **spec_header(0)})
    edf.append_frame(data=error_of(image), header={"EDF_DataBlockID": "7.Image.Error"})
    path = str(tmp_path / "stray_error.edf")
    edf.write(path)
    with pytest.warns(IngestWarning, match=r"block 2 \(EDF_DataBlockID 7\.image\.error\) is an error block of no image"):
        documents = validated(ingest_esrf_edf(path))
    assert len(events_of(documents)) == 1 and documents[-1][0] == "stop"


def test_a_file_cut_inside_the_last_error_block_ends_with_the_frame_before(tmp_path, validated):
    images, headers = [edf_image(index) for index in range(3)], [spec_header(index) for index in range(3)]
    path = write_with_error_blocks(tmp_path / "cut.edf", images, headers)
    Path(path).write_bytes(Path(path).read_bytes()[:-100])
    with pytest.warns(IngestWarning, match="frame 3 is cut short"):
        documents = validated(ingest_esrf_edf(path))
    events = events_of(documents)
    assert names(documents)[-1] == "event" and len(events) == 2
    np.testing.assert_array_equal(np.asarray(events[1]["data"]["image_error"]), error_of(images[1]))


def test_frames_and_error_blocks_unlike_the_first_name_the_frame(tmp_path):
    images, headers = [edf_image(index) for index in range(3)], [spec_header(index) for index in range(3)]
    path = write_with_error_blocks(tmp_path / "errors.edf", images, headers)
    edf = fabio.edfimage.EdfImage()
    edf.read(path)
    frames = [(edf.get_frame(index).data, dict(edf.get_frame(index).header)) for index in range(6)]
    # Block 4 is the error block of frame 2; block 5 is frame 3's image.
    for block, expected in ((3, "the error block of frame 2 is (8, 24) float32"), (4, "frame 3 is (8, 24) uint16")):
        blocks = list(frames)
        blocks[block] = (blocks[block][0][:8], blocks[block][1])
        rewritten = fabio.edfimage.EdfImage(data=blocks[0][0], header=blocks[0][1])
        for data, header in blocks[1:]:
            rewritten.append_frame(data=data, header=header)
        rewritten.write(path)
        with pytest.raises(IngestError, match=re.escape(expected)) as info:
            list(ingest_esrf_edf(path))
        assert info.value.path == path


# -- bytes after the last frame --------------------------------------------------------------------


@pytest.mark.parametrize("trailer", [b"\x00" * 1000, b"end of acquisition\n" * 40])
def test_bytes_after_the_last_frame_keep_the_run_stop(multi_frame, validated, trailer):
    path, images, _ = multi_frame
    Path(path).write_bytes(Path(path).read_bytes() + trailer)
    with fabio.open(path) as opened:  # what fabio makes of it: every frame, no complaint
        assert opened.nframes == N_FRAMES and opened.incomplete_file
    with pytest.warns(IngestWarning, match=f"{path}: the bytes after frame 6 are not an EDF header block"):
        documents = validated(ingest_esrf_edf(path))
    assert names(documents)[-1] == "stop" and documents[-1][1]["exit_status"] == "success"
    np.testing.assert_array_equal(np.stack([e["data"]["image"] for e in events_of(documents)]), images)


def test_a_header_cut_short_after_the_last_frame_is_a_partial_run(multi_frame, validated):
    path, _, _ = multi_frame
    contents = Path(path).read_bytes()
    Path(path).write_bytes(contents + contents[:300])  # the start of a seventh frame's header
    with pytest.warns(IngestWarning, match="the header of frame 7 is cut short or damaged; the run has no RunStop"):
        documents = validated(ingest_esrf_edf(path))
    assert names(documents) == ["start", "descriptor"] + ["event"] * N_FRAMES


# -- times from the header -------------------------------------------------------------------------


def frame_times(tmp_path, header, **kwargs):
    path = tmp_path / "timed.edf"
    fabio.edfimage.EdfImage(data=edf_image(0), header=header).write(str(path))
    documents = list(ingest_esrf_edf(str(path), **kwargs))
    return documents[0][1]["time"], events_of(documents)[0]["time"], str(path)


def test_times_from_time_of_day_dates_and_epoch(tmp_path):
    moment = datetime.datetime(2019, 7, 11, 14, 30, 5, 250000)
    unix = utc(moment)
    # LIMA's time_of_day (Unix time) comes first, whatever the dates say.
    assert frame_times(tmp_path, {"time_of_day": f"{unix:.6f}", "Date": "2013-11-26 16:02:05"})[:2] == (unix, unix)
    # Dates without a zone are local time, or in the zone given.
    assert frame_times(tmp_path, {"Date": moment.isoformat(sep=" ")})[:2] == (moment.timestamp(),) * 2
    paris = frame_times(tmp_path, {"Date": moment.isoformat(sep=" ")}, timezone="Europe/Paris")
    assert paris[:2] == (unix - 7200,) * 2  # CEST is UTC+2 in July
    assert frame_times(tmp_path, {"Date": "2019-07-11T14:30:05.25+02:00"})[1] == unix - 7200
    # SPEC's epoch (when its data file was opened) only without a date.
    earlier = unix - 3600
    assert frame_times(tmp_path, {"epoch": f"{earlier:.4f}", "time": moment.isoformat()}, timezone="UTC")[1] == unix
    assert frame_times(tmp_path, {"epoch": f"{earlier:.4f}"})[1] == earlier
    # What does not read as a time is a header value; then the file's mtime stands in.
    start, event, path = frame_times(tmp_path, {"time_of_day": "afternoon", "Date": "soon"})
    assert start == event == os.path.getmtime(path)


def test_a_unix_time_stays_a_header_value_and_a_date_does_not(tmp_path):
    path = tmp_path / "timed.edf"
    edf = fabio.edfimage.EdfImage(data=edf_image(0), header={"time_of_day": "1562855405.25", "Date": "2019-07-11 14:30:05"})
    edf.append_frame(data=edf_image(1), header={"time_of_day": "1562855406.5", "Date": "2019-07-11 14:30:06"})
    edf.write(str(path))
    documents = list(ingest_esrf_edf(str(path)))
    events = events_of(documents)
    assert [event["time"] for event in events] == [1562855405.25, 1562855406.5]
    assert [event["data"]["time_of_day"] for event in events] == [1562855405.25, 1562855406.5]
    assert [event["data"]["Date"] for event in events] == ["2019-07-11 14:30:05", "2019-07-11 14:30:06"]


# -- real files ------------------------------------------------------------------------------------


def test_real_spec_ccd_files_match_fabio_and_their_bytes(validated):
    # Two frames of an ESRF ID06 ascan, as SPEC's ccd macros save them (from darfix's
    # tutorial data, cut to a region of interest: see tests/data/real/edf/README.md).
    # strain_0001.edf has 11570 bytes after its frame, which fabio reads past.
    paths = sorted(REAL.glob("strain_*.edf"))
    with pytest.warns(IngestWarning, match="strain_0001.edf: the bytes after frame 1 are not an EDF header block"):
        documents = validated(ingest_esrf_edf(str(REAL / "strain_*.edf"), timezone="Europe/Paris"))
    assert names(documents) == ["start", "descriptor", "event", "event", "stop"]
    # The scan's date, 'Thu Jul 06 03:41:29 2017' in Grenoble (CEST), not SPEC's epoch.
    scan_date = utc(datetime.datetime(2017, 7, 6, 1, 41, 29))
    start, descriptor = documents[0][1], documents[1][1]
    assert start["time"] == scan_date and start["title"] == "CCD Image"
    assert descriptor["configuration"]["detector"]["data"]["epoch"] == 1499257480.6415
    assert descriptor["data_keys"]["image"]["shape"] == [128, 128]
    for event, path in zip(events_of(documents), paths, strict=True):
        with fabio.open(str(path)) as opened:
            fabio_image, fabio_header = opened.data, dict(opened.header)
        assert fabio_image.shape == (128, 128) and fabio_image.dtype == np.uint16
        stored = np.frombuffer(path.read_bytes()[3072 : 3072 + 128 * 128 * 2], "<u2").reshape(128, 128)
        np.testing.assert_array_equal(fabio_image, stored)
        np.testing.assert_array_equal(np.asarray(event["data"]["image"]), stored)
        assert event["time"] == scan_date
        for group in ("counter", "motor"):
            names_, values = fabio_header[f"{group}_mne"].split(), fabio_header[f"{group}_pos"].split()
            assert len(names_) == len(values) == {"counter": 29, "motor": 83}[group]
            ours = [event["data"][name] for name in names_]
            np.testing.assert_array_equal(ours, [float(value) for value in values])  # '-nan' too
    assert [int(np.asarray(event["data"]["image"]).sum()) for event in events_of(documents)] == [1676919, 2602462]
    assert [event["data"]["obpitch"] for event in events_of(documents)] == [25.1023, 25.1024]


def test_real_file_with_bytes_after_its_frame_is_a_whole_run(validated):
    path = str(REAL / "strain_0001.edf")
    with fabio.open(path) as opened:
        assert opened.nframes == 1 and opened.incomplete_file
    with pytest.warns(IngestWarning, match="are not an EDF header block; they are left out"):
        documents = validated(ingest_esrf_edf(path))
    assert names(documents) == ["start", "descriptor", "event", "stop"]
    assert documents[0][1]["num_points"] == 1


def test_real_files_are_sniffed():
    for path in sorted(REAL.glob("strain_*.edf")):
        source = expand(str(path))[0]
        assert ESRF_EDF.confidence(read_head(source), source) == 0.9


def test_counters_and_keys_named_as_event_fields_are_renamed(tmp_path, validated):
    path = tmp_path / "clash.edf"
    headers = [
        {**spec_header(index, counters=["time", "seq_num", "det"]), "uid": f"frame-{index}"}
        for index in range(3)
    ]
    edf = fabio.edfimage.EdfImage(data=edf_image(0), header=headers[0])
    for index, header in enumerate(headers[1:], start=1):
        edf.append_frame(data=edf_image(index), header=header)
    edf.write(str(path))
    documents = validated(ingest_esrf_edf(str(path)))
    descriptor = documents[1][1]
    keys = set(descriptor["data_keys"]) | set(descriptor["configuration"]["detector"]["data_keys"])
    assert {"time_2", "seq_num_2", "uid_2", "det"} <= keys
    assert not {"time", "seq_num", "uid"} & keys
    dataset = BlueskyRun(ingest_esrf_edf(str(path))).primary.read()
    assert dataset["seq_num"].values.tolist() == [1, 2, 3]  # the stream's own, not the counter's
    assert dataset["uid_2"].values.tolist() == ["frame-0", "frame-1", "frame-2"]
    assert dataset["time_2"].values.tolist() == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("lazy", [False, True])
@pytest.mark.parametrize("compression", [None, "gzip"])
def test_dimensions_beyond_the_file_are_an_error_before_allocating(tmp_path, compression, lazy):
    image = np.arange(4 * 6, dtype=np.int32).reshape(4, 6)
    keys = {"Compression": "gzip"} if compression else {}
    frame = handwritten_frame(image, keys).replace(b"Dim_1 = 6 ;", b"Dim_1 = 2147483648 ;")
    path = tmp_path / "huge.edf"
    path.write_bytes(frame)
    with pytest.raises(IngestError, match=r"declares a frame \(block 1\) of shape \(4, 2147483648\) int32") as info:
        list(ingest_esrf_edf(str(path), lazy=lazy))
    assert info.value.path == str(path)
    if compression:
        assert "MAX_DECOMPRESSION_RATIO" in str(info.value)
