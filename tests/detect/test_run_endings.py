"""Ingest results tell how each run read whole ended: complete, partial (no RunStop), or aborted.

The CLI's ``ingest`` summary and the GUI's results table share :class:`IngestResult`;
a run that ends early is never a plain ``ok`` there. Checked on spec2nexus's real SPEC
file ``02_03_setup.dat`` (scans 5 and 16: "Scan aborted after 0 points") and on the
same file cut off in the middle of a data line (its last scan has no RunStop).
"""

import os
import pathlib
import shutil

import event_model
import numpy as np
import pytest
import spec2nexus
import tifffile

from intake_ingest import IngestError, IngestWarning
from intake_ingest.cli import main
from intake_ingest.detect import detect, ingest
from intake_ingest.detect import ingesting as ingesting_module
from intake_ingest.detect.endings import EndingWatcher, run_ending

SETUP = pathlib.Path(spec2nexus.__file__).parent / "data" / "02_03_setup.dat"
ABORTED = {"scan=5.1", "scan=16.1"}


@pytest.fixture
def cut_off(tmp_path):
    """02_03_setup.dat up to scan 3, whose last data line stops half-way (the writer died)."""
    lines = SETUP.read_text().splitlines()
    scan_4 = next(index for index, line in enumerate(lines) if line.startswith("#S 4 "))
    kept = lines[:scan_4]
    while not kept[-1][:1].isdigit():
        kept.pop()
    numbers = kept[-1].split()
    kept[-1] = " ".join(numbers[: len(numbers) // 2])
    path = tmp_path / "cut.dat"
    path.write_text("\n".join(kept) + "\n")
    return str(path)


def _arguments(result):
    return " ".join(f"{key}={value}" for key, value in result.kwargs.items())


@pytest.mark.parametrize("target", ["memory", "msgpack"])
def test_aborted_scans_of_a_real_spec_file_are_shown_as_aborted(tmp_path, target):
    plan = detect(str(SETUP), progress=False)
    to = str(tmp_path / "copies") if target == "msgpack" else None
    result = ingest(plan, to=to, check=True, progress=False)
    assert result.counts() == {"ok": len(plan.runs), "skipped": 0, "error": 0}
    assert {_arguments(run) for run in result.ended_early} == ABORTED
    assert result.ending_counts() == {"abort": 2}
    assert {run.ending for run in result.results} == {"complete", "abort"}
    rows = {row["kwargs"]: row for row in result.to_dict()["runs"]}
    assert rows["scan=5.1"]["status"] == "abort" and "Scan aborted after 0 points" in rows["scan=5.1"]["message"]
    assert rows["scan=1.1"]["status"] == "ok"
    assert result.to_dict()["counts"]["abort"] == 2
    first_line, *details = result.summary().splitlines()
    assert first_line.endswith(", 2 abort")
    assert sum(line.startswith("  abort: ") and "Scan aborted" in line for line in details) == 2


def test_a_scan_cut_off_mid_line_is_partial_in_memory_msgpack_and_the_command_line(cut_off, tmp_path, capsys):
    plan = detect(cut_off, progress=False)
    with pytest.warns(IngestWarning, match="incomplete line"):
        in_memory = ingest(plan, check=True, progress=False)
        written = ingest(plan, to=str(tmp_path / "copies"), progress=False)
    for result in (in_memory, written):
        assert [(_arguments(run), run.shown_status) for run in result.results] == [
            ("scan=1.1", "ok"), ("scan=2.1", "ok"), ("scan=3.1", "partial")
        ]
        assert result.results[2].ending_note.startswith("no RunStop")
    # Without reading the runs whole, how they end is not known: no ending is claimed.
    assert {run.ending for run in ingest(plan, progress=False).results} == {None}

    shutil.rmtree(tmp_path / "copies")
    code = main(["ingest", cut_off, "--to", str(tmp_path / "copies"), "--quiet"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.splitlines()[0].startswith("3 run(s) written to") and ", 1 partial" in out.splitlines()[0]
    assert f"  partial: {cut_off} scan=3.1: no RunStop" in out


def _composed(stop=True, exit_status="success", big=None):
    bundle = event_model.compose_run(time=1.0, metadata={"ingestor": "composed", **({"big": big} if big else {})})
    yield "start", bundle.start_doc
    if stop:
        yield "stop", bundle.compose_stop(time=2.0, exit_status=exit_status, reason="stopped by the user")


def test_the_ending_follows_the_runstop_exit_status():
    assert run_ending(_composed()) == ("complete", "")
    assert run_ending(_composed(stop=False))[0] == "partial"
    assert run_ending(_composed(exit_status="fail")) == ("fail", "RunStop exit_status 'fail': stopped by the user")
    watcher = EndingWatcher(_composed())
    with pytest.raises(RuntimeError, match="not read to their end"):
        watcher.ending()


def composed_with_a_huge_integer(source, **kwargs):
    """A run whose RunStart holds an integer msgpack cannot: 2**70."""
    return _composed(big=2**70)


def test_a_document_msgpack_cannot_hold_is_an_error_naming_the_file(tmp_path, monkeypatch):
    path = tmp_path / "stack.tif"
    tifffile.imwrite(path, np.zeros((2, 3, 4), np.uint16), photometric="minisblack")
    plan = detect(str(path), progress=False)
    monkeypatch.setattr(ingesting_module, "get_ingestor", lambda name: composed_with_a_huge_integer)
    result = ingest(plan, to=str(tmp_path / "copies"), progress=False)
    (failed,) = result.errors
    assert isinstance(failed.error, IngestError)
    assert failed.message.startswith(f"{path}: its start document cannot be written to msgpack (cannot encode int")
    assert not os.listdir(tmp_path / "copies")  # the file begun is removed
