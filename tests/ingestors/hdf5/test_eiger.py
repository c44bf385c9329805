"""Dectris Eiger HDF5: a master file, data files it links to, frames filled lazily on read."""

import os
import shutil
import warnings
import zipfile

import dask.array as da
import h5py
import hdf5plugin
import intake
import numpy as np
import pytest
import xarray as xr

from intake_ingest import (
    BlueskyIngestCatalog,
    BlueskyMsgpackCatalog,
    BlueskyRun,
    IngestError,
    IngestWarning,
    MissingFileError,
)
from intake_ingest.detect import detect
from intake_ingest.drivers.eiger import EigerHdf5Run
from intake_ingest.files import deterministic_uid, expand
from intake_ingest.handlers.hdf5 import HDF5Frames
from intake_ingest.ingestors.hdf5 import eiger
from intake_ingest.ingestors.hdf5.eiger import ingest_eiger
from intake_ingest.ingestors.hdf5.values import parse_time
from intake_ingest.msgpack import export
from intake_ingest.registry import get_spec, read_head
from intake_ingest.run import filling

FRAME_SHAPE = (24, 20)  # (y_pixels_in_detector, x_pixels_in_detector)
FRAMES_PER_FILE = (4, 3)  # nimages_per_file 4: the second file holds the rest
N_FRAMES = sum(FRAMES_PER_FILE)
OMEGA_START, OMEGA_STEP = 10.0, 0.25
COLLECTION_DATE = "2023-05-17T14:03:21.512+02:00"


def _scalar(group, name, value, units=None):
    dataset = group.create_dataset(name, data=value)
    if units:
        dataset.attrs["units"] = units
    return dataset


def write_eiger_series(folder, name="lyso_1", frames=None, legacy_links=False, seed=5):
    """Write an Eiger series as the SIMPLON file writer does; returns (master path, frames).

    Layout and units from the DECTRIS header documentation (EIGER API 1.5,
    https://www.dectris.com/en/support/downloads/header-docs/nexus/) and the Neggia
    plugin's requirements (github.com/dectris/neggia README.md): metadata in
    ``name_master.h5`` under /entry/instrument/detector (+ detectorSpecific),
    /entry/instrument/beam, /entry/sample/goniometer, values with @units; frames in
    ``name_data_000001.h5``... at /entry/data/data (attributes image_nr_low/high, 1-based),
    linked from the master as /entry/data/data_000001... (directly under /entry before
    firmware 1.3.0: ``legacy_links``). Data are bitshuffle/LZ4 compressed, the default,
    one chunk per frame; the second file plain LZ4, the other filter the writer offers.
    """
    os.makedirs(folder, exist_ok=True)
    if frames is None:
        rng = np.random.default_rng(seed)
        frames = rng.integers(0, 2**20, size=(N_FRAMES, *FRAME_SHAPE)).astype(np.uint32)
    first = 0
    for number, (count, compression) in enumerate(
        zip(FRAMES_PER_FILE, [hdf5plugin.Bitshuffle(nelems=0, cname="lz4"), hdf5plugin.LZ4()]), start=1
    ):
        with h5py.File(os.path.join(folder, f"{name}_data_{number:06d}.h5"), "w") as file:
            entry = file.create_group("entry")
            entry.attrs["NX_class"] = "NXentry"
            data = entry.create_group("data")
            data.attrs["NX_class"] = "NXdata"
            dataset = data.create_dataset(
                "data", data=frames[first : first + count], chunks=(1, *FRAME_SHAPE), **compression
            )
            dataset.attrs["image_nr_low"] = np.uint64(first + 1)
            dataset.attrs["image_nr_high"] = np.uint64(first + count)
        first += count

    master = os.path.join(folder, f"{name}_master.h5")
    with h5py.File(master, "w") as file:
        entry = file.create_group("entry")
        entry.attrs["NX_class"] = "NXentry"
        data = entry.create_group("data")
        data.attrs["NX_class"] = "NXdata"
        links = entry if legacy_links else data
        for number in range(1, len(FRAMES_PER_FILE) + 1):
            target = f"{name}_data_{number:06d}.h5"
            links[f"data_{number:06d}"] = h5py.ExternalLink(target, "/entry/data/data")
        instrument = entry.create_group("instrument")
        instrument.attrs["NX_class"] = "NXinstrument"
        beam = instrument.create_group("beam")
        beam.attrs["NX_class"] = "NXbeam"
        _scalar(beam, "incident_wavelength", np.float32(0.9763), "angstrom")
        detector = instrument.create_group("detector")
        detector.attrs["NX_class"] = "NXdetector"
        _scalar(detector, "description", b"Dectris EIGER2 XE 16M")
        _scalar(detector, "detector_number", b"E-32-0125")
        _scalar(detector, "sensor_material", b"Si")
        _scalar(detector, "sensor_thickness", np.float32(450e-6), "m")
        _scalar(detector, "x_pixel_size", np.float32(75e-6), "m")
        _scalar(detector, "y_pixel_size", np.float32(75e-6), "m")
        _scalar(detector, "beam_center_x", np.float32(10.5), "pixel")
        _scalar(detector, "beam_center_y", np.float32(12.25), "pixel")
        _scalar(detector, "detector_distance", np.float32(0.2), "m")
        _scalar(detector, "count_time", np.float32(0.0099999), "s")
        _scalar(detector, "frame_time", np.float32(0.01), "s")
        _scalar(detector, "bit_depth_image", np.uint32(32))
        _scalar(detector, "bit_depth_readout", np.uint32(16))
        _scalar(detector, "countrate_correction_applied", np.bool_(True))
        specific = detector.create_group("detectorSpecific")
        _scalar(specific, "nimages", np.uint32(N_FRAMES))
        _scalar(specific, "ntrigger", np.uint32(1))
        _scalar(specific, "x_pixels_in_detector", np.uint32(FRAME_SHAPE[1]))
        _scalar(specific, "y_pixels_in_detector", np.uint32(FRAME_SHAPE[0]))
        _scalar(specific, "photon_energy", np.float32(12699.0), "eV")
        _scalar(specific, "software_version", b"1.8.0")
        _scalar(specific, "data_collection_date", COLLECTION_DATE.encode())
        _scalar(specific, "countrate_correction_count_cutoff", np.uint32(126634))
        specific.create_dataset("pixel_mask", data=np.zeros(FRAME_SHAPE, np.uint32))  # an array: not metadata
        goniometer = entry.create_group("sample").create_group("goniometer")
        goniometer.attrs["NX_class"] = "NXtransformations"
        omega = OMEGA_START + OMEGA_STEP * np.arange(N_FRAMES)
        _scalar(goniometer, "omega", omega, "degree")
        _scalar(goniometer, "omega_end", omega + OMEGA_STEP, "degree")
        _scalar(goniometer, "omega_range_average", np.float32(OMEGA_STEP), "degree")
        _scalar(goniometer, "omega_range_total", np.float32(OMEGA_STEP * N_FRAMES), "degree")
        _scalar(goniometer, "phi", np.zeros(N_FRAMES), "degree")
    return master, frames


@pytest.fixture
def eiger_series(tmp_path):
    return write_eiger_series(str(tmp_path / "eiger"))


class CountingFrames(HDF5Frames):
    """HDF5Frames counting the files it opens, to prove frames are read only on demand."""

    opened = []

    def __init__(self, full_path, **kwargs):
        CountingFrames.opened.append(full_path)
        super().__init__(full_path, **kwargs)


@pytest.fixture
def counting_handler():
    CountingFrames.opened = []
    filling.register_handler("HDF5_FRAMES", CountingFrames)
    yield CountingFrames
    filling._registered.pop("HDF5_FRAMES", None)
    filling._handler.cache_clear()


def names(documents):
    return [name for name, _ in documents]


def frames_via_h5py(master):
    """The frames as h5py gives them through the master's external links (the reference)."""
    with h5py.File(master, "r") as file:
        links = [f"entry/data/data_{n:06d}" for n in range(1, len(FRAMES_PER_FILE) + 1)]
        return np.concatenate([file[link][()] for link in links])


def test_documents_follow_the_event_model(eiger_series, validated):
    master, frames = eiger_series
    documents = validated(ingest_eiger(master))
    per_file = [["resource", "datum_page"] + ["event"] * count for count in FRAMES_PER_FILE]
    assert names(documents) == ["start", "descriptor", *per_file[0], *per_file[1], "stop"]
    stop = documents[-1][1]
    assert stop["exit_status"] == "success" and stop["num_events"] == {"primary": N_FRAMES}


def test_run_start_holds_the_master_metadata_with_units(eiger_series):
    master, _ = eiger_series
    start = next(ingest_eiger(master))[1]
    assert start["uid"] == deterministic_uid([master])
    assert start["time"] == pytest.approx(1684325001.512)  # data_collection_date, +02:00
    assert start["ingestor"] == "eiger_hdf5" and start["source"] == master
    assert start["num_points"] == N_FRAMES
    assert start["detector_description"] == "Dectris EIGER2 XE 16M"
    assert start["detector_serial_number"] == "E-32-0125"
    assert start["sensor_material"] == "Si"
    assert start["incident_wavelength"] == pytest.approx(0.9763)
    assert start["detector_distance"] == pytest.approx(0.2)
    assert (start["beam_center_x"], start["beam_center_y"]) == (10.5, 12.25)
    assert start["x_pixel_size"] == pytest.approx(75e-6)
    assert (start["nimages"], start["ntrigger"]) == (N_FRAMES, 1)
    assert start["data_collection_date"] == COLLECTION_DATE
    assert start["units"] == {
        "incident_wavelength": "angstrom",
        "detector_distance": "m",
        "beam_center_x": "pixel",
        "beam_center_y": "pixel",
        "x_pixel_size": "m",
        "y_pixel_size": "m",
        "sensor_thickness": "m",
        "count_time": "s",
        "frame_time": "s",
        "photon_energy": "eV",
    }
    # Every value is a plain Python value (it goes to msgpack and YAML as it is).
    assert all(type(value) in (str, int, float, dict) for value in start.values())


def test_descriptor_image_is_external_with_the_data_files_shape_and_dtype(eiger_series):
    master, frames = eiger_series
    descriptor = list(ingest_eiger(master))[1][1]
    image = descriptor["data_keys"]["image"]
    assert image["external"] == "FILESTORE:"
    assert image["shape"] == list(FRAME_SHAPE) and image["dtype_numpy"] == "<u4"
    omega = descriptor["data_keys"]["omega"]
    assert omega["units"] == "degree" and omega["shape"] == [] and omega["dtype"] == "number"
    assert set(descriptor["data_keys"]) == {"image", "omega", "omega_end", "phi"}

    detector = descriptor["configuration"]["eiger"]
    assert detector["data"]["count_time"] == pytest.approx(0.0099999)
    assert detector["data_keys"]["count_time"]["units"] == "s"
    assert detector["data"]["countrate_correction_applied"] is True
    assert detector["data_keys"]["countrate_correction_applied"]["dtype"] == "boolean"
    assert detector["data"]["countrate_correction_count_cutoff"] == 126634
    assert detector["data_keys"]["incident_wavelength"]["units"] == "angstrom"
    assert "pixel_mask" not in detector["data"]  # arrays stay in the file
    goniometer = descriptor["configuration"]["goniometer"]
    assert goniometer["data"] == {
        "omega_range_average": OMEGA_STEP,
        "omega_range_total": OMEGA_STEP * N_FRAMES,
    }


def test_resources_and_datums_point_at_each_data_file(eiger_series):
    master, _ = eiger_series
    documents = list(ingest_eiger(master))
    start = documents[0][1]
    resources = [doc for name, doc in documents if name == "resource"]
    folder = os.path.dirname(master)
    assert [resource["resource_path"] for resource in resources] == [
        os.path.join(folder, "lyso_1_data_000001.h5"),
        os.path.join(folder, "lyso_1_data_000002.h5"),
    ]
    for resource in resources:
        assert resource["spec"] == "HDF5_FRAMES" and resource["root"] == ""
        assert resource["resource_kwargs"] == {"dataset": "/entry/data/data"}
        assert resource["run_start"] == start["uid"]
    pages = [doc for name, doc in documents if name == "datum_page"]
    assert [page["datum_kwargs"]["frame"] for page in pages] == [list(range(n)) for n in FRAMES_PER_FILE]
    events = [doc for name, doc in documents if name == "event"]
    datum_ids = pages[0]["datum_id"] + pages[1]["datum_id"]
    assert [event["data"]["image"] for event in events] == datum_ids
    assert all(event["filled"] == {"image": False} for event in events)
    assert [event["seq_num"] for event in events] == list(range(1, N_FRAMES + 1))
    # Nominal frame times: the collection start plus a frame time per frame.
    assert [event["time"] for event in events] == pytest.approx(
        [start["time"] + 0.01 * i for i in range(N_FRAMES)], abs=1e-6
    )
    omega = [event["data"]["omega"] for event in events]
    np.testing.assert_allclose(omega, OMEGA_START + OMEGA_STEP * np.arange(N_FRAMES))
    # The same files give the same resource and datum ids every time.
    again = [doc["uid"] for name, doc in ingest_eiger(master) if name == "resource"]
    assert again == [resource["uid"] for resource in resources]


def test_read_fills_the_frames_as_h5py_reads_them(eiger_series, counting_handler):
    master, frames = eiger_series
    dataset = BlueskyRun(ingest_eiger(master)).primary.read()
    np.testing.assert_array_equal(dataset["image"].values, frames_via_h5py(master))
    np.testing.assert_array_equal(dataset["image"].values, frames)
    assert dataset["image"].dtype == np.uint32
    np.testing.assert_allclose(dataset["omega"].values, OMEGA_START + OMEGA_STEP * np.arange(N_FRAMES))
    assert len(counting_handler.opened) == 2  # one handler (one open) per data file


def test_generating_the_documents_reads_no_frame(eiger_series, counting_handler, monkeypatch):
    master, _ = eiger_series
    reads = []
    original = h5py.Dataset.__getitem__

    def recording(self, key):
        reads.append(os.path.basename(self.file.filename))
        return original(self, key)

    monkeypatch.setattr(h5py.Dataset, "__getitem__", recording)
    documents = list(ingest_eiger(master))
    assert len(documents) == 2 + 2 * 2 + N_FRAMES + 1
    assert reads and set(reads) == {"lyso_1_master.h5"}  # metadata and angles only
    assert counting_handler.opened == []


def test_run_start_opens_only_the_master(eiger_series, memory_folder, count_memory_opens):
    master, _ = eiger_series
    fs, root = memory_folder
    for name in os.listdir(os.path.dirname(master)):
        fs.pipe(f"{root}/{name}", open(os.path.join(os.path.dirname(master), name), "rb").read())
    count_memory_opens.clear()
    documents = ingest_eiger(f"memory://{root}/lyso_1_master.h5")
    assert next(documents)[0] == "start"
    assert set(count_memory_opens) == {f"{root}/lyso_1_master.h5"}
    list(documents)  # the data files' headers are read after the RunStart
    assert set(count_memory_opens) == {f"{root}/{name}" for name in os.listdir(os.path.dirname(master))}


def test_to_dask_reads_each_frame_on_compute(eiger_series, counting_handler):
    master, frames = eiger_series
    lazy = BlueskyRun(ingest_eiger(master)).primary.to_dask()
    image = lazy["image"].data
    assert isinstance(image, da.Array) and image.chunks[0] == (1,) * N_FRAMES
    assert counting_handler.opened == []
    np.testing.assert_array_equal(image[5].compute(), frames[5])
    assert [os.path.basename(path) for path in counting_handler.opened] == ["lyso_1_data_000002.h5"]
    np.testing.assert_array_equal(image.compute(), frames)


def test_canonical_fill_modes(eiger_series, validated):
    master, frames = eiger_series
    run = BlueskyRun(ingest_eiger(master))
    unfilled = [doc for name, doc in run.canonical(fill="no") if name == "event"]
    assert all(isinstance(event["data"]["image"], str) for event in unfilled)
    filled = [doc for name, doc in validated(run.canonical(fill="yes")) if name == "event"]
    np.testing.assert_array_equal(np.stack([event["data"]["image"] for event in filled]), frames)


def test_unfilled_run_exported_to_msgpack_still_fills(eiger_series, tmp_path):
    master, frames = eiger_series
    run = BlueskyRun(ingest_eiger(master))
    (copy,) = export(run.canonical(fill="no"), tmp_path / "copies")
    reopened = BlueskyMsgpackCatalog(copy)[run.uid]
    assert "resource" in names(reopened.documents())
    stored = [doc for name, doc in reopened.canonical(fill="no") if name == "event"]
    assert all(isinstance(event["data"]["image"], str) for event in stored)  # datum ids, not pixels
    xr.testing.assert_identical(reopened.primary.read(), run.primary.read())
    np.testing.assert_array_equal(reopened.primary.to_dask()["image"].values, frames)


def test_missing_data_file_is_named_when_the_run_is_read(eiger_series):
    master, _ = eiger_series
    missing = os.path.join(os.path.dirname(master), "lyso_1_data_000002.h5")
    os.remove(missing)
    run = BlueskyRun(ingest_eiger(master))  # listing needs the master only
    assert run.start["num_points"] == N_FRAMES
    with pytest.raises(MissingFileError) as info:
        run.primary.read()
    assert info.value.path == missing
    assert "data_000002" in str(info.value) and master in str(info.value)
    assert isinstance(info.value, FileNotFoundError)


def test_data_file_removed_after_ingest_is_named_when_filled(eiger_series):
    master, _ = eiger_series
    run = BlueskyRun(ingest_eiger(master))
    list(run.documents())  # ingested: every document pulled
    missing = os.path.join(os.path.dirname(master), "lyso_1_data_000001.h5")
    os.remove(missing)
    with pytest.raises(MissingFileError) as info:
        run.primary.read()
    assert info.value.path == missing


@pytest.mark.parametrize("keep", [0.02, 0.5, 0.9])
def test_truncated_master_is_an_error_naming_it(eiger_series, keep):
    master, _ = eiger_series
    with open(master, "rb") as file:
        content = file.read()
    with open(master, "wb") as file:
        file.write(content[: int(len(content) * keep)])
    with pytest.raises(IngestError) as info:
        list(ingest_eiger(master))
    assert info.value.path == master
    assert "Traceback" not in str(info.value)


@pytest.mark.parametrize("keep", [0.01, 0.3, 0.8])
def test_truncated_data_file_is_named_when_the_run_is_read(eiger_series, keep):
    master, _ = eiger_series
    data_file = os.path.join(os.path.dirname(master), "lyso_1_data_000001.h5")
    with open(data_file, "rb") as file:
        content = file.read()
    with open(data_file, "wb") as file:
        file.write(content[: int(len(content) * keep)])
    run = BlueskyRun(ingest_eiger(master))
    # Whether the header (at ingest) or a frame (when filled) is what is cut off, the
    # error names the data file.
    with pytest.raises(IngestError) as info:
        run.primary.read()
    assert info.value.path == data_file


def test_master_that_is_not_hdf5_is_an_error_naming_it(tmp_path):
    path = tmp_path / "notes_master.h5"
    path.write_text("not HDF5")
    with pytest.raises(IngestError, match="not a readable HDF5 file") as info:
        next(ingest_eiger(str(path)))
    assert info.value.path == str(path)


def test_hdf5_without_data_links_is_an_error(tmp_path):
    path = str(tmp_path / "empty_master.h5")
    with h5py.File(path, "w") as file:
        file.create_group("entry/instrument/detector")
    with pytest.raises(IngestError, match="links no data files") as info:
        next(ingest_eiger(path))
    assert info.value.path == path


def test_data_file_with_other_frames_is_named(eiger_series):
    master, frames = eiger_series
    second = os.path.join(os.path.dirname(master), "lyso_1_data_000002.h5")
    with h5py.File(second, "w") as file:
        file.create_dataset("entry/data/data", data=frames[:3, :10].astype(np.uint16))
    with pytest.raises(IngestError, match="uint16") as info:
        list(ingest_eiger(master))
    assert info.value.path == second


def test_fewer_frames_than_nimages_warns_and_pads_angles(tmp_path):
    master, frames = write_eiger_series(str(tmp_path))
    with h5py.File(master, "r+") as file:
        file["entry/instrument/detector/detectorSpecific/nimages"][()] = N_FRAMES + 2
        for name in ("omega", "omega_end", "phi"):
            values = file[f"entry/sample/goniometer/{name}"][()]
            del file[f"entry/sample/goniometer/{name}"]
            file[f"entry/sample/goniometer/{name}"] = np.concatenate([values, [0.0, 0.0]])
    with pytest.warns(IngestWarning, match=f"hold {N_FRAMES} frames; nimages x ntrigger is {N_FRAMES + 2}"):
        dataset = BlueskyRun(ingest_eiger(master)).primary.read()
    assert dataset.sizes["time"] == N_FRAMES


def test_angles_of_the_wrong_length_are_left_out_with_a_warning(tmp_path):
    master, _ = write_eiger_series(str(tmp_path))
    with h5py.File(master, "r+") as file:
        file["entry/sample/goniometer/kappa"] = np.zeros(N_FRAMES - 1)
    with pytest.warns(IngestWarning, match="kappa") as record:
        documents = list(ingest_eiger(master))
    assert master in str(record[0].message)
    assert "kappa" not in documents[1][1]["data_keys"]


def test_firmware_before_1_3_links_under_entry(tmp_path):
    master, frames = write_eiger_series(str(tmp_path), legacy_links=True)
    np.testing.assert_array_equal(BlueskyRun(ingest_eiger(master)).primary.read()["image"].values, frames)


def test_memory_filesystem_resolves_links_beside_the_master(eiger_series, memory_folder):
    master, frames = eiger_series
    fs, root = memory_folder
    folder = os.path.dirname(master)
    for name in os.listdir(folder):
        fs.pipe(f"{root}/{name}", open(os.path.join(folder, name), "rb").read())
    documents = list(ingest_eiger(f"memory://{root}/lyso_1_master.h5"))
    resources = [doc for name, doc in documents if name == "resource"]
    assert resources[0]["resource_path"] == f"memory://{root}/lyso_1_data_000001.h5"
    run = BlueskyRun(iter(documents))
    np.testing.assert_array_equal(run.primary.read()["image"].values, frames)
    lazy = run.primary.to_dask()["image"].data
    np.testing.assert_array_equal(lazy.compute(scheduler="threads"), frames)  # frames read in parallel


def test_zip_archive(eiger_series, tmp_path):
    master, frames = eiger_series
    archive = tmp_path / "series.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for name in sorted(os.listdir(os.path.dirname(master))):
            zipped.write(os.path.join(os.path.dirname(master), name), f"scans/{name}")
    url = f"zip://scans/lyso_1_master.h5::file://{archive}"
    run = BlueskyRun(ingest_eiger(url))
    resource = next(doc for name, doc in run.documents() if name == "resource")
    assert resource["resource_path"] == f"zip://scans/lyso_1_data_000001.h5::file://{archive}"
    np.testing.assert_array_equal(run.primary.read()["image"].values, frames)


def test_driver_round_trip(eiger_series):
    master, frames = eiger_series
    driver = intake.registry["bluesky-eiger-hdf5"]
    assert driver is EigerHdf5Run
    run = driver(filename=master)
    assert isinstance(run, BlueskyRun) and run.uid == deterministic_uid([master])
    assert run.describe()["metadata"]["start"]["detector_description"] == "Dectris EIGER2 XE 16M"
    xr.testing.assert_identical(
        run.primary.read().drop_vars("uid"), BlueskyRun(ingest_eiger(master)).primary.read().drop_vars("uid")
    )
    np.testing.assert_array_equal(run.primary.read()["image"].values, frames)


def test_ingest_catalog_makes_one_run_per_master(tmp_path):
    folder = str(tmp_path / "beamtime")
    first, _ = write_eiger_series(folder, "lyso_1")
    second, frames = write_eiger_series(folder, "lyso_2", seed=9)
    catalog = BlueskyIngestCatalog(f"{folder}/*_master.h5", "eiger_hdf5")
    assert sorted(catalog) == sorted(deterministic_uid([path]) for path in (first, second))
    run = catalog[deterministic_uid([second])]
    np.testing.assert_array_equal(run.primary.read()["image"].values, frames)


def test_sniffing_claims_masters_and_attaches_their_data_files(eiger_series):
    master, _ = eiger_series
    folder = os.path.dirname(master)
    spec = get_spec("eiger_hdf5")
    (source,) = expand(master)
    assert spec.confidence(read_head(source), source) == pytest.approx(0.95)
    head = read_head(source)
    assert spec.confidence(head, source) > get_spec("nexus_hdf5").confidence(head, source)
    data_sources = expand(f"{folder}/lyso_1_data_*.h5")
    for data in data_sources:
        assert spec.confidence(read_head(data), data) == 0.0
    others = expand(f"{folder}/*.h5")
    assert spec.companions(source, [s for s in others if s != source]) == data_sources
    assert eiger.sniff_eiger(b"not HDF5 at all", source) == 0.0


def test_reingesting_after_copying_the_folder_gives_another_run(eiger_series, tmp_path):
    master, _ = eiger_series
    copy = shutil.copytree(os.path.dirname(master), tmp_path / "copy")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a complete series warns about nothing
        moved = next(ingest_eiger(str(copy / "lyso_1_master.h5")))[1]
    assert moved["uid"] != next(ingest_eiger(master))[1]["uid"]


# -- real master files (tests/data/real/eiger/README.md), checked against h5py -------------

REAL = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "data", "real", "eiger")


def _copy_real(name, folder):
    path = os.path.join(str(folder), name)
    with open(os.path.join(REAL, name), "rb") as real, open(path, "wb") as copy:
        copy.write(real.read())
    return path


def _write_data_file(path, dataset_path, shape, dtype, written):
    """A data file of the real shape, chunked a frame a chunk, only ``written`` frames stored (small)."""
    rng = np.random.default_rng(9)
    frames = {}
    with h5py.File(path, "w") as file:
        dataset = file.create_dataset(
            dataset_path, shape=shape, dtype=dtype, chunks=(1, *shape[1:]), compression="gzip"
        )
        for index in written:
            frames[index] = rng.integers(0, 60_000, shape[1:]).astype(dtype)
            dataset[index] = frames[index]
    return frames


@pytest.mark.parametrize("name", ["xrc_209_master.h5"])
def test_real_nxmx_master_metadata_as_h5py_reads_it(name):
    """A DLS I03 (nexgen, 2024) master of an Eiger 16M series, in NXmx layout."""
    path = os.path.join(REAL, name)
    run = BlueskyRun(ingest_eiger(path))
    start = run.start
    with h5py.File(path, "r") as file:
        detector = file["entry/instrument/detector"]
        assert start["detector_description"] == detector["description"][()].decode()
        assert start["x_pixel_size"] == detector["x_pixel_size"][()]
        assert start["beam_center_x"] == detector["beam_center_x"][()]
        distance = detector.get("detector_distance", detector.get("distance"))[()]
        assert start["detector_distance"] == pytest.approx(float(np.ravel(distance)[0]))
        assert start["incident_wavelength"] == file["entry/instrument/beam/incident_wavelength"][()]
        nimages = int(detector["detectorSpecific/nimages"][()])
        assert start["nimages"] == start["num_points"] == nimages == file["entry/data/data"].shape[0]
        assert start["definition"] == "NXmx"
        start_time = file["entry/start_time"][()].decode()
    assert start["time"] == parse_time(start_time)
    assert start["units"]["incident_wavelength"] == "angstrom"
    with pytest.raises(MissingFileError, match="no such file: the data file data_000001") as info:
        run.primary.read()
    series = name.replace("_master.h5", "").replace(".nxs", "")
    assert os.path.basename(info.value.path) == f"{series}_000001.h5"


def test_real_master_with_a_data_file_beside_it(tmp_path, validated):
    """xrc_209_master.h5 with a data file of its real shape: frames and angles as h5py reads the master."""
    master = _copy_real("xrc_209_master.h5", tmp_path)
    with h5py.File(master, "r") as file:
        link = file.get("entry/data/data_000001", getlink=True)
        shape, dtype = file["entry/data/data"].shape, file["entry/data/data"].dtype
        omega, sam_x = file["entry/data/omega"][()], file["entry/data/sam_x"][()]
    frames = _write_data_file(str(tmp_path / link.filename), link.path, shape, dtype, [3])

    documents = validated(ingest_eiger(master))
    assert [name for name, _ in documents].count("event") == shape[0] == 240
    descriptor = next(doc for name, doc in documents if name == "descriptor")
    assert descriptor["data_keys"]["image"]["shape"] == list(shape[1:])
    assert descriptor["data_keys"]["image"]["dtype_numpy"] == "<u2"
    lazy = BlueskyRun(iter(documents)).primary.to_dask()
    np.testing.assert_allclose(lazy["omega"].values, omega)
    np.testing.assert_allclose(lazy["sam_x"].values, sam_x)
    with h5py.File(master, "r") as file:  # through the master's virtual dataset
        for index in (0, 3):
            np.testing.assert_array_equal(lazy["image"][index].values, file["entry/data/data"][index])
    np.testing.assert_array_equal(lazy["image"][3].values, frames[3])

    plan = detect([str(tmp_path / "*")])
    (run,) = plan.runs
    assert run.ingestor == "eiger_hdf5"
    assert [os.path.basename(c.path) for c in run.companions] == [link.filename]
    assert plan.unrecognised == [] and plan.ambiguous == []
