"""NeXus HDF5: one run per NXentry, following @default, @signal, @axes and <axis>_indices."""

import datetime
import os

import h5py
import intake
import numpy as np
import pytest
import xarray as xr
from silx.io.nxdata import get_default

from intake_ingest import (
    BlueskyIngestCatalog,
    BlueskyMsgpackCatalog,
    BlueskyRun,
    IngestError,
    MissingFileError,
)
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
    with pytest.raises(IngestError, match="no NXentry") as info:
        next(ingest_nexus(path))
    assert info.value.path == path
    assert nexus_runs(expand(path)[0]) == []


def test_entry_without_signal_is_an_error(tmp_path):
    path = str(tmp_path / "nosignal.nxs")
    with h5py.File(path, "w") as file:
        plot = _group(_group(file, "entry", "NXentry"), "data", "NXdata")
        plot["a"], plot["b"] = np.arange(3), np.arange(3)
    with pytest.raises(IngestError, match="names no signal") as info:
        next(ingest_nexus(path))
    assert info.value.path == path


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
    path = os.path.join(SPEC2NEXUS_DATA, "writer_1_3.h5")
    documents = list(ingest_nexus(path))
    start, descriptor = documents[0][1], documents[1][1]
    assert (start["entry"], start["signal"], start["axes"]) == ("Scan", "counts", ["two_theta"])
    assert descriptor["data_keys"]["two_theta"]["units"] == "degrees"
    dataset = BlueskyRun(iter(documents)).primary.read()
    with h5py.File(path, "r") as file:
        np.testing.assert_array_equal(dataset["counts"].values, file["Scan/data/counts"][()])
        np.testing.assert_array_equal(dataset["two_theta"].values, file["Scan/data/two_theta"][()])


def test_cansas_attributes_as_one_element_arrays():
    """Data_Q.h5, shipped with spec2nexus: an IGOR-written canSAS file (2-D I(Q)).

    Attributes are one-element string arrays, the axes named by ``I_axes='Q,Q'`` and
    ``Q_indices='0,1'``; start_time has no time zone (read as local time).
    """
    path = os.path.join(SPEC2NEXUS_DATA, "Data_Q.h5")
    documents = list(ingest_nexus(path))
    start, descriptor = documents[0][1], documents[1][1]
    assert (start["signal"], start["axes"]) == ("I", ["Q"])
    assert start["time"] == datetime.datetime(2014, 4, 25, 9, 33, 43, 637000).timestamp()
    assert descriptor["data_keys"]["I"]["shape"] == [100]
    dataset = BlueskyRun(iter(documents)).primary.read()
    with h5py.File(path, "r") as file:
        np.testing.assert_array_equal(dataset["I"].values, file["sasentry01/sasdata01/I"][()])
        np.testing.assert_array_equal(dataset["Q"].values, file["sasentry01/sasdata01/Q"][()])


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
    catalog = BlueskyIngestCatalog(f"{os.path.dirname(path)}/*", "nexus_hdf5")
    # scans_frames.h5 holds an NXentry without NXdata, nothing to plot: no run of its own.
    assert sorted(catalog[uid].start["entry"] for uid in catalog) == ["scan_1", "scan_2"]
    assert {catalog[uid].start["source"] for uid in catalog} == {path}


def test_sniff_any_hdf5(nexus_scans):
    path, _ = nexus_scans
    (source,) = expand(path)
    spec = get_spec("nexus_hdf5")
    assert spec.confidence(read_head(source), source) == pytest.approx(0.5)
    assert nexus.sniff_nexus(b"II*\x00", source) == 0.0
