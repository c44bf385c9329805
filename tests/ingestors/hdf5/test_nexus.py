"""NeXus HDF5: one run per NXentry, following @default, @signal, @axes and <axis>_indices."""

import datetime
import os

import h5py
import intake
import numpy as np
import pytest
import xarray as xr
from silx.io.nxdata import NXdata, get_default

from intake_ingest import (
    BlueskyIngestCatalog,
    BlueskyMsgpackCatalog,
    BlueskyRun,
    IngestError,
    MissingFileError,
)
from intake_ingest.detect import detect
from intake_ingest.drivers.nexus import NexusHdf5Run
from intake_ingest.files import deterministic_uid, expand
from intake_ingest.ingestors.hdf5 import nexus
from intake_ingest.ingestors.hdf5.nexus import ingest_nexus, nexus_runs
from intake_ingest.msgpack import export
from intake_ingest.registry import get_spec, read_head
from intake_ingest.run import filling

N_POINTS = 11
N_FRAMES, FRAME_SHAPE = 5, (6, 8)
SPEC2NEXUS_DATA = os.path.join(os.path.dirname(__import__("spec2nexus").__file__), "data")
REAL = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "data", "real", "nexus")


def _field(group, name, data, units=None, **attributes):
    dataset = group.create_dataset(name, data=data)
    if units:
        dataset.attrs["units"] = units
    dataset.attrs.update(attributes)
    return dataset


def _group(parent, name, nx_class, **attributes):
    group = parent.create_group(name)
    group.attrs["NX_class"] = nx_class
    group.attrs.update(attributes)
    return group


def write_nexus_scans(folder):
    """A NeXus file of two scans, written by the NeXus manual's rules; returns (path, values).

    Conventions from the NeXus manual (https://manual.nexusformat.org/datarules.html,
    "Find the plottable data"; NXdata base class): the root's @default names the
    NXentry to plot, the NXentry's @default its NXdata, whose @signal names the data,
    @axes the coordinates per dimension ('.' for none), <axis>_indices the dimensions
    each spans, @auxiliary_signals other data of the same shape; NXentry start_time
    and end_time are ISO 8601; datasets carry @units.

    ``scan_1``: a step scan of a 0-D counter (one value per point), its NXdata not the
    first in the entry (so @default must be followed). ``scan_2``: an area detector
    scan, the frames in another file reached through an HDF5 external link, with
    per-pixel coordinates along the frame dimensions.
    """
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(11)
    values = {
        "x": np.linspace(-1.0, 1.0, N_POINTS),
        "counts": rng.integers(0, 10_000, N_POINTS).astype(np.int32),
        "monitor": rng.integers(9_000, 11_000, N_POINTS).astype(np.int32),
        "theta": np.linspace(5.0, 6.0, N_FRAMES),
        "I0": rng.random(N_FRAMES),
        "frames": rng.integers(0, 65_000, (N_FRAMES, *FRAME_SHAPE)).astype(np.uint16),
        "pixel_y": np.arange(FRAME_SHAPE[0]) * 0.172,
        "pixel_x": np.arange(FRAME_SHAPE[1]) * 0.172,
    }
    frames_path = os.path.join(folder, "scans_frames.h5")
    with h5py.File(frames_path, "w") as file:
        entry = _group(file, "entry", "NXentry")
        detector = _group(_group(entry, "instrument", "NXinstrument"), "detector", "NXdetector")
        _field(detector, "data", values["frames"], "counts")

    path = os.path.join(folder, "scans.nxs")
    with h5py.File(path, "w") as file:
        file.attrs.update(
            default="scan_2", file_name="scans.nxs", creator="test writer", NeXus_version="4.3.0"
        )

        scan_1 = _group(file, "scan_1", "NXentry", default="counts_vs_x")
        _field(scan_1, "title", "ascan x -1 1 10 0.1")
        _field(scan_1, "start_time", "2024-02-01T10:00:00Z")
        _field(scan_1, "end_time", "2024-02-01T10:00:12Z")
        _field(scan_1, "experiment_identifier", "proposal 1234")
        _field(scan_1, "duration", 12.0, "s")
        _field(_group(scan_1, "sample", "NXsample"), "name", "silicon 111")
        _field(_group(scan_1, "instrument", "NXinstrument"), "name", "BL 99 diffractometer")
        decoy = _group(scan_1, "a_decoy", "NXdata", signal="decoy")  # first by name, not the default
        _field(decoy, "decoy", np.zeros(3))
        plot = _group(scan_1, "counts_vs_x", "NXdata", signal="counts", axes=["x"], x_indices=0)
        plot.attrs["auxiliary_signals"] = ["monitor"]
        _field(plot, "counts", values["counts"], "counts")
        _field(plot, "x", values["x"], "mm")
        _field(plot, "monitor", values["monitor"], "counts")

        scan_2 = _group(file, "scan_2", "NXentry", default="data")
        _field(scan_2, "start_time", "2024-02-01T10:05:00+01:00")
        plot = _group(scan_2, "data", "NXdata", signal="frames", axes=["theta", "pixel_y", "pixel_x"])
        plot.attrs.update(theta_indices=0, pixel_y_indices=1, pixel_x_indices=2)
        plot["frames"] = h5py.ExternalLink("scans_frames.h5", "/entry/instrument/detector/data")
        _field(plot, "theta", values["theta"], "deg")
        _field(plot, "I0", values["I0"])
        _field(plot, "pixel_y", values["pixel_y"], "mm")
        _field(plot, "pixel_x", values["pixel_x"], "mm")
    return path, values


@pytest.fixture
def nexus_scans(tmp_path):
    return write_nexus_scans(str(tmp_path / "nexus"))


def names(documents):
    return [name for name, _ in documents]


def iso(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_runs_in_lists_one_run_per_entry(nexus_scans):
    path, _ = nexus_scans
    (source,) = expand(path)
    assert nexus_runs(source) == [{"entry": "scan_1"}, {"entry": "scan_2"}]
    assert get_spec("nexus_hdf5").runs_in(source) == nexus_runs(source)


def test_default_entry_follows_the_root_default(nexus_scans):
    path, _ = nexus_scans
    start = next(ingest_nexus(path))[1]
    assert start["entry"] == "scan_2"
    with h5py.File(path, "r") as file:
        assert get_default(file).group.name == start["nxdata"]  # as silx finds it


def test_scalar_scan_documents(nexus_scans, validated):
    path, values = nexus_scans
    documents = validated(ingest_nexus(path, entry="scan_1"))
    assert names(documents) == ["start", "descriptor"] + ["event"] * N_POINTS + ["stop"]
    start, descriptor = documents[0][1], documents[1][1]
    assert start["uid"] == deterministic_uid([path, "#scan_1"])
    assert start["time"] == iso("2024-02-01T10:00:00Z")
    assert documents[-1][1]["time"] == iso("2024-02-01T10:00:12Z")
    assert start["title"] == "ascan x -1 1 10 0.1"
    assert start["sample"] == "silicon 111" and start["instrument"] == "BL 99 diffractometer"
    assert start["experiment_identifier"] == "proposal 1234"
    assert start["duration"] == 12.0 and start["units"] == {"duration": "s"}
    assert start["nxdata"] == "/scan_1/counts_vs_x" and start["signal"] == "counts"
    assert start["num_points"] == N_POINTS
    assert start["hints"] == {"dimensions": [[["x"], "primary"]]}

    keys = descriptor["data_keys"]
    assert set(keys) == {"counts", "x", "monitor"}
    assert keys["x"]["units"] == "mm" and keys["counts"]["units"] == "counts"
    assert keys["counts"]["dtype"] == "integer" and keys["counts"]["dtype_numpy"] == "<i4"
    assert keys["x"]["dtype"] == "number" and keys["x"]["source"] == f"{path}:/scan_1/counts_vs_x/x"
    assert descriptor["hints"] == {"nxdata": {"fields": ["counts"]}}

    dataset = BlueskyRun(iter(documents)).primary.read()
    with h5py.File(path, "r") as file:
        nxdata = get_default(file["scan_1"])  # silx follows @default to the same group
        np.testing.assert_array_equal(dataset["counts"].values, nxdata.signal[()])
        np.testing.assert_array_equal(dataset["x"].values, nxdata.axes[0][()])
    np.testing.assert_array_equal(dataset["monitor"].values, values["monitor"])


def test_frames_scan_references_the_linked_file(nexus_scans, validated):
    path, values = nexus_scans
    documents = validated(ingest_nexus(path, entry="scan_2"))
    expected = ["start", "descriptor", "resource", "datum_page"] + ["event"] * N_FRAMES + ["stop"]
    assert names(documents) == expected
    start, descriptor, resource = (doc for _, doc in documents[:3])
    assert start["time"] == iso("2024-02-01T10:05:00+01:00")
    assert "num_points" not in start  # the signal is in another file, not opened for the RunStart
    assert start["hints"] == {"dimensions": [[["theta"], "primary"]]}

    frames_path = os.path.join(os.path.dirname(path), "scans_frames.h5")
    assert resource["spec"] == "HDF5_FRAMES" and resource["resource_path"] == frames_path
    assert resource["resource_kwargs"] == {"dataset": "/entry/instrument/detector/data"}
    frames_key = descriptor["data_keys"]["frames"]
    assert frames_key["external"] == "FILESTORE:" and frames_key["shape"] == list(FRAME_SHAPE)
    assert frames_key["dtype_numpy"] == "<u2" and frames_key["units"] == "counts"
    assert frames_key["dims"] == ["pixel_y", "pixel_x"]
    assert set(descriptor["data_keys"]) == {"frames", "theta", "I0"}
    configuration = descriptor["configuration"]["nxdata"]
    np.testing.assert_allclose(configuration["data"]["pixel_x"], values["pixel_x"])
    assert configuration["data_keys"]["pixel_x"]["units"] == "mm"

    events = [doc for name, doc in documents if name == "event"]
    assert all(event["filled"] == {"frames": False} for event in events)
    dataset = BlueskyRun(iter(documents)).primary.read()
    assert dataset["frames"].dims == ("time", "pixel_y", "pixel_x")
    with h5py.File(frames_path, "r") as file:
        np.testing.assert_array_equal(dataset["frames"].values, file["entry/instrument/detector/data"][()])
    np.testing.assert_allclose(dataset["theta"].values, values["theta"])


def test_run_start_reads_only_the_header(nexus_scans, monkeypatch):
    path, _ = nexus_scans

    def no_data(*args, **kwargs):
        raise AssertionError("scan data read before the RunStart")

    monkeypatch.setattr(nexus, "_scan_documents", no_data)
    assert next(ingest_nexus(path, entry="scan_1"))[0] == "start"


def test_run_start_does_not_open_linked_files(nexus_scans, memory_folder, count_memory_opens):
    path, values = nexus_scans
    fs, root = memory_folder
    for name in ("scans.nxs", "scans_frames.h5"):
        fs.pipe(f"{root}/{name}", open(os.path.join(os.path.dirname(path), name), "rb").read())
    count_memory_opens.clear()
    documents = ingest_nexus(f"memory://{root}/scans.nxs", entry="scan_2")
    next(documents)
    assert set(count_memory_opens) == {f"{root}/scans.nxs"}
    # The external link resolves beside the file on the memory filesystem too.
    run = BlueskyRun(ingest_nexus(f"memory://{root}/scans.nxs", entry="scan_2"))
    resource = next(doc for name, doc in run.documents() if name == "resource")
    assert resource["resource_path"] == f"memory://{root}/scans_frames.h5"
    np.testing.assert_array_equal(run.primary.read()["frames"].values, values["frames"])


def test_reading_fills_lazily(nexus_scans):
    path, values = nexus_scans
    opened = []

    class Counting(filling.get_handler("HDF5_FRAMES")):
        def __init__(self, full_path, **kwargs):
            opened.append(full_path)
            super().__init__(full_path, **kwargs)

    filling.register_handler("HDF5_FRAMES", Counting)
    try:
        lazy = BlueskyRun(ingest_nexus(path, entry="scan_2")).primary.to_dask()
        assert opened == []
        np.testing.assert_array_equal(lazy["frames"][2].values, values["frames"][2])
        assert len(opened) == 1
    finally:
        filling._registered.pop("HDF5_FRAMES", None)
        filling._handler.cache_clear()


def test_msgpack_export_of_the_unfilled_run_still_fills(nexus_scans, tmp_path):
    path, values = nexus_scans
    run = BlueskyRun(ingest_nexus(path, entry="scan_2"))
    (copy,) = export(run.canonical(), tmp_path / "copies")
    reopened = BlueskyMsgpackCatalog(copy)[run.uid]
    xr.testing.assert_identical(reopened.primary.read(), run.primary.read())
    np.testing.assert_array_equal(reopened.primary.read()["frames"].values, values["frames"])


def test_missing_linked_file_is_named_when_read(nexus_scans):
    path, _ = nexus_scans
    frames_path = os.path.join(os.path.dirname(path), "scans_frames.h5")
    os.remove(frames_path)
    run = BlueskyRun(ingest_nexus(path, entry="scan_2"))
    assert run.start["entry"] == "scan_2"
    with pytest.raises(MissingFileError) as info:
        run.primary.read()
    assert info.value.path == frames_path


def test_unknown_entry_lists_the_entries(nexus_scans):
    path, _ = nexus_scans
    with pytest.raises(IngestError, match=r"no entry 'scan_3'.*\['scan_1', 'scan_2'\]") as info:
        next(ingest_nexus(path, entry="scan_3"))
    assert info.value.path == path


def test_hdf5_without_nexus_entries_is_an_error(tmp_path):
    path = str(tmp_path / "plain.h5")
    with h5py.File(path, "w") as file:
        file["numbers"] = np.arange(3)
    (source,) = expand(path)
    with pytest.raises(IngestError, match="no NXentry") as info:
        next(ingest_nexus(path))
    assert info.value.path == path
    with pytest.raises(IngestError, match="no NXentry"):
        nexus_runs(source)
    assert nexus.sniff_nexus(read_head(source), source) == 0.0  # HDF5, but not NeXus


def test_entry_without_nxdata_makes_no_run_and_says_why(tmp_path):
    """A file of frames that another links to: an NXentry, no NXdata. Detection reports the reason."""
    path = str(tmp_path / "frames_only.h5")
    with h5py.File(path, "w") as file:
        entry = _group(file, "entry", "NXentry")
        _field(entry, "data/data", np.zeros((2, 3, 4), np.uint16))
    (source,) = expand(path)
    assert nexus.sniff_nexus(read_head(source), source) == 0.5
    with pytest.raises(IngestError, match=r"no NXdata group in its NXentry groups \['entry'\]") as info:
        nexus_runs(source)
    assert info.value.path == path
    with pytest.raises(IngestError, match="has no NXdata group: nothing to plot"):
        next(ingest_nexus(path))
    plan = detect([path])
    assert plan.runs == []
    (unrecognised,) = plan.unrecognised
    assert unrecognised.url == path and "no NXdata group" in unrecognised.reason


def test_columns_of_equal_length_without_signal_are_a_table(tmp_path, validated):
    path = str(tmp_path / "table.nxs")
    energy, counts = np.linspace(8.0, 8.5, 6), np.arange(6, dtype=np.int64) * 7
    with h5py.File(path, "w") as file:
        plot = _group(_group(file, "entry", "NXentry"), "data", "NXdata")
        _group(plot, "a_note", "NXnote")  # a group among the columns is not one of them
        _field(plot, "energy", energy, "keV")
        _field(plot, "counts", counts, "counts")
    documents = validated(ingest_nexus(path))
    assert names(documents) == ["start", "descriptor"] + ["event"] * 6 + ["stop"]
    start, descriptor = documents[0][1], documents[1][1]
    assert "signal" not in start and start["num_points"] == 6 and start["axes"] == []
    assert set(descriptor["data_keys"]) == {"energy", "counts"}
    assert descriptor["data_keys"]["energy"]["units"] == "keV"
    assert sorted(descriptor["hints"]["nxdata"]["fields"]) == ["counts", "energy"]
    dataset = BlueskyRun(iter(documents)).primary.read()
    with h5py.File(path, "r") as file:
        np.testing.assert_array_equal(dataset["energy"].values, file["entry/data/energy"][()])
        np.testing.assert_array_equal(dataset["counts"].values, file["entry/data/counts"][()])


def test_fields_of_different_lengths_without_signal_are_an_error(tmp_path):
    path = str(tmp_path / "nosignal.nxs")
    with h5py.File(path, "w") as file:
        plot = _group(_group(file, "entry", "NXentry"), "data", "NXdata")
        plot["a"], plot["b"] = np.arange(3), np.arange(4)
    with pytest.raises(IngestError, match="names no signal.*not columns of equal length") as info:
        next(ingest_nexus(path))
    assert info.value.path == path


def test_nexus_1_axis_and_primary_flags_on_datasets(tmp_path, validated):
    """NeXus 1: signal=1 on the data, axis=1 on coordinates, primary=1 on the preferred one."""
    path = str(tmp_path / "nexus1.nxs")
    with h5py.File(path, "w") as file:
        plot = _group(_group(file, "entry", "NXentry"), "data", "NXdata")
        _field(plot, "counts", np.arange(5) * 3, signal=1)
        _field(plot, "monitor", np.full(5, 1000), signal=2)
        _field(plot, "theta", np.linspace(1, 2, 5), "deg", axis=1)
        _field(plot, "two_theta", np.linspace(2, 4, 5), "deg", axis=1, primary=1)
    documents = validated(ingest_nexus(path))
    start = documents[0][1]
    assert (start["signal"], start["axes"]) == ("counts", ["two_theta"])
    assert start["hints"] == {"dimensions": [[["two_theta"], "primary"]]}
    assert names(documents).count("event") == 5


def test_single_image_is_one_event(tmp_path, validated):
    """A 2-D signal with coordinates per dimension and nothing recorded per row: one image."""
    path = str(tmp_path / "saxs.nxs")
    image = np.random.default_rng(3).integers(0, 1000, (7, 9)).astype(np.int32)
    with h5py.File(path, "w") as file:
        entry = _group(file, "entry", "NXentry")
        plot = _group(entry, "data", "NXdata", signal="image", axes=["y", "x"])
        _field(plot, "image", image, "counts")
        _field(plot, "y", np.arange(7) * 0.1, "mm")
        _field(plot, "x", np.arange(9) * 0.1, "mm")
    documents = validated(ingest_nexus(path))
    assert names(documents) == ["start", "descriptor", "event", "stop"]
    start, descriptor = documents[0][1], documents[1][1]
    assert start["num_points"] == 1 and "hints" not in start
    assert descriptor["data_keys"]["image"]["shape"] == [7, 9]
    assert descriptor["data_keys"]["image"]["dims"] == ["y", "x"]
    assert "external" not in descriptor["data_keys"]["image"]
    np.testing.assert_allclose(descriptor["configuration"]["nxdata"]["data"]["x"], np.arange(9) * 0.1)
    dataset = BlueskyRun(iter(documents)).primary.read()
    assert dataset["image"].dims == ("time", "y", "x")
    np.testing.assert_array_equal(dataset["image"].values[0], image)


@pytest.mark.parametrize("why", ["interpretation", "counter"])
def test_rows_of_a_2d_signal_are_points_when_the_file_says_so(tmp_path, validated, why):
    """A spectrum per scan point: @interpretation='spectrum', or a counter recorded per row."""
    path = str(tmp_path / "spectra.nxs")
    spectra = np.arange(4 * 16, dtype=np.float64).reshape(4, 16)
    with h5py.File(path, "w") as file:
        entry = _group(file, "entry", "NXentry")
        plot = _group(entry, "data", "NXdata", signal="mca", axes=["energy", "channel"])
        plot.attrs.update(energy_indices=0, channel_indices=1)
        _field(plot, "mca", spectra, interpretation="spectrum" if why == "interpretation" else "")
        _field(plot, "energy", np.linspace(8, 9, 4), "keV")
        _field(plot, "channel", np.arange(16))
        if why == "counter":
            _field(plot, "I0", np.array([10, 11, 12, 13]))
    documents = validated(ingest_nexus(path))
    assert names(documents).count("event") == 4
    assert documents[0][1]["hints"] == {"dimensions": [[["energy"], "primary"]]}
    dataset = BlueskyRun(iter(documents)).primary.read()
    assert dataset["mca"].dims == ("time", "channel")
    np.testing.assert_array_equal(dataset["mca"].values, spectra)


@pytest.mark.parametrize("keep", [100, 0.5, 0.8, 0.95])
def test_truncated_file_is_an_error_naming_it(nexus_scans, keep):
    path, _ = nexus_scans
    with open(path, "rb") as file:
        content = file.read()
    with open(path, "wb") as file:
        file.write(content[: keep if isinstance(keep, int) else int(len(content) * keep)])
    with pytest.raises(IngestError) as info:
        list(ingest_nexus(path, entry="scan_1"))
    assert info.value.path == path


def test_nexus_1_signal_and_axes_attributes_on_datasets():
    """writer_1_3.h5, shipped with spec2nexus: the NeXus manual's example, NeXus 1 style.

    No @default, no @signal on the group: the signal is flagged ``signal=1`` and names
    its axes in its own ``axes`` attribute.
    """
    path = os.path.join(REAL, "writer_1_3.h5")
    documents = list(ingest_nexus(path))
    start, descriptor = documents[0][1], documents[1][1]
    assert (start["entry"], start["signal"], start["axes"]) == ("Scan", "counts", ["two_theta"])
    assert descriptor["data_keys"]["two_theta"]["units"] == "degrees"
    dataset = BlueskyRun(iter(documents)).primary.read()
    with h5py.File(path, "r") as file:
        np.testing.assert_array_equal(dataset["counts"].values, file["Scan/data/counts"][()])
        np.testing.assert_array_equal(dataset["two_theta"].values, file["Scan/data/two_theta"][()])


def test_cansas_attributes_as_one_element_arrays(validated):
    """Data_Q.h5, shipped with spec2nexus: an IGOR-written canSAS file (a 2-D I(Q) image).

    Attributes are one-element string arrays, the axes named by ``I_axes='Q,Q'`` and
    ``Q_indices='0,1'``; start_time has no time zone (read as local time). The image
    is one measurement: one event, not one per row.
    """
    path = os.path.join(REAL, "Data_Q.h5")
    documents = validated(ingest_nexus(path))
    assert names(documents) == ["start", "descriptor", "event", "stop"]
    start, descriptor = documents[0][1], documents[1][1]
    assert (start["signal"], start["axes"]) == ("I", ["Q"])
    assert start["time"] == datetime.datetime(2014, 4, 25, 9, 33, 43, 637000).timestamp()
    with h5py.File(path, "r") as file:
        intensity, q = file["sasentry01/sasdata01/I"][()], file["sasentry01/sasdata01/Q"][()]
    assert descriptor["data_keys"]["I"]["shape"] == list(intensity.shape) == [100, 100]
    dataset = BlueskyRun(iter(documents)).primary.read()
    np.testing.assert_array_equal(dataset["I"].values[0], intensity)
    np.testing.assert_array_equal(dataset["Q"].values[0], q)


def test_spec_scans_converted_by_spec2nexus(tmp_path):
    """SPEC scans, shipped with spec2nexus, converted by its own writer: one NXentry per scan."""
    from spec2nexus import spec, writer

    spec_file = spec.SpecDataFile(os.path.join(SPEC2NEXUS_DATA, "33id_spec.dat"))
    scan_numbers = spec_file.getScanNumbers()[:3]
    path = str(tmp_path / "33id.h5")
    writer.Writer(spec_file).save(path, scan_numbers)

    catalog = BlueskyIngestCatalog(path, "nexus_hdf5")
    runs = {catalog[uid].start["entry"]: catalog[uid] for uid in catalog}
    assert sorted(runs) == [f"S{number}" for number in scan_numbers]
    scan = spec_file.getScan(scan_numbers[1])
    run = runs[f"S{scan_numbers[1]}"]
    assert run.start["scan_id"] == int(scan_numbers[1])
    assert run.start["title"].split()[1:] == scan.scanCmd.split()
    assert run.start["hints"] == {"dimensions": [[[scan.column_first], "primary"]]}
    dataset = run.primary.read()
    for column in (scan.column_first, scan.column_last):
        np.testing.assert_allclose(dataset[column].values, scan.data[column])


def test_driver_round_trip(nexus_scans):
    path, values = nexus_scans
    driver = intake.registry["bluesky-nexus-hdf5"]
    assert driver is NexusHdf5Run
    run = driver(filename=path, entry="scan_1")
    assert run.uid == deterministic_uid([path, "#scan_1"])
    xr.testing.assert_identical(
        run.primary.read().drop_vars("uid"),
        BlueskyRun(ingest_nexus(path, entry="scan_1")).primary.read().drop_vars("uid"),
    )
    np.testing.assert_array_equal(run.primary.read()["counts"].values, values["counts"])


def test_ingest_catalog_makes_a_run_per_entry(nexus_scans):
    path, _ = nexus_scans
    catalog = BlueskyIngestCatalog(f"{os.path.dirname(path)}/*.nxs", "nexus_hdf5")
    assert sorted(catalog[uid].start["entry"] for uid in catalog) == ["scan_1", "scan_2"]
    assert {catalog[uid].start["source"] for uid in catalog} == {path}


def test_detection_attaches_linked_files_to_the_nexus_file(nexus_scans):
    """scans_frames.h5 (an NXentry without NXdata) is linked from scans.nxs: its companion, no run."""
    path, _ = nexus_scans
    plan = detect([os.path.dirname(path) + "/*"])
    assert sorted(run.kwargs["entry"] for run in plan.runs) == ["scan_1", "scan_2"]
    assert {run.ingestor for run in plan.runs} == {"nexus_hdf5"}
    frames_path = os.path.join(os.path.dirname(path), "scans_frames.h5")
    assert {companion.path for run in plan.runs for companion in run.companions} == {frames_path}
    assert plan.unrecognised == [] and plan.ambiguous == []


def test_sniff_hdf5_with_nxentry(nexus_scans):
    path, _ = nexus_scans
    (source,) = expand(path)
    spec = get_spec("nexus_hdf5")
    assert spec.confidence(read_head(source), source) == pytest.approx(0.5)
    assert nexus.sniff_nexus(b"II*\x00", source) == 0.0


# -- real files (tests/data/real/nexus/README.md), checked against h5py and silx ------------

REAL_EIGER = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "data", "real", "eiger")
REAL_BLUESKY = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "data", "real", "bluesky_nexus")


@pytest.mark.parametrize(
    "path",
    [
        os.path.join(REAL, "nexpy_example.nxs"),
        os.path.join(REAL, "writer_1_3.h5"),
        os.path.join(REAL_BLUESKY, "nxwriter_scan.h5"),
    ],
)
def test_real_files_signal_and_axes_as_silx_reads_them(path, validated):
    documents = validated(ingest_nexus(path))
    start = documents[0][1]
    with h5py.File(path, "r") as file:
        nxdata = NXdata(file[start["nxdata"]])  # silx's reading of the same group
        assert nxdata.is_valid
        signal = nxdata.signal[()]
        assert start["signal"] == nxdata.signal_dataset_name
        assert start["axes"] == [name for name in nxdata.axes_dataset_names if name]
    dataset = BlueskyRun(iter(documents)).primary.read()
    if signal.ndim == 2:  # an image: one event
        assert start["num_points"] == 1 and dataset.sizes["time"] == 1
        np.testing.assert_array_equal(dataset[start["signal"]].values[0], signal)
    else:
        assert start["num_points"] == len(signal) == dataset.sizes["time"]
        np.testing.assert_array_equal(dataset[start["signal"]].values, signal)


def test_real_neutron_chopper_histogram_is_one_event(validated):
    """nexpy's chopper.nxs: LRMECS (IPNS) data written by the NeXus C API 4.2.1.

    A 2-D histogram (148 detectors x 750 time-of-flight bins, 751 bin edges): one event;
    the coordinates go to the configuration (silx refuses the group: edges are one
    longer than the bins, as NeXus allows for histograms).
    """
    path = os.path.join(REAL, "nexpy_chopper.nxs")
    documents = validated(ingest_nexus(path))
    assert names(documents) == ["start", "descriptor", "event", "stop"]
    start, descriptor = documents[0][1], documents[1][1]
    assert (start["instrument"], start["sample"]) == ("LRMECS", "Magnesium Diboride")
    assert start["time"] == iso("2001-02-07T08:54:21-06:00")
    assert documents[-1][1]["time"] == iso("2001-02-09T14:12:53-06:00")
    assert start["axes"] == ["polar_angle", "time_of_flight"]
    configuration = descriptor["configuration"]["nxdata"]
    dataset = BlueskyRun(iter(documents)).primary.read()
    with h5py.File(path, "r") as file:
        counts = file["entry/data/data"][()]
        time_of_flight = file["entry/data/time_of_flight"][()]
        np.testing.assert_allclose(configuration["data"]["time_of_flight"], time_of_flight)
        assert configuration["data_keys"]["polar_angle"]["units"] == "degrees"
    assert counts.shape == (148, 750) and descriptor["data_keys"]["data"]["shape"] == [148, 750]
    np.testing.assert_array_equal(dataset["data"].values[0], counts)
    assert int(dataset["data"].values.sum()) == int(counts.sum())


def _write_frames_file(path, dataset_path, shape, dtype, written):
    """A data file as a detector's writer leaves it: a frame a chunk; only ``written`` frames stored.

    Unwritten chunks read as zeros, so a full-size data file of a real master stays small.
    """
    rng = np.random.default_rng(5)
    frames = {}
    with h5py.File(path, "w") as file:
        dataset = file.create_dataset(
            dataset_path, shape=shape, dtype=dtype, chunks=(1, *shape[1:]), compression="gzip"
        )
        for index in written:
            frames[index] = rng.integers(0, 60_000, shape[1:]).astype(dtype)
            dataset[index] = frames[index]
    return frames


@pytest.mark.parametrize(
    "name, data_file, n_frames, written",
    [
        ("xrc_209_master.h5", "xrc_209_000001.h5", 240, [0, 7]),
    ],
)
def test_real_nxmx_masters_name_their_missing_data_file_then_read_its_frames(
    tmp_path, validated, name, data_file, n_frames, written
):
    """Real NXmx masters (DLS I04 by GDA, 2019; DLS I03 by nexgen, 2024) of Eiger 16M series.

    Their NXdata signal is a virtual dataset mapping the frames of the data file (not
    shipped). Missing, it is named when the run is read (h5py would read zeros); a data
    file written beside a copy of the master is read frame by frame, as h5py reads
    the master's virtual dataset.
    """
    master = str(tmp_path / name)
    with open(os.path.join(REAL_EIGER, name), "rb") as real, open(master, "wb") as copy:
        copy.write(real.read())
    with h5py.File(master, "r") as file:
        signal = file["entry/data/data"]
        assert signal.is_virtual and signal.shape[0] == n_frames
        assert file["entry/instrument/detector/detectorSpecific/nimages"][()] == n_frames
        omega = file["entry/data/omega"][()]
        (mapping,) = signal.virtual_sources()
        link = file.get(mapping.dset_name, getlink=True)
        frame_shape, dtype = signal.shape[1:], signal.dtype

    run = BlueskyRun(ingest_nexus(master))
    assert run.start["definition"] == "NXmx" and run.start["num_points"] == n_frames
    assert run.start["hints"] == {"dimensions": [[["omega"], "primary"]]}
    with pytest.raises(MissingFileError, match=f"holds frames 0-{n_frames - 1}") as info:
        run.primary.read()
    assert info.value.path == str(tmp_path / data_file)

    assert link.filename == data_file  # the master's external link to the data file
    frames = _write_frames_file(
        str(tmp_path / data_file), link.path, (n_frames, *frame_shape), dtype, written
    )
    documents = validated(ingest_nexus(master))
    assert names(documents).count("event") == n_frames
    resource = next(doc for name, doc in documents if name == "resource")
    assert resource["resource_path"] == str(tmp_path / data_file)
    assert resource["resource_kwargs"] == {"dataset": link.path}
    datums = next(doc for name, doc in documents if name == "datum_page")
    assert datums["datum_kwargs"]["frame"] == list(range(n_frames))
    lazy = BlueskyRun(iter(documents)).primary.to_dask()
    np.testing.assert_allclose(lazy["omega"].values, omega)
    if not written:
        return
    with h5py.File(master, "r") as file:  # h5py through the virtual dataset
        for index in (0, 7, 8):
            expected = file["entry/data/data"][index]
            np.testing.assert_array_equal(lazy["data"][index].values, expected)
    np.testing.assert_array_equal(lazy["data"][7].values, frames[7])


def test_fields_named_as_event_fields_are_renamed(tmp_path, validated):
    path = str(tmp_path / "clash.nxs")
    with h5py.File(path, "w") as file:
        plot = _group(_group(file, "entry", "NXentry"), "data", "NXdata", signal="counts", axes="time")
        _field(plot, "time", np.array([0.0, 0.5, 1.0]), "s")  # the scan's axis: seconds counted
        _field(plot, "counts", np.array([3, 5, 8]))
        _field(plot, "seq_num", np.array([10, 20, 30]))
    documents = validated(ingest_nexus(path))
    start, descriptor = documents[0][1], documents[1][1]
    assert set(descriptor["data_keys"]) == {"time_2", "counts", "seq_num_2"}
    assert start["axes"] == ["time_2"] and start["hints"] == {"dimensions": [[["time_2"], "primary"]]}
    dataset = BlueskyRun(iter(documents)).primary.read()
    assert dataset["time_2"].values.tolist() == [0.0, 0.5, 1.0]
    assert dataset["seq_num_2"].values.tolist() == [10, 20, 30]
    assert dataset["seq_num"].values.tolist() == [1, 2, 3]
