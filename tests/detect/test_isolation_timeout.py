"""A reader that never returns costs its file, never the folder: the isolation worker's time limit.

A C call cannot be interrupted in-process; the worker is killed after ``timeout``
seconds without progress and a fresh one goes on. The readers here are module-level
so that the worker process can import them by name. The hangs of real damaged files
(libhdf5 on a damaged object header, tifffile on a circular IFD chain) are the fuzz
suite's reproducers, replayed through detect and ingest as users run them.
"""

import json
import os
import shutil
import time

import numpy as np
import pytest
import tifffile

from intake_ingest import IngestError, ingest_tiff_stack
from intake_ingest.cli import main
from intake_ingest.detect import detect, ingest
from intake_ingest.detect import ingesting as ingesting_module
from intake_ingest.detect.isolation import IsolatedWorker, RemoteTraceback, WorkerTimedOut, pulse

REGRESSIONS = os.path.join(os.path.dirname(__file__), "..", "fuzz", "regressions")


def hang(_=None):
    """What a C library does on a damaged file: never return, and never say so."""
    while True:
        time.sleep(0.05)


def slow_but_alive(seconds):
    """Works for ``seconds``, saying so every 50 ms, as ingesting does per document."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(0.05)
        pulse()
    return "done"


def hang_on_named(name):
    return hang() if name == "hang" else name.upper()


def raise_deep(_):
    raise KeyError("Dim_1")


def stack_reader_that_hangs(source, **kwargs):
    """``ingest_tiff_stack``, hanging after the RunStart on the files named ``hang*``."""
    documents = ingest_tiff_stack(source, **kwargs)
    yield next(documents)
    if os.path.basename(source.path).startswith("hang"):
        hang()
    yield from documents


@pytest.fixture(scope="module")
def worker():
    with IsolatedWorker() as running:
        running.start()
        yield running


def warm(worker):
    """Import this module in the worker first: a fresh worker imports it when it unpickles
    the first call, and on a busy machine that can take longer than the short limits here."""
    worker.call(slow_but_alive, 0)


def test_a_call_that_hangs_is_stopped_and_the_next_call_gets_a_fresh_worker(worker):
    starts = worker.starts
    with pytest.raises(WorkerTimedOut, match=r"gave no answer within 0\.5 s") as raised:
        worker.call(hang, timeout=0.5)
    assert raised.value.timeout == 0.5 and "the reader was stopped" in raised.value.happened
    assert worker.call(len, "abc") == 3
    assert worker.starts == starts + 1


def test_a_call_that_keeps_making_progress_is_never_stopped(worker):
    warm(worker)
    # Three times the limit in all, but never a second without progress.
    assert worker.call(slow_but_alive, 3.0, timeout=1.0) == "done"


def test_no_timeout_means_no_limit_and_the_worker_default_applies_within_limit(worker):
    assert worker.timeout is None
    assert worker.call(slow_but_alive, 0.2) == "done"
    with worker.limit(0.5):
        with pytest.raises(WorkerTimedOut):
            worker.call(hang)
    assert worker.timeout is None


def test_a_map_item_that_hangs_is_reported_and_the_others_are_run(worker):
    warm(worker)
    results = list(worker.map(hang_on_named, ["a", "hang", "b"], timeout=1.0))
    assert [(item, kind) for item, kind, _ in results] == [("a", "ok"), ("hang", "crashed"), ("b", "ok")]
    assert isinstance(results[1][2], WorkerTimedOut)
    assert [value for _, kind, value in results if kind == "ok"] == ["A", "B"]


def slow_item(seconds):
    time.sleep(seconds)
    return seconds


def test_a_call_after_a_map_whose_last_item_was_slow_gets_its_own_reply(worker):
    # The last chunk goes out after the slow item; no empty chunk may follow it and be
    # taken for the next call's reply.
    assert [value for _, _, value in worker.map(slow_item, [0.0, 0.3])] == [0.0, 0.3]
    assert worker.call(len, "abcd") == 4


def test_an_exception_in_the_worker_keeps_its_traceback_there(worker):
    with pytest.raises(KeyError) as raised:
        worker.call(raise_deep, None)
    cause = raised.value.__cause__
    assert isinstance(cause, RemoteTraceback) and "raise_deep" in cause.text and "Dim_1" in cause.text


@pytest.fixture
def folder_with_a_hanging_file(tmp_path, monkeypatch):
    folder = tmp_path / "beamtime"
    folder.mkdir()
    for number, name in enumerate(["a_good.tif", "hang.tif", "z_good.tif"]):
        tifffile.imwrite(folder / name, np.full((3, 4, 5), number, np.uint16), photometric="minisblack")
    real = ingesting_module.get_ingestor
    monkeypatch.setattr(
        ingesting_module, "get_ingestor", lambda name: stack_reader_that_hangs if name == "tiff_stack" else real(name)
    )
    return folder


# The limits of the tests below leave a fresh worker time to import this module (when it
# unpickles the test's reader) on a busy machine.


def test_ingest_a_run_that_hangs_is_an_error_naming_the_file_and_the_others_are_written(folder_with_a_hanging_file, tmp_path):
    plan = detect(str(folder_with_a_hanging_file), progress=False)
    result = ingest(plan, to=str(tmp_path / "out"), progress=False, isolate=True, timeout=3)
    assert result.counts() == {"ok": 2, "skipped": 0, "error": 1}
    (failed,) = result.errors
    hanging = str(folder_with_a_hanging_file / "hang.tif")
    assert failed.message.startswith(f"{hanging}: gave no answer within 3 s while tiff_stack read it")
    assert isinstance(failed.error, IngestError)
    # The file the stopped worker had begun is removed: only whole runs are left.
    assert sorted(os.listdir(tmp_path / "out")) == sorted(f"{r.uid}.msgpack" for r in result.results if r.ok)
    with pytest.raises(IngestError, match="gave no answer within 3 s"):
        ingest(plan, to=str(tmp_path / "again"), progress=False, isolate=True, timeout=3, fail_fast=True)


def test_ingest_in_memory_with_check_stops_a_run_that_hangs(folder_with_a_hanging_file):
    plan = detect(str(folder_with_a_hanging_file), progress=False)
    result = ingest(plan, check=True, progress=False, isolate=True, timeout=3)
    assert [r.status for r in result.results] == ["ok", "error", "ok"]
    assert "gave no answer within 3 s" in result.errors[0].message
    assert len(result.catalog) == 2


def _reproducers():
    with open(os.path.join(REGRESSIONS, "index.json")) as file:
        return [entry for entry in json.load(file) if "hang" in entry["id"]]


@pytest.mark.parametrize("entry", _reproducers(), ids=lambda entry: entry["id"])
def test_files_that_hang_their_libraries_end_as_unrecognised_or_run_errors_naming_them(entry, tmp_path, worker):
    """libhdf5 reading an attribute of a damaged object header, tifffile on a circular IFD chain."""
    folder = tmp_path / "files"
    folder.mkdir()
    for name, saved in entry["files"].items():
        shutil.copy(os.path.join(REGRESSIONS, saved), folder / name)
    target = str(folder / entry["target"])
    plan = detect(str(folder), progress=False, isolate=worker, timeout=2)
    result = ingest(plan, to=str(tmp_path / "out"), progress=False, isolate=worker, timeout=2)
    stopped = [item.reason for item in plan.unrecognised if item.url == target and "gave no answer within 2 s" in item.reason]
    stopped += [r.message for r in result.errors if r.message.startswith(f"{target}: gave no answer within 2 s")]
    assert stopped, (plan.unrecognised, result.summary())


def test_the_command_line_takes_a_time_limit(folder_with_a_hanging_file, tmp_path, capsys, monkeypatch):
    # The command line's ingest shares one worker for detection and ingest, as here.
    code = main(["ingest", str(folder_with_a_hanging_file), "--to", str(tmp_path / "out"), "--quiet", "--timeout", "3"])
    out = capsys.readouterr().out
    assert code == 1
    assert "2 run(s) written" in out and "hang.tif: gave no answer within 3 s while tiff_stack read it" in out
