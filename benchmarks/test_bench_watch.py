"""Watching a folder of 10,000 files: what a pass costs, idle and when a frame arrives.

The folder: 100 numbered series of 100 small TIFFs (8x8 uint16), one flat folder, as
``test_bench_detect`` writes it; the watcher has taken them all (a memory sink) before
timing starts.

- ``watch-idle-10000-files``: a pass that finds nothing new against ``os.scandir`` with
  a ``stat`` of every entry (the least a poller does).
- ``watch-new-frame-10000-files``: the pass that takes a frame added to one series
  (detection of the folder's settled files, the grown series' run replacing its shorter
  one) against what a watcher without memory would do: ``detect`` the folder and
  ``ingest`` every run into a new in-memory catalog (lazily: RunStarts only).

Both passes are mostly listing and detection of the folder (measured: 1.3x the plain
detect-and-ingest, 3x a bare scandir-and-stat); what the watcher adds is not speed but
files taken only once whole, grown series replacing their runs, and each problem told
once. A folder per scan keeps detection small: only the folders where a file settled are
detected again.
"""

import itertools
import os

import numpy as np
import pytest
import tifffile

from intake_ingest.detect import detect, ingest
from intake_ingest.detect.watching import MemorySink, Watcher

from test_bench_detect import FILES_PER_SERIES, _write_folder


@pytest.fixture(scope="module")
def watched(tmp_path_factory):
    folder = _write_folder(tmp_path_factory.mktemp("watched"), 100)
    watcher = Watcher(folder, MemorySink())
    watcher.once()
    updates = watcher.once()
    assert len(updates) == 100 and all(update.kind == "new" for update in updates)
    return folder, watcher


def _scandir_stat(folder):
    with os.scandir(folder) as entries:
        return [entry.stat() for entry in entries]


@pytest.mark.benchmark(group="watch-idle-10000-files")
def test_scandir_stat_baseline(benchmark, watched):
    folder, _ = watched
    benchmark.extra_info["role"] = "baseline"
    assert len(benchmark.pedantic(_scandir_stat, args=(folder,), rounds=5, iterations=1)) >= 10_000


@pytest.mark.benchmark(group="watch-idle-10000-files")
def test_idle_pass(benchmark, watched):
    _, watcher = watched
    benchmark.extra_info["role"] = "package"
    assert benchmark.pedantic(watcher.once, rounds=5, iterations=1) == []


_numbers = itertools.count(FILES_PER_SERIES + 1)


def _add_frame(folder, watcher):
    """A frame more in series 0, seen by one pass (the next pass takes it)."""
    tifffile.imwrite(os.path.join(folder, f"series0000_{next(_numbers):05d}.tif"), np.zeros((8, 8), np.uint16))
    assert watcher.once() == []


@pytest.mark.benchmark(group="watch-new-frame-10000-files")
def test_detect_and_ingest_everything_baseline(benchmark, watched):
    folder, _ = watched
    benchmark.extra_info["role"] = "baseline"
    result = benchmark.pedantic(
        lambda: ingest(detect(folder, progress=False), progress=False), rounds=3, iterations=1
    )
    assert result.ok and len(result.results) == 100


@pytest.mark.benchmark(group="watch-new-frame-10000-files")
def test_pass_taking_a_new_frame(benchmark, watched):
    folder, watcher = watched
    benchmark.extra_info["role"] = "package"
    updates = benchmark.pedantic(
        watcher.once, setup=lambda: _add_frame(folder, watcher), rounds=3, iterations=1
    )
    (update,) = updates
    assert update.kind == "updated" and update.run.files[0].path.endswith("series0000_00001.tif")
