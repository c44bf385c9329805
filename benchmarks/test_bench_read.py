"""Reading pixels: the package's read path against plain tifffile on the same files.

Group ``read-series``: 100 single-image TIFFs (512x512 uint16) into one array; the
peer ``dask.array.image.imread(pattern, imread=tifffile.imread).compute()`` is the
plain-dask way to the same array. The package reads it eagerly (``primary.read()`` of
``ingest_tiff_series`` and of ``ingest_tiff_series_dask``), lazily
(``run.primary.to_dask()["image"].data.compute()`` of a lazy run already in a catalog,
and the same with the upsert timed too), and from a msgpack export.
Group ``read-stack``: one 100-page TIFF (512x512 uint16) into one array.

The upsert happens inside the timed function: the in-memory catalog keeps a run's
documents (and so its pixels) after the first read, so a second read would measure
only the cache.

Series benchmarks run 10 timed rounds after one warm-up round each (the same for the
baseline), so the files are in the page cache for everyone.
"""

import glob

import dask.array.image
import numpy as np
import pytest
import tifffile

from intake_ingest import (
    BlueskyInMemoryCatalog,
    BlueskyMsgpackCatalog,
    ingest_tiff_series,
    ingest_tiff_series_dask,
    ingest_tiff_stack,
)

SERIES_ROUNDS = dict(rounds=10, iterations=1, warmup_rounds=1)


def _check_dataset(dataset, images):
    assert dataset["image"].dims == ("time", "dim_0", "dim_1")
    values = dataset["image"].values
    assert isinstance(values, np.ndarray)
    assert values.dtype == images.dtype
    np.testing.assert_array_equal(values, images)
    np.testing.assert_array_equal(dataset["seq_num"].values, np.arange(1, len(images) + 1))


# -- 100-file series ---------------------------------------------------------------------


@pytest.mark.benchmark(group="read-series")
def test_series_tifffile_baseline(benchmark, tiff_series):
    pattern, images = tiff_series
    benchmark.extra_info["role"] = "baseline"

    def read():
        return tifffile.imread(sorted(glob.glob(pattern)))

    result = benchmark.pedantic(read, **SERIES_ROUNDS)
    np.testing.assert_array_equal(result, images)


@pytest.mark.benchmark(group="read-series")
def test_series_dask_image_imread(benchmark, tiff_series):
    pattern, images = tiff_series
    benchmark.extra_info["role"] = "peer"

    def read():
        return dask.array.image.imread(pattern, imread=tifffile.imread).compute()

    np.testing.assert_array_equal(benchmark.pedantic(read, **SERIES_ROUNDS), images)


@pytest.mark.benchmark(group="read-series")
def test_series_ingest_read(benchmark, tiff_series):
    pattern, images = tiff_series
    benchmark.extra_info["role"] = "package"

    def read():
        catalog = BlueskyInMemoryCatalog()
        uid = catalog.upsert(ingest_tiff_series, (pattern,), {})
        return catalog[uid].primary.read()

    _check_dataset(benchmark.pedantic(read, **SERIES_ROUNDS), images)


@pytest.mark.benchmark(group="read-series")
def test_series_ingest_dask_read(benchmark, tiff_series):
    pattern, images = tiff_series
    benchmark.extra_info["role"] = "package"

    def read():
        catalog = BlueskyInMemoryCatalog()
        uid = catalog.upsert(ingest_tiff_series_dask, (pattern,), {})
        return catalog[uid].primary.read()

    _check_dataset(benchmark.pedantic(read, **SERIES_ROUNDS), images)


@pytest.mark.benchmark(group="read-series")
@pytest.mark.parametrize("upsert_timed", [False, True], ids=["ingested_run", "with_upsert"])
def test_series_to_dask_compute(benchmark, tiff_series, upsert_timed):
    pattern, images = tiff_series
    benchmark.extra_info["role"] = "package"

    def lazy_run():
        catalog = BlueskyInMemoryCatalog()
        return catalog[catalog.upsert(ingest_tiff_series_dask, (pattern,), {})]

    ingested = lazy_run()
    ingested.primary.to_dask()  # the documents are pulled once, as a catalog does

    def read():
        run = lazy_run() if upsert_timed else ingested
        return run.primary.to_dask()["image"].data.compute()

    np.testing.assert_array_equal(benchmark.pedantic(read, **SERIES_ROUNDS), images)


@pytest.mark.benchmark(group="read-series")
def test_series_msgpack_reread(benchmark, msgpack_series, tiff_series):
    paths, uid = msgpack_series
    _, images = tiff_series
    benchmark.extra_info["role"] = "package"

    def read():
        return BlueskyMsgpackCatalog(paths)[uid].primary.read()

    _check_dataset(benchmark.pedantic(read, **SERIES_ROUNDS), images)


# -- 100-page stack ----------------------------------------------------------------------


@pytest.mark.benchmark(group="read-stack")
def test_stack_tifffile_baseline(benchmark, tiff_stack):
    path, images = tiff_stack
    benchmark.extra_info["role"] = "baseline"
    result = benchmark(tifffile.imread, path)
    np.testing.assert_array_equal(result, images)


@pytest.mark.benchmark(group="read-stack")
def test_stack_ingest_read(benchmark, tiff_stack):
    path, images = tiff_stack
    benchmark.extra_info["role"] = "package"

    def read():
        catalog = BlueskyInMemoryCatalog()
        uid = catalog.upsert(ingest_tiff_stack, (path,), {})
        return catalog[uid].primary.read()

    _check_dataset(benchmark(read), images)
