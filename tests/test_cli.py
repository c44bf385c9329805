import io
import subprocess
import sys

from intake_ingest.cli import demo, main


def test_demo_ingests_exports_and_reopens(tmp_path):
    out = io.StringIO()
    assert demo(str(tmp_path), out=out) == 0
    text = out.getvalue()
    assert "In-memory catalog, 2 runs" in text
    assert "msgpack catalog, 2 runs" in text
    assert "image (10, 512, 512) uint16" in text
    assert "identical to the ingested ones: True" in text
    assert len(list((tmp_path / "native_copies").glob("*.msgpack"))) == 2


def test_console_script_runs_the_demo():
    result = subprocess.run(
        [sys.executable, "-m", "intake_ingest.cli", "demo"], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert "True" in result.stdout


def test_main_requires_a_command(capsys):
    import pytest

    with pytest.raises(SystemExit):
        main([])


def test_detect_ingest_catalog_ls_search_show(tmp_path, capsys):
    import json

    import intake
    import numpy as np
    import tifffile

    data = tmp_path / "data"
    data.mkdir()
    for number in [1, 2, 3]:
        tifffile.imwrite(data / f"scan_{number:03d}.tif", np.full((4, 3), number, np.uint16))
    tifffile.imwrite(data / "stack.tif", np.zeros((2, 4, 3), np.uint16), photometric="minisblack")
    (data / "readme.md").write_text("notes")

    assert main(["detect", str(data), "--quiet"]) == 0
    table = capsys.readouterr().out
    assert "tiff_series" in table and "tiff_stack" in table and "unrecognised:" in table

    assert main(["detect", str(data), "--json", "--quiet"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert sorted(run["ingestor"] for run in plan["runs"]) == ["tiff_series", "tiff_stack"]
    assert plan["unrecognised"][0]["file"].endswith("readme.md")

    copies = tmp_path / "copies"
    assert main(["ingest", str(data), "--to", str(copies), "--quiet"]) == 0
    assert "2 run(s) written" in capsys.readouterr().out
    assert main(["ingest", str(data), "--to", str(copies), "--quiet"]) == 0
    second = capsys.readouterr().out
    assert "0 run(s) written" in second and "2 already there (skipped)" in second

    spec_path = tmp_path / "beamline.yml"
    assert main(["catalog", str(data), "-o", str(spec_path), "--quiet"]) == 0
    capsys.readouterr()
    assert "{{ CATALOG_DIR }}/data/scan_*.tif" in spec_path.read_text()
    cat = intake.open_catalog(str(spec_path))
    runs = [run for name in cat for run in cat[name].values()]
    assert sorted(run.start["ingestor"] for run in runs) == ["tiff_series", "tiff_stack"]

    assert main(["ls", str(copies)]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert len(listing) == 2
    assert main(["ls", str(spec_path)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2

    assert main(["search", str(copies), '{"ingestor": "tiff_stack"}']) == 0
    (found,) = capsys.readouterr().out.splitlines()
    uid = found.split()[0]
    assert main(["show", str(copies), uid[:10]]) == 0
    shown = capsys.readouterr().out
    assert "start.ingestor: tiff_stack" in shown and "image" in shown and "(2, 4, 3)" in shown


def test_bad_input_is_one_line_and_exit_status_1(tmp_path, capsys):
    assert main(["detect", str(tmp_path / "missing" / "*.tif"), "--quiet"]) == 1
    error = capsys.readouterr().err
    assert error.startswith("intake-ingest: error:") and "missing" in error and "Traceback" not in error
    assert main(["detect", str(tmp_path), "--ingestor", "nope"]) == 1
    assert "no ingestor named 'nope'" in capsys.readouterr().err
    assert main(["search", str(tmp_path), "{not json"]) == 1
    assert "not JSON" in capsys.readouterr().err
    assert main(["show", str(tmp_path), "abc"]) == 1
    assert "no run whose uid starts with 'abc'" in capsys.readouterr().err
    assert main(["catalog", str(tmp_path)]) == 1
    assert "-o" in capsys.readouterr().err


def _tiff_folder(folder, numbers=(1, 2)):
    import numpy as np
    import tifffile

    folder.mkdir(parents=True)
    for number in numbers:
        tifffile.imwrite(folder / f"scan_{number:03d}.tif", np.full((4, 3), number, np.uint16))
    return folder


def _one_line_error(captured, *expected):
    assert captured.err.startswith("intake-ingest: error:") and captured.err.count("\n") == 1, captured.err
    assert "Traceback" not in captured.err
    for text in expected:
        assert text in captured.err, captured.err


def test_catalog_output_that_is_a_folder_is_one_line_before_any_file_is_read(tmp_path, capsys):
    folder = tmp_path / "specs"
    folder.mkdir()
    # The paths do not exist: the folder is refused first, before detection could say so.
    assert main(["catalog", str(tmp_path / "missing"), "-o", str(folder), "--quiet"]) == 1
    _one_line_error(capsys.readouterr(), f"{folder}: is a folder", "beamline.yml")
    data = _tiff_folder(tmp_path / "data")
    assert main(["catalog", str(data), "-o", str(tmp_path / "nowhere" / "x.yml"), "--quiet", "--no-isolate"]) == 1
    _one_line_error(capsys.readouterr(), "nowhere/x.yml: cannot be written")
    assert list(folder.iterdir()) == []


def test_search_refuses_bad_queries_in_one_line(tmp_path, capsys):
    import pytest

    from intake_ingest.catalog.base import InvalidQueryError, RunStartQuery
    from intake_ingest.msgpack import BlueskyMsgpackCatalog

    copies = tmp_path / "copies"
    assert main(["ingest", str(_tiff_folder(tmp_path / "data")), "--to", str(copies), "--quiet", "--no-isolate"]) == 0
    capsys.readouterr()
    refused = {
        '{"plan_name": {"$regex": "(unclosed"}}': "'$regex' '(unclosed' is not a regular expression",
        '{"plan_name": {"$near": 3}}': "unknown operator '$near'",
        '{"$where": "this.scan_id > 1"}': "'$where' is refused: in MongoDB it runs JavaScript code",
        '{"$or": [{"scan_id": 1}, {"$where": "sleep(100)"}]}': "'$where' is refused",
        '{"plan_name": {"$regex": "x", "$options": "i"}}': "'$options' is not supported",
        '{"scan_id": {"$in": 3}}': "'$in' takes a list",
        '{"scan_id": {"$type": 99}}': "the query cannot be applied",
        '["plan_name"]': "a query is an object of field conditions",
    }
    for query, message in refused.items():
        assert main(["search", str(copies), query]) == 1, query
        _one_line_error(capsys.readouterr(), "the query cannot be used:", message)
    # The same checks hold for a catalog searched from Python.
    catalog = BlueskyMsgpackCatalog(str(copies / "*.msgpack"))
    with pytest.raises(InvalidQueryError, match=r"'\$where' is refused"):
        catalog.search({"scan_id": {"$gt": 0}, "$where": "true"})
    with pytest.raises(InvalidQueryError, match="unknown operator"):
        RunStartQuery({"a": {"$foo": 1}})
    # Good queries still match: a regex with flags, $mod on a non-number is no match.
    assert len(catalog.search({"ingestor": {"$regex": "/^TIFF_/i"}})) == 1
    assert len(catalog.search({"ingestor": {"$mod": [2, 0]}})) == 0
    assert main(["search", str(copies), '{"ingestor": {"$regex": "series$"}}']) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1


def test_folder_names_with_backslashes(tmp_path, capsys):
    import os

    import pytest

    if os.sep == "\\":
        pytest.skip("a backslash separates folders here")
    for name in ["a\\b", "e\\N", "d\\1", "c\\"]:
        data = _tiff_folder(tmp_path / name)
        assert main(["detect", str(data), "--quiet", "--no-isolate"]) == 0
        assert f"{data}{os.sep}scan_001.tif" in capsys.readouterr().out
        assert main(["ingest", str(data), "--to", str(data / "copies"), "--quiet", "--no-isolate"]) == 0
        assert "1 run(s) written" in capsys.readouterr().out
        # The spec in the folder itself: '{{ CATALOG_DIR }}' is replaced with a backslash in it.
        spec = data / "beamline.yml"
        assert main(["catalog", str(data), "-o", str(spec), "--quiet", "--no-isolate"]) == 0
        capsys.readouterr()
        assert main(["ls", str(spec)]) == 0
        captured = capsys.readouterr()
        assert len(captured.out.splitlines()) == 1 and captured.err == "", (name, captured)
        assert main(["ls", str(data / "copies")]) == 0
        assert len(capsys.readouterr().out.splitlines()) == 1


def test_catalog_sources_are_named_after_their_files_and_globs_stay_in_their_family(tmp_path, capsys):
    import pathlib
    import shutil

    import numpy as np
    import tifffile
    import yaml

    data = _tiff_folder(tmp_path / "data")
    tifffile.imwrite(data / "stack.tif", np.zeros((2, 4, 3), np.uint16), photometric="minisblack")
    shutil.copy(pathlib.Path(__file__).parent / "data/real/spec/pressure_calibration_scans_1_2.dat", data / "fourc.dat")
    spec_path = tmp_path / "beamline.yml"
    assert main(["catalog", str(data), "-o", str(spec_path), "--quiet"]) == 0
    capsys.readouterr()
    sources = yaml.safe_load(spec_path.read_text())["sources"]
    assert set(sources) == {"scan", "stack", "fourc"}, sources
    assert sources["scan"]["args"]["pattern"] == "{{ CATALOG_DIR }}/data/scan_*.tif"
    # Files without a number are listed: '*.tif' would later read an unrelated image as a stack.
    assert sources["stack"]["args"]["pattern"] == ["{{ CATALOG_DIR }}/data/stack.tif"]
    assert sources["fourc"]["args"]["pattern"] == ["{{ CATALOG_DIR }}/data/fourc.dat"]
