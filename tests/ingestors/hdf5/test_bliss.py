"""ESRF BLISS HDF5: one run per scan entry, on real BLISS files and on files written here.

The real files (``tests/data/real/bliss/``, see its README) are checked against h5py
directly. Aborted, failed and unfinished scans, lima images in the detector's own files,
a missing lima file and bad input are tested on files this module writes in BLISS's
layout, as the real files show it.
"""

import datetime
import os
import shutil
import zipfile

import h5py
import intake
import numpy as np
import pytest
import xarray as xr
from event_model import unpack_datum_page as event_model_datums

from intake_ingest import BlueskyIngestCatalog, BlueskyMsgpackCatalog, BlueskyRun, IngestError, IngestWarning
from intake_ingest.detect import detect
from intake_ingest.drivers.bliss import EsrfBlissRun
from intake_ingest.files import deterministic_uid, expand
from intake_ingest.ingestors.hdf5 import bliss
from intake_ingest.ingestors.hdf5.bliss import bliss_runs, ingest_bliss, sniff_bliss
from intake_ingest.ingestors.hdf5.bliss_command import command_metadata
from intake_ingest.msgpack import export
from intake_ingest.registry import get_spec, read_head

REAL = os.path.join(os.path.dirname(__file__), "..", "..", "data", "real", "bliss")
BM32 = os.path.abspath(os.path.join(REAL, "run3_CaSO4_H2O_4nm_pos2_measurement.h5"))
ID24 = os.path.abspath(os.path.join(REAL, "xanes.h5"))


def names(documents):
    return [name for name, _ in documents]


def docs_named(documents, wanted):
    return [doc for name, doc in documents if name == wanted]


def iso(text):
    return datetime.datetime.fromisoformat(text).timestamp()


def text_of(dataset):
    value = dataset[()]
    return value.decode() if isinstance(value, bytes) else str(value)


# -- a writer following BLISS's layout ------------------------------------------------------


def _group(parent, name, nx_class):
    group = parent.create_group(name)
    group.attrs["NX_class"] = nx_class
    return group


def write_lima_file(path, frames):
    """A lima detector's own HDF5 file, as LIMA saves it: frames in /entry_0000/measurement/data."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with h5py.File(path, "w") as file:
        file.attrs["NX_class"] = "NXroot"
        entry = _group(file, "entry_0000", "NXentry")
        _group(entry, "measurement", "NXcollection")["data"] = frames


def write_scan(
    file,
    key,
    title,
    counters,
    motors=None,
    held=None,
    end_positions=True,
    end_reason="SUCCESS",
    writer_status="SUCCEEDED",
    start="2025-03-04T10:00:00.000000+01:00",
    end="2025-03-04T10:00:30.000000+01:00",
    lima=None,
    sample="silicon",
):
    """One scan entry in the layout of the BLISS files in tests/data/real/bliss/.

    ``counters`` and ``motors``: name -> (values per point, units or None); counters go
    to instrument/<name>/data (NXdetector), motors to instrument/<name>/value
    (NXpositioner) and are linked from instrument/positioners; ``held``: name -> value
    of the motors that stay still; ``lima``: (name, relative file path), whose
    instrument/<name>/data is an external link to the lima file's frames.
    ``end_reason``, ``writer_status``, ``end``: None leaves them out.
    """
    motors, held = motors or {}, held or {}
    entry = _group(file, key, "NXentry")
    entry.attrs["default"] = "plotselect"
    entry["title"] = title
    entry["start_time"] = start
    if end is not None:
        entry["end_time"] = end
    if end_reason is not None:
        entry["end_reason"] = end_reason
    if writer_status is not None:
        writer = _group(entry, "writer", "NXnote")
        writer["date"], writer["status"] = start, writer_status
    _group(entry, "sample", "NXsample")["name"] = sample
    instrument = _group(entry, "instrument", "NXinstrument")
    instrument["name"] = "ESRF-TEST"
    instrument["name"].attrs["short_name"] = "id99"
    measurement = _group(entry, "measurement", "NXcollection")
    for name, (values, units) in counters.items():
        dataset = _group(instrument, name, "NXdetector").create_dataset("data", data=values)
        if units is not None:
            dataset.attrs["units"] = units
        measurement[name] = h5py.SoftLink(dataset.name)
    positioners = _group(instrument, "positioners", "NXcollection")
    for name, (values, units) in motors.items():
        dataset = _group(instrument, name, "NXpositioner").create_dataset("value", data=values)
        if units is not None:
            dataset.attrs["units"] = units
        measurement[name] = h5py.SoftLink(dataset.name)
        positioners[name] = h5py.SoftLink(dataset.name)
    for name, value in held.items():
        positioners[name] = value
    for group_name, shift in [("positioners_start", 0.0)] + ([("positioners_end", 1.0)] if end_positions else []):
        group = _group(instrument, group_name, "NXcollection")
        for name, (values, units) in motors.items():
            group[name] = values[0] if shift == 0.0 else values[-1]
            if units:
                group[name].attrs["units"] = units
        for name, value in held.items():
            group[name] = value
    if lima is not None:
        lima_name, lima_path = lima
        detector = _group(instrument, lima_name, "NXdetector")
        detector["data"] = h5py.ExternalLink(lima_path, "/entry_0000/measurement/data")
        measurement[f"{lima_name}_image"] = h5py.SoftLink(f"{detector.name}/data")
    plot = _group(entry, "plotselect", "NXdata")
    first_counter = next(iter(counters))
    plot.attrs["signal"] = first_counter
    plot[first_counter] = h5py.SoftLink(f"{instrument.name}/{first_counter}/data")
    if motors:
        plot.attrs["axes"] = [next(iter(motors))]
    return entry


def open_dataset_file(path, creator="blissdata", publisher="bliss"):
    """A BLISS dataset file's root, with the attributes blisswriter and BLISS give it."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    file = h5py.File(path, "w")
    file.attrs.update(NX_class="NXroot", file_name=path, file_time="2025-03-04T10:00:00+01:00")
    if creator:
        file.attrs.update(creator=creator, creator_version="2.0.0")
    if publisher:
        file.attrs.update(publisher=publisher, publisher_version="2.2.0")
    return file


N_POINTS = 11
FRAME_SHAPE = (5, 7)


@pytest.fixture
def dataset_file(tmp_path):
    """A dataset file of three scans: an ascan with lima images, a loopscan, an aborted ascan.

    Returns (path, values written).
    """
    rng = np.random.default_rng(3)
    # The ESRF data policy's folders: <proposal>/<beamline>/<session>/RAW_DATA/<collection>/<collection>_<dataset>
    folder = tmp_path / "hg123" / "id99" / "20250304" / "RAW_DATA" / "silicon" / "silicon_0001"
    path = str(folder / "silicon_0001.h5")
    values = {
        "sy": np.linspace(0.0, 1.0, N_POINTS),
        "diode": rng.random(N_POINTS),
        "mon": rng.integers(0, 1000, N_POINTS).astype(np.int32),
        "epoch": 1741078800.0 + np.arange(N_POINTS) * 0.1,
        "frames": rng.integers(0, 60000, (N_POINTS, *FRAME_SHAPE)).astype(np.uint16),
        "loop_diode": rng.random(5),
        "aborted_diode": rng.random(4),
    }
    write_lima_file(str(folder / "scan0001" / "pilatus_0000.h5"), values["frames"])
    with open_dataset_file(path) as file:
        write_scan(
            file,
            "1.1",
            "ascan sy 0 1 10 0.1",
            {"diode": (values["diode"], "V"), "mon": (values["mon"], None), "epoch": (values["epoch"], "s")},
            motors={"sy": (values["sy"], "mm")},
            held={"sz": 2.5, "energy": 17.0},
            lima=("pilatus", "scan0001/pilatus_0000.h5"),
        )
        write_scan(
            file,
            "10.1",
            "loopscan 5 0.1",
            {"diode": (values["loop_diode"], None)},
            start="2025-03-04T11:00:00.000000+01:00",
            end="2025-03-04T11:00:01.000000+01:00",
            held={"sz": 2.5},
            end_positions=False,
        )
        write_scan(
            file,
            "2.1",
            "ascan sy 0 1 10 0.1",
            {"diode": (values["aborted_diode"], None)},
            motors={"sy": (values["sy"][:4], "mm")},
            end_reason="USER_ABORT",
        )
        file["not_a_scan"] = np.arange(3)
    return path, values


# -- the scan command ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "title, expected",
    [
        (
            "ascan sy 0 1 10 0.1",
            {
                "motors": ["sy"],
                "num_points": 11,
                "plan_args": {"motor": "sy", "start": 0, "stop": 1, "intervals": 10, "count_time": 0.1},
            },
        ),
        ("a2scan psi -0.1 4.0 bg1 -0.05 2.0 410 1", {"motors": ["psi", "bg1"], "num_points": 411}),
        ("dmesh sx -1 1 4 sy -2 2 9 0.5", {"motors": ["sx", "sy"], "num_points": 50}),
        ("loopscan 7 0.1", {"num_points": 7}),
        ("timescan 0.1", {}),
        ("ct 0.5", {"num_points": 1}),
        ("fscan rot 0 0.1 3600 0.01", {"plan_args": {"args": ["rot", "0", "0.1", "3600", "0.01"]}}),
        ("ascan sy 0 1", {"plan_args": {"args": ["sy", "0", "1"]}}),  # too few arguments: words kept
    ],
)
def test_command_metadata_names_the_arguments_of_standard_scans(title, expected):
    metadata = command_metadata(title)
    assert metadata["command"] == title and metadata["scan_type"] == title.split()[0]
    for key, value in expected.items():
        assert metadata[key] == value
    if "num_points" not in expected:
        assert "num_points" not in metadata


# -- real files -----------------------------------------------------------------------------


def test_runs_in_lists_the_real_files_scans(validated):
    for path in (BM32, ID24):
        (source,) = expand(path)
        with h5py.File(path, "r") as file:
            entries = [name for name in file if isinstance(file[name], h5py.Group)]
        assert [run["scan"] for run in bliss_runs(source)] == entries
        assert get_spec("esrf_bliss").runs_in(source) == bliss_runs(source)
    assert bliss_runs(expand(BM32)[0]) == [{"scan": "1.1"}, {"scan": "2.1"}]
    assert bliss_runs(expand(ID24)[0]) == [{"scan": "39.1"}, {"scan": "39.2"}]


@pytest.mark.parametrize("scan", ["1.1", "2.1"])
def test_real_a2scan_of_counters(scan, validated):
    documents = validated(ingest_bliss(BM32, scan))
    start, stop = documents[0][1], documents[-1][1]
    with h5py.File(BM32, "r") as file:
        entry = file[scan]
        n_points = {entry["measurement"][name].shape[0] for name in entry["measurement"]}
        assert n_points == {411}
        assert names(documents) == ["start", "descriptor", "event", "event", "descriptor"] + ["event"] * 411 + ["stop"]
        assert start["uid"] == deterministic_uid([BM32, f"#{scan}"])
        assert start["title"] == start["command"] == text_of(entry["title"])
        assert start["scan_type"] == "a2scan" and start["motors"] == ["psi", "bg1"]
        assert start["num_points"] == 411 and start["scan_id"] == int(scan.split(".")[0])
        assert start["time"] == iso(text_of(entry["start_time"]))
        assert stop["time"] == iso(text_of(entry["end_time"]))
        assert start["sample"] == text_of(entry["sample/name"]) == "run3_CaSO4_H2O_4nm_pos2"
        assert (start["writer"], start["writer_version"]) == ("blissdata", file.attrs["create_version"])
        assert (start["program_name"], start["program_version"]) == ("bliss", file.attrs["publisher_version"])
        assert {key: start[key] for key in ("proposal", "beamline", "session", "collection", "dataset")} == {
            "proposal": "es1504",
            "beamline": "bm32",
            "session": "20241107",
            "collection": "run3_CaSO4_H2O_4nm_pos2",
            "dataset": "measurement",
        }
        assert start["hints"] == {"dimensions": [[["psi"], "primary"]]}  # plotselect's axes
        assert (stop["exit_status"], stop["reason"]) == ("success", "")
        assert stop["num_events"] == {"baseline": 2, "primary": 411}

        primary = docs_named(documents, "descriptor")[1]
        assert sorted(primary["data_keys"]) == sorted(entry["measurement"])
        assert primary["data_keys"]["epoch"]["units"] == "s"
        assert "units" not in primary["data_keys"]["attn"]  # BLISS wrote ' ': no units
        assert primary["hints"] == {"measurement": {"fields": ["detcor"]}}
        held = primary["configuration"]["positioners"]
        scalars = {name for name in entry["instrument/positioners"] if entry["instrument/positioners"][name].ndim == 0}
        assert set(held["data"]) == scalars and "psi" not in held["data"]
        assert held["data_keys"]["energy"]["units"] == "keV"

        run = BlueskyRun(iter(documents))
        dataset = run.primary.read()
        for name in entry["measurement"]:
            np.testing.assert_array_equal(dataset[name].values, entry["measurement"][name][()])
        np.testing.assert_array_equal(dataset["time"].values, entry["measurement/epoch"][()])
        baseline = run.baseline.read()
        for name in entry["instrument/positioners_start"]:
            np.testing.assert_array_equal(
                baseline[name].values,
                [entry["instrument/positioners_start"][name][()], entry["instrument/positioners_end"][name][()]],
            )


def test_real_fast_scan_with_channels_of_unequal_length(validated):
    documents = validated(ingest_bliss(ID24, "39.1"))
    stop = documents[-1][1]
    with h5py.File(ID24, "r") as file:
        measurement = file["39.1/measurement"]
        lengths = {name: measurement[name].shape[0] for name in measurement}
        assert set(lengths.values()) == {410, 411}
        common = min(lengths.values())
        dataset = BlueskyRun(iter(documents)).primary.read()
        assert dataset.sizes["time"] == common == stop["num_events"]["primary"]
        for name in measurement:
            np.testing.assert_array_equal(dataset[name].values, measurement[name][:common])
        assert text_of(file["39.1/writer/status"]) == "SUCCEEDED"
    # The writer succeeded: the difference is the fast scan's, one point more on raw channels.
    assert stop["exit_status"] == "success"
    longer = sorted(name for name, length in lengths.items() if length > common)
    assert stop["reason"].endswith(f"the {common} points all channels have are kept, cutting {', '.join(longer)}")
    start = documents[0][1]
    assert start["plan_args"] == {"args": ["Emonotraj", "7.09", "0.001", "410", "0.003", "0.0002"]}
    assert "num_points" not in start  # trigscan is not a standard scan: no count is claimed
    assert (start["writer"], start["program_name"], start["beamline"]) == ("Bliss", "Bliss", "id24")


def test_real_subscan_of_spectra_as_resources(validated):
    documents = validated(ingest_bliss(ID24, "39.2"))
    resources = docs_named(documents, "resource")
    with h5py.File(ID24, "r") as file:
        measurement = file["39.2/measurement"]
        spectra = sorted(name for name in measurement if measurement[name].ndim == 2)
        assert len(spectra) == 14 and measurement[spectra[0]].shape == (4, 1320)
        assert sorted(resource["resource_kwargs"]["dataset"] for resource in resources) == sorted(
            measurement.get(name, getlink=True).path for name in spectra
        )
        assert {resource["resource_path"] for resource in resources} == {ID24}
        descriptor = docs_named(documents, "descriptor")[1]
        key = descriptor["data_keys"][spectra[0]]
        assert key["shape"] == [1320] and key["external"] == "FILESTORE:" and key["dims"] == [f"{spectra[0]}_channel"]
        events = docs_named(documents, "event")[-4:]
        assert all(event["filled"] == dict.fromkeys(spectra, False) for event in events)
        dataset = BlueskyRun(iter(documents)).primary.read()
        for name in measurement:
            np.testing.assert_array_equal(dataset[name].values, measurement[name][()])


def test_detection_picks_esrf_bliss_for_the_real_files(tmp_path):
    for path in (BM32, ID24):
        shutil.copy(path, tmp_path)
        (source,) = expand(path)
        head = read_head(source)
        assert sniff_bliss(head, source) == 0.9
        assert get_spec("esrf_bliss").confidence(head, source) > get_spec("nexus_hdf5").confidence(head, source)
    plan = detect(str(tmp_path), progress=False)
    assert not plan.unrecognised and not plan.ambiguous
    assert sorted((os.path.basename(run.files[0].path), run.kwargs["scan"]) for run in plan.runs) == [
        ("run3_CaSO4_H2O_4nm_pos2_measurement.h5", "1.1"),
        ("run3_CaSO4_H2O_4nm_pos2_measurement.h5", "2.1"),
        ("xanes.h5", "39.1"),
        ("xanes.h5", "39.2"),
    ]
    assert {run.ingestor for run in plan.runs} == {"esrf_bliss"}


# -- generated files: lima images, aborted and unfinished scans -----------------------------


def test_runs_in_is_in_natural_order_and_skips_other_groups(dataset_file):
    path, _ = dataset_file
    assert bliss_runs(expand(path)[0]) == [{"scan": "1.1"}, {"scan": "2.1"}, {"scan": "10.1"}]


def test_run_start_reads_only_the_header(dataset_file, monkeypatch):
    path, _ = dataset_file

    def no_data(*args, **kwargs):
        raise AssertionError("scan data read before the RunStart")

    monkeypatch.setattr(bliss, "_scan_documents", no_data)
    assert next(ingest_bliss(path, "1.1"))[0] == "start"


def test_step_scan_with_lima_images_in_the_detectors_file(dataset_file, validated):
    path, values = dataset_file
    documents = validated(ingest_bliss(path, "1.1"))
    start, stop = documents[0][1], documents[-1][1]
    assert start["num_points"] == N_POINTS and start["motors"] == ["sy"]
    assert start["hints"] == {"dimensions": [[["sy"], "primary"]]}
    assert {key: start[key] for key in ("proposal", "beamline", "session", "collection", "dataset")} == {
        "proposal": "hg123",
        "beamline": "id99",
        "session": "20250304",
        "collection": "silicon",
        "dataset": "0001",
    }
    (resource,) = docs_named(documents, "resource")
    lima_path = os.path.join(os.path.dirname(path), "scan0001", "pilatus_0000.h5")
    assert resource["resource_path"] == lima_path
    assert resource["resource_kwargs"] == {"dataset": "/entry_0000/measurement/data"}
    descriptor = docs_named(documents, "descriptor")[1]
    image_key = descriptor["data_keys"]["pilatus_image"]
    assert image_key["shape"] == list(FRAME_SHAPE) and image_key["dtype_numpy"] == "<u2"
    assert image_key["source"] == f"{lima_path}:/entry_0000/measurement/data"
    assert descriptor["data_keys"]["sy"]["units"] == "mm"
    assert descriptor["configuration"]["positioners"]["data"] == {"energy": 17.0, "sz": 2.5}
    assert (stop["exit_status"], stop["reason"]) == ("success", "")

    run = BlueskyRun(iter(documents))
    lazy = run.primary.to_dask()
    np.testing.assert_array_equal(lazy["pilatus_image"][3].values, values["frames"][3])
    dataset = run.primary.read()
    np.testing.assert_array_equal(dataset["pilatus_image"].values, values["frames"])
    for name in ("sy", "diode", "mon"):
        np.testing.assert_array_equal(dataset[name].values, values[name])
    np.testing.assert_array_equal(dataset["time"].values, values["epoch"])
    np.testing.assert_array_equal(run.baseline.read()["sy"].values, [values["sy"][0], values["sy"][-1]])


def test_memory_filesystem_follows_the_external_link_to_lima(dataset_file, memory_folder):
    path, values = dataset_file
    fs, root = memory_folder
    folder = os.path.dirname(path)
    fs.pipe(f"{root}/silicon_0001.h5", open(path, "rb").read())
    fs.pipe(f"{root}/scan0001/pilatus_0000.h5", open(os.path.join(folder, "scan0001", "pilatus_0000.h5"), "rb").read())
    run = BlueskyRun(ingest_bliss(f"memory://{root}/silicon_0001.h5", "1.1"))
    (resource,) = [doc for name, doc in run.documents() if name == "resource"]
    assert resource["resource_path"] == f"memory://{root}/scan0001/pilatus_0000.h5"
    np.testing.assert_array_equal(run.primary.read()["pilatus_image"].values, values["frames"])


@pytest.fixture
def vds_scan(tmp_path):
    """A scan whose lima images are a virtual dataset over two lima files (6 + 5 frames).

    As BLISS's NeXus writer may keep them: instrument/<lima>/data a VDS mapping whole
    frames of each of the detector's files, by a path relative to the dataset file.
    Returns (path, frames).
    """
    frames = np.random.default_rng(5).integers(0, 4000, (N_POINTS, *FRAME_SHAPE)).astype(np.uint16)
    folder = tmp_path / "vds"
    # The second file starts with 3 frames of another acquisition: the VDS maps from its 4th.
    stored = [frames[:6], np.concatenate([np.zeros((3, *FRAME_SHAPE), np.uint16) + 7, frames[6:]])]
    parts = [("scan0001/eiger_0000.h5", stored[0]), ("scan0001/eiger_0001.h5", stored[1])]
    for relative, block in parts:
        write_lima_file(str(folder / relative), block)
    path = str(folder / "vds_0001.h5")
    with open_dataset_file(path) as file:
        write_scan(file, "1.1", f"loopscan {N_POINTS} 0.1", {"diode": (np.arange(float(N_POINTS)), None)})
        layout = h5py.VirtualLayout(shape=frames.shape, dtype=frames.dtype)
        first, second = (
            h5py.VirtualSource(relative, "/entry_0000/measurement/data", shape=block.shape)
            for relative, block in parts
        )
        layout[:6] = first  # the whole of the first file
        layout[6:] = second[3:]
        detector = _group(file["1.1/instrument"], "eiger", "NXdetector")
        detector.create_virtual_dataset("data", layout, fillvalue=0)
        file["1.1/measurement/eiger_image"] = h5py.SoftLink(detector["data"].name)
    return path, frames


def test_lima_images_in_a_virtual_dataset_are_read_from_each_file(vds_scan, memory_folder, validated):
    path, frames = vds_scan
    folder = os.path.dirname(path)
    documents = validated(ingest_bliss(path))
    resources = docs_named(documents, "resource")
    assert [resource["resource_path"] for resource in resources] == [
        os.path.join(folder, "scan0001", f"eiger_000{i}.h5") for i in range(2)
    ]
    datums = [datum for page in docs_named(documents, "datum_page") for datum in event_model_datums(page)]
    assert [datum["datum_kwargs"]["frame"] for datum in datums] == list(range(6)) + list(range(3, 8))
    np.testing.assert_array_equal(BlueskyRun(iter(documents)).primary.read()["eiger_image"].values, frames)
    # Through fsspec, where HDF5 itself would read the unreachable sources as zeros.
    fs, root = memory_folder
    for relative in ("vds_0001.h5", "scan0001/eiger_0000.h5", "scan0001/eiger_0001.h5"):
        fs.pipe(f"{root}/{relative}", open(os.path.join(folder, relative), "rb").read())
    run = BlueskyRun(ingest_bliss(f"memory://{root}/vds_0001.h5"))
    np.testing.assert_array_equal(run.primary.read()["eiger_image"].values, frames)


def test_zip_archive_of_the_dataset_folder(dataset_file, vds_scan, tmp_path):
    path, values = dataset_file
    vds_path, frames = vds_scan
    archive = tmp_path / "beamtime.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for folder, prefix in ((os.path.dirname(path), "a"), (os.path.dirname(vds_path), "b")):
            for parent, _, files in os.walk(folder):
                for name in files:
                    full = os.path.join(parent, name)
                    zipped.write(full, f"{prefix}/{os.path.relpath(full, folder)}")
    run = BlueskyRun(ingest_bliss(f"zip://a/silicon_0001.h5::file://{archive}", "1.1"))
    (resource,) = [doc for name, doc in run.documents() if name == "resource"]
    assert resource["resource_path"] == f"zip://a/scan0001/pilatus_0000.h5::file://{archive}"
    np.testing.assert_array_equal(run.primary.read()["pilatus_image"].values, values["frames"])
    run = BlueskyRun(ingest_bliss(f"zip://b/vds_0001.h5::file://{archive}", "1"))
    np.testing.assert_array_equal(run.primary.read()["eiger_image"].values, frames)


def test_missing_file_of_a_virtual_dataset_leaves_the_channel_out(vds_scan, validated):
    path, _ = vds_scan
    os.remove(os.path.join(os.path.dirname(path), "scan0001", "eiger_0001.h5"))
    with pytest.warns(IngestWarning, match=r"'eiger_image' maps frames from .*eiger_0001.h5, which does not exist"):
        documents = validated(ingest_bliss(path))
    assert "eiger_image" not in docs_named(documents, "descriptor")[-1]["data_keys"]
    assert documents[-1][1]["num_events"]["primary"] == N_POINTS


def test_missing_lima_file_leaves_its_channel_out_with_a_warning(dataset_file, validated):
    path, values = dataset_file
    lima_path = os.path.join(os.path.dirname(path), "scan0001", "pilatus_0000.h5")
    os.remove(lima_path)
    with pytest.warns(IngestWarning, match=r"channel 'pilatus_image' links to .*pilatus_0000.h5, which does not exist"):
        documents = validated(ingest_bliss(path, "1.1"))
    dataset = BlueskyRun(iter(documents)).primary.read()
    assert "pilatus_image" not in dataset
    np.testing.assert_array_equal(dataset["diode"].values, values["diode"])


def test_user_abort_keeps_the_points_recorded(dataset_file, validated):
    path, values = dataset_file
    documents = validated(ingest_bliss(path, "2.1"))
    stop = documents[-1][1]
    assert stop["exit_status"] == "abort"
    assert stop["reason"] == "BLISS end_reason USER_ABORT; holds 4 of the 11 points the command asks for"
    dataset = BlueskyRun(iter(documents)).primary.read()
    np.testing.assert_array_equal(dataset["diode"].values, values["aborted_diode"])
    assert "baseline" in BlueskyRun(iter(documents))  # positions at start and end, as written


def _one_scan_file(path, **scan_options):
    with open_dataset_file(str(path)) as file:
        counters = scan_options.pop("counters", {"diode": (np.arange(3.0), None)})
        write_scan(file, "1.1", scan_options.pop("title", "loopscan 5 0.1"), counters, **scan_options)
    return str(path)


@pytest.mark.parametrize(
    "options, exit_status, reason",
    [
        ({"end_reason": "FAILURE"}, "fail", "BLISS end_reason FAILURE; holds 3 of the 5 points the command asks for"),
        ({"end_reason": "DELETION"}, "fail", "BLISS end_reason DELETION; holds 3 of the 5 points the command asks for"),
        ({"end_reason": "SUCCESS"}, "fail", "holds 3 of the 5 points the command asks for"),
        # BLISS 1.x files have no end_reason: a user's abort shows only as missing points.
        ({"end_reason": None}, "abort", "holds 3 of the 5 points the command asks for"),
        (
            {"end_reason": None, "writer_status": "RUNNING", "end": None},
            "fail",
            "writer status RUNNING: the scan was not written to its end; holds 3 of the 5 points the command asks for",
        ),
        (
            {"end_reason": None, "writer_status": None, "end": None, "title": "loopscan 3 0.1"},
            "fail",
            "the file records no end of the scan (no end_reason, writer status or end_time)",
        ),
        ({"end_reason": None, "writer_status": None, "title": "loopscan 3 0.1"}, "success", ""),
        (
            {
                "end_reason": "USER_ABORT",
                "counters": {"diode": (np.arange(3.0), None), "mon": (np.arange(2.0), None)},
            },
            "abort",
            "BLISS end_reason USER_ABORT; holds 2 of the 5 points the command asks for; channels differ in "
            "length (2, 3 points); the 2 points all channels have are kept, cutting diode",
        ),
    ],
)
def test_how_the_scan_ended_gives_the_run_stop(tmp_path, validated, options, exit_status, reason):
    path = _one_scan_file(tmp_path / "ended.h5", **options)
    documents = validated(ingest_bliss(path))
    stop = documents[-1][1]
    assert (stop["exit_status"], stop["reason"]) == (exit_status, reason)
    n_points = min(len(values) for values, _ in options.get("counters", {"d": (np.arange(3.0), None)}).values())
    assert stop["num_events"]["primary"] == n_points
    dataset = BlueskyRun(iter(documents)).primary.read()
    np.testing.assert_array_equal(dataset["diode"].values, np.arange(3.0)[:n_points])


def test_scan_without_positioners_end_has_one_baseline_reading(dataset_file, validated):
    path, _ = dataset_file
    documents = validated(ingest_bliss(path, 10))  # a scan number with one subscan
    assert documents[0][1]["scan"] == "10.1"
    assert documents[-1][1]["num_events"] == {"baseline": 1, "primary": 5}
    (baseline,) = docs_named(documents, "descriptor")[:1]
    assert baseline["name"] == "baseline" and list(baseline["data_keys"]) == ["sz"]
    assert docs_named(documents, "event")[0]["data"] == {"sz": 2.5}


def test_file_written_by_bliss_1_nexus_writer_is_sniffed_by_its_layout(tmp_path):
    path = _one_scan_file(tmp_path / "old.h5")
    with h5py.File(path, "a") as file:
        for name in ("creator", "creator_version", "publisher", "publisher_version"):
            del file.attrs[name]
    (source,) = expand(path)
    assert sniff_bliss(read_head(source), source) == 0.8
    assert next(ingest_bliss(path))[1]["scan"] == "1.1"


def test_sniff_gives_other_hdf5_files_nothing(dataset_file, tmp_path):
    path, _ = dataset_file
    lima = expand(os.path.join(os.path.dirname(path), "scan0001", "pilatus_0000.h5"))[0]
    assert sniff_bliss(read_head(lima), lima) == 0.0
    plain = str(tmp_path / "plain.h5")
    with h5py.File(plain, "w") as file:
        file.attrs["NX_class"] = "NXroot"
        file.create_group("1.1")  # named like a scan, but no measurement: not BLISS
    (source,) = expand(plain)
    assert sniff_bliss(read_head(source), source) == 0.0
    assert sniff_bliss(b"not HDF5", source) == 0.0


def test_detection_makes_a_run_per_scan_and_claims_the_lima_files(dataset_file):
    path, _ = dataset_file
    plan = detect(str(os.path.dirname(path)), progress=False)
    assert not plan.unrecognised and not plan.ambiguous
    assert [(run.ingestor, run.kwargs) for run in plan.runs] == [
        ("esrf_bliss", {"scan": "1.1"}),
        ("esrf_bliss", {"scan": "2.1"}),
        ("esrf_bliss", {"scan": "10.1"}),
    ]
    lima = os.path.join(os.path.dirname(path), "scan0001", "pilatus_0000.h5")
    assert {companion.path for run in plan.runs for companion in run.companions} == {lima}


def test_ingest_catalog_driver_and_msgpack_round_trip(dataset_file):
    path, values = dataset_file
    catalog = BlueskyIngestCatalog(path, "esrf_bliss")
    assert sorted(catalog[uid].start["scan"] for uid in catalog) == ["1.1", "10.1", "2.1"]
    driver = intake.registry["bluesky-esrf-bliss"]
    assert driver is EsrfBlissRun
    run = driver(filename=path, scan="1.1")
    assert run.uid == deterministic_uid([path, "#1.1"]) and run.uid in catalog
    xr.testing.assert_identical(
        run.primary.read().drop_vars("uid"), catalog[run.uid].primary.read().drop_vars("uid")
    )
    (copy,) = export(run.canonical(), os.path.join(os.path.dirname(path), "..", "copies"))
    reopened = BlueskyMsgpackCatalog(copy)[run.uid]
    np.testing.assert_array_equal(reopened.primary.read()["pilatus_image"].values, values["frames"])


# -- bad input -------------------------------------------------------------------------------


def test_choosing_a_scan(dataset_file):
    path, _ = dataset_file
    with pytest.raises(IngestError, match=r"holds 3 scans \('1.1', '2.1', '10.1'\); choose one") as info:
        next(ingest_bliss(path))
    assert info.value.path == path
    with pytest.raises(IngestError, match=r"has no scan '3.1'; its scans are '1.1', '2.1', '10.1'"):
        next(ingest_bliss(path, "3.1"))
    with pytest.raises(IngestError, match="has no scan number 7"):
        next(ingest_bliss(path, 7))
    assert next(ingest_bliss(path, "10"))[1]["scan"] == "10.1"  # a number given as text


def test_not_hdf5_and_hdf5_without_scans_are_errors_naming_the_file(tmp_path):
    text = tmp_path / "notes.h5"
    text.write_text("not HDF5")
    with pytest.raises(IngestError, match="is not a readable HDF5 file") as info:
        next(ingest_bliss(str(text)))
    assert info.value.path == str(text)
    plain = str(tmp_path / "plain.h5")
    with h5py.File(plain, "w") as file:
        file["numbers"] = np.arange(3)
    with pytest.raises(IngestError, match="holds no BLISS scan") as info:
        next(ingest_bliss(plain))
    assert info.value.path == plain
    assert bliss_runs(expand(plain)[0]) == []


def test_scan_without_measurement_is_an_error_naming_the_file(tmp_path):
    path = _one_scan_file(tmp_path / "nomeasurement.h5")
    with h5py.File(path, "a") as file:
        del file["1.1/measurement"]
    documents = ingest_bliss(path)
    assert next(documents)[0] == "start"
    with pytest.raises(IngestError, match="scan 1.1 has no measurement group") as info:
        list(documents)
    assert info.value.path == path


@pytest.mark.parametrize("keep", [0.3, 0.9])
def test_truncated_file_is_an_error_naming_it(dataset_file, keep):
    path, _ = dataset_file
    content = open(path, "rb").read()
    with open(path, "wb") as file:
        file.write(content[: int(len(content) * keep)])
    with pytest.raises(IngestError) as info:
        list(ingest_bliss(path, "1.1"))
    assert info.value.path == path


def test_ingesting_writes_nothing(dataset_file, folder_snapshot):
    path, _ = dataset_file
    folder = os.path.dirname(path)
    before = folder_snapshot(folder)
    for kwargs in bliss_runs(expand(path)[0]):
        BlueskyRun(ingest_bliss(path, **kwargs)).primary.read()
    assert folder_snapshot(folder) == before
