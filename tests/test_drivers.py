"""Every ingestor is an intake driver, found through entry points without importing the package."""

import subprocess
import sys

import intake
import numpy as np
import xarray as xr

from intake_ingest import BlueskyInMemoryCatalog, BlueskyRun, ingest_tiff_series, ingest_tiff_stack
from intake_ingest.drivers import IngestedRun, TiffSeriesRun, TiffStackRun
from intake_ingest.registry import driver_name, get_ingestor, ingestor_names


def test_every_registered_ingestor_has_a_driver():
    assert {"tiff_series", "tiff_series_dask", "tiff_stack"} <= set(ingestor_names())
    for name in ingestor_names():
        driver = intake.registry[driver_name(name)]
        assert issubclass(driver, IngestedRun)
        assert driver.ingestor_name == name
        assert get_ingestor(driver.ingestor_name) is get_ingestor(name)


def test_catalog_drivers_are_registered():
    for name in ["bluesky-in-memory-catalog", "bluesky-msgpack-catalog", "bluesky-ingest-catalog", "bluesky-yaml-catalog"]:
        assert intake.registry[name].name == name


def test_finding_drivers_imports_nothing_of_the_package():
    code = "import sys, intake; names = list(intake.registry); print('bluesky-tiff-series' in names, any(m.startswith('intake_ingest') for m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["True", "False"]


def test_driver_gives_the_same_run_as_the_python_api(tiff_series, tiff_stack):
    catalog = BlueskyInMemoryCatalog()
    series_uid = catalog.upsert(ingest_tiff_series, (tiff_series[0],), {})
    stack_uid = catalog.upsert(ingest_tiff_stack, (tiff_stack[0],), {})

    series = TiffSeriesRun(pattern=tiff_series[0])
    stack = TiffStackRun(filename=tiff_stack[0], lazy=True)
    assert isinstance(series, BlueskyRun)
    assert series.uid == series_uid and stack.uid == stack_uid
    xr.testing.assert_identical(
        series.primary.read().drop_vars("uid"), catalog[series_uid].primary.read().drop_vars("uid")
    )
    np.testing.assert_array_equal(stack.primary.read()["image"], tiff_stack[1])
    tree = series.read()
    assert list(tree.children) == ["primary"]
    np.testing.assert_array_equal(tree["primary"]["image"].values, tiff_series[1])


def test_describe_and_discover_show_the_run_start_without_reading_pixels(tiff_series, monkeypatch):
    import tifffile

    opened = []
    monkeypatch.setattr(tifffile, "TiffFile", lambda *a, **k: opened.append(a) or 1 / 0)
    run = TiffSeriesRun(pattern=tiff_series[0])
    assert run.describe()["metadata"]["start"]["num_points"] == 10
    assert run.discover()["metadata"]["start"]["uid"] == run.uid
    assert "tiff_series" in run.yaml()
    assert opened == []


def test_unknown_ingestor_names_the_registered_ones():
    import pytest

    from intake_ingest.registry import UnknownIngestorError

    with pytest.raises(UnknownIngestorError, match="no ingestor named 'nope'; registered ingestors: .*tiff_series"):
        get_ingestor("nope")


def test_package_exports_every_ingestor_and_driver_without_importing_them_eagerly():
    code = (
        "import sys, intake_ingest.ingestors as i, intake_ingest.drivers as d; "
        "print(any(m in sys.modules for m in ('fabio', 'h5py', 'silx'))); "
        "print(all(callable(getattr(i, n)) for n in i.__all__), all(isinstance(getattr(d, n), type) for n in d.__all__))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "True", "True"]
