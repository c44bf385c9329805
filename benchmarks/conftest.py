"""Shared data for the benchmarks, and a summary of package-vs-baseline ratios.

All data is written once per session under ``tmp_path_factory`` (random pixels, fixed
seed). Every benchmark tags itself with ``extra_info["role"]``: ``"baseline"`` for the
reference implementation of its group, anything else for what is compared with it. At
the end of a ``--benchmark-only`` run a small table prints, per group, each benchmark's
median divided by the baseline's median.
"""

import glob
import os

import numpy as np
import pytest
import tifffile

import intake_ingest.msgpack
from intake_ingest import BlueskyInMemoryCatalog, ingest_tiff_series

SERIES_FILES = 100
IMAGE_SHAPE = (512, 512)
STACK_PAGES = 100
SMALL_SHAPE = (64, 64)
DTYPE = np.uint16


def _random_images(count, shape, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, np.iinfo(DTYPE).max, size=(count, *shape), dtype=DTYPE, endpoint=True)


def _write_series(directory, images):
    """One single-image TIFF per image, named so that sorted order is image order."""
    for index, image in enumerate(images):
        tifffile.imwrite(os.path.join(directory, f"img_{index:05d}.tiff"), image)
    return os.path.join(directory, "*.tiff")


@pytest.fixture(scope="session")
def tiff_series(tmp_path_factory):
    """``(pattern, images)``: 100 files of 512x512 uint16, and the array written."""
    images = _random_images(SERIES_FILES, IMAGE_SHAPE, seed=0)
    pattern = _write_series(str(tmp_path_factory.mktemp("series")), images)
    assert len(glob.glob(pattern)) == SERIES_FILES
    return pattern, images


@pytest.fixture(scope="session")
def tiff_stack(tmp_path_factory):
    """``(path, images)``: one 100-page 512x512 uint16 TIFF, and the array written."""
    images = _random_images(STACK_PAGES, IMAGE_SHAPE, seed=1)
    path = str(tmp_path_factory.mktemp("stack") / "stack.tiff")
    tifffile.imwrite(path, images, photometric="minisblack")
    return path, images


@pytest.fixture(scope="session")
def msgpack_series(tiff_series, tmp_path_factory):
    """``(glob, uid)`` of the 100-image series exported once to a msgpack file."""
    pattern, _ = tiff_series
    catalog = BlueskyInMemoryCatalog()
    uid = catalog.upsert(ingest_tiff_series, (pattern,), {})
    directory = tmp_path_factory.mktemp("msgpack")
    written = intake_ingest.msgpack.export(catalog[uid].canonical(fill="yes"), str(directory))
    assert len(written) == 1
    return str(directory / "*.msgpack"), uid


def _small_series(tmp_path_factory, count):
    images = _random_images(count, SMALL_SHAPE, seed=count)
    pattern = _write_series(str(tmp_path_factory.mktemp(f"small{count}")), images)
    return pattern, images


@pytest.fixture(scope="session")
def small_series_10(tmp_path_factory):
    """``(pattern, images)``: 10 files of 64x64 uint16."""
    return _small_series(tmp_path_factory, 10)


@pytest.fixture(scope="session")
def small_series_1000(tmp_path_factory):
    """``(pattern, images)``: 1000 files of 64x64 uint16."""
    return _small_series(tmp_path_factory, 1000)


# -- ratio summary ---------------------------------------------------------------------


def _field(bench, key):
    try:
        return bench[key]
    except (KeyError, TypeError):
        return getattr(bench, key, None)


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter, config):
    """Per group: median of each benchmark / median of the group's baseline."""
    session = getattr(config, "_benchmarksession", None)
    groups = getattr(session, "groups", None) if session is not None else None
    if not groups:
        return  # --benchmark-disable, or no benchmark ran
    lines = []
    for group, benches in groups:
        baselines = [
            b for b in benches if (_field(b, "extra_info") or {}).get("role") == "baseline"
        ]
        if len(baselines) != 1:
            continue
        base = baselines[0]
        base_median = _field(base, "median")
        if not base_median:
            continue
        lines.append(
            f"{group}  (baseline: {_field(base, 'name')}, median {base_median * 1e3:.2f} ms)"
        )
        for bench in sorted(benches, key=lambda b: _field(b, "median")):
            if bench is base:
                continue
            median = _field(bench, "median")
            lines.append(
                f"    {_field(bench, 'name'):<48} median {median * 1e3:10.2f} ms   "
                f"ratio {median / base_median:6.2f}x"
            )
    if lines:
        terminalreporter.write_sep("-", "median ratio vs baseline of the same group")
        for line in lines:
            terminalreporter.write_line(line)
