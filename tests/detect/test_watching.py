"""Watching a folder: files that appear become runs, a series that grows an updated run, a
file half written is not taken, a bad file is reported and the others are still made.

Every test drives the watcher pass by pass with ``once()``: a file is taken once two
passes found it unchanged, whatever the time between them, so nothing here depends on
how loaded the machine is.
"""

import collections
import pathlib
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
import tifffile

from intake_ingest import BlueskyMsgpackCatalog
from intake_ingest.cli import main
from intake_ingest.detect import detect, ingesting
from intake_ingest.detect.watching import MemorySink, MsgpackSink, Watcher, probe
from intake_ingest.files import find_files

from ..conftest import validate

REAL = pathlib.Path(__file__).parents[1] / "data" / "real"
PILATUS_SERIES = sorted((REAL / "pilatus" / "series").glob("AGBO1_1_S064_*.tif"))
SPEC_FILE = REAL / "spec" / "pressure_calibration_scans_1_2.dat"


@pytest.fixture
def reads(monkeypatch):
    """How many times each run was read: ``{(ingestor, first file name, kwargs): count}``."""
    counts = collections.Counter()
    original = ingesting.get_ingestor

    def counting(name):
        function = original(name)

        def counted(argument, **kwargs):
            first = argument[0] if isinstance(argument, list) else argument
            counts[(name, pathlib.Path(first.path).name, tuple(sorted(kwargs.items())))] += 1
            return function(argument, **kwargs)

        return counted

    monkeypatch.setattr(ingesting, "get_ingestor", counting)
    return counts


def settle(watcher, passes=2):
    """The updates of ``passes`` passes: a file written before them is taken by the second."""
    return [update for _ in range(passes) for update in watcher.once()]


def kinds(updates):
    return sorted(update.kind for update in updates)


def test_a_growing_series_is_one_run_replaced_frame_by_frame(tmp_path, reads):
    """Real PILATUS frames arriving one by one: one run in the catalog, its uid changing with its files."""
    folder = tmp_path / "scan64"
    folder.mkdir()
    sink = MemorySink()
    watcher = Watcher(str(folder), sink)
    uids = []
    for count, frame in enumerate(PILATUS_SERIES, start=1):
        shutil.copyfile(frame, folder / frame.name)  # copyfile: the file gets the time it arrived
        assert watcher.once() == [] or count == 1  # a file just written is only looked at
        (update,) = watcher.once()
        assert update.kind == ("new" if count == 1 else "updated")
        assert len(update.run.files) == count and update.run.ingestor == "pilatus_tiff"
        assert update.replaced == uids[-1:]  # the shorter run was removed
        uids.append(update.result.uid)
        assert list(sink.catalog) == [update.result.uid]
    assert len(set(uids)) == 3
    assert settle(watcher, 3) == []  # nothing changed: nothing detected, nothing read
    assert sum(reads.values()) == 3  # one read per update, none of the unchanged files again
    run = sink.catalog[uids[-1]]
    for name, doc in run.documents():
        validate(name, doc)
    expected = np.stack([tifffile.imread(frame) for frame in PILATUS_SERIES])
    np.testing.assert_array_equal(run.primary.read()["image"].values, expected)


def test_a_frame_still_changing_waits_for_the_next_pass(tmp_path):
    """A frame whose size changed between two passes is left out until it holds still."""
    folder = tmp_path / "scan64"
    folder.mkdir()
    sink = MemorySink()
    watcher = Watcher(str(folder), sink)
    shutil.copyfile(PILATUS_SERIES[0], folder / PILATUS_SERIES[0].name)
    settle(watcher)
    growing = folder / PILATUS_SERIES[1].name
    data = PILATUS_SERIES[1].read_bytes()
    for part in (1, 2, 3):  # written in three steps, a pass after each
        growing.write_bytes(data[: len(data) * part // 3])
        assert watcher.once() == []
    (update,) = watcher.once()
    assert update.kind == "updated" and len(update.run.files) == 2


SPEC_LINES = SPEC_FILE.read_text().splitlines(keepends=True)
SCAN_2 = next(i for i, line in enumerate(SPEC_LINES) if line.startswith("#S 2 "))
SCAN_1_LABELS = next(i for i, line in enumerate(SPEC_LINES) if line.startswith("#L "))


def test_a_spec_file_gaining_scans(tmp_path, reads):
    """A scan being written is partial, then complete; earlier scans are not read again."""
    folder = tmp_path / "spec"
    folder.mkdir()
    target = folder / "pressure.dat"
    sink = MsgpackSink(tmp_path / "runs")
    watcher = Watcher(str(folder), sink)

    # SPEC has written the header and 20 points of scan 1.
    target.write_text("".join(SPEC_LINES[: SCAN_1_LABELS + 21]))
    with pytest.warns(Warning, match="still being written"):
        (update,) = settle(watcher)
    assert update.kind == "new" and update.run.kwargs == {"scan": "1.1"}
    assert update.result.ending == "partial" and "[partial]" in update.line()
    first_uid = update.result.uid

    # Scan 1 ends, scan 2 is written whole.
    target.write_text("".join(SPEC_LINES))
    updates = {update.run.kwargs["scan"]: update for update in settle(watcher)}
    assert sorted(updates) == ["1.1", "2.1"]
    assert updates["1.1"].kind == "updated" and updates["1.1"].result.uid == first_uid
    assert updates["1.1"].result.ending == "complete" and updates["1.1"].replaced == []  # same uid: rewritten
    assert updates["2.1"].kind == "new" and updates["2.1"].result.ending == "complete"

    # A third scan: scan 2 (the file's last) is looked at again, scan 1 is not.
    scan_3 = "".join(SPEC_LINES[SCAN_2:]).replace("#S 2 ", "#S 3 ", 1)
    with target.open("a") as file:
        file.write("\n" + scan_3)
    updates = {update.run.kwargs["scan"]: update.kind for update in settle(watcher)}
    assert updates == {"2.1": "updated", "3.1": "new"}
    assert reads[("spec", "pressure.dat", (("scan", "1.1"),))] == 2
    assert reads[("spec", "pressure.dat", (("scan", "2.1"),))] == 2
    assert reads[("spec", "pressure.dat", (("scan", "3.1"),))] == 1

    written = BlueskyMsgpackCatalog(str(tmp_path / "runs" / "*.msgpack"))
    assert len(written) == 3
    assert sorted(written[uid].metadata["start"]["scan_id"] for uid in written) == [1, 2, 3]
    scan_1 = written[first_uid]
    assert scan_1.metadata["stop"]["exit_status"] == "success"
    assert len(scan_1.primary.read()["time"]) == 51


def _half(path, data):
    path.write_bytes(data[: len(data) // 2])


def test_a_half_written_tiff_is_not_half_ingested(tmp_path):
    """A TIFF written in two steps, with passes between: taken only once whole."""
    folder = tmp_path / "incoming"
    folder.mkdir()
    image = np.arange(64 * 48, dtype=np.uint16).reshape(64, 48)
    tifffile.imwrite(tmp_path / "whole.tif", image, photometric="minisblack")
    data = (tmp_path / "whole.tif").read_bytes()
    target = folder / "frame.tif"
    _half(target, data)
    sink = MemorySink()
    watcher = Watcher(str(folder), sink, patience=3600)
    assert settle(watcher, 4) == []  # unchanged over passes, yet cut short: it waits
    assert len(sink.catalog) == 0
    target.write_bytes(data)
    (update,) = settle(watcher)
    assert update.kind == "new"
    np.testing.assert_array_equal(sink.catalog[update.result.uid].primary.read()["image"].values[0], image)


def test_a_file_written_hidden_and_renamed_is_one_run(tmp_path):
    """rsync writes '.name.XXXXXX' and renames it when whole: only the whole file is a run."""
    folder = tmp_path / "incoming"
    folder.mkdir()
    hidden = folder / ".Pilatus.tiff.Xa91zq"
    data = (REAL / "pilatus" / "Pilatus.tiff").read_bytes()
    hidden.write_bytes(data[:100_000])
    sink = MemorySink()
    watcher = Watcher(str(folder), sink)
    assert settle(watcher, 3) == []
    hidden.write_bytes(data)
    hidden.rename(folder / "Pilatus.tiff")
    (update,) = settle(watcher)
    assert update.kind == "new" and update.run.files[0].path.endswith("/Pilatus.tiff")
    assert len(sink.catalog) == 1


def test_probe_tells_a_whole_file_from_one_cut_short(tmp_path):
    image = np.ones((32, 32), np.uint16)
    whole, half = tmp_path / "whole.tif", tmp_path / "half.tif"
    tifffile.imwrite(whole, image)
    _half(half, whole.read_bytes())
    hdf5 = REAL / "eiger" / "xrc_209_master.h5"
    cut_hdf5 = tmp_path / "cut.h5"
    cut_hdf5.write_bytes(hdf5.read_bytes()[:1000])
    # A stack cut between pages: tifffile only logs that the next page is beyond the end.
    tifffile.imwrite(tmp_path / "stack.tif", np.ones((50, 40, 30), np.uint16), photometric="minisblack")
    stack = (tmp_path / "stack.tif").read_bytes()
    (tmp_path / "cut_stack.tif").write_bytes(stack[: len(stack) - 3000])
    text = tmp_path / "notes.txt"
    text.write_text("not an image\n")
    problems = {pathlib.Path(source.path).name: probe(source) for source in find_files([str(tmp_path), str(hdf5)])}
    assert problems["whole.tif"] == "" and problems["xrc_209_master.h5"] == "" and problems["notes.txt"] == ""
    assert problems["stack.tif"] == ""
    assert "cut short" in problems["half.tif"]
    assert "page directories are cut short" in problems["cut_stack.tif"]
    assert problems["cut.h5"].startswith("cannot be opened as HDF5")


def test_a_bad_file_is_reported_and_the_others_are_taken(tmp_path):
    """A stack cut short (reported once its patience is over) and a CBF without pixels
    (its run fails): both named, every other run written; the watch goes on."""
    folder = tmp_path / "beamtime"
    folder.mkdir()
    tifffile.imwrite(folder / "broken_stack.tif", np.ones((50, 40, 30), np.uint16), photometric="minisblack")
    with open(folder / "broken_stack.tif", "r+b") as file:
        file.truncate(2000)
    shutil.copyfile(REAL / "pilatus" / "fred_header.cbf", folder / "fred_header.cbf")
    shutil.copyfile(REAL / "pilatus" / "Pilatus.tiff", folder / "Pilatus.tiff")
    shutil.copyfile(SPEC_FILE, folder / "pressure.dat")
    seen = []
    sink = MsgpackSink(tmp_path / "runs")
    watcher = Watcher(str(folder), sink, patience=0, on_update=seen.append)
    updates = settle(watcher)
    assert updates == seen
    assert kinds(updates) == ["failed", "incomplete", "new", "new", "new"]
    by_kind = {update.kind: update for update in updates}
    assert "broken_stack.tif" in by_kind["incomplete"].message and "cut short" in by_kind["incomplete"].message
    assert "fred_header.cbf" in by_kind["failed"].message
    assert len(BlueskyMsgpackCatalog(str(tmp_path / "runs" / "*.msgpack"))) == 3
    assert settle(watcher) == []  # said once: looked at again only when the files change

    # The CBF is replaced by a whole image: taken at the next change.
    shutil.copyfile(REAL / "pilatus" / "omega_scan.cbf", folder / "fred_header.cbf")
    (update,) = settle(watcher)
    assert update.kind == "new" and update.run.files[0].path.endswith("fred_header.cbf")


def test_a_frame_reported_incomplete_stays_out_of_its_series(tmp_path):
    """A frame cut short is reported; its series goes on without it, and takes it once it is whole."""
    folder = tmp_path / "scan64"
    folder.mkdir()
    sink = MemorySink()
    watcher = Watcher(str(folder), sink, patience=0)
    shutil.copyfile(PILATUS_SERIES[0], folder / PILATUS_SERIES[0].name)
    broken = folder / PILATUS_SERIES[1].name
    _half(broken, PILATUS_SERIES[1].read_bytes())
    assert kinds(settle(watcher)) == ["incomplete", "new"]
    shutil.copyfile(PILATUS_SERIES[2], folder / PILATUS_SERIES[2].name)
    updates = settle(watcher)
    # The frame after the gap is a run of its own; the cut frame is in no run.
    assert [(update.kind, len(update.run.files)) for update in updates] == [("new", 1)]
    assert len(sink.catalog) == 2
    broken.write_bytes(PILATUS_SERIES[1].read_bytes())  # the frame written again, whole
    (update,) = settle(watcher)
    assert update.kind == "updated" and len(update.run.files) == 3 and len(update.replaced) == 2
    assert len(sink.catalog) == 1


def test_existing_files_can_be_left_alone(tmp_path, reads):
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copyfile(REAL / "pilatus" / "Pilatus.tiff", folder / "old.tiff")
    sink = MemorySink()
    watcher = Watcher(str(folder), sink, existing=False)
    assert settle(watcher, 3) == []
    shutil.copyfile(REAL / "pilatus" / "Pilatus.tiff", folder / "new.tiff")
    (update,) = settle(watcher)
    assert update.run.files[0].path.endswith("new.tiff") and len(sink.catalog) == 1
    assert list(reads) == [("pilatus_tiff", "new.tiff", ())]


def test_runs_ingested_before_the_watch_are_adopted(tmp_path, reads):
    """A first ingest (as 'serve' makes), then the watch: nothing read again, a growing series replaced."""
    folder = tmp_path / "scan64"
    folder.mkdir()
    for frame in PILATUS_SERIES[:2]:
        shutil.copyfile(frame, folder / frame.name)
    sink = MemorySink()
    plan = detect(str(folder), progress=False)
    first = sink.write(plan, [[]])
    watcher = Watcher(str(folder), sink)
    watcher.adopt(plan, first)
    assert settle(watcher, 3) == []
    shutil.copyfile(PILATUS_SERIES[2], folder / PILATUS_SERIES[2].name)
    (update,) = settle(watcher)
    assert update.kind == "updated" and update.replaced == first.uids
    assert list(sink.catalog) == [update.result.uid] and len(update.run.files) == 3
    assert sum(reads.values()) == 2


class FlakySink(MemorySink):
    """A sink that is down (a server restarting) for its first ``down`` writes."""

    def __init__(self, down):
        super().__init__()
        self.down, self.calls = down, 0

    def write(self, plan, replacing):
        self.calls += 1
        if self.calls <= self.down:
            raise ConnectionError("server unreachable")
        return super().write(plan, replacing)


def test_a_sink_that_is_down_is_tried_again_at_every_pass(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copyfile(REAL / "pilatus" / "Pilatus.tiff", folder / "a.tiff")
    sink = FlakySink(down=3)
    watcher = Watcher(str(folder), sink)
    (failed,) = settle(watcher)
    assert failed.kind == "failed" and "server unreachable" in failed.message
    assert watcher.once() == [] and watcher.once() == []  # still down: said once
    (update,) = watcher.once()
    assert update.kind == "new" and len(sink.catalog) == 1


def test_settle_keeps_a_file_waiting_that_long(tmp_path):
    folder = tmp_path / "nfs"
    folder.mkdir()
    shutil.copyfile(REAL / "pilatus" / "Pilatus.tiff", folder / "a.tiff")
    watcher = Watcher(str(folder), MemorySink(), settle=3600)
    assert settle(watcher, 3) == []
    watcher.settle = 0
    assert [update.kind for update in watcher.once()] == ["new"]


def test_a_folder_that_appears_later(tmp_path, caplog):
    folder = tmp_path / "not-yet"
    sink = MemorySink()
    watcher = Watcher(str(folder), sink)
    assert settle(watcher) == []
    assert "cannot list the watched files" in caplog.text
    folder.mkdir()
    shutil.copyfile(REAL / "pilatus" / "Pilatus.tiff", folder / "a.tiff")
    assert [update.kind for update in settle(watcher)] == ["new"]


def test_the_watcher_in_a_thread_stops_cleanly(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    sink = MemorySink()
    with Watcher(str(folder), sink, interval=0.05) as watcher:
        shutil.copyfile(REAL / "pilatus" / "Pilatus.tiff", folder / "a.tiff")
        deadline = time.monotonic() + 60  # generous: the machine may be loaded
        while not len(sink.catalog) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert len(sink.catalog) == 1 and watcher._thread is None


@pytest.mark.parametrize("stop_signal", ["SIGINT", "SIGTERM"])
def test_ingest_watch_on_the_command_line(tmp_path, stop_signal):
    """``intake-ingest ingest FOLDER --to DIR --watch``: a line per run; Ctrl-C (or SIGTERM) ends it with status 0.

    Isolated, as users run it: sniffing and reading in one worker process for the watch.
    """
    import signal

    folder, out = tmp_path / "data", tmp_path / "runs"
    folder.mkdir()
    shutil.copyfile(REAL / "pilatus" / "Pilatus.tiff", folder / "a.tiff")
    process = subprocess.Popen(
        [sys.executable, "-m", "intake_ingest.cli", "ingest", str(folder), "--to", str(out), "--watch"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout.readline().startswith(f"watching {folder}")
        first = process.stdout.readline()
        assert first.startswith("new: ") and "a.tiff" in first
        shutil.copyfile(PILATUS_SERIES[0], folder / "b.tif")
        second = process.stdout.readline()
        assert second.startswith("new: ") and "b.tif" in second
    finally:
        process.send_signal(getattr(signal, stop_signal))
        stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert len(BlueskyMsgpackCatalog(str(out / "*.msgpack"))) == 2


def test_ingest_watch_refuses_a_target_that_is_a_file(tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("")
    assert main(["ingest", str(tmp_path), "--to", str(target), "--watch"]) != 0
    assert "is a file" in capsys.readouterr().err
