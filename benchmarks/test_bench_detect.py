"""Detection over many files: ``detect(folder)`` against reading every file's header by hand.

Groups ``detect-10000-files`` and ``detect-100000-files``: small single-image TIFFs
(8x8 uint16, different pixels in every file) in numbered series of 100 files each (100
series, and 1,000), one flat folder. The baseline is the least any detector must do:
``os.scandir`` the folder and read the first 4096 bytes of each file. The ratio is what
listing (fsspec), sniffing, grouping and planning cost on top.

Timed: ``detect`` in this process, and isolated (``isolate=True``, as the command line
does: a worker process forked from the session's forkserver, which the fixture starts
first, so its ~2 s of imports are not in the timing). Each round starts with TIFF
header caches cleared, so that no round reuses an earlier round's parse. The number of
files sniffed is in ``extra_info`` (two per series: the rest follow them), and so is
the rate, files per second from the median round (``files_per_s``), printed as a table
when the module is done: what a larger folder's time is extrapolated from.

The 100,000 files are written in about 15 s (a template TIFF's bytes with each file's
pixels patched in), so the group runs in the CI smoke run too.
"""

import io
import os

import numpy as np
import pytest
import tifffile

from baselines import read_heads
from intake_ingest.detect import detect
from intake_ingest.detect.isolation import IsolatedWorker
from intake_ingest.ingestors.tiff import tiff_header

FILES_PER_SERIES = 100
IMAGE = np.zeros((8, 8), np.uint16)


def _write_folder(folder, n_series):
    """``n_series`` numbered series of FILES_PER_SERIES TIFFs, each file's pixels its number."""
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, IMAGE)
    template = bytearray(buffer.getvalue())
    with tifffile.TiffFile(io.BytesIO(bytes(template))) as tif:
        offset = tif.pages[0].dataoffsets[0]
    for series in range(n_series):
        for number in range(1, FILES_PER_SERIES + 1):
            template[offset : offset + IMAGE.nbytes] = np.full(IMAGE.shape, (series * FILES_PER_SERIES + number) % 65536, IMAGE.dtype).tobytes()
            with open(os.path.join(folder, f"series{series:04d}_{number:05d}.tif"), "wb") as file:
                file.write(template)
    return str(folder)


@pytest.fixture(scope="module")
def files_10000(tmp_path_factory):
    return _write_folder(tmp_path_factory.mktemp("many"), 100)


@pytest.fixture(scope="module")
def files_100000(tmp_path_factory):
    return _write_folder(tmp_path_factory.mktemp("very_many"), 1000)


@pytest.fixture(scope="module")
def forkserver_started():
    """The session's forkserver up (it imports the readers once), as in a long session."""
    with IsolatedWorker() as worker:
        worker.call(len, "started")


@pytest.fixture(scope="module")
def rates(request):
    """(group, role) -> files per second, printed as a table when the module is done."""
    measured = {}
    yield measured
    plugins = request.config.pluginmanager
    reporter, capture = plugins.get_plugin("terminalreporter"), plugins.get_plugin("capturemanager")
    if reporter is None or capture is None or not measured:
        return
    with capture.global_and_fixture_disabled():  # printed whether or not output is captured
        reporter.write_sep("-", "detection rate (files per second, median round)")
        for (group, role), rate in measured.items():
            reporter.write_line(f"    {group:<22} {role:<9} {rate:>10,.0f} files/s")


def _record_rate(benchmark, rates, n_files):
    """Files per second of the median round, in ``extra_info`` and the module's table."""
    stats = getattr(benchmark.stats, "stats", None) if benchmark.stats else None
    if stats is None:  # --benchmark-disable: nothing was timed
        return
    rate = n_files / stats.median
    benchmark.extra_info["files_per_s"] = round(rate)
    rates[benchmark.group, benchmark.extra_info["role"]] = rate


def _baseline(benchmark, rates, folder, n_files, rounds):
    benchmark.extra_info["role"] = "baseline"
    read_heads(folder)  # the page cache warm, as it is for detect's rounds
    heads = benchmark.pedantic(read_heads, args=(folder,), rounds=rounds, iterations=1)
    assert len(heads) == n_files
    _record_rate(benchmark, rates, n_files)


def _detect(benchmark, rates, folder, n_files, rounds, isolate):
    benchmark.extra_info["role"] = "isolated" if isolate else "package"
    plan = benchmark.pedantic(
        lambda: detect(folder, progress=False, isolate=isolate),
        setup=tiff_header.cache_clear,
        rounds=rounds,
        iterations=1,
    )
    _record_rate(benchmark, rates, n_files)
    n_series = n_files // FILES_PER_SERIES
    benchmark.extra_info["sniffed"] = plan.sniffed
    assert len(plan.runs) == n_series
    assert all(len(run.files) == FILES_PER_SERIES for run in plan.runs)
    assert plan.unrecognised == [] and plan.ambiguous == []
    assert plan.sniffed == 2 * n_series and plan.followed == n_files - 2 * n_series


@pytest.mark.benchmark(group="detect-10000-files")
def test_scandir_and_read_headers_baseline(benchmark, rates, files_10000):
    _baseline(benchmark, rates, files_10000, 10_000, rounds=5)


@pytest.mark.benchmark(group="detect-10000-files")
def test_detect(benchmark, rates, files_10000):
    _detect(benchmark, rates, files_10000, 10_000, rounds=5, isolate=False)


@pytest.mark.benchmark(group="detect-10000-files")
def test_detect_isolated(benchmark, rates, files_10000, forkserver_started):
    _detect(benchmark, rates, files_10000, 10_000, rounds=5, isolate=True)


@pytest.mark.benchmark(group="detect-100000-files")
def test_scandir_and_read_headers_100000_baseline(benchmark, rates, files_100000):
    _baseline(benchmark, rates, files_100000, 100_000, rounds=3)


@pytest.mark.benchmark(group="detect-100000-files")
def test_detect_100000(benchmark, rates, files_100000):
    _detect(benchmark, rates, files_100000, 100_000, rounds=3, isolate=False)


@pytest.mark.benchmark(group="detect-100000-files")
def test_detect_100000_isolated(benchmark, rates, files_100000, forkserver_started):
    _detect(benchmark, rates, files_100000, 100_000, rounds=3, isolate=True)
