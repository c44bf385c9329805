"""The areaDetector NDFileTIFF ingestor, on files written as ADCore's NDFileTIFF writes them.

Conventions, from areaDetector/ADCore ADApp/pluginSrc/NDFileTIFF.cpp (NDFileTIFF::openFile):

- private tags 65000 NDTimeStamp (TIFF_DOUBLE), 65001 NDUniqueId, 65002 EPICSTSSec,
  65003 EPICSTSNsec (TIFF_LONG, one value each);
- one TIFF_ASCII tag per NDAttribute from 65010 on, holding ``"Name:Value"``, written with
  ``"%s:%d"`` for integer attributes, ``"%s:%f"`` for floats and ``"%s:%s"`` for strings;
- Make and Model from the "Manufacturer" and "Model" NDAttributes (else "Unknown"),
  Software "EPICS areaDetector";
- one strip, photometric min-is-black for mono images.

File names follow the plugin's FileTemplate: ``"%s%s_%6.6d.tif"`` (FilePath, FileName,
FileNumber) gives ``sample_000001.tif``; the default ``"%s%s_%3.3d.tif"`` gives ``sample_001.tif``.
"""

import base64
import hashlib
import math
import os

import dask.array as da
import intake
import numpy as np
import pytest
import tifffile
from tifffile.tifffile import epics_datetime

from intake_ingest import BlueskyIngestCatalog, IngestError, IngestWarning, MissingFileError
from intake_ingest.drivers.area_detector import AreaDetectorTiffRun
from intake_ingest.files import expand
from intake_ingest.ingestors import area_detector
from intake_ingest.ingestors.area_detector import (
    AREA_DETECTOR_TIFF,
    EPICS_EPOCH,
    ingest_area_detector_tiff,
    read_ndfile_tags,
)
from intake_ingest.registry import get_spec, read_head
from intake_ingest.run import BlueskyRun

from .tiff_tags import declare_image_length

N_FILES = 5
SHAPE = (64, 48)
EPICS_SECONDS = 1_100_000_000  # 2024-11-06 in EPICS time (seconds past 1990-01-01 UTC)


def ndattribute(name, value):
    """An NDAttribute tag string as NDFileTIFF formats it: %d, %f or %s after 'Name:'."""
    if isinstance(value, int):
        return f"{name}:{value:d}"
    if isinstance(value, float):
        return f"{name}:{value:f}"
    return f"{name}:{value}"


def write_ndfile_tiff(
    path,
    image,
    *,
    unique_id,
    ndarray_timestamp,
    epics_seconds,
    epics_nanoseconds,
    attributes=(),
    manufacturer="Simulated detector",
    model="Basic simulator",
    header_tags=(65000, 65001, 65002, 65003),
):
    """Write one file as NDFileTIFF does: ADCore's tag numbers and types, one strip."""
    header = {
        65000: (65000, "d", 1, ndarray_timestamp, True),  # TIFF_DOUBLE
        65001: (65001, "I", 1, unique_id, True),  # TIFF_LONG
        65002: (65002, "I", 1, epics_seconds, True),
        65003: (65003, "I", 1, epics_nanoseconds, True),
    }
    extratags = [header[code] for code in header_tags]
    extratags += [(271, "s", 0, manufacturer, True), (272, "s", 0, model, True)]
    extratags += [
        (65010 + index, "s", 0, ndattribute(name, value), True)
        for index, (name, value) in enumerate(attributes)
    ]
    tifffile.imwrite(
        path,
        image,
        extratags=extratags,
        software="EPICS areaDetector",
        photometric="minisblack",
        rowsperstrip=image.shape[0],
        metadata=None,  # libtiff writes no ImageDescription; tifffile would write a JSON one
    )


def series_attributes(index):
    """NDAttributes of file ``index``: some constant over the series, some changing."""
    return [
        ("ColorMode", 0),  # added by the driver to every NDArray (NDColorModeMono)
        ("Manufacturer", "Simulated detector"),
        ("Model", "Basic simulator"),
        ("AcquireTime", 0.1),
        ("SampleName", "silicon"),
        ("Temperature", 20.0 + 0.25 * index),  # an EPICS PV read per frame
        ("RingCurrent", 101.5 - index),
        ("ShutterState", "Open" if index % 2 == 0 else "Closed"),
        ("ImageCounter", index + 1),
    ]


@pytest.fixture
def ad_series(tmp_path):
    """Five NDFileTIFF files ``sample_000001.tif`` ... as a simDetector acquisition writes them.

    Returns (glob pattern, images, file paths, per-file tag values).
    """
    folder = tmp_path / "detector"
    folder.mkdir()
    images = np.random.default_rng(3).integers(0, 4000, size=(N_FILES, *SHAPE)).astype(np.uint16)
    paths, headers = [], []
    for index, image in enumerate(images):
        path = folder / f"sample_{index + 1:06d}.tif"
        header = {
            "unique_id": 101 + index,
            "ndarray_timestamp": 1_100_000_000.5 + 0.1 * index,
            "epics_seconds": EPICS_SECONDS + index,
            "epics_nanoseconds": 250_000_000 * (index % 4),
        }
        write_ndfile_tiff(path, image, attributes=series_attributes(index), **header)
        paths.append(str(path))
        headers.append(header)
    return str(folder / "sample_*.tif"), images, paths, headers


def names(documents):
    return [name for name, _ in documents]


def events_of(documents):
    return [doc for name, doc in documents if name == "event"]


def test_documents_validate_and_start_needs_only_the_listing(ad_series, validated):
    pattern, images, paths, _ = ad_series
    documents = validated(ingest_area_detector_tiff(pattern))
    assert names(documents) == ["start", "descriptor"] + ["event"] * N_FILES + ["stop"]
    start = documents[0][1]
    digest = hashlib.sha256("".join(sorted(paths)).encode()).digest()
    assert start["uid"] == base64.urlsafe_b64encode(digest).decode()
    assert start["time"] == os.path.getmtime(paths[0])
    assert {key: start[key] for key in ("ingestor", "source", "num_points")} == {
        "ingestor": "area_detector_tiff",
        "source": pattern,
        "num_points": N_FILES,
    }
    assert start["file_prefix"] == "sample_"
    assert start["file_number_range"] == [1, N_FILES]
    stop = documents[-1][1]
    assert stop["exit_status"] == "success" and stop["num_events"] == {"primary": N_FILES}


def test_images_unique_ids_and_timestamps_match_tifffile(ad_series, validated):
    pattern, images, paths, headers = ad_series
    documents = validated(ingest_area_detector_tiff(pattern))
    descriptor = documents[1][1]
    assert descriptor["data_keys"]["image"]["shape"] == list(SHAPE)
    assert descriptor["data_keys"]["image"]["dtype_numpy"] == "<u2"
    assert descriptor["data_keys"]["unique_id"]["dtype"] == "integer"
    assert descriptor["data_keys"]["epics_timestamp"]["units"] == "s"
    events = events_of(documents)
    for event, path, image, header in zip(events, paths, images, headers):
        np.testing.assert_array_equal(event["data"]["image"], image)
        with tifffile.TiffFile(path) as tif:
            epics = tif.pages[0].epics_tags  # tifffile's own reading of the same tags
        assert event["data"]["unique_id"] == epics["uniqueID"] == header["unique_id"]
        assert event["data"]["ndarray_timestamp"] == epics["timeStamp"]
        expected = EPICS_EPOCH + header["epics_seconds"] + header["epics_nanoseconds"] / 1e9
        assert event["data"]["epics_timestamp"] == pytest.approx(expected, abs=1e-6)
        # tifffile's epics_datetime adds the same 631152000 s (local time, naive datetime).
        as_datetime = epics_datetime(epics["epicsTSSec"], epics["epicsTSNsec"])
        assert event["data"]["epics_timestamp"] == pytest.approx(as_datetime.timestamp(), abs=1e-6)
        # The event happened when EPICS stamped the array, not when the file was written.
        assert event["time"] == event["data"]["epics_timestamp"]
        assert set(event["timestamps"].values()) == {event["time"]}
    assert [event["seq_num"] for event in events] == list(range(1, N_FILES + 1))


def test_changing_attributes_are_events_constant_ones_configuration(ad_series, validated):
    pattern, _, paths, _ = ad_series
    documents = validated(ingest_area_detector_tiff(pattern))
    descriptor = documents[1][1]
    configuration = descriptor["configuration"]["area_detector"]
    assert configuration["data"] == {
        "make": "Simulated detector",
        "model": "Basic simulator",
        "software": "EPICS areaDetector",
        "ColorMode": 0,
        "Manufacturer": "Simulated detector",
        "Model": "Basic simulator",
        "AcquireTime": 0.1,
        "SampleName": "silicon",
    }
    assert configuration["data_keys"]["ColorMode"]["dtype"] == "integer"
    assert configuration["data_keys"]["AcquireTime"]["dtype"] == "number"
    assert configuration["data_keys"]["SampleName"]["dtype"] == "string"
    assert set(configuration["timestamps"]) == set(configuration["data"])

    changing = ["Temperature", "RingCurrent", "ShutterState", "ImageCounter"]
    assert list(descriptor["data_keys"]) == [
        "image", "unique_id", "ndarray_timestamp", "epics_timestamp", *changing
    ]
    assert descriptor["data_keys"]["ShutterState"]["dtype"] == "string"
    assert descriptor["data_keys"]["ImageCounter"]["dtype"] == "integer"
    assert descriptor["object_keys"] == {"area_detector": list(descriptor["data_keys"])}
    events = events_of(documents)
    for index, (event, path) in enumerate(zip(events, paths)):
        with tifffile.TiffFile(path) as tif:
            epics = tif.pages[0].epics_tags
        for key in changing:
            assert event["data"][key] == epics[key]
        assert event["data"]["Temperature"] == 20.0 + 0.25 * index
    assert [event["data"]["ShutterState"] for event in events] == ["Open", "Closed"] * 2 + ["Open"]


def test_run_start_reads_no_file(ad_series, monkeypatch):
    pattern, _, _, _ = ad_series
    opened = []
    monkeypatch.setattr(tifffile, "TiffFile", lambda *a, **k: opened.append(a) or 1 / 0)
    monkeypatch.setattr(tifffile, "imread", lambda *a, **k: opened.append(a) or 1 / 0)
    name, start = next(ingest_area_detector_tiff(pattern))
    assert name == "start" and start["num_points"] == N_FILES and opened == []


def test_uid_is_deterministic_and_independent_of_how_files_are_named(ad_series):
    pattern, _, paths, _ = ad_series
    first = next(ingest_area_detector_tiff(pattern))[1]["uid"]
    assert next(ingest_area_detector_tiff(list(reversed(paths))))[1]["uid"] == first
    assert next(ingest_area_detector_tiff(paths[:-1]))[1]["uid"] != first


def test_files_are_read_in_file_number_order(tmp_path):
    # "%3.3d" pads to three digits: sample_1000.tif sorts before sample_998.tif by name.
    numbers = [998, 999, 1000, 1001]
    for number in numbers:
        write_ndfile_tiff(
            tmp_path / f"sample_{number:03d}.tif",
            np.full((4, 3), number, np.uint16),
            unique_id=number,
            ndarray_timestamp=float(number),
            epics_seconds=EPICS_SECONDS + number,
            epics_nanoseconds=0,
        )
    documents = list(ingest_area_detector_tiff(str(tmp_path / "sample_*.tif")))
    assert documents[0][1]["file_number_range"] == [998, 1001]
    assert [event["data"]["unique_id"] for event in events_of(documents)] == numbers
    assert [int(event["data"]["image"][0, 0]) for event in events_of(documents)] == numbers


def test_unset_epics_time_stamp_falls_back_to_the_file_time(tmp_path, validated):
    # A driver that never calls updateTimeStamp leaves epicsTS at 0 (1990-01-01).
    path = tmp_path / "raw_000001.tif"
    write_ndfile_tiff(
        path, np.zeros((4, 3), np.uint8), unique_id=1, ndarray_timestamp=0.0,
        epics_seconds=0, epics_nanoseconds=0,
    )
    (event,) = events_of(validated(ingest_area_detector_tiff(str(path))))
    assert event["data"]["epics_timestamp"] == EPICS_EPOCH
    assert event["time"] == os.path.getmtime(path)


def test_one_unnumbered_file_is_a_run_without_file_numbers(tmp_path, validated):
    # AutoIncrement off and a FileTemplate without a number: "%s%s.tif".
    path = tmp_path / "snapshot.tif"
    write_ndfile_tiff(path, np.ones((4, 3), np.uint16), unique_id=7, ndarray_timestamp=1.0,
                      epics_seconds=EPICS_SECONDS, epics_nanoseconds=0)
    documents = validated(ingest_area_detector_tiff(str(path)))
    assert "file_prefix" not in documents[0][1] and documents[0][1]["num_points"] == 1
    assert [event["data"]["unique_id"] for event in events_of(documents)] == [7]


def test_files_without_epics_time_stamp_tags_use_file_times(tmp_path, validated):
    for number in (1, 2):
        write_ndfile_tiff(
            tmp_path / f"old_{number:03d}.tif", np.zeros((4, 3), np.uint16), unique_id=number,
            ndarray_timestamp=1.0 * number, epics_seconds=0, epics_nanoseconds=0,
            header_tags=(65000, 65001),
        )
    documents = validated(ingest_area_detector_tiff(str(tmp_path / "old_*.tif")))
    assert "epics_timestamp" not in documents[1][1]["data_keys"]
    events = events_of(documents)
    assert [event["data"]["unique_id"] for event in events] == [1, 2]
    assert [event["time"] for event in events] == [
        os.path.getmtime(tmp_path / f"old_{n:03d}.tif") for n in (1, 2)
    ]


def test_mixed_prefixes_in_one_folder_are_one_run_each_in_a_catalog(ad_series, tmp_path, validated):
    pattern, images, _, _ = ad_series
    folder = os.path.dirname(pattern)
    darks = np.arange(2 * 4 * 3, dtype=np.uint16).reshape(2, 4, 3)
    for index, dark in enumerate(darks):
        write_ndfile_tiff(
            os.path.join(folder, f"dark_{index + 1:06d}.tif"), dark, unique_id=1 + index,
            ndarray_timestamp=1.0, epics_seconds=EPICS_SECONDS, epics_nanoseconds=index,
        )
    catalog = BlueskyIngestCatalog(os.path.join(folder, "*.tif"), "area_detector_tiff", group_by="prefix")
    assert len(catalog) == 2
    by_prefix = {catalog[uid].start["file_prefix"]: catalog[uid] for uid in catalog}
    assert {prefix: run.start["num_points"] for prefix, run in by_prefix.items()} == {
        "dark_": 2,
        "sample_": N_FILES,
    }
    validated(by_prefix["dark_"].canonical())
    np.testing.assert_array_equal(by_prefix["dark_"].primary.read()["image"].values, darks)
    np.testing.assert_array_equal(by_prefix["sample_"].primary.read()["image"].values, images)
    # The same files give the same run as ingesting the series directly.
    assert by_prefix["sample_"].uid == next(ingest_area_detector_tiff(pattern))[1]["uid"]


def test_catalog_listing_reads_no_file(ad_series, monkeypatch):
    pattern, _, _, _ = ad_series
    monkeypatch.setattr(tifffile, "TiffFile", lambda *a, **k: 1 / 0)
    catalog = BlueskyIngestCatalog(pattern, "area_detector_tiff", group_by="prefix")
    assert [catalog[uid].start["num_points"] for uid in catalog] == [N_FILES]


def test_mixed_prefixes_given_directly_are_refused_naming_both(ad_series):
    pattern, images, paths, _ = ad_series
    other = os.path.join(os.path.dirname(pattern), "dark_000001.tif")
    write_ndfile_tiff(other, images[0], unique_id=1, ndarray_timestamp=1.0,
                      epics_seconds=EPICS_SECONDS, epics_nanoseconds=0)
    everything = os.path.join(os.path.dirname(pattern), "*.tif")
    with pytest.raises(IngestError, match="2 series") as info:
        next(ingest_area_detector_tiff(everything))
    assert info.value.path == everything
    assert "dark_*.tif" in info.value.reason and "sample_*.tif" in info.value.reason
    assert "group_by='prefix'" in info.value.reason


def test_a_file_without_the_private_tags_is_named(ad_series):
    pattern, images, paths, _ = ad_series
    tifffile.imwrite(paths[2], images[2])  # e.g. re-saved by an image viewer
    documents = ingest_area_detector_tiff(pattern)
    assert next(documents)[0] == "start"
    with pytest.raises(IngestError, match="65000-65003") as info:
        list(documents)
    assert info.value.path == paths[2]
    assert "tiff_series" in info.value.reason


def test_a_file_lacking_some_header_tags_is_named(ad_series):
    pattern, images, paths, headers = ad_series
    write_ndfile_tiff(
        paths[3], images[3], attributes=series_attributes(3), **headers[3], header_tags=(65000, 65001)
    )
    with pytest.raises(IngestError, match="epics_timestamp") as info:
        list(ingest_area_detector_tiff(pattern))
    assert info.value.path == paths[3]


def test_an_attribute_missing_from_one_file_warns_and_is_nan(ad_series, validated):
    pattern, images, paths, headers = ad_series
    attributes = [item for item in series_attributes(1) if item[0] != "Temperature"]
    write_ndfile_tiff(paths[1], images[1], attributes=attributes, **headers[1])
    with pytest.warns(IngestWarning, match="Temperature") as record:
        documents = validated(ingest_area_detector_tiff(pattern))
    assert paths[1] in str(record[0].message)
    temperatures = [event["data"]["Temperature"] for event in events_of(documents)]
    assert math.isnan(temperatures[1]) and temperatures[2] == 20.5


def test_a_string_attribute_that_sometimes_looks_numeric_stays_a_string(ad_series, validated):
    pattern, images, paths, headers = ad_series
    for index, value in [(0, "12"), (1, "12b")]:
        attributes = series_attributes(index) + [("Barcode", value)]
        write_ndfile_tiff(paths[index], images[index], attributes=attributes, **headers[index])
    with pytest.warns(IngestWarning, match="Barcode"):  # the other three files lack it
        documents = validated(ingest_area_detector_tiff(pattern))
    assert documents[1][1]["data_keys"]["Barcode"]["dtype"] == "string"
    assert [e["data"]["Barcode"] for e in events_of(documents)] == ["12", "12b", "", "", ""]


@pytest.mark.parametrize("lazy", [False, True])
def test_mixed_shapes_name_the_file(ad_series, lazy):
    pattern, images, paths, headers = ad_series
    write_ndfile_tiff(paths[4], images[4][:-1], attributes=series_attributes(4), **headers[4])
    with pytest.raises(IngestError, match="shape") as info:
        list(ingest_area_detector_tiff(pattern, lazy=lazy))
    assert info.value.path == paths[4]
    assert str(SHAPE) in info.value.reason and str((SHAPE[0] - 1, SHAPE[1])) in info.value.reason


@pytest.mark.parametrize("damage", ["truncated", "not a tiff"])
def test_damaged_files_are_named(ad_series, damage):
    pattern, _, paths, _ = ad_series
    content = open(paths[1], "rb").read()
    with open(paths[1], "wb") as file:
        file.write(content[:1000] if damage == "truncated" else b"a text file\n")
    with pytest.raises(IngestError) as info:
        list(ingest_area_detector_tiff(pattern))
    assert info.value.path == paths[1]
    assert "Traceback" not in str(info.value)


def test_a_file_deleted_after_listing_is_named(ad_series):
    pattern, _, paths, _ = ad_series
    documents = ingest_area_detector_tiff(pattern)
    next(documents)
    os.remove(paths[0])
    with pytest.raises(MissingFileError) as info:
        list(documents)
    assert info.value.path == paths[0]


def test_lazy_images_are_dask_and_tags_are_read(ad_series, validated):
    pattern, images, _, headers = ad_series
    documents = validated(ingest_area_detector_tiff(pattern, lazy=True))
    events = events_of(documents)
    assert all(isinstance(event["data"]["image"], da.Array) for event in events)
    assert [event["data"]["unique_id"] for event in events] == [h["unique_id"] for h in headers]
    np.testing.assert_array_equal(np.stack([event["data"]["image"].compute() for event in events]), images)


def test_event_arrays_are_read_only(ad_series):
    event = events_of(ingest_area_detector_tiff(ad_series[0]))[0]
    with pytest.raises(ValueError, match="read-only"):
        event["data"]["image"][0, 0] = 1


def test_several_pages_still_give_one_event_per_file(ad_series, monkeypatch, validated):
    pattern, images, _, _ = ad_series
    from intake_ingest.ingestors import _common

    monkeypatch.setattr(_common, "PAGE_BYTES", 2 * images[0].nbytes)
    documents = validated(ingest_area_detector_tiff(pattern))
    events = events_of(documents)
    assert [event["seq_num"] for event in events] == list(range(1, N_FILES + 1))
    assert [event["data"]["unique_id"] for event in events] == list(range(101, 101 + N_FILES))
    np.testing.assert_array_equal(np.stack([event["data"]["image"] for event in events]), images)


def copy_to_memory(paths, memory_folder):
    fs, root = memory_folder
    for path in paths:
        fs.pipe(f"{root}/{os.path.basename(path)}", open(path, "rb").read())
    return f"memory://{root}/sample_*.tif"


def test_memory_filesystem_reads_each_file_once(ad_series, memory_folder, count_memory_opens, validated):
    _, images, paths, _ = ad_series
    pattern = copy_to_memory(paths, memory_folder)
    count_memory_opens.clear()
    documents = validated(ingest_area_detector_tiff(pattern))
    assert sorted(count_memory_opens.values()) == [1] * N_FILES
    np.testing.assert_array_equal(np.stack([e["data"]["image"] for e in events_of(documents)]), images)
    assert documents[0][1]["source"] == pattern


def test_memory_filesystem_lazy_reads_tags_then_pixels_on_compute(
    ad_series, memory_folder, count_memory_opens
):
    _, images, paths, headers = ad_series
    pattern = copy_to_memory(paths, memory_folder)
    count_memory_opens.clear()
    events = events_of(ingest_area_detector_tiff(pattern, lazy=True))
    assert sorted(count_memory_opens.values()) == [1] * N_FILES  # each file's tags
    assert [event["data"]["unique_id"] for event in events] == [h["unique_id"] for h in headers]
    np.testing.assert_array_equal(events[3]["data"]["image"].compute(), images[3])


def test_driver_round_trip(ad_series):
    pattern, images, _, headers = ad_series
    run = intake.registry["bluesky-area-detector-tiff"](pattern)
    assert isinstance(run, AreaDetectorTiffRun) and isinstance(run, BlueskyRun)
    assert run.start["ingestor"] == "area_detector_tiff"
    dataset = run.primary.read()
    np.testing.assert_array_equal(dataset["image"].values, images)
    np.testing.assert_array_equal(dataset["unique_id"].values, [h["unique_id"] for h in headers])
    assert dataset["unique_id"].dtype == np.int64
    assert list(dataset["ShutterState"].values) == ["Open", "Closed", "Open", "Closed", "Open"]
    assert dataset["time"].values[0] == pytest.approx(EPICS_EPOCH + EPICS_SECONDS)
    lazy = intake.registry["bluesky-area-detector-tiff"](pattern, lazy=True)
    np.testing.assert_array_equal(lazy.primary.to_dask()["image"].values, images)


def test_nothing_is_written_to_the_source_files(ad_series, folder_snapshot):
    pattern, _, _, _ = ad_series
    before = folder_snapshot(os.path.dirname(pattern))
    list(ingest_area_detector_tiff(pattern))
    list(ingest_area_detector_tiff(pattern, lazy=True))
    assert folder_snapshot(os.path.dirname(pattern)) == before


def test_registered_under_its_name():
    assert get_spec("area_detector_tiff") is AREA_DETECTOR_TIFF
    assert AREA_DETECTOR_TIFF.grouping == "prefix"


def many_attributes():
    """Enough attributes that the tag values reach far beyond the 4096 bytes sniffers see."""
    return [(f"Attribute{n:03d}", f"a long string value of attribute number {n}") for n in range(200)]


def test_sniff_recognises_ndfile_tiff_beyond_the_head(tmp_path, memory_folder):
    path = tmp_path / "late_000001.tif"
    write_ndfile_tiff(
        path, np.zeros((4, 3), np.uint16), unique_id=1, ndarray_timestamp=1.0,
        epics_seconds=EPICS_SECONDS, epics_nanoseconds=0, attributes=many_attributes(),
    )
    with tifffile.TiffFile(path) as tif:
        assert tif.pages[0].tags[65209].valueoffset > 4096
    (source,) = expand(str(path))
    spec = get_spec("area_detector_tiff")
    assert spec.confidence(read_head(source), source) == 0.9
    assert spec.confidence(read_head(source), source) > get_spec("tiff_series").confidence(
        read_head(source), source
    )
    assert read_ndfile_tags(source)[0].attributes["Attribute199"].endswith("199")
    fs, root = memory_folder
    fs.pipe(f"{root}/late_000001.tif", path.read_bytes())
    (remote,) = expand(f"memory://{root}/late_000001.tif")
    assert spec.confidence(read_head(remote), remote) == 0.9


def test_sniff_refuses_other_files(tmp_path):
    plain = tmp_path / "plain_001.tif"
    tifffile.imwrite(plain, np.zeros((4, 3), np.uint16))
    # Tag 65000 is also used by other programs (Argos AVS keeps XML in it).
    argos = tmp_path / "argos_001.tif"
    tifffile.imwrite(argos, np.zeros((4, 3), np.uint16), extratags=[(65000, "s", 0, "<Argos/>", True)])
    text = tmp_path / "notes_001.tif"
    text.write_bytes(b"not a TIFF at all")
    damaged = tmp_path / "damaged_001.tif"
    damaged.write_bytes(b"II*\x00" + b"\xff" * 20)
    spec = get_spec("area_detector_tiff")
    for path in (plain, argos, text, damaged):
        (source,) = expand(str(path))
        assert spec.confidence(read_head(source), source) == 0.0, path
        assert area_detector.sniff_area_detector_tiff(read_head(source), source) == 0.0


def test_attributes_named_as_event_fields_are_renamed(tmp_path, validated):
    folder = tmp_path / "clash"
    folder.mkdir()
    for index in range(3):
        write_ndfile_tiff(
            folder / f"clash_{index + 1:06d}.tif",
            np.full(SHAPE, index, np.uint16),
            unique_id=index + 1,
            ndarray_timestamp=1.5 + index,
            epics_seconds=EPICS_SECONDS + index,
            epics_nanoseconds=0,
            attributes=[("time", 0.5 * index), ("seq_num", 7), ("uid", f"frame-{index}")],
        )
    documents = validated(ingest_area_detector_tiff(str(folder / "clash_*.tif")))
    descriptor = documents[1][1]
    keys = set(descriptor["data_keys"]) | set(descriptor["configuration"]["area_detector"]["data_keys"])
    assert {"time_2", "seq_num_2", "uid_2"} <= keys and not {"time", "seq_num", "uid"} & keys
    dataset = BlueskyRun(ingest_area_detector_tiff(str(folder / "clash_*.tif"))).primary.read()
    assert dataset["time_2"].values.tolist() == [0.0, 0.5, 1.0]
    assert dataset["seq_num"].values.tolist() == [1, 2, 3]


@pytest.mark.parametrize("lazy", [False, True])
def test_image_height_beyond_the_file_is_an_error_before_allocating(ad_series, lazy):
    pattern, _, paths, _ = ad_series
    declare_image_length(paths[0])
    with pytest.raises(IngestError, match=r"declares an image series of shape") as info:
        list(area_detector.ingest_area_detector_tiff(pattern, lazy=lazy))
    assert info.value.path == paths[0]
