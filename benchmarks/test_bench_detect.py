"""Detection over many files: ``detect(folder)`` against reading every file's header by hand.

Group ``detect-10000-files``: 10,000 small single-image TIFFs in 100 numbered series.
The baseline is the least any detector must do: ``os.scandir`` the folder and read the
first 4096 bytes of each file. The ratio is what choosing ingestors and grouping costs
on top (every registered sniffer runs on every file whose name it accepts).
"""

import os

import numpy as np
import pytest
import tifffile

from intake_ingest.detect import detect

N_SERIES = 100
FILES_PER_SERIES = 100


@pytest.fixture(scope="module")
def many_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("many")
    image = np.zeros((8, 8), np.uint16)
    for series in range(N_SERIES):
        for number in range(1, FILES_PER_SERIES + 1):
            tifffile.imwrite(folder / f"series{series:03d}_{number:05d}.tif", image)
    return str(folder)


@pytest.mark.benchmark(group="detect-10000-files")
def test_scandir_and_read_headers_baseline(benchmark, many_files):
    benchmark.extra_info["role"] = "baseline"

    def read_headers():
        heads = []
        with os.scandir(many_files) as entries:
            for entry in entries:
                with open(entry.path, "rb") as file:
                    heads.append(file.read(4096))
        return heads

    heads = benchmark.pedantic(read_headers, rounds=3, iterations=1)
    assert len(heads) == N_SERIES * FILES_PER_SERIES


@pytest.mark.benchmark(group="detect-10000-files")
def test_detect(benchmark, many_files):
    benchmark.extra_info["role"] = "package"
    plan = benchmark.pedantic(lambda: detect(many_files, progress=False), rounds=3, iterations=1)
    assert len(plan.runs) == N_SERIES
    assert all(len(run.files) == FILES_PER_SERIES for run in plan.runs)
    assert plan.unrecognised == [] and plan.ambiguous == []
