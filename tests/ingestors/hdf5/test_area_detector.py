"""areaDetector NDFileHDF5: frames as events, NDAttributes as data or configuration, lazy chunk reads.

Real files: a 50-file Lambda 250k series written by NDFileHDF5 at APS 4-ID-D
(tests/data/real/area_detector_hdf5/README.md). Generated files (``write_ndfile_hdf5``)
follow ADCore's default layout for the cases the real files do not have: several frames
per file, chunks of several frames, bitshuffle/LZ4, changing and string NDAttributes,
unset EPICS time stamps, RGB frames, damaged and foreign files.
"""

import glob
import os
import pathlib

import dask
import h5py
import hdf5plugin
import intake
import numpy as np
import pytest

from intake_ingest import BlueskyIngestCatalog, BlueskyRun, IngestError, IngestWarning, MissingFileError
from intake_ingest.detect import detect
from intake_ingest.drivers.area_detector_hdf5 import AreaDetectorHdf5Run
from intake_ingest.files import expand
from intake_ingest.handlers.hdf5 import HDF5Frames
from intake_ingest.ingestors.area_detector import EPICS_EPOCH
from intake_ingest.ingestors.hdf5.area_detector import (
    AREA_DETECTOR_HDF5,
    ingest_area_detector_hdf5,
    sniff_area_detector_hdf5,
)
from intake_ingest.ingestors.hdf5.nexus import sniff_nexus
from intake_ingest.registry import get_spec, read_head

REAL = pathlib.Path(__file__).resolve().parents[2] / "data" / "real" / "area_detector_hdf5"
LAMBDA_FILES = sorted(glob.glob(str(REAL / "lambda250k" / "*.h5")))
EPICS_SECONDS = 1_001_817_689  # 2021-09-30 in EPICS time, as in the real Lambda files
FRAME_SHAPE = (12, 10)


def write_ndfile_hdf5(
    path,
    frames,
    *,
    attributes=None,
    detector_attributes=None,
    epics_seconds=None,
    chunks=None,
    compression=None,
    num_dims=None,
    unique_id_start=1,
    hostname="ioc-host",
):
    """Write a file as NDFileHDF5 does with its default layout (ADCore NDFileHDF5LayoutXML.cpp).

    ``frames`` is the detector dataset as written: ``(y, x)`` for one NDArray, or
    ``(n, y, x)``. ``attributes`` maps NDAttribute names to one value per frame (or one
    value, as an attribute saved OnFileOpen); NDArrayUniqueId, NDArrayTimeStamp and the
    EPICS time stamp are added as NDFileHDF5::addDefaultAttributes does.
    """
    frames = np.asarray(frames)
    n_frames = 1 if frames.ndim == (num_dims or 2) else frames.shape[0]
    seconds = (
        np.full(n_frames, 0, np.uint32)
        if epics_seconds is None
        else np.asarray(epics_seconds, np.uint32) * np.ones(n_frames, np.uint32)
    )
    nanoseconds = (np.arange(n_frames) * 100_000_000).astype(np.uint32)
    defaults = {
        "NDArrayUniqueId": np.arange(unique_id_start, unique_id_start + n_frames, dtype=np.int32),
        "NDArrayTimeStamp": (seconds + nanoseconds * 1e-9).astype(np.float64),
        "NDArrayEpicsTSSec": seconds,
        "NDArrayEpicsTSnSec": nanoseconds,
    }
    with h5py.File(path, "w") as file:
        entry = file.create_group("entry")
        entry.attrs["NX_class"] = np.bytes_("NXentry")
        instrument = entry.create_group("instrument")
        instrument.attrs["NX_class"] = np.bytes_("NXinstrument")
        detector = instrument.create_group("detector")
        detector.attrs["NX_class"] = np.bytes_("NXdetector")
        options = dict(compression or {})
        if chunks is not None:
            options["chunks"] = chunks
        elif options:
            options["chunks"] = (1,) * (frames.ndim - 2) + frames.shape[-2:]
        data = detector.create_dataset("data", data=frames, **options)
        data.attrs["signal"] = np.int32(1)
        ndims = num_dims or 2
        data.attrs["NDArrayNumDims"] = np.int32(ndims)
        for name in ("NDArrayDimOffset", "NDArrayDimBinning", "NDArrayDimReverse"):
            data.attrs[name] = np.array([1 if name == "NDArrayDimBinning" else 0] * ndims, np.int32)
        for group, values in (
            (instrument.create_group("NDAttributes"), {**defaults, **(attributes or {})}),
            (detector.create_group("NDAttributes"), detector_attributes or {"ColorMode": 0}),
        ):
            group.attrs["NX_class"] = np.bytes_("NXcollection")
            for name, value in values.items():
                value = np.atleast_1d(value)
                if value.dtype.kind == "U":
                    value = value.astype("S")
                dataset = group.create_dataset(name, data=value)
                dataset.attrs["NDAttrName"] = np.bytes_(name)
                dataset.attrs["NDAttrDescription"] = np.bytes_(f"the {name}")
                dataset.attrs["NDAttrSourceType"] = np.bytes_("NDAttrSourceDriver")
                dataset.attrs["NDAttrSource"] = np.bytes_("Driver")
        instrument["NDAttributes"].attrs["hostname"] = np.bytes_(hostname)
        performance = instrument.create_group("performance")
        performance.create_dataset("timestamp", data=np.zeros((n_frames, 5)))
        data_group = entry.create_group("data")
        data_group.attrs["NX_class"] = np.bytes_("NXdata")
        data_group["data"] = data  # the layout's hardlink
    return path


def frames_of(seed, n, shape=FRAME_SHAPE, dtype=np.uint16):
    return np.random.default_rng(seed).integers(0, 4000, size=(n, *shape)).astype(dtype)


@pytest.fixture
def series(tmp_path):
    """Three files of four frames each, numbered 9, 10, 11 (numeric order is not name order)."""
    folder = tmp_path / "scan"
    folder.mkdir()
    all_frames, paths = [], []
    for index, number in enumerate((9, 10, 11)):
        frames = frames_of(index, 4)
        attributes = {
            "Temperature": np.float64(300.0 + 4 * index + np.arange(4)),  # changes
            "AcquireTime": np.float64([0.5] * 4),  # constant over the run
            "ShutterState": np.array(["Open", "Closed", "Open", "Closed"]),  # strings, changing
            "Model": "Lambda 250k",  # one value per file (OnFileOpen)
        }
        path = write_ndfile_hdf5(
            str(folder / f"lambda_{number:06d}.h5"),
            frames,
            attributes=attributes,
            epics_seconds=EPICS_SECONDS + index,
            unique_id_start=1 + 4 * index,
            compression=hdf5plugin.Bitshuffle(nelems=0, cname="lz4"),
        )
        all_frames.append(frames)
        paths.append(path)
    return str(folder / "lambda_*.h5"), np.concatenate(all_frames), paths


# -- real files --------------------------------------------------------------------------


def _h5py_values(path, dataset):
    with h5py.File(path, "r") as file:
        return file[dataset][()]


def test_real_lambda_series_is_one_run_of_fifty_frames(validated):
    assert len(LAMBDA_FILES) == 50
    documents = validated(ingest_area_detector_hdf5(str(REAL / "lambda250k" / "*.h5")))
    assert [name for name, _ in documents] == ["start", "descriptor", "event_page", "stop"]
    start, descriptor = documents[0][1], documents[1][1]
    assert start["num_files"] == 50 and start["file_number_range"] == [0, 49]
    assert descriptor["data_keys"]["image"]["shape"] == [516, 516]
    assert descriptor["data_keys"]["image"]["dtype_numpy"] == "<u2"
    assert descriptor["configuration"]["area_detector"]["data"]["hostname"] == "xspserver"

    dataset = BlueskyRun(iter(documents)).primary.read()
    # Each file holds one 2-D NDArray: one event per file, never one per row.
    assert dataset["image"].shape == (50, 516, 516)
    expected = np.stack([_h5py_values(path, "/entry/data/data") for path in LAMBDA_FILES])
    np.testing.assert_array_equal(dataset["image"].values, expected)  # Blosc-compressed, through hdf5plugin
    attributes = "/entry/instrument/NDAttributes/"
    unique_ids = [int(_h5py_values(path, attributes + "NDArrayUniqueId")[0]) for path in LAMBDA_FILES]
    np.testing.assert_array_equal(dataset["unique_id"].values, unique_ids)
    assert unique_ids == list(range(37149, 37199))
    epics = [
        EPICS_EPOCH
        + int(_h5py_values(path, attributes + "NDArrayEpicsTSSec")[0])
        + int(_h5py_values(path, attributes + "NDArrayEpicsTSnSec")[0]) * 1e-9
        for path in LAMBDA_FILES
    ]
    np.testing.assert_allclose(dataset["time"].values, epics, rtol=0, atol=1e-6)
    np.testing.assert_allclose(dataset["epics_timestamp"].values, epics, rtol=0, atol=1e-6)
    assert start["time"] == pytest.approx(os.path.getmtime(LAMBDA_FILES[0]))


def test_real_lambda_series_lazily_one_task_per_file():
    run = BlueskyRun(ingest_area_detector_hdf5(str(REAL / "lambda250k" / "*.h5"), lazy=True))
    image = run.primary.to_dask()["image"].data
    assert image.numblocks[0] == 50
    np.testing.assert_array_equal(image[17].compute(), _h5py_values(LAMBDA_FILES[17], "/entry/data/data"))


def test_real_lambda_files_are_detected_as_one_area_detector_run():
    for path in LAMBDA_FILES[:3]:
        (source,) = expand(path)
        head = read_head(source)
        assert sniff_area_detector_hdf5(head, source) == 0.9 > sniff_nexus(head, source)
    plan = detect(str(REAL / "lambda250k"))
    assert [(run.ingestor, len(run.files)) for run in plan.runs] == [("area_detector_hdf5", 50)]
    assert not plan.unrecognised and not plan.ambiguous


# -- generated files: frames, attributes, times -------------------------------------------


def test_frames_attributes_and_numeric_file_order(series, validated):
    pattern, frames, paths = series
    documents = validated(ingest_area_detector_hdf5(pattern))
    descriptor = documents[1][1]
    configuration = descriptor["configuration"]["area_detector"]
    assert configuration["data"]["AcquireTime"] == 0.5
    assert configuration["data"]["Model"] == "Lambda 250k"
    assert configuration["data"]["ColorMode"] == 0
    assert "Temperature" in descriptor["data_keys"] and "ShutterState" in descriptor["data_keys"]
    assert descriptor["data_keys"]["ShutterState"]["dtype"] == "string"
    assert descriptor["data_keys"]["Temperature"]["source"].endswith("/entry/instrument/NDAttributes/Temperature")
    dataset = BlueskyRun(iter(documents)).primary.read()
    np.testing.assert_array_equal(dataset["image"].values, frames)
    np.testing.assert_array_equal(dataset["unique_id"].values, np.arange(1, 13))
    np.testing.assert_array_equal(dataset["Temperature"].values, 300.0 + np.arange(12))
    assert list(dataset["ShutterState"].values) == ["Open", "Closed"] * 6
    np.testing.assert_array_equal(dataset["seq_num"].values, np.arange(1, 13))
    expected_times = [EPICS_EPOCH + EPICS_SECONDS + f + n * 0.1 for f in range(3) for n in range(4)]
    np.testing.assert_allclose(dataset["time"].values, expected_times, atol=1e-6)
    assert documents[0][1]["file_number_range"] == [9, 11]


def test_lazy_reads_one_task_per_chunk_of_several_frames(tmp_path, validated):
    frames = frames_of(3, 10)
    path = write_ndfile_hdf5(
        str(tmp_path / "stack_000001.h5"), frames, chunks=(4, *FRAME_SHAPE),
        compression=hdf5plugin.Bitshuffle(nelems=0, cname="lz4"), epics_seconds=EPICS_SECONDS,
    )
    documents = validated(ingest_area_detector_hdf5(path, lazy=True))
    image = documents[2][1]["data"]["image"]
    assert isinstance(image, dask.array.Array)
    assert image.chunks[0] == (4, 4, 2)  # one task per HDF5 chunk, not one per frame
    assert len(dict(image.__dask_graph__())) == 3
    dataset = BlueskyRun(iter(documents)).primary.to_dask()
    np.testing.assert_array_equal(dataset["image"][5].compute().values, frames[5])
    np.testing.assert_array_equal(dataset["image"].values, frames)


def _recorded_block_reads(monkeypatch):
    """The ``(file name, begin, end)`` of every block of frames read from now on."""
    from intake_ingest.ingestors.hdf5 import frames as hdf5_frames

    asked, original = [], hdf5_frames._read_block

    def recording(source, version, layout, begin, end):
        asked.append((os.path.basename(source.url), begin, end))
        return original(source, version, layout, begin, end)

    monkeypatch.setattr(hdf5_frames, "_read_block", recording)
    return asked


def test_one_frame_of_a_chunk_reads_only_that_frame_uncopied(tmp_path, monkeypatch):
    frames = frames_of(3, 10)
    path = write_ndfile_hdf5(
        str(tmp_path / "stack_000001.h5"), frames, chunks=(4, *FRAME_SHAPE),
        compression=hdf5plugin.Bitshuffle(nelems=0, cname="lz4"),
    )
    asked = _recorded_block_reads(monkeypatch)
    image = BlueskyRun(ingest_area_detector_hdf5(path, lazy=True)).primary.to_dask()["image"]
    frame = image[5]
    assert asked == []  # nothing read before compute
    assert len(dict(frame.data.__dask_graph__())) == 2  # the frame's read, and handing it over
    values = frame.compute().values
    assert asked == [("stack_000001.h5", 5, 6)]
    np.testing.assert_array_equal(values, _h5py_values(path, "/entry/data/data")[5])
    # The frame is the memory HDF5 read it into: no copy by dask.
    assert not values.flags.owndata and values.base.shape == (1, *FRAME_SHAPE)
    np.testing.assert_array_equal(image[-1, 2:5].compute().values, frames[-1, 2:5])
    np.testing.assert_array_equal(image[3:9].compute().values, frames[3:9])
    # Per HDF5 chunk, only the frames asked for (tasks run in any order).
    assert asked[1] == ("stack_000001.h5", 9, 10)
    assert sorted(asked[2:]) == [("stack_000001.h5", 3, 4), ("stack_000001.h5", 4, 8), ("stack_000001.h5", 8, 9)]


def test_frames_across_files_read_only_those_files(series, monkeypatch):
    pattern, frames, paths = series
    asked = _recorded_block_reads(monkeypatch)
    image = BlueskyRun(ingest_area_detector_hdf5(pattern, lazy=True)).primary.to_dask()["image"].data
    os.remove(paths[0])  # frames of the other files are still read
    np.testing.assert_array_equal(image[6].compute(), frames[6])
    np.testing.assert_array_equal(image[6:10][1:3].compute(), frames[7:9])
    assert asked[0] == ("lambda_000010.h5", 2, 3)
    assert sorted(asked[1:]) == [("lambda_000010.h5", 3, 4), ("lambda_000011.h5", 0, 1)]
    first, second = image[6].compute(), image[6].compute()
    assert not np.shares_memory(first, second)
    with pytest.raises(MissingFileError):
        image[3].compute()


def test_ndattributes_of_an_xml_layout_are_found_past_links(tmp_path, validated):
    """Marked NDAttribute datasets in a group of a layout file's own, reached through a
    soft link, are found; a dangling link beside them is passed over."""
    frames = frames_of(4, 3)
    path = write_ndfile_hdf5(str(tmp_path / "xml_000001.h5"), frames, epics_seconds=EPICS_SECONDS)
    with h5py.File(path, "r+") as file:
        pressure = file.create_dataset("/entry/layout/deep/Meta/Pressure", data=[1.5, 2.5, 3.5])
        pressure.attrs["NDAttrName"] = np.bytes_("Pressure")
        file["/entry/Metadata"] = h5py.SoftLink("/entry/layout/deep/Meta")
        file["/entry/broken"] = h5py.SoftLink("/nowhere")
    dataset = BlueskyRun(validated(ingest_area_detector_hdf5(path))).primary.read()
    np.testing.assert_array_equal(dataset["Pressure"].values, [1.5, 2.5, 3.5])
    np.testing.assert_array_equal(dataset["image"].values, frames)


def test_a_two_dimensional_dataset_is_one_image(tmp_path, validated):
    image = frames_of(1, 1)[0]
    path = write_ndfile_hdf5(str(tmp_path / "single.h5"), image, epics_seconds=EPICS_SECONDS)
    for lazy in (False, True):
        documents = validated(ingest_area_detector_hdf5(path, lazy=lazy))
        dataset = BlueskyRun(iter(documents)).primary.read()
        assert dataset["image"].shape == (1, *FRAME_SHAPE)
        np.testing.assert_array_equal(dataset["image"].values[0], image)
    assert "file_number_range" not in documents[0][1]


def test_rgb_frames_keep_their_colour_axis(tmp_path, validated):
    frames = np.random.default_rng(8).integers(0, 255, size=(2, 6, 5, 3)).astype(np.uint8)
    path = write_ndfile_hdf5(str(tmp_path / "rgb_001.h5"), frames, num_dims=3)
    dataset = BlueskyRun(validated(ingest_area_detector_hdf5(path, lazy=True))).primary.read()
    assert dataset["image"].shape == (2, 6, 5, 3)
    np.testing.assert_array_equal(dataset["image"].values, frames)


def test_unset_epics_time_stamps_fall_back_to_the_file_time(tmp_path, validated):
    path = write_ndfile_hdf5(str(tmp_path / "sim_001.h5"), frames_of(2, 3))  # EPICS seconds 0
    dataset = BlueskyRun(validated(ingest_area_detector_hdf5(path))).primary.read()
    assert list(dataset["time"].values) == [os.path.getmtime(path)] * 3


def test_plausible_ndarray_timestamps_stand_in_for_missing_epics_ones(tmp_path, validated):
    path = str(tmp_path / "sim_001.h5")
    write_ndfile_hdf5(path, frames_of(2, 2))
    os.utime(path, (EPICS_EPOCH + EPICS_SECONDS + 30, EPICS_EPOCH + EPICS_SECONDS + 30))
    with h5py.File(path, "r+") as file:
        del file["/entry/instrument/NDAttributes/NDArrayEpicsTSSec"]
        file["/entry/instrument/NDAttributes/NDArrayTimeStamp"][...] = [EPICS_SECONDS + 1.5, EPICS_SECONDS + 2.5]
    os.utime(path, (EPICS_EPOCH + EPICS_SECONDS + 30, EPICS_EPOCH + EPICS_SECONDS + 30))
    dataset = BlueskyRun(validated(ingest_area_detector_hdf5(path))).primary.read()
    np.testing.assert_allclose(dataset["time"].values, [EPICS_EPOCH + EPICS_SECONDS + d for d in (1.5, 2.5)])


def test_an_attribute_missing_from_one_file_warns_and_is_nan(series, validated):
    pattern, _, paths = series
    with h5py.File(paths[1], "r+") as file:
        del file["/entry/instrument/NDAttributes/Temperature"]
    with pytest.warns(IngestWarning, match="has no NDAttribute 'Temperature'"):
        documents = validated(ingest_area_detector_hdf5(pattern))
    values = BlueskyRun(iter(documents)).primary.read()["Temperature"].values
    assert np.isnan(values[4:8]).all() and values[0] == 300.0


def test_catalog_groups_a_folder_by_prefix(series, tmp_path):
    pattern, frames, _ = series
    folder = os.path.dirname(pattern)
    write_ndfile_hdf5(os.path.join(folder, "dark_000001.h5"), frames_of(9, 2))
    catalog = BlueskyIngestCatalog(os.path.join(folder, "*.h5"), "area_detector_hdf5", group_by="prefix")
    by_prefix = {catalog[uid].start["file_prefix"]: catalog[uid] for uid in catalog}
    assert set(by_prefix) == {"dark_", "lambda_"}
    np.testing.assert_array_equal(by_prefix["lambda_"].primary.read()["image"].values, frames)
    assert by_prefix["lambda_"].uid == next(ingest_area_detector_hdf5(pattern))[1]["uid"]


def test_memory_filesystem_lazy(series, memory_folder, validated):
    pattern, frames, paths = series
    fs, root = memory_folder
    for path in paths:
        fs.pipe(f"{root}/{os.path.basename(path)}", open(path, "rb").read())
    documents = validated(ingest_area_detector_hdf5(f"memory://{root}/lambda_*.h5", lazy=True))
    np.testing.assert_array_equal(BlueskyRun(iter(documents)).primary.read()["image"].values, frames)


def test_driver_round_trip(series):
    pattern, frames, _ = series
    run = intake.registry["bluesky-area-detector-hdf5"](pattern, lazy=True)
    assert isinstance(run, AreaDetectorHdf5Run)
    assert run.start["ingestor"] == "area_detector_hdf5"
    np.testing.assert_array_equal(run.primary.to_dask()["image"].values, frames)


def test_nothing_is_written_to_the_source_files(series, folder_snapshot):
    pattern, _, _ = series
    before = folder_snapshot(os.path.dirname(pattern))
    list(ingest_area_detector_hdf5(pattern))
    BlueskyRun(ingest_area_detector_hdf5(pattern, lazy=True)).primary.read()
    assert folder_snapshot(os.path.dirname(pattern)) == before


def test_a_capture_without_frames_is_a_run_without_events(tmp_path, validated):
    path = write_ndfile_hdf5(str(tmp_path / "empty_000001.h5"), np.zeros((0, *FRAME_SHAPE), np.uint16))
    for lazy in (False, True):
        documents = validated(ingest_area_detector_hdf5(path, lazy=lazy))
        assert [name for name, _ in documents] == ["start", "descriptor", "stop"]
        assert documents[-1][1]["num_events"] == {"primary": 0}


def test_lazy_frames_compute_in_other_processes(series):
    pattern, frames, _ = series
    image = BlueskyRun(ingest_area_detector_hdf5(pattern, lazy=True)).primary.to_dask()["image"].data
    with dask.config.set(scheduler="processes", num_workers=2):
        np.testing.assert_array_equal(image[2:7].compute(), frames[2:7])
        np.testing.assert_array_equal(image[5].compute(), frames[5])


# -- errors ------------------------------------------------------------------------------


def test_frames_of_another_shape_name_the_file(series):
    pattern, _, paths = series
    write_ndfile_hdf5(paths[2], frames_of(5, 4, shape=(8, 8)))
    with pytest.raises(IngestError, match="holds frames of") as info:
        list(ingest_area_detector_hdf5(pattern))
    assert info.value.path == paths[2]


def test_a_file_without_the_layout_is_named(tmp_path):
    path = str(tmp_path / "other_001.h5")
    with h5py.File(path, "w") as file:
        file["entry/measurement/counts"] = np.arange(5)
    with pytest.raises(IngestError, match="not written by NDFileHDF5") as info:
        list(ingest_area_detector_hdf5(path))
    assert info.value.path == path


def test_a_damaged_file_is_named(series):
    pattern, _, paths = series
    with open(paths[1], "r+b") as file:
        file.truncate(2000)
    with pytest.raises(IngestError) as info:
        list(ingest_area_detector_hdf5(pattern))
    assert info.value.path == paths[1]


def test_mixed_prefixes_given_directly_are_refused(series):
    pattern, _, _ = series
    write_ndfile_hdf5(os.path.join(os.path.dirname(pattern), "dark_000001.h5"), frames_of(9, 2))
    with pytest.raises(IngestError, match="2 series"):
        next(ingest_area_detector_hdf5(os.path.join(os.path.dirname(pattern), "*.h5")))


def test_a_file_deleted_before_compute_is_named(series):
    pattern, _, paths = series
    run = BlueskyRun(ingest_area_detector_hdf5(pattern, lazy=True))
    image = run.primary.to_dask()["image"].data
    os.remove(paths[2])
    with pytest.raises(MissingFileError) as info:
        image[9].compute()
    assert info.value.path == paths[2]


# -- detection ---------------------------------------------------------------------------


def test_sniff_prefers_ndfile_hdf5_over_nexus_and_refuses_others(series, tmp_path):
    _, _, paths = series
    (source,) = expand(paths[0])
    assert sniff_area_detector_hdf5(read_head(source), source) == 0.9
    nexus = str(tmp_path / "scan.nxs")
    with h5py.File(nexus, "w") as file:
        entry = file.create_group("entry")
        entry.attrs["NX_class"] = "NXentry"
        data = entry.create_group("data")
        data.attrs["NX_class"] = "NXdata"
        data.attrs["signal"] = "data"
        data["data"] = np.arange(5.0)
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    for path in (nexus, str(junk)):
        (source,) = expand(path)
        assert sniff_area_detector_hdf5(read_head(source), source) == 0.0
    plan = detect([os.path.dirname(paths[0]), nexus])
    assert sorted((run.ingestor, len(run.files)) for run in plan.runs) == [
        ("area_detector_hdf5", 3),
        ("nexus_hdf5", 1),
    ]


def test_registered_under_its_name():
    assert get_spec("area_detector_hdf5") is AREA_DETECTOR_HDF5
    assert AREA_DETECTOR_HDF5.grouping == "prefix"


# -- the HDF5_FRAMES handler reads chunks of several frames once ----------------------------


def test_handler_decompresses_each_chunk_once(tmp_path, monkeypatch):
    frames = frames_of(4, 10)
    path = str(tmp_path / "frames.h5")
    with h5py.File(path, "w") as file:
        file.create_dataset(
            "entry/data/data", data=frames, chunks=(4, *FRAME_SHAPE), **hdf5plugin.Bitshuffle(nelems=0, cname="lz4")
        )
    handler = HDF5Frames(path, dataset="/entry/data/data")
    reads = []
    original = handler._read
    monkeypatch.setattr(handler, "_read", lambda frame, begin, end: reads.append((begin, end)) or original(frame, begin, end))
    for index in range(10):
        np.testing.assert_array_equal(handler(frame=index), frames[index])
    assert reads == [(0, 4), (4, 8), (8, 10)]
    handler.close()


def test_attributes_named_as_event_fields_are_renamed(tmp_path, validated):
    path = write_ndfile_hdf5(
        str(tmp_path / "clash_000001.h5"),
        frames_of(0, 3),
        attributes={"time": np.float64([0.0, 0.5, 1.0]), "seq_num": np.int32([7, 7, 7])},
        detector_attributes={"uid": np.array(["a", "b", "c"])},
        epics_seconds=EPICS_SECONDS,
    )
    documents = validated(ingest_area_detector_hdf5(path))
    descriptor = documents[1][1]
    keys = set(descriptor["data_keys"]) | set(descriptor["configuration"]["area_detector"]["data_keys"])
    assert {"time_2", "seq_num_2", "uid_2"} <= keys and not {"time", "seq_num", "uid"} & keys
    dataset = BlueskyRun(iter(documents)).primary.read()
    assert dataset["time_2"].values.tolist() == [0.0, 0.5, 1.0]
    assert dataset["seq_num"].values.tolist() == [1, 2, 3]
    assert list(dataset["uid_2"].values) == ["a", "b", "c"]
