"""Detection of a folder of HDF5 main files with companions: linear, not N x N.

Group ``detect-1000-eiger-masters``: 1,000 Eiger master files (``x_master.h5``, an
NXentry whose NXdata links to its data file) and their 1,000 data files
(``x_data_000001.h5``), 2,000 files in one flat folder (small enough for the CI smoke
run). Every master, and every data file (sniffed as NeXus), asks which of the other
files are its companions; detection indexes the selection once and each looks up the
names it expects (before, each scanned every other file: at 2,000 masters 34 s of a
46 s detection, at 5,000 140 s of 167 s; now 7 s of 17 s and 16 s of 37 s). The baseline is the least any
detector must do: ``os.scandir`` the folder and read the first 4096 bytes of each file.

Timed: ``detect`` in this process, and isolated (``isolate=True``, as the command line
does; the forkserver started first so its imports are not in the timing). Each round
starts with the HDF5 read caches cleared.
"""

import os

import h5py
import numpy as np
import pytest

from baselines import read_heads
from intake_ingest.detect import detect
from intake_ingest.detect.isolation import IsolatedWorker
from intake_ingest.ingestors.hdf5 import tree

N_MASTERS = 1000


def _write_folder(folder):
    for number in range(N_MASTERS):
        name = f"x{number:05d}"
        with h5py.File(os.path.join(folder, f"{name}_data_000001.h5"), "w") as file:
            data = file.create_group("entry").create_group("data")
            file["entry"].attrs["NX_class"], data.attrs["NX_class"] = "NXentry", "NXdata"
            data.create_dataset("data", data=np.full((1, 4, 4), number, np.uint32))
        with h5py.File(os.path.join(folder, f"{name}_master.h5"), "w") as file:
            data = file.create_group("entry").create_group("data")
            file["entry"].attrs["NX_class"], data.attrs["NX_class"] = "NXentry", "NXdata"
            data["data_000001"] = h5py.ExternalLink(f"{name}_data_000001.h5", "/entry/data/data")
    return str(folder)


@pytest.fixture(scope="module")
def masters(tmp_path_factory):
    return _write_folder(tmp_path_factory.mktemp("eiger_masters"))


@pytest.fixture(scope="module")
def forkserver_started():
    with IsolatedWorker() as worker:
        worker.call(len, "started")


@pytest.mark.benchmark(group="detect-1000-eiger-masters")
def test_scandir_and_read_headers_baseline(benchmark, masters):
    benchmark.extra_info["role"] = "baseline"
    read_heads(masters)
    heads = benchmark.pedantic(read_heads, args=(masters,), rounds=3, iterations=1)
    assert len(heads) == 2 * N_MASTERS


def _detect(benchmark, folder, isolate):
    benchmark.extra_info["role"] = "isolated" if isolate else "package"
    plan = benchmark.pedantic(
        lambda: detect(folder, progress=False, isolate=isolate), setup=tree._PEEKS.clear, rounds=3, iterations=1
    )
    assert len(plan.runs) == N_MASTERS and plan.unrecognised == [] and plan.ambiguous == []
    assert {run.ingestor for run in plan.runs} == {"eiger_hdf5"}
    for run in plan.runs:
        (master,), (data,) = run.files, run.companions
        assert data.path == master.path.replace("_master.h5", "_data_000001.h5")


@pytest.mark.benchmark(group="detect-1000-eiger-masters")
def test_detect(benchmark, masters):
    _detect(benchmark, masters, isolate=False)


@pytest.mark.benchmark(group="detect-1000-eiger-masters")
def test_detect_isolated(benchmark, masters, forkserver_started):
    _detect(benchmark, masters, isolate=True)
