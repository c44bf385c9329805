"""A folder with a broken file: every other run is made, the broken one is named, the status says so."""

import numpy as np
import pytest
import tifffile

from intake_ingest import BlueskyMsgpackCatalog, IngestError
from intake_ingest.cli import main
from intake_ingest.detect import detect, ingest
from intake_ingest.detect import ingesting as ingesting_module


@pytest.fixture
def folder_with_a_broken_file(tmp_path):
    """Three good runs (two series and a stack) and a stack cut short after its header."""
    folder = tmp_path / "beamtime"
    folder.mkdir()
    for number in (1, 2, 3):
        tifffile.imwrite(folder / f"scan_{number:04d}.tif", np.full((4, 3), number, np.uint16))
    for number in (1, 2):
        tifffile.imwrite(folder / f"dark_{number:04d}.tif", np.zeros((4, 3), np.uint16))
    tifffile.imwrite(folder / "good_stack.tif", np.arange(60, dtype=np.uint16).reshape(5, 4, 3), photometric="minisblack")
    tifffile.imwrite(folder / "broken_stack.tif", np.ones((50, 40, 30), np.uint16), photometric="minisblack")
    with open(folder / "broken_stack.tif", "r+b") as file:
        # The first IFD survives (it is sniffed as a stack); the pixels and later pages do not.
        file.truncate(2000)
    return folder


def test_every_run_is_attempted_and_the_broken_one_is_named(folder_with_a_broken_file, tmp_path):
    plan = detect(str(folder_with_a_broken_file), progress=False)
    assert len(plan.runs) == 4
    result = ingest(plan, to=str(tmp_path / "copies"), progress=False)
    assert result.counts() == {"ok": 3, "skipped": 0, "error": 1}
    assert not result.ok and len(result.written) == 3
    (failed,) = result.errors
    assert failed.first.endswith("broken_stack.tif") and "broken_stack.tif" in failed.message
    assert "failed: " + failed.message in result.summary()
    # The good runs are all there and read back; nothing is left of the broken one.
    copies = BlueskyMsgpackCatalog(str(tmp_path / "copies" / "*.msgpack"))
    assert sorted(copies) == sorted(result.uids)
    stack = copies.search({"ingestor": "tiff_stack"})
    assert len(stack) == 1
    np.testing.assert_array_equal(stack[0].primary.read()["image"].values, tifffile.imread(folder_with_a_broken_file / "good_stack.tif"))


def test_in_memory_with_check_reports_files_broken_beyond_their_header(folder_with_a_broken_file):
    plan = detect(str(folder_with_a_broken_file), progress=False)
    checked = ingest(plan, check=True, progress=False)
    assert checked.counts()["error"] == 1 and len(checked.catalog) == 3
    assert "broken_stack.tif" in checked.errors[0].message


def test_fail_fast_stops_at_the_first_failure_naming_the_file(folder_with_a_broken_file, tmp_path):
    plan = detect(str(folder_with_a_broken_file), progress=False)
    with pytest.raises(IngestError, match="broken_stack.tif"):
        ingest(plan, to=str(tmp_path / "copies"), fail_fast=True, progress=False)


def test_an_unexpected_exception_is_named_too(folder_with_a_broken_file, tmp_path, monkeypatch):
    real = ingesting_module.get_ingestor

    def exploding(*args, **kwargs):
        raise KeyError("deep inside a parser")
        yield

    monkeypatch.setattr(ingesting_module, "get_ingestor", lambda name: exploding if name == "tiff_stack" else real(name))
    plan = detect(str(folder_with_a_broken_file), progress=False)
    result = ingest(plan, to=str(tmp_path / "copies"), progress=False)
    assert result.counts() == {"ok": 2, "skipped": 0, "error": 2}
    messages = sorted(failed.message for failed in result.errors)
    assert "broken_stack.tif: " in messages[0]
    assert messages[1] == f"{folder_with_a_broken_file / 'good_stack.tif'}: tiff_stack failed (KeyError: 'deep inside a parser')"
    plan.runs = [run for run in plan.runs if "broken" not in run.files[0].url]
    with pytest.raises(IngestError, match=r"good_stack\.tif: tiff_stack failed \(KeyError") as raised:
        ingest(plan, to=str(tmp_path / "more"), fail_fast=True, progress=False)
    assert isinstance(raised.value.__cause__, KeyError)


def test_progress_callback_sees_every_run(folder_with_a_broken_file):
    plan = detect(str(folder_with_a_broken_file), progress=False)
    seen = []
    ingest(plan, progress=seen.append)
    assert seen == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_cli_writes_every_good_run_and_exits_1(folder_with_a_broken_file, tmp_path, capsys):
    copies = tmp_path / "copies"
    assert main(["ingest", str(folder_with_a_broken_file), "--to", str(copies), "--quiet"]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"3 run(s) written to {copies}, 0 already there, 1 failed;")
    assert "  failed: " in out and "broken_stack.tif" in out
    assert len(list(copies.glob("*.msgpack"))) == 3

    # Again: the good runs are skipped, the broken one still fails.
    assert main(["ingest", str(folder_with_a_broken_file), "--to", str(copies), "--quiet"]) == 1
    assert "0 run(s) written" in capsys.readouterr().out

    assert main(["ingest", str(folder_with_a_broken_file), "--to", str(tmp_path / "other"), "--quiet", "--fail-fast"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("intake-ingest: error: ") and "broken_stack.tif" in err and "Traceback" not in err


def test_cli_exits_0_when_every_run_is_good(folder_with_a_broken_file, tmp_path, capsys):
    (folder_with_a_broken_file / "broken_stack.tif").unlink()
    assert main(["ingest", str(folder_with_a_broken_file), "--to", str(tmp_path / "copies"), "--quiet"]) == 0
    assert "3 run(s) written" in capsys.readouterr().out


def test_cli_reads_in_process_when_asked(folder_with_a_broken_file, tmp_path, capsys):
    copies = tmp_path / "copies"
    assert main(["ingest", str(folder_with_a_broken_file), "--to", str(copies), "--quiet", "--no-isolate"]) == 1
    assert capsys.readouterr().out.startswith(f"3 run(s) written to {copies}, 0 already there, 1 failed;")
    assert main(["detect", str(folder_with_a_broken_file), "--quiet", "--no-isolate"]) == 0
