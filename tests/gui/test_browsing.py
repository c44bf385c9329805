"""BrowseModel and RunViewModel: a catalog's runs, searched; one run's metadata and data."""

import datetime
import os

import numpy as np
import pytest

from intake_ingest.gui import BrowseModel, IngestModel, SelectionModel, filters_to_query, is_catalog_argument, parse_query

from .conftest import group_of


@pytest.fixture
def catalog(beamtime):
    model = SelectionModel([beamtime.folder])
    model.detect()
    ingest = IngestModel()
    ingest.ingest(model.selected_plan())
    return ingest.catalog


def test_filters_to_query():
    assert filters_to_query("plan_name=ascan scan_id>=10, scan_id<20 source~dark_") == {
        "plan_name": "ascan",
        "scan_id": {"$gte": 10, "$lt": 20},
        "source": {"$regex": "dark_"},
    }
    assert filters_to_query('sample.name="Si wafer" num_points!=null flag=true x>1.5 y<=2') == {
        "sample.name": "Si wafer",
        "num_points": {"$ne": None},
        "flag": True,
        "x": {"$gt": 1.5},
        "y": {"$lte": 2},
    }
    assert filters_to_query("scan_id=007x") == {"scan_id": "007x"}  # not a number: text
    with pytest.raises(ValueError, match="is not a filter"):
        filters_to_query("ascan")


def test_parse_query():
    assert parse_query("") == {} and parse_query("   ") == {}
    assert parse_query('{"scan_id": {"$in": [1, 2]}}') == {"scan_id": {"$in": [1, 2]}}
    assert parse_query("scan_id=3") == {"scan_id": 3}
    with pytest.raises(ValueError, match="not JSON"):
        parse_query('{"scan_id": ')


def test_runs_table(catalog, beamtime):
    browse = BrowseModel(catalog)
    rows = browse.rows()
    assert len(rows) == len(catalog) == len(browse.runs)
    assert browse.columns() == ["uid", "time", "ingestor", "plan_name", "scan_id", "num_points", "source", "entry"]
    first_scan = next(row for row in rows if row["scan_id"] == 1)
    start = catalog[first_scan["uid"]].start
    assert first_scan["time"] == datetime.datetime.fromtimestamp(start["time"], datetime.timezone.utc).isoformat(timespec="seconds")
    assert (first_scan["ingestor"], first_scan["plan_name"], first_scan["num_points"]) == ("spec", "ascan", 31)
    assert first_scan["source"] == beamtime.spec and first_scan["entry"] == first_scan["uid"]
    series = next(row for row in rows if row["ingestor"] == "tiff_series")
    assert series["source"] == f"{beamtime.series[0]} (+2 more)"
    assert series["plan_name"] is None and series["scan_id"] is None


def test_search_by_mongo_query_and_by_field_filters(catalog):
    browse = BrowseModel(catalog)
    starts = [run.start for _, run in browse.runs]
    expected = {start["uid"] for start in starts if start.get("plan_name") == "ascan" and 10 <= start.get("scan_id", -1) < 20}
    assert 0 < len(expected) < len(starts)
    by_filters = browse.search("plan_name=ascan scan_id>=10 scan_id<20")
    assert {row["uid"] for row in by_filters} == expected
    by_json = browse.search('{"plan_name": "ascan", "scan_id": {"$gte": 10, "$lt": 20}}')
    assert {row["uid"] for row in by_json} == expected
    assert browse.query == {"plan_name": "ascan", "scan_id": {"$gte": 10, "$lt": 20}}
    # $regex on a list (a series' files) matches any of them.
    assert [row["ingestor"] for row in browse.search({"source": {"$regex": "scan_0002"}})] == ["tiff_series"]
    assert len(browse.search("")) == len(starts)
    with pytest.raises(ValueError):
        browse.search('{"plan_name": ')


def test_run_view_of_an_image_run(catalog, beamtime):
    browse = BrowseModel(catalog)
    browse.search({"ingestor": "tiff_stack"})
    view = browse.select(0)
    assert view.uid == browse.rows()[0]["uid"] == browse.select(view.uid[:10]).uid
    assert view.streams() == ["primary"]
    assert view.data_keys("primary") == [
        {"name": "image", "dtype": "<u2", "shape": [8, 6], "units": "", "source": beamtime.stack, "kind": "image"}
    ]
    assert view.image_keys("primary") == ["image"]
    assert view.frame_count("primary", "image") == 5
    for index in range(5):
        frame = view.image_frame("primary", "image", index)
        assert isinstance(frame, np.ndarray) and frame.shape == (8, 6)
        np.testing.assert_array_equal(frame, beamtime.stack_images[index])
    np.testing.assert_array_equal(view.image_frame("primary", "image", -1), beamtime.stack_images[-1])
    with pytest.raises(IndexError, match="5 frame"):
        view.image_frame("primary", "image", 5)
    assert view.frame_range("primary", "image", 1) == (beamtime.stack_images[1].min(), beamtime.stack_images[1].max())
    metadata = view.metadata()
    assert metadata["start"]["uid"] == view.uid and metadata["stop"]["exit_status"] == "success"
    assert metadata["stop"]["num_events"] == {"primary": 5}


def test_image_frame_reads_only_that_frame(beamtime):
    model = SelectionModel([beamtime.folder + "/series"])
    model.detect()
    model.set_ingestor(group_of(model, "scan_0001.tiff"), "tiff_series_dask")
    ingest = IngestModel()
    ingest.ingest(model.selected_plan())
    view = BrowseModel(ingest.catalog).select(0)
    assert view.frame_count("primary", "image") == 3
    os.remove(beamtime.series[2])  # another frame's file is gone: this one is still read
    np.testing.assert_array_equal(view.image_frame("primary", "image", 1), beamtime.series_images[1])
    with pytest.raises(Exception, match="scan_0003"):
        view.image_frame("primary", "image", 2)


def test_run_view_of_a_spec_scan(catalog, beamtime):
    from spec2nexus.spec import SpecDataFile

    browse = BrowseModel(catalog)
    browse.search("scan_id=1")
    view = browse.select(0)
    assert view.streams() == ["baseline", "primary"]
    assert view.image_keys("primary") == []
    scan = SpecDataFile(beamtime.spec).getScan(1)
    columns = view.scalar_columns("primary")
    assert len(columns) == 31 == len(scan.data["mr"])
    assert {"mr", "I0", "seconds", "seq_num"} <= set(columns.columns)
    assert "uid" not in columns.columns  # text, not for plotting
    for name in ("mr", "I0", "seconds"):
        np.testing.assert_allclose(columns[name].to_numpy(), scan.data[name])
    assert list(columns["seq_num"]) == list(range(1, 32))
    keys = {row["name"]: row for row in view.data_keys("primary")}
    assert keys["mr"]["kind"] == "scalar" and keys["mr"]["dtype"] == "<f8" and keys["mr"]["shape"] == []
    assert keys["Epoch"]["units"] == "s"
    assert view.scalar_keys("baseline") and len(view.scalar_columns("baseline")) == 1


def test_opening_msgpack_folders_globs_and_yaml_catalogs(catalog, beamtime, tmp_path, example_catalogs):
    model = SelectionModel([beamtime.stack, *beamtime.series])
    model.detect()
    IngestModel().ingest(model.selected_plan(), to="msgpack", folder=str(tmp_path / "copies"))
    by_folder = BrowseModel(str(tmp_path / "copies"))
    assert sorted(row["ingestor"] for row in by_folder.rows()) == ["tiff_series", "tiff_stack"]
    by_glob = BrowseModel(str(tmp_path / "copies" / "*.msgpack"))
    assert {row["uid"] for row in by_glob.rows()} == {row["uid"] for row in by_folder.rows()}

    yaml_catalog = BrowseModel(str(example_catalogs / "beamline.yml"))
    entries = [row["entry"] for row in yaml_catalog.rows()]
    assert "scan_0001" in entries and any(entry.startswith("detectors/") for entry in entries)
    assert yaml_catalog.name.endswith("beamline.yml")

    with pytest.raises(ValueError, match="give a catalog"):
        BrowseModel("  ")


def test_refresh_lists_runs_added_since(beamtime):
    model = SelectionModel([beamtime.stack])
    model.detect()
    ingest = IngestModel()
    ingest.ingest(model.selected_plan())
    browse = BrowseModel(ingest.catalog)
    browse.search("ingestor=tiff_stack")
    model.add(beamtime.series[0])
    model.detect()
    ingest.ingest(model.selected_plan())
    browse.refresh()
    assert len(browse.runs) == 2 and len(browse.matched) == 1  # the search is kept


def test_is_catalog_argument(catalog, beamtime, tmp_path):
    assert is_catalog_argument(catalog)
    assert is_catalog_argument("beamline.yml") and is_catalog_argument("copies/*.msgpack")
    assert not is_catalog_argument(beamtime.folder)
    (tmp_path / "copies").mkdir()
    (tmp_path / "copies" / "x.msgpack").write_bytes(b"")
    assert is_catalog_argument(str(tmp_path / "copies"))
    assert not is_catalog_argument(beamtime.stack) and not is_catalog_argument([beamtime.stack])


def test_value_range_ignores_nan_and_widens_flat_frames():
    from intake_ingest.gui.browsing import value_range

    assert value_range(np.array([[np.nan, 2.0], [5.0, np.inf]])) == (2.0, 5.0)
    assert value_range(np.full((2, 2), 7, np.uint16)) == (7.0, 8.0)
    assert value_range(np.full((2, 2), np.nan)) == (0.0, 1.0)


def test_lines_follow_the_runs_hints(validated):
    from intake_ingest import BlueskyInMemoryCatalog

    from .conftest import scan_documents

    catalog = BlueskyInMemoryCatalog()
    hinted = catalog.upsert(lambda: iter(validated(scan_documents())))
    plain = catalog.upsert(lambda: iter(validated(scan_documents(hinted=False))))
    browse = BrowseModel(catalog)
    # Bluesky's best-effort choice: the hinted detector against the scan's dimension.
    assert browse.select(hinted).plot_columns("primary") == ("th", ["det"])
    # No hints: the last column (SPEC's convention: the detector) against seq_num.
    view = browse.select(plain)
    assert view.scalar_keys("primary")[-2:] == ["mon", "seq_num"]
    assert view.plot_columns("primary") == ("seq_num", ["mon"])


def test_lines_of_a_spec_scan_follow_its_dimension_hint(catalog):
    browse = BrowseModel(catalog)
    browse.search("scan_id=1")
    view = browse.select(0)
    assert view.start["hints"]["dimensions"] == [[["mr"], "primary"]]
    x, ys = view.plot_columns("primary")
    last = [name for name in view.scalar_keys("primary") if name != "seq_num"][-1]
    assert (x, ys) == ("mr", [last])
    assert view.plot_columns("baseline")[0] == "seq_num"  # the hint names the primary stream only


def test_runs_are_listed_as_ls_numbers_them_scans_in_number_order(tmp_path, capsys):
    from intake_ingest.cli import main

    lines = ["#F many", "#E 1519944045", ""]
    for number in range(1, 13):
        lines += [f"#S {number}  ascan  th 0 1  1 0.1", "#D Thu Mar 01 16:41:51 2018", "#N 2", "#L th  det"]
        lines += ["0 1", "1 2", ""]
    (tmp_path / "many.spec").write_text("\n".join(lines))
    copies = tmp_path / "copies"  # msgpack files are listed by file name: by uid, in no useful order
    assert main(["ingest", str(tmp_path / "many.spec"), "--to", str(copies), "--quiet", "--no-isolate"]) == 0
    capsys.readouterr()
    browse = BrowseModel(str(copies))
    assert [row["scan_id"] for row in browse.rows()] == list(range(1, 13))
    assert main(["ls", str(copies), "--columns", "uid"]) == 0
    assert capsys.readouterr().out.split()[1:] == [row["uid"] for row in browse.rows()]
    assert browse.search("scan_id>=10") and browse.select(0).start["scan_id"] == 10
