"""Building a lazy Dataset: ``to_dask()`` on 10 files against 1000 files.

Group ``to_dask-construction``: upsert of ``ingest_tiff_series_dask`` plus
``catalog[uid].primary.to_dask()``, nothing computed. Both series have 64x64 images,
so the ratio (1000 files / 10 files, baseline = 10 files) reflects only the file count:
100x would mean construction is linear in files with no fixed cost; well above 100x
would mean something grows faster than linearly.
"""

import dask.array as da
import numpy as np
import pytest

from intake_ingest import BlueskyInMemoryCatalog, ingest_tiff_series_dask


def _to_dask(pattern):
    catalog = BlueskyInMemoryCatalog()
    uid = catalog.upsert(ingest_tiff_series_dask, (pattern,), {})
    return catalog[uid].primary.to_dask()


def _check_lazy(dataset, images):
    image = dataset["image"]
    assert isinstance(image.data, da.Array), "to_dask() must not compute the images"
    assert image.shape == images.shape
    assert image.dtype == images.dtype
    # Spot-check a few images (computing all 1000 would be a read benchmark).
    for index in {0, len(images) // 2, len(images) - 1}:
        np.testing.assert_array_equal(image.data[index].compute(), images[index])


@pytest.mark.benchmark(group="to_dask-construction")
def test_to_dask_10_files_baseline(benchmark, small_series_10):
    pattern, images = small_series_10
    benchmark.extra_info["role"] = "baseline"
    benchmark.extra_info["files"] = len(images)
    _check_lazy(benchmark(_to_dask, pattern), images)


@pytest.mark.benchmark(group="to_dask-construction")
def test_to_dask_1000_files(benchmark, small_series_1000):
    pattern, images = small_series_1000
    benchmark.extra_info["role"] = "1000 files"
    benchmark.extra_info["files"] = len(images)
    dataset = benchmark.pedantic(_to_dask, args=(pattern,), rounds=5, iterations=1, warmup_rounds=0)
    _check_lazy(dataset, images)
