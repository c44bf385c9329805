"""The example catalogs through intake.open_catalog and intake_ingest.open_catalog, over every URL scheme."""

import os
import shutil

import fsspec
import intake
import numpy as np
import pytest
import tifffile
import xarray as xr

import intake_ingest
from intake_ingest import BlueskyRun, ingest_tiff_series, ingest_tiff_stack


def expected_images(catalogs):
    data = catalogs / "data"
    scan = np.stack([tifffile.imread(path) for path in sorted((data / "scans" / "scan_0001").glob("*.tiff"))])
    return {"scan_0001": scan, "stack": tifffile.imread(data / "stack" / "stack.tiff")}


def check_example_catalog(cat, images):
    """Every kind of entry of catalogs/beamline.yml opens and reads the right pixels."""
    assert list(cat) == ["scans", "darks_and_flats", "scan_0001", "stack", "session", "native_copies", "detectors"]
    assert isinstance(cat.scan_0001, BlueskyRun)
    np.testing.assert_array_equal(cat.scan_0001.primary.read()["image"].values, images["scan_0001"])
    np.testing.assert_array_equal(cat["stack"].primary.read()["image"].values, images["stack"])
    assert len(cat.scans) == 2 and len(cat.darks_and_flats) == 2
    scan_0001 = cat.scans.search({"source": {"$regex": "scan_0001"}})
    assert len(scan_0001) == 1
    np.testing.assert_array_equal(scan_0001[0].primary.read()["image"].values, images["scan_0001"])
    assert len(cat.session) == 2
    assert len(cat.native_copies) == 2
    assert list(cat.detectors) == ["area_detector_lazy", "stack_pages"]
    lazy = cat.detectors.area_detector_lazy.primary.to_dask()
    np.testing.assert_array_equal(lazy["image"].values, images["scan_0001"])
    assert len(cat.detectors.stack_pages) == 1


@pytest.mark.parametrize("opener", [intake.open_catalog, intake_ingest.open_catalog])
def test_local_path_and_file_url(example_catalogs, opener):
    images = expected_images(example_catalogs)
    check_example_catalog(opener(str(example_catalogs / "beamline.yml")), images)
    check_example_catalog(opener(f"file://{example_catalogs}/beamline.yml"), images)


def test_catalog_results_equal_the_python_api(example_catalogs):
    cat = intake.open_catalog(str(example_catalogs / "beamline.yml"))
    data = example_catalogs / "data"
    api = intake_ingest.BlueskyInMemoryCatalog()
    series_uid = api.upsert(ingest_tiff_series, (str(data / "scans" / "scan_0001" / "*.tiff"),), {})
    stack_uid = api.upsert(ingest_tiff_stack, (str(data / "stack" / "stack.tiff"),), {})
    for via_yaml, uid in [(cat.scan_0001, series_uid), (cat.stack, stack_uid)]:
        assert via_yaml.uid == uid
        xr.testing.assert_identical(
            via_yaml.primary.read().drop_vars("uid"), api[uid].primary.read().drop_vars("uid")
        )


def test_memory_url(example_catalogs, memory_folder):
    fs, root = memory_folder
    fs.put(str(example_catalogs), f"{root}/catalogs", recursive=True)
    images = expected_images(example_catalogs)
    for opener in (intake.open_catalog, intake_ingest.open_catalog):
        check_example_catalog(opener(f"memory://{root}/catalogs/beamline.yml"), images)


def test_zipped_catalog_folder(example_catalogs, tmp_path):
    archive = shutil.make_archive(str(tmp_path / "shared"), "zip", root_dir=tmp_path, base_dir="catalogs")
    images = expected_images(example_catalogs)
    # The whole folder zipped, opened through a chained URL...
    check_example_catalog(intake_ingest.open_catalog(f"zip://catalogs/beamline.yml::file://{archive}"), images)
    # ...and with intake's own opener: the chained URL with the safe driver, or the
    # archive given as storage options to intake's default YAML driver.
    url = f"zip://catalogs/beamline.yml::file://{archive}"
    check_example_catalog(intake.open_catalog(url, driver="bluesky-yaml-catalog"), images)
    cat = intake.open_catalog("zip://catalogs/beamline.yml", storage_options={"fo": archive})
    check_example_catalog(cat, images)


def test_http_catalog_with_data_read_over_http(example_catalogs, http_server):
    images = expected_images(example_catalogs)
    for opener in (intake.open_catalog, intake_ingest.open_catalog):
        cat = opener(f"{http_server}/catalogs/beamline.yml")
        check_example_catalog(cat, images)
        assert cat.scan_0001.start["source"].startswith("http://127.0.0.1")


def test_refresh_shows_files_added_after_opening(example_catalogs):
    cat = intake_ingest.open_catalog(str(example_catalogs / "beamline.yml"))
    scans = cat.scans
    assert len(scans) == 2
    shutil.copytree(example_catalogs / "data" / "scans" / "scan_0002", example_catalogs / "data" / "scans" / "scan_0003")
    scans.force_reload()
    assert len(scans) == 3
    # A catalog opened afresh sees it too, and so does a short ttl.
    assert len(intake.open_catalog(str(example_catalogs / "beamline.yml")).scans) == 3
    short = intake_ingest.BlueskyIngestCatalog(
        str(example_catalogs / "data" / "scans" / "*" / "*.tiff"), "tiff_series", group_by="directory", ttl=0
    )
    shutil.copytree(example_catalogs / "data" / "scans" / "scan_0001", example_catalogs / "data" / "scans" / "scan_0004")
    assert len(short) == 4


def test_search_through_intake(example_catalogs):
    cat = intake.open_catalog(str(example_catalogs / "beamline.yml"))
    found = cat.native_copies.search({"num_points": 5}).search({"source": {"$regex": "scan_0002"}})
    assert len(found) == 1
    assert found[0].primary.read().sizes["time"] == 5


def test_example_catalogs_pass_the_safety_check():
    from tests.conftest import EXAMPLE_CATALOGS

    for name in ["beamline.yml", "detectors.yml"]:
        assert intake_ingest.check_catalog(str(EXAMPLE_CATALOGS / name)) == []
    assert sorted(os.listdir(EXAMPLE_CATALOGS / "native_copies"))  # committed data present
