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
    # What a newcomer is looking at: which run is which, where the files are, what next.
    assert f"Demo TIFF files written in {tmp_path} (kept):" in text
    assert f"  series: {tmp_path}/image_*.tiff  (10 files" in text
    assert f"  stack:  {tmp_path}/stack/stack.tiff  (one file" in text
    assert sum(line.startswith(("series ", "stack ")) for line in text.splitlines()) == 4
    assert f"intake-ingest detect {tmp_path}" in text and f"intake-ingest gui {tmp_path}/native_copies" in text


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
    assert listing[0].split() == ["#", "uid", "time", "ingestor", "num_points", "source"]
    assert len(listing) == 3
    assert main(["ls", str(spec_path)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3

    assert main(["search", str(copies), '{"ingestor": "tiff_stack"}']) == 0
    header, found = capsys.readouterr().out.splitlines()
    uid = found.split()[1]
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
    assert len(capsys.readouterr().out.splitlines()) == 2  # a header and the run


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
        assert len(captured.out.splitlines()) == 2 and captured.err == "", (name, captured)  # header, run
        assert main(["ls", str(data / "copies")]) == 0
        assert len(capsys.readouterr().out.splitlines()) == 2


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


def _spec_file(path, scans=12, short=()):
    """A SPEC file of ``scans`` ascans of 3 points; the scans in ``short`` end on an incomplete line."""
    lines = ["#F many", "#E 1519944045", "#D Thu Mar 01 16:40:45 2018", ""]
    for number in range(1, scans + 1):
        lines += [f"#S {number}  ascan  th 0 1  2 0.1", "#D Thu Mar 01 16:41:51 2018", "#N 3", "#L th  Seconds  det"]
        lines += [f"{i * 0.5} 0.1 {number * 10 + i}" for i in range(3 if number not in short else 2)]
        if number in short:
            lines.append("1.0 0.1")
        lines.append("")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_detect_summarises_a_file_of_many_scans_in_number_order(tmp_path, capsys):
    import json

    data = _tiff_folder(tmp_path / "data")
    spec = _spec_file(data / "many.spec")
    assert main(["detect", str(data), "--quiet", "--no-isolate"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["ingestor", "conf", "runs", "files", "arguments", "first", "file"]
    assert [line.split()[:4] for line in lines[1:3]] == [["spec", "0.90", "12", "1"], ["tiff_series", "0.30", "1", "2"]]
    assert lines[1].split()[-4:] == ["scan=1.1", "...", "scan=12.1", str(spec)]
    assert lines[-1] == "13 run(s) in 3 file(s); 0 file(s) unrecognised, 0 ambiguous (--all: a line per run)"

    assert main(["detect", str(spec), "--quiet", "--no-isolate", "--all"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[-2] for line in lines[1:-1]] == [f"scan={number}.1" for number in range(1, 13)]
    assert lines[-1] == "12 run(s) in 1 file(s); 0 file(s) unrecognised, 0 ambiguous"
    assert main(["detect", str(spec), "--quiet", "--no-isolate", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert [run["kwargs"]["scan"] for run in plan["runs"]] == [f"{number}.1" for number in range(1, 13)]


def test_ls_search_and_show_by_what_people_search_by(tmp_path, capsys):
    import json

    spec = _spec_file(tmp_path / "many.spec")
    copies = tmp_path / "copies"
    assert main(["ingest", str(spec), "--to", str(copies), "--quiet", "--no-isolate"]) == 0
    capsys.readouterr()

    assert main(["ls", str(copies)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["#", "uid", "time", "ingestor", "plan_name", "scan_id", "num_points", "source"]
    assert [line.split()[0] for line in lines[1:]] == [str(number) for number in range(1, 13)]
    assert [int(line.split()[5]) for line in lines[1:]] == list(range(1, 13))  # scans in number order
    uids = [line.split()[1] for line in lines[1:]]

    assert main(["ls", str(copies), "--columns", "scan_id,command"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["scan_id", "command"] and lines[10].split() == ["10", "ascan", "th", "0", "1", "2", "0.1"]
    assert main(["ls", str(copies), "--json", "--columns", "#,scan_id,uid"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[2] == {"#": 3, "scan_id": 3, "uid": uids[2]}

    # The GUI's search syntax, and JSON.
    assert main(["search", str(copies), "scan_id>=10 plan_name=ascan"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in lines[1:]] == [["10", uids[9]], ["11", uids[10]], ["12", uids[11]]]
    assert main(["search", str(copies), "command~'^ascan th '", "--json", "--columns", "scan_id"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 12
    assert main(["search", str(copies), '{"scan_id": {"$in": [2, 3]}}', "--columns", "scan_id"]) == 0
    assert capsys.readouterr().out.split() == ["scan_id", "2", "3"]
    assert main(["search", str(copies), "scan_id>99"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == "no runs match scan_id>99\n"
    assert main(["search", str(copies), "ascan"]) == 1
    _one_line_error(capsys.readouterr(), "'ascan' is not a filter such as field=value")

    def shown(*which):
        assert main(["show", str(copies), *which]) == 0
        return capsys.readouterr().out.splitlines()[0].split()[:2]

    assert shown("12") == ["#12", uids[11]]  # a scan_id
    assert shown("#4") == ["#4", uids[3]]  # a row number
    assert shown(uids[6][:8]) == ["#7", uids[6]]  # the first characters of a uid
    assert shown("scan_id=5", "plan_name=ascan") == ["#5", uids[4]]  # filters matching one run
    assert main(["show", str(copies), "scan_id>5"]) == 1
    _one_line_error(capsys.readouterr(), "7 runs are matching scan_id>5: #6 (")
    assert main(["show", str(copies), "99"]) == 1
    _one_line_error(capsys.readouterr(), "no run with scan_id, row number or uid 99 (12 runs; see 'ls')")


def test_show_takes_a_uid_starting_with_a_dash(tmp_path, capsys):
    from event_model import compose_run

    from intake_ingest.msgpack import export

    uid = "-dash" + "A" * 38 + "="
    bundle = compose_run(uid=uid, time=1.0, metadata={"plan_name": "count"})
    export([("start", bundle.start_doc), ("stop", bundle.compose_stop())], str(tmp_path / "copies"))
    assert main(["show", str(tmp_path / "copies"), "-dash"]) == 0
    assert capsys.readouterr().out.split()[:2] == ["#1", uid]
    assert main(["show", str(tmp_path / "copies"), uid]) == 0
    assert uid in capsys.readouterr().out
    assert main(["show", str(tmp_path / "copies"), "--", "-dash"]) == 0
    assert uid in capsys.readouterr().out


def test_version_and_help_for_every_argument(capsys):
    import argparse

    import pytest

    from intake_ingest._version import __version__
    from intake_ingest.cli import _parser

    with pytest.raises(SystemExit) as exit_status:
        main(["--version"])
    assert exit_status.value.code == 0 and capsys.readouterr().out == f"intake-ingest {__version__}\n"
    parser = _parser()
    (commands,) = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
    for name, sub in commands.choices.items():
        for action in sub._actions:
            assert action.help, (name, action.dest)
    assert all(choice.help for choice in commands._choices_actions)
    with pytest.raises(SystemExit):
        main(["catalog", "--help"])
    assert "catalog check FILE_OR_URL" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "'catalog check FILE_OR_URL'" in " ".join(capsys.readouterr().out.split())


def test_a_closed_pipe_ends_quietly(tmp_path, capsys, monkeypatch):
    class ClosedPipe:
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            raise BrokenPipeError(32, "Broken pipe")

    copies = tmp_path / "copies"
    assert main(["ingest", str(_tiff_folder(tmp_path / "data")), "--to", str(copies), "--quiet", "--no-isolate"]) == 0
    capsys.readouterr()
    monkeypatch.setattr("sys.stdout", ClosedPipe())
    assert main(["ls", str(copies)]) == 0
    assert capsys.readouterr().err == ""


def test_a_closed_pipe_ends_quietly_in_a_shell(tmp_path):
    import shutil

    import pytest

    if shutil.which("sh") is None or shutil.which("head") is None:
        pytest.skip("no sh and head")
    spec = _spec_file(tmp_path / "many.spec", scans=3000)
    command = f"'{sys.executable}' -m intake_ingest.cli detect --all --quiet --no-isolate '{spec}' | head -n 2"
    result = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=600)
    assert result.stdout.splitlines()[1].split()[-2] == "scan=1.1"
    assert result.stderr == ""


def test_warnings_are_one_line_naming_the_file(tmp_path, capsys):
    spec = _spec_file(tmp_path / "short.spec", scans=2, short=(1,))
    assert main(["ingest", str(spec), "--to", str(tmp_path / "copies"), "--quiet", "--no-isolate"]) == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("intake-ingest: warning:")]
    assert lines and all(f"{spec}: scan 1.1" in line for line in lines), err
    assert "warnings.warn" not in err and ".py:" not in err


def test_wrong_inputs_say_what_to_do(tmp_path, capsys):
    import pytest

    from intake_ingest import BlueskyMsgpackCatalog, open_catalog
    from intake_ingest.errors import IngestError

    data = _tiff_folder(tmp_path / "data")
    assert main(["ls", str(data)]) == 1
    _one_line_error(capsys.readouterr(), f"{data}: holds no msgpack runs", f"intake-ingest detect {data}",
                    f"intake-ingest catalog {data} -o catalog.yml")
    (data / "beamline.yml").write_text("sources: {}\n")
    assert main(["ls", str(data)]) == 1
    _one_line_error(capsys.readouterr(), "give one of its catalog specs: beamline.yml")
    with pytest.raises(IngestError, match=f"{data}: is a folder; give its msgpack files: '{data}/\\*.msgpack'"):
        BlueskyMsgpackCatalog(str(data))
    with pytest.raises(IsADirectoryError, match=r"is a folder, not a YAML catalog spec; give one of its specs \(beamline.yml\)"):
        open_catalog(str(data))
    missing = tmp_path / "nowhere"
    assert main(["demo", "--directory", str(missing)]) == 1
    _one_line_error(capsys.readouterr(), f"{missing}: no such folder; create it first (mkdir {missing})")


def test_the_gui_without_its_extra_says_what_to_install(monkeypatch):
    import builtins

    import pytest

    from intake_ingest.cli.catalogs import UserError
    from intake_ingest.gui import serve_app

    real_import = builtins.__import__

    def no_panel(name, *args, **kwargs):
        if name == "app" or name.startswith("panel"):
            raise ImportError("No module named 'panel'")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "intake_ingest.gui.app", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_panel)
    with pytest.raises(UserError, match=r"pip install '\.\[gui\]'"):
        serve_app()


def test_table_cells_of_runstart_values():
    from intake_ingest.cli.tables import cell, start_value, text_table

    start = {"sample": {"name": "Si-111", "temperature": 295.0}, "source": ["a.tif", "b.tif", "c.tif"], "scan_id": 3}
    assert cell(start_value(start, "sample")) == "Si-111"  # a sample shows its name
    assert cell(start_value(start, "sample.temperature")) == 295.0
    assert cell(start_value(start, "source")) == "a.tif (+2 more)"
    assert start_value(start, "sample.missing") is None and start_value(start, "scan_id.x") is None
    assert text_table([{"a": 1, "b": "x"}, {"a": 10}], ["a", "b"], right={"a"}) == [" a  b", " 1  x", "10"]


def test_serve_without_the_tiled_extra_says_what_to_install(monkeypatch, capsys):
    import sys

    from intake_ingest.cli import main

    for module in ("tiled", "bluesky", "bluesky_tiled_plugins"):
        monkeypatch.setitem(sys.modules, module, None)
    assert main(["serve", "no-such-folder"]) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("intake-ingest: error: serve needs tiled") and error.endswith("pip install '.[tiled]'")
    assert "\n" not in error
