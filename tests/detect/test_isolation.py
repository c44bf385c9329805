"""A reader that crashes its process (segfault, abort) costs its file, never the folder.

The readers and specs here are module-level so that the worker process (started with
``spawn``) can import them by name, as it imports the registered ingestors.
"""

import ctypes
import os
import warnings

import numpy as np
import pytest
import tifffile

from intake_ingest import BlueskyInMemoryCatalog, BlueskyMsgpackCatalog, IngestError, ingest_tiff_stack
from intake_ingest.detect import detect, detection, ingest
from intake_ingest.detect import ingesting as ingesting_module
from intake_ingest.detect.isolation import DEFAULT_START_METHOD, IsolatedWorker, WorkerCrashed, describe_exit
from intake_ingest.registry import IngestorSpec, get_spec


def crash_like_a_c_parser(path):
    """What a damaged file does to a C reader: segfault (``crash_*``) or abort (``abort_*``)."""
    name = os.path.basename(path)
    if name.startswith("crash"):
        ctypes.string_at(0)  # reads address 0: SIGSEGV
    if name.startswith("abort"):
        os.abort()


def stack_reader_that_crashes(source, **kwargs):
    """``ingest_tiff_stack``, crashing its process after the RunStart on the files named so."""
    documents = ingest_tiff_stack(source, **kwargs)
    yield next(documents)  # the RunStart: writing of the run's file has begun
    crash_like_a_c_parser(source.path)
    yield from documents


@pytest.fixture
def folder_with_crashing_files(tmp_path):
    """Four stacks: two good, one that segfaults its reader, one that aborts it."""
    folder = tmp_path / "beamtime"
    folder.mkdir()
    for number, name in enumerate(["a_good.tif", "crash.tif", "abort.tif", "z_good.tif"]):
        images = np.full((3, 4, 5), number, np.uint16)
        tifffile.imwrite(folder / name, images, photometric="minisblack")
    return folder


@pytest.fixture
def crashing_stack_reader(monkeypatch):
    real = ingesting_module.get_ingestor
    monkeypatch.setattr(
        ingesting_module, "get_ingestor", lambda name: stack_reader_that_crashes if name == "tiff_stack" else real(name)
    )


def test_a_native_crash_costs_its_run_and_the_others_are_written(folder_with_crashing_files, crashing_stack_reader, tmp_path):
    plan = detect(str(folder_with_crashing_files), progress=False)
    assert [run.ingestor for run in plan.runs] == ["tiff_stack"] * 4
    copies = tmp_path / "copies"
    result = ingest(plan, to=str(copies), isolate=True, progress=False)
    assert result.counts() == {"ok": 2, "skipped": 0, "error": 2}
    messages = {os.path.basename(failed.first): failed.message for failed in result.errors}
    assert set(messages) == {"crash.tif", "abort.tif"}
    crash = str(folder_with_crashing_files / "crash.tif")
    assert messages["crash.tif"].startswith(f"{crash}: the reader crashed (signal 11: SIGSEGV) while tiff_stack read")
    assert "(signal 6: SIGABRT)" in messages["abort.tif"]
    # The file the crash interrupted is removed: every file there is a whole run.
    assert sorted(path.name for path in copies.iterdir()) == sorted(f"{uid}.msgpack" for uid in result.uids)
    reopened = BlueskyMsgpackCatalog(str(copies / "*.msgpack"))
    values = sorted(int(reopened[uid].primary.read()["image"].values.max()) for uid in reopened)
    assert values == [0, 3]  # a_good.tif and z_good.tif
    # The crashed runs' uids are known (noted before writing), so a user can find them.
    assert all(failed.uid for failed in result.errors)


@pytest.mark.parametrize("start_method", sorted({"spawn", DEFAULT_START_METHOD}))
def test_the_crash_is_real_and_workers_start_either_way(folder_with_crashing_files, start_method):
    """Run in a process, the reader kills it; a new worker (spawned or forked from the forkserver) goes on."""
    with IsolatedWorker(start_method) as worker:
        with pytest.raises(WorkerCrashed, match="SIGSEGV") as raised:
            worker.call(crash_like_a_c_parser, str(folder_with_crashing_files / "crash.tif"))
        assert raised.value.exitcode == -11
        assert worker.call(crash_like_a_c_parser, str(folder_with_crashing_files / "a_good.tif")) is None
        assert worker.starts == 2


def test_fail_fast_names_the_crashed_file(folder_with_crashing_files, crashing_stack_reader, tmp_path):
    plan = detect(str(folder_with_crashing_files), progress=False)
    with pytest.raises(IngestError, match=r"abort\.tif: the reader crashed \(signal 6: SIGABRT\)"):
        ingest(plan, to=str(tmp_path / "copies"), isolate=True, fail_fast=True, progress=False)


def test_in_memory_check_isolated_leaves_crashing_runs_out(folder_with_crashing_files, crashing_stack_reader):
    plan = detect(str(folder_with_crashing_files), progress=False)
    catalog = BlueskyInMemoryCatalog()
    result = ingest(plan, catalog=catalog, check=True, isolate=True, progress=False)
    assert result.counts() == {"ok": 2, "skipped": 0, "error": 2}
    assert sorted(catalog) == sorted(result.uids)
    assert all("the reader crashed" in failed.message for failed in result.errors)


def test_python_errors_in_the_worker_are_reported_as_in_process(tmp_path):
    """A damaged file that raises (not crashes) gives the same message with or without isolation."""
    folder = tmp_path / "beamtime"
    folder.mkdir()
    tifffile.imwrite(folder / "good.tif", np.ones((3, 4, 5), np.uint16), photometric="minisblack")
    tifffile.imwrite(folder / "broken.tif", np.ones((30, 40, 50), np.uint16), photometric="minisblack")
    with open(folder / "broken.tif", "r+b") as file:
        file.truncate(2000)
    plan = detect(str(folder), progress=False)
    isolated = ingest(plan, to=str(tmp_path / "isolated"), isolate=True, progress=False)
    in_process = ingest(plan, to=str(tmp_path / "in_process"), progress=False)
    assert isolated.counts() == in_process.counts() == {"ok": 1, "skipped": 0, "error": 1}
    assert [r.message for r in isolated.errors] == [r.message for r in in_process.errors]
    assert "broken.tif" in isolated.errors[0].message
    again = ingest(plan, to=str(tmp_path / "isolated"), isolate=True, progress=False)
    assert again.counts() == {"ok": 0, "skipped": 1, "error": 1}


# -- detection ----------------------------------------------------------------------------


def sniff_crashy(head, source):
    """Confident for files starting ``CRASHY``; segfaults on ``CRASHY-SNIFF``."""
    if head.startswith(b"CRASHY-SNIFF"):
        ctypes.string_at(0)
    return 0.9 if head.startswith(b"CRASHY") else 0.0


def crashy_runs(source):
    """Two runs per file; segfaults on ``CRASHY-LIST``, as libhdf5 listing a damaged file."""
    with source.fs.open(source.path, "rb") as file:
        if file.read().startswith(b"CRASHY-LIST"):
            ctypes.string_at(0)
    return [{"part": 1}, {"part": 2}]


def crashy_companions(source, candidates):
    """Its ``.side`` files; segfaults on ``CRASHY-COMPANIONS``."""
    with source.fs.open(source.path, "rb") as file:
        if file.read().startswith(b"CRASHY-COMPANIONS"):
            os.abort()
    stem = os.path.splitext(source.path)[0]
    return [candidate for candidate in candidates if candidate.path == stem + ".side"]


CRASHY = IngestorSpec(
    name="crashy",
    ingest=ingest_tiff_stack,
    patterns=("*.crashy",),
    sniff=sniff_crashy,
    runs_in=crashy_runs,
    companions=crashy_companions,
)


@pytest.fixture
def crashy_registered(monkeypatch):
    real = detection.get_spec
    monkeypatch.setattr(detection, "_detectable_specs", lambda: [CRASHY, get_spec("tiff_stack")])
    monkeypatch.setattr(detection, "get_spec", lambda name: CRASHY if name == "crashy" else real(name))


@pytest.fixture
def folder_crashing_detection(tmp_path):
    folder = tmp_path / "detect"
    folder.mkdir()
    (folder / "a_good.crashy").write_bytes(b"CRASHY fine")
    (folder / "a_good.side").write_bytes(b"sidecar")
    (folder / "b_list.crashy").write_bytes(b"CRASHY-LIST damaged")
    (folder / "c_sniff.crashy").write_bytes(b"CRASHY-SNIFF damaged")
    (folder / "d_companions.crashy").write_bytes(b"CRASHY-COMPANIONS damaged")
    (folder / "z_good.crashy").write_bytes(b"CRASHY fine too")
    tifffile.imwrite(folder / "stack.tif", np.zeros((2, 3, 4), np.uint16), photometric="minisblack")
    return folder


def test_detection_survives_crashing_sniffers_runs_in_and_companions(folder_crashing_detection, crashy_registered):
    plan = detect(str(folder_crashing_detection), isolate=True, progress=False)
    planned = sorted((os.path.basename(run.files[0].path), run.ingestor, str(run.kwargs)) for run in plan.runs)
    assert planned == [
        ("a_good.crashy", "crashy", "{'part': 1}"),
        ("a_good.crashy", "crashy", "{'part': 2}"),
        ("stack.tif", "tiff_stack", "{}"),
        ("z_good.crashy", "crashy", "{'part': 1}"),
        ("z_good.crashy", "crashy", "{'part': 2}"),
    ]
    (good,) = {run.files[0].path: run for run in plan.runs if "a_good" in run.files[0].path}.values()
    assert [os.path.basename(source.path) for source in good.companions] == ["a_good.side"]
    reasons = {os.path.basename(item.url): item.reason for item in plan.unrecognised}
    assert set(reasons) == {"b_list.crashy", "c_sniff.crashy", "d_companions.crashy"}
    assert reasons["b_list.crashy"].startswith("crashy crashed the reader (signal 11: SIGSEGV) while listing its runs")
    assert reasons["c_sniff.crashy"].startswith("sniffing it crashed the reader (signal 11: SIGSEGV)")
    assert reasons["d_companions.crashy"].startswith("crashy crashed the reader (signal 6: SIGABRT) while looking for its companion files")
    places = plan.places()
    assert {url: where for url, where in places.items() if len(where) != 1} == {}


def test_isolated_detection_plans_like_in_process_detection(folder_crashing_detection, crashy_registered):
    for name in ["b_list.crashy", "c_sniff.crashy", "d_companions.crashy"]:
        (folder_crashing_detection / name).unlink()
    isolated = detect(str(folder_crashing_detection), isolate=True, progress=False)
    in_process = detect(str(folder_crashing_detection), progress=False)
    assert isolated.to_dict() == in_process.to_dict()
    assert len(isolated.runs) == 5


def test_exit_descriptions():
    assert describe_exit(-11) == "signal 11: SIGSEGV"
    assert describe_exit(-9) == "signal 9: SIGKILL, killed (out of memory?)"
    assert describe_exit(3) == "exit status 3"


def test_a_worker_killed_like_by_the_oom_killer_is_replaced():
    with IsolatedWorker() as worker:
        pid = worker.call(os.getpid)
        with pytest.raises(WorkerCrashed, match="SIGKILL"):
            worker.call(os.kill, pid, 9)
        assert worker.call(os.getpid) != pid and worker.starts == 2


def warn_and_return(value):
    from intake_ingest import IngestWarning

    warnings.warn(f"{value}: something was left out", IngestWarning)
    return value


def test_warnings_raised_in_the_worker_are_raised_here():
    from intake_ingest import IngestWarning

    with IsolatedWorker() as worker:
        with pytest.warns(IngestWarning, match="scan.spec: something was left out"):
            assert worker.call(warn_and_return, "scan.spec") == "scan.spec"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert [value for _, _, value in worker.map(warn_and_return, ["a", "b"])] == ["a", "b"]
        assert [(w.category, str(w.message)) for w in caught] == [
            (IngestWarning, "a: something was left out"),
            (IngestWarning, "b: something was left out"),
        ]


# -- command line ---------------------------------------------------------------------------


def test_the_command_line_isolates_by_default(folder_with_crashing_files, crashing_stack_reader, tmp_path, capsys):
    from intake_ingest.cli import main

    copies = tmp_path / "copies"
    assert main(["ingest", str(folder_with_crashing_files), "--to", str(copies), "--quiet"]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"2 run(s) written to {copies}, 0 already there, 2 failed;")
    assert f"  failed: {folder_with_crashing_files / 'crash.tif'}: the reader crashed (signal 11: SIGSEGV)" in out
    assert len(list(copies.glob("*.msgpack"))) == 2


@pytest.mark.parametrize(
    "target, reason",
    [
        ("a_file", "is a file, not a folder"),
        ("a_file/sub", "cannot be made a folder"),
        ("foo://x", "cannot be written to (Protocol not known: foo)"),
    ],
)
def test_a_target_that_cannot_be_a_folder_is_a_one_line_error(folder_with_crashing_files, tmp_path, capsys, monkeypatch, target, reason):
    from intake_ingest.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "a_file").write_text("not a folder")
    assert main(["ingest", str(folder_with_crashing_files), "--to", target, "--quiet"]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith(f"intake-ingest: error: {target}: {reason}")
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err and captured.out == ""
    assert (tmp_path / "a_file").read_text() == "not a folder"


# -- a real native crash: silx's SPEC parser and a 20 kB line -------------------------------


def write_spec(path, columns):
    """A one-scan SPEC file with ``columns`` counters: its #L and data lines grow with them."""
    labels = "  ".join(f"c{index}" for index in range(columns))
    row = " ".join(f"{index:.6f}" for index in range(columns))
    path.write_text(
        "#F data\n#E 1577836800\n#D Wed Jan 01 00:00:00 2020\n\n"
        f"#S 1 ascan c0 0 1 1 0.1\n#D Wed Jan 01 00:00:00 2020\n#N {columns}\n#L {labels}\n{row}\n{row}\n"
    )
    return path


@pytest.fixture
def folder_with_a_spec_file_silx_crashes_on(tmp_path):
    folder = tmp_path / "spec"
    folder.mkdir()
    write_spec(folder / "good.spec", 3)
    write_spec(folder / "long_lines.spec", 2000)  # data lines of 20 kB: silx 2.x segfaults
    tifffile.imwrite(folder / "stack.tif", np.zeros((2, 3, 4), np.uint16), photometric="minisblack")
    return folder


def test_silx_crashing_on_long_lines_costs_that_file_only(folder_with_a_spec_file_silx_crashes_on, tmp_path):
    """silx segfaults reading 20 kB data lines (unless the SPEC ingestor refuses them first): that file only is lost.

    Where silx crashes (listing the scans or reading them) depends on how the SPEC
    ingestor uses it; either way the file is named, with the crash, and the other
    runs are planned and written.
    """
    folder = folder_with_a_spec_file_silx_crashes_on
    long_lines = str(folder / "long_lines.spec")
    plan = detect(str(folder), isolate=True, progress=False)
    planned = sorted(os.path.basename(run.files[0].path) for run in plan.runs)
    assert {"good.spec", "stack.tif"} <= set(planned)
    unrecognised = {item.url: item.reason for item in plan.unrecognised}
    if long_lines in unrecognised:  # crashed (or refused) while its scans were listed
        assert unrecognised[long_lines].startswith(
            ("spec crashed the reader (signal 11: SIGSEGV) while listing its runs", "spec cannot list its runs: ")
        )
    else:
        assert planned == ["good.spec", "long_lines.spec", "stack.tif"] and unrecognised == {}

    result = ingest(plan, to=str(tmp_path / "copies"), isolate=True, progress=False)
    assert result.counts()["ok"] == 2 and len(result.written) == 2
    if long_lines not in unrecognised:
        (failed,) = result.errors
        assert failed.message.startswith(f"{long_lines}: ")
        # The crash, or a refusal before silx sees the lines: never another file's error.
        assert "the reader crashed (signal 11: SIGSEGV) while spec read this run" in failed.message or "crashed" not in failed.message


def test_a_worker_that_cannot_start_is_an_error_of_its_own_not_of_a_file(monkeypatch, tmp_path):
    """A main program multiprocessing cannot import again (read from stdin) stops the worker at start."""
    import sys

    from intake_ingest.detect.isolation import WorkerStartError

    main_module = sys.modules["__main__"]
    monkeypatch.setattr(main_module, "__spec__", None, raising=False)
    monkeypatch.setattr(main_module, "__file__", str(tmp_path / "<stdin>"), raising=False)
    with IsolatedWorker("spawn") as worker, pytest.raises(WorkerStartError, match="could not start .exit status 1."):
        worker.call(len, "abc")


def test_memory_urls_are_read_in_process_even_when_isolating(folder_with_crashing_files, memory_folder):
    """A worker cannot see this process's memory:// files: those runs are read here, and succeed."""
    fs, root = memory_folder
    for name in ("a_good.tif", "z_good.tif"):
        fs.pipe(f"{root}/in/{name}", (folder_with_crashing_files / name).read_bytes())
    plan = detect(f"memory://{root}/in", isolate=True, progress=False)
    assert len(plan.runs) == 2
    result = ingest(plan, to=f"memory://{root}/out", isolate=True, progress=False)
    assert result.counts() == {"ok": 2, "skipped": 0, "error": 0}
    assert sorted(BlueskyMsgpackCatalog(f"memory://{root}/out/*.msgpack")) == sorted(result.uids)


def double_or_crash(value):
    """Twice the value, with a warning; segfaults on 3 and aborts on 7."""
    from intake_ingest import IngestWarning

    warnings.warn(f"item {value}", IngestWarning)
    if value == 3:
        ctypes.string_at(0)
    if value == 7:
        os.abort()
    if value == 8:
        raise KeyError("eight")
    return 2 * value


def test_map_yields_every_item_in_order_through_crashes_and_warns_once_per_item():
    """Results lost with a crashed worker (its unsent chunk) are made again, their warnings raised once."""
    with IsolatedWorker() as worker, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = [(item, kind, value if kind == "ok" else str(value)) for item, kind, value in worker.map(double_or_crash, range(10))]
    assert results == [
        (0, "ok", 0), (1, "ok", 2), (2, "ok", 4),
        (3, "crashed", "signal 11: SIGSEGV"),
        (4, "ok", 8), (5, "ok", 10), (6, "ok", 12),
        (7, "crashed", "signal 6: SIGABRT"),
        (8, "error", "'eight'"), (9, "ok", 18),
    ]
    # The crashed items' warnings died with their worker; every other item's came once.
    assert [str(warning.message) for warning in caught] == [f"item {n}" for n in (0, 1, 2, 4, 5, 6, 8, 9)]
    assert worker.starts == 3
