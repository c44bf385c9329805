"""HDF5 datasets whose shapes declare gigabytes their small files do not hold (issue 11).

Each test writes a valid file of the ingestor's layout, then replaces one dataset by one
of the same name declaring a huge shape, of which nothing is written (HDF5 stores no
chunk: the file stays kilobytes, and reading it would allocate the declared size filled
with the fill value). The ingestor must name the file before allocating.
"""

import os

import h5py
import hdf5plugin
import numpy as np
import pytest

from intake_ingest import IngestError
from intake_ingest.ingestors import _common
from intake_ingest.ingestors.hdf5.area_detector import ingest_area_detector_hdf5
from intake_ingest.ingestors.hdf5.bliss import ingest_bliss
from intake_ingest.ingestors.hdf5.bluesky_nexus import ingest_bluesky_nexus
from intake_ingest.ingestors.hdf5.eiger import ingest_eiger
from intake_ingest.ingestors.hdf5.nexus import ingest_nexus
from intake_ingest.ingestors.hdf5.sizes import check_dataset_size

from .test_area_detector import frames_of, write_ndfile_hdf5
from .test_bliss import open_dataset_file, write_scan
from .test_bluesky_nexus import write_nxwriter_file
from .test_eiger import write_eiger_series

FOUR_BILLION = 4_000_000_000


def replace_with_declared(file, path, shape, dtype, chunks, **options):
    """Put at ``path`` a dataset of ``shape`` with nothing written, keeping the old attributes."""
    attributes = dict(file[path].attrs) if path in file else {}
    if path in file:
        del file[path]
    dataset = file.create_dataset(path, shape=shape, dtype=dtype, chunks=chunks, **options)
    dataset.attrs.update(attributes)
    return dataset


def assert_refused(ingest, path, what):
    with pytest.raises(IngestError, match=what) as info:
        list(ingest())
    assert info.value.path == path
    assert "declares" in str(info.value)
    assert os.path.getsize(path) < 2**20  # the file is small: what it declares is not in it


@pytest.mark.parametrize("compressed", [False, True])
def test_nexus_field_of_four_billion_values(tmp_path, compressed):
    path = str(tmp_path / "huge.nxs")
    options = {"compression": "gzip"} if compressed else {}
    with h5py.File(path, "w") as file:
        entry = file.create_group("entry")
        entry.attrs["NX_class"] = "NXentry"
        plot = entry.create_group("data")
        plot.attrs.update(NX_class="NXdata", signal="counts")
        file.create_dataset("entry/data/counts", shape=(FOUR_BILLION,), dtype="f8", chunks=(2**20,), **options)
    assert_refused(lambda: ingest_nexus(path), path, r"'/entry/data/counts' of shape \(4000000000,\) float64")


def test_eiger_frames_of_20000_by_20000_pixels(tmp_path):
    master, _ = write_eiger_series(str(tmp_path / "eiger"))
    data_file = master.replace("_master.h5", "_data_000001.h5")
    with h5py.File(data_file, "r+") as file:
        replace_with_declared(
            file, "/entry/data/data", (3, 20_000, 20_000), "u4", (1, 20_000, 20_000),
            **hdf5plugin.Bitshuffle(nelems=0, cname="lz4"),
        )
    assert_refused(lambda: ingest_eiger(master), data_file, r"shape \(3, 20000, 20000\) uint32")


def test_area_detector_frames_declared_beyond_the_file(tmp_path):
    path = write_ndfile_hdf5(str(tmp_path / "big_000001.h5"), frames_of(0, 2))
    with h5py.File(path, "r+") as file:
        replace_with_declared(file, "/entry/instrument/detector/data", (50_000, 2048, 2048), "u2", (1, 2048, 2048))
        del file["/entry/data/data"]
        file["/entry/data/data"] = file["/entry/instrument/detector/data"]
    for lazy in (False, True):
        assert_refused(lambda: ingest_area_detector_hdf5(path, lazy=lazy), path, r"the frames")


def test_area_detector_ndattribute_of_four_billion_values(tmp_path):
    path = write_ndfile_hdf5(str(tmp_path / "attr_000001.h5"), frames_of(0, 2), attributes={"Temperature": [1.0, 2.0]})
    with h5py.File(path, "r+") as file:
        replace_with_declared(file, "/entry/instrument/NDAttributes/Temperature", (FOUR_BILLION,), "f8", (2**20,))
    assert_refused(lambda: ingest_area_detector_hdf5(path), path, r"NDAttribute 'Temperature'")


def test_bliss_channel_of_four_billion_values(tmp_path):
    path = str(tmp_path / "data.h5")
    with open_dataset_file(path) as file:
        write_scan(file, "1.1", "loopscan 3 0.1", {"diode": (np.arange(3.0), None)})
        replace_with_declared(file, "/1.1/instrument/diode/data", (FOUR_BILLION,), "f8", (2**20,))
    assert_refused(lambda: ingest_bliss(path, scan="1.1"), path, r"channel 'diode'")


def test_bluesky_nexus_key_of_four_billion_values(tmp_path):
    path = str(tmp_path / "run.hdf")
    epochs = [1.0e9, 1.0e9 + 1]
    write_nxwriter_file(path, {"primary": {"det": ([1.0, 2.0], epochs)}})
    with h5py.File(path, "r+") as file:
        replace_with_declared(file, "/entry/instrument/bluesky/streams/primary/det/value", (FOUR_BILLION,), "f8", (2**20,))
    assert_refused(lambda: ingest_bluesky_nexus(path), path, r"det/value' of shape \(4000000000,\)")


def test_written_data_and_virtual_datasets_pass(tmp_path, monkeypatch):
    # The floor is lowered so that small test datasets are checked at all.
    monkeypatch.setattr(_common, "ALLOCATION_FLOOR", 0)
    path = str(tmp_path / "ok.h5")
    with h5py.File(path, "w") as file:
        plain = file.create_dataset("plain", data=np.arange(1000.0))
        zeros = file.create_dataset("zeros", data=np.zeros(100_000), chunks=(10_000,), compression="gzip")
        layout = h5py.VirtualLayout(shape=(1000,), dtype="f8")
        layout[:] = h5py.VirtualSource(plain)
        virtual = file.create_virtual_dataset("virtual", layout)
        unwritten = file.create_dataset("unwritten", shape=(1000,), dtype="f8", chunks=(100,))
        for dataset in (plain, zeros, virtual):
            check_dataset_size(path, dataset)  # no error: stored, compressed or virtual
        with pytest.raises(IngestError, match="'/unwritten' of shape"):
            check_dataset_size(path, unwritten)


def test_nexus_frames_declared_beyond_the_file(tmp_path):
    path = str(tmp_path / "frames.nxs")
    with h5py.File(path, "w") as file:
        entry = file.create_group("entry")
        entry.attrs["NX_class"] = "NXentry"
        plot = entry.create_group("data")
        plot.attrs.update(NX_class="NXdata", signal="data")
        file.create_dataset("entry/data/data", shape=(1000, 20_000, 20_000), dtype="u4", chunks=(1, 2000, 2000))
    assert_refused(lambda: ingest_nexus(path), path, r"the frames '/entry/data/data'")


def test_bliss_image_channel_declared_beyond_the_file(tmp_path):
    path = str(tmp_path / "data.h5")
    with open_dataset_file(path) as file:
        write_scan(file, "1.1", "loopscan 3 0.1", {"diode": (np.arange(3.0), None)})
        instrument = file["/1.1/instrument"]
        camera = instrument.create_group("camera")
        camera.attrs["NX_class"] = "NXdetector"
        camera.create_dataset("data", shape=(3, 20_000, 20_000), dtype="u4", chunks=(1, 2000, 2000))
        file["/1.1/measurement/camera_image"] = h5py.SoftLink("/1.1/instrument/camera/data")
    assert_refused(lambda: ingest_bliss(path, scan="1.1"), path, r"channel 'camera_image'")
