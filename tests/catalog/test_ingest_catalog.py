import shutil

import numpy as np
import pytest
import tifffile

from intake_ingest import BlueskyIngestCatalog
from intake_ingest.grouping import group_files, numbered_name
from intake_ingest.files import expand


def test_numbered_names():
    assert numbered_name("scan_0012.tiff") == ("scan_", 12, ".tiff")
    assert numbered_name("img7.tif") == ("img", 7, ".tif")
    assert numbered_name("sample2_003.edf.gz") == ("sample2_", 3, ".edf.gz")
    assert numbered_name("notes.txt") is None


def test_group_by_prefix_splits_prefixes_and_orders_numerically(tmp_path):
    for name in ["a_9.tif", "a_10.tif", "b_1.tif", "b_2.tif", "lone.tif"]:
        (tmp_path / name).write_bytes(b"")
    groups = group_files(expand(str(tmp_path / "*.tif")), "prefix")
    names = [[source.path.rsplit("/", 1)[1] for source in group] for group in groups]
    assert names == [["a_9.tif", "a_10.tif"], ["b_1.tif", "b_2.tif"], ["lone.tif"]]
    with pytest.raises(ValueError, match="group_by"):
        group_files([], "month")


def test_one_run_per_folder_and_refresh_sees_new_files(example_catalogs, validated):
    pattern = str(example_catalogs / "data" / "scans" / "*" / "*.tiff")
    catalog = BlueskyIngestCatalog(pattern, "tiff_series", group_by="directory")
    assert len(catalog) == 2
    first = list(catalog)
    for uid in catalog:
        validated(catalog[uid].canonical())
        assert catalog[uid].primary.read().sizes["time"] == 5

    new_scan = example_catalogs / "data" / "scans" / "scan_0003"
    shutil.copytree(example_catalogs / "data" / "scans" / "scan_0001", new_scan)
    assert len(catalog) == 2  # not listed again before ttl, unless asked
    catalog.force_reload()
    assert len(catalog) == 3
    assert list(catalog)[:2] == first  # runs of unchanged files are kept
    third = catalog[list(catalog)[2]]
    assert third.start["source"][0].startswith(str(new_scan))


def test_one_run_per_file_and_search(example_catalogs):
    catalog = BlueskyIngestCatalog(str(example_catalogs / "data" / "numbered" / "*.tiff"), "tiff_series")
    assert len(catalog) == 6
    darks = catalog.search({"source": {"$regex": "dark_"}})
    assert len(darks) == 3


def test_prefix_groups_read_lazily(example_catalogs):
    catalog = BlueskyIngestCatalog(
        str(example_catalogs / "data" / "numbered" / "*.tiff"), "tiff_series_dask", group_by="prefix"
    )
    assert len(catalog) == 2
    dark = catalog.search({"source": {"$regex": "dark_0001"}})
    (uid,) = list(dark)
    lazy = dark[uid].primary.to_dask()
    expected = np.stack([tifffile.imread(example_catalogs / "data" / "numbered" / f"dark_{n:04d}.tiff") for n in (1, 2, 3)])
    np.testing.assert_array_equal(lazy["image"].values, expected)


def test_empty_folder_is_an_empty_catalog_and_bad_arguments_are_clear(tmp_path):
    assert len(BlueskyIngestCatalog(str(tmp_path / "*.tiff"), "tiff_series")) == 0
    with pytest.raises(KeyError, match="no ingestor named 'tif'"):
        BlueskyIngestCatalog(str(tmp_path / "*.tiff"), "tif")
    with pytest.raises(ValueError, match="group_by"):
        BlueskyIngestCatalog(str(tmp_path / "*.tiff"), "tiff_series", group_by="scan")
