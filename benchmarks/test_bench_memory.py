"""Peak memory of an eager read: the package against tifffile on the same files.

Group ``memory-series``: 200 single-image TIFFs of 1024x1024 uint16 (400 MiB of pixels)
read into memory, each reader in a new Python process of its own, so that one
measurement's memory cannot hide in another's. Each process reports:

- ``peak``: its peak resident set size (``resource.getrusage(RUSAGE_SELF).ru_maxrss``)
  at the end, imports included;
- ``imports``: the same high-water mark after its imports, before reading;
- ``read``: ``peak - imports``, what the read itself added on top of the imports.

Readers: ``tifffile.imread(files)`` (the baseline, a process importing only tifffile);
the same in a process that has imported the package first (what ``import
intake_ingest`` costs: xarray and dask are imported only when a stream is read);
the same pixels returned in an ``xarray.Dataset`` built xarray's cheapest way (the
floor of any reader that returns xarray: xarray imports pandas, and pandas pyarrow
where it is installed); the package's
``run.primary.read()`` (eager ``ingest_tiff_series``), ``read()`` of the lazy
ingestor, and ``to_dask()`` + ``compute()``. Every process checks what it read
against the SHA-1 of the pixels written (a wrong array fails the test); nothing about
speed or size is asserted. The times pytest-benchmark prints are those of whole
processes (start, imports, read). At the end of the module a table of peak ratios
(package / tifffile) prints, with the heavy libraries each process ended up importing
and what the imports cost over tifffile's; the target is at most 1.1x tifffile's peak.

What a library costs when installed but not imported can be seen without uninstalling
it: ``INTAKE_INGEST_BENCH_WITHOUT=pyarrow,sparse`` makes every reader's process start
with those modules marked missing (``sys.modules[name] = None``), so that pandas runs
without pyarrow and dask without sparse (and numba), as in an install without the
``tiled`` extra.
"""

import hashlib
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tifffile

FRAMES = 200
FRAME_SHAPE = (1024, 1024)
DTYPE = np.uint16

# Each reader's process: imports, the read, and one JSON line with the figures.
_PROLOGUE = """
import glob, hashlib, json, resource, sys
for name in filter(None, sys.argv[2].split(",")):
    sys.modules[name] = None  # INTAKE_INGEST_BENCH_WITHOUT: as if not installed
import numpy as np
pattern = sys.argv[1]
files = sorted(glob.glob(pattern))
"""
_EPILOGUE = """
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
array = np.ascontiguousarray(array)
print(json.dumps({
    "imports_kib": imports, "peak_kib": peak, "shape": list(array.shape), "dtype": str(array.dtype),
    "sha1": hashlib.sha1(memoryview(array).cast("B")).hexdigest(),
    "heavy": [name for name in HEAVY if sys.modules.get(name) is not None],
}))
"""
_IMPORTS_DONE = "imports = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"

# Libraries that cost tens of MiB each; the table says which each process imported.
HEAVY = ("xarray", "pandas", "pyarrow", "dask.array", "sparse", "numba")
WITHOUT = os.environ.get("INTAKE_INGEST_BENCH_WITHOUT", "")

READERS = {
    "tifffile": ("import tifffile\n", "array = tifffile.imread(files)\n"),
    # The same read in a process that has imported the package: what importing it costs.
    "tifffile_package_imported": (
        "import tifffile\nfrom intake_ingest import BlueskyInMemoryCatalog, ingest_tiff_series\n",
        "array = tifffile.imread(files)\n",
    ),
    # The same pixels returned as a Dataset: no reader that returns xarray can do less.
    "tifffile_xarray": (
        "import tifffile\nimport xarray as xr\n",
        # xarray's cheapest public route: a (dims, array) tuple would import dask.array
        # (and sparse, numba) to check for chunked arrays; fastpath takes numpy as it is.
        "image = xr.Variable(('time', 'dim_0', 'dim_1'), tifffile.imread(files), fastpath=True)\n"
        "dataset = xr.Dataset({'image': image})\n"
        "array = dataset['image'].values\n",
    ),
    "package_read": (
        "from intake_ingest import BlueskyInMemoryCatalog, ingest_tiff_series\n",
        "catalog = BlueskyInMemoryCatalog()\n"
        "uid = catalog.upsert(ingest_tiff_series, (pattern,), {})\n"
        "array = catalog[uid].primary.read()['image'].values\n",
    ),
    "package_lazy_read": (
        "from intake_ingest import BlueskyInMemoryCatalog, ingest_tiff_series_dask\n",
        "catalog = BlueskyInMemoryCatalog()\n"
        "uid = catalog.upsert(ingest_tiff_series_dask, (pattern,), {})\n"
        "array = catalog[uid].primary.read()['image'].values\n",
    ),
    "package_to_dask_compute": (
        "from intake_ingest import BlueskyInMemoryCatalog, ingest_tiff_series_dask\n",
        "catalog = BlueskyInMemoryCatalog()\n"
        "uid = catalog.upsert(ingest_tiff_series_dask, (pattern,), {})\n"
        "array = catalog[uid].primary.to_dask()['image'].data.compute()\n",
    ),
}

# pytest-benchmark roles (conftest's ratio table): tifffile is the baseline; readers that
# are tifffile too, with more imported, are peers.
ROLES = {"tifffile": "baseline", "tifffile_package_imported": "peer", "tifffile_xarray": "peer"}


def _script(reader):
    imports, read = READERS[reader]
    return _PROLOGUE + imports + _IMPORTS_DONE + read + f"HEAVY = {HEAVY!r}\n" + _EPILOGUE


@pytest.fixture(scope="module")
def large_series(tmp_path_factory):
    """``(pattern, sha1)``: 200 files of 1024x1024 uint16, and the SHA-1 of all their pixels."""
    directory = tmp_path_factory.mktemp("large_series")
    rng = np.random.default_rng(200)
    digest = hashlib.sha1()
    for index in range(FRAMES):  # one frame at a time: the test process stays small
        frame = rng.integers(0, np.iinfo(DTYPE).max, size=FRAME_SHAPE, dtype=DTYPE, endpoint=True)
        tifffile.imwrite(os.path.join(directory, f"frame_{index:05d}.tiff"), frame)
        digest.update(frame.tobytes())
    return os.path.join(directory, "*.tiff"), digest.hexdigest()


# Linux keeps a process's peak RSS across exec: a process started from pytest would
# report pytest's own size as its peak. A small Python process in between starts the
# reader, which then inherits only that small process's peak.
_LAUNCHER = "import subprocess, sys; sys.exit(subprocess.run(sys.argv[1:]).returncode)"


def _measure(reader, pattern):
    """Run one reader in a new process; its figures as a dict."""
    done = subprocess.run(
        [sys.executable, "-c", _LAUNCHER, sys.executable, "-c", textwrap.dedent(_script(reader)), pattern, WITHOUT],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, f"{reader} failed:\n{done.stderr}"
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def peaks(request):
    """reader -> figures, printed as a table when the module is done."""
    measured = {}
    yield measured
    plugins = request.config.pluginmanager
    reporter, capture = plugins.get_plugin("terminalreporter"), plugins.get_plugin("capturemanager")
    base = measured.get("tifffile")
    if reporter is None or capture is None or base is None:
        return
    base_peak, base_imports = base["peak_kib"] / 1024, base["imports_kib"] / 1024
    base_read = base_peak - base_imports
    with capture.global_and_fixture_disabled():  # printed whether or not output is captured
        reporter.write_sep("-", "peak RSS of an eager read of 200x1024x1024 uint16 (400 MiB), one process each")
        if WITHOUT:
            reporter.write_line(f"    as if not installed: {WITHOUT}")
        for reader, figures in measured.items():
            peak, imports = figures["peak_kib"] / 1024, figures["imports_kib"] / 1024
            reporter.write_line(
                f"    {reader:<26} peak {peak:7.1f} MiB ({peak / base_peak:5.2f}x tifffile)   "
                f"imports {imports:6.1f} MiB   read {peak - imports:7.1f} MiB ({(peak - imports) / base_read:5.2f}x)   "
                f"imported: {', '.join(figures['heavy']) or '-'}"
            )
        # Peak = what the imports hold + the pixels; the imports over tifffile's are the excess.
        for reader in ("tifffile_package_imported", "tifffile_xarray", "package_read"):
            if reader in measured:
                extra = measured[reader]["peak_kib"] / 1024 - base_peak
                reporter.write_line(
                    f"    {reader} over tifffile: +{extra:.1f} MiB, {extra / base_read:.1%} of the "
                    f"{base_read:.0f} MiB read (tifffile's imports: {base_imports:.1f} MiB)"
                )


@pytest.mark.benchmark(group="memory-series")
@pytest.mark.parametrize("reader", list(READERS))
def test_peak_memory_of_eager_read(benchmark, large_series, peaks, reader):
    pattern, sha1 = large_series
    benchmark.extra_info["role"] = ROLES.get(reader, "package")
    figures = benchmark.pedantic(_measure, args=(reader, pattern), rounds=1, iterations=1)
    assert figures["shape"] == [FRAMES, *FRAME_SHAPE]
    assert figures["dtype"] == np.dtype(DTYPE).name
    assert figures["sha1"] == sha1, f"{reader} read other pixels than were written"
    benchmark.extra_info.update(
        peak_mib=figures["peak_kib"] / 1024, imports_mib=figures["imports_kib"] / 1024
    )
    peaks[reader] = figures
