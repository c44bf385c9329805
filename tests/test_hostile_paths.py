"""Hostile selections: FIFOs, sockets, devices, broken links, names that are not UTF-8.

Detection lists whatever a user selects; what is not a regular file must be reported,
never opened (a FIFO blocks its reader until a writer comes, ``/dev/zero`` never ends),
and a name that is not UTF-8, on disk or inside an HDF5 file, must not stop the others.
"""

import base64
import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time

import h5py
import numpy as np
import pytest
import tifffile

from intake_ingest import IngestError, ingest_tiff_stack
from intake_ingest.cli import main
from intake_ingest.detect import detect, ingest
from intake_ingest.files import deterministic_uid, expand, find_files, open_local_or_buffer, read_bytes
from intake_ingest.ingestors.hdf5.values import natural_key

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
needs_dev_zero = pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero on this system")


class WatchedFifo:
    """A FIFO that notices when anything opens it for reading, and lets that reader go.

    Opening a FIFO to read waits for a writer: a regression would hang the test run.
    This one opens it to write whenever a reader waits (a non-blocking open succeeds only
    then), so the reader gets end-of-file at once and the test fails on :attr:`opened`.
    """

    def __init__(self, path):
        os.mkfifo(path)
        self.path = str(path)
        self.opened = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self):
        while not self._stop.is_set():
            try:
                descriptor = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # ENXIO: nobody is reading (or the FIFO is gone)
                time.sleep(0.02)
                continue
            self.opened.set()
            os.close(descriptor)

    def close(self):
        self._stop.set()
        self._thread.join()


@pytest.fixture
def fifo(tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this system")
    watched = WatchedFifo(tmp_path / "pipe")
    yield watched
    watched.close()


def _image(path, frames=3):
    images = np.arange(frames * 12, dtype=np.uint16).reshape(frames, 4, 3)
    tifffile.imwrite(path, images, photometric="minisblack")
    return images


@pytest.fixture
def special_folder(tmp_path, fifo):
    """A folder with a TIFF, a link to it, the FIFO, a socket, a broken link and a loop of links."""
    _image(tmp_path / "a.tif")
    os.symlink("a.tif", tmp_path / "good.tif")
    os.symlink("nowhere", tmp_path / "broken")
    os.symlink("loop", tmp_path / "loop")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(tmp_path / "sock"))
    yield tmp_path
    server.close()


def _name(path):
    return os.path.basename(path)


def test_find_files_marks_what_is_not_a_regular_file(special_folder, fifo):
    found = {_name(source.path): source.special for source in find_files(str(special_folder))}
    assert found.pop("loop").startswith("symbolic link that cannot be followed (")
    assert found == {
        "a.tif": "",
        "good.tif": "",
        "pipe": "not a regular file (FIFO)",
        "sock": "not a regular file (socket)",
        "broken": "broken symbolic link (its target 'nowhere' does not exist)",
    }
    # Named one by one, as on a command line: listed and marked, not an error.
    for name in ["pipe", "broken", "loop"]:
        (source,) = find_files(str(special_folder / name))
        assert source.special
    assert not fifo.opened.is_set()


@needs_dev_zero
def test_a_device_named_directly_is_marked():
    (source,) = find_files("/dev/zero")
    assert source.special == "not a regular file (character device)"
    assert source.url == "/dev/zero" and source.is_local


def test_reading_a_special_file_is_an_error_naming_it(special_folder, fifo):
    sources = {_name(source.path): source for source in find_files(str(special_folder))}
    for name in ["pipe", "sock", "broken"]:
        source = sources[name]
        for read in (read_bytes, open_local_or_buffer, expand):
            with pytest.raises(IngestError) as raised:
                read(source)
            assert str(raised.value) == f"{source.url}: {source.special}"
        with pytest.raises(OSError, match="not a regular file|broken symbolic link"):
            source.fs.open(source.path, "rb")
    with pytest.raises(IngestError, match=r"pipe: not a regular file \(FIFO\)"):
        expand(fifo.path)
    with pytest.raises(IngestError, match=r"pipe: not a regular file \(FIFO\)"):
        next(ingest_tiff_stack(fifo.path))
    with pytest.raises(IngestError, match="broken: broken symbolic link"):
        expand(str(special_folder / "*"))
    assert not fifo.opened.is_set()


@pytest.mark.parametrize("isolate", [False, True])
def test_detect_reports_special_files_unrecognised_never_opening_them(special_folder, fifo, isolate):
    paths = [str(special_folder)] + (["/dev/zero"] if os.path.exists("/dev/zero") else [])
    plan = detect(paths, progress=False, isolate=isolate)
    reasons = {_name(item.url): item.reason for item in plan.unrecognised}
    assert "not a regular file (FIFO)" in reasons["pipe"]
    assert "not a regular file (socket)" in reasons["sock"]
    assert "broken symbolic link" in reasons["broken"]
    assert "symbolic link that cannot be followed" in reasons["loop"]
    if "/dev/zero" in paths:
        assert "not a regular file (character device)" in reasons["zero"]
    assert sorted(_name(run.files[0].path) for run in plan.runs) == ["a.tif", "good.tif"]
    assert set(plan.places()) == {source.url for source in plan.files}
    assert not fifo.opened.is_set()


def test_cli_detect_of_a_folder_with_a_fifo_finishes(special_folder, fifo):
    # In a subprocess with a timeout: a detection that opens the FIFO fails, never hangs.
    result = subprocess.run(
        [sys.executable, "-m", "intake_ingest.cli", "detect", str(special_folder), "--json", "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    reasons = {_name(item["file"]): item["reason"] for item in plan["unrecognised"]}
    assert "not a regular file (FIFO)" in reasons["pipe"]
    assert len(plan["runs"]) == 2
    assert not fifo.opened.is_set()


def test_forced_ingestor_on_a_fifo_is_a_failed_run_naming_it(tmp_path, fifo, capsys):
    arguments = ["ingest", fifo.path, "--ingestor", "tiff_stack", "--to", str(tmp_path / "out"), "--quiet"]
    main([*arguments, "--no-isolate"])
    captured = capsys.readouterr()
    # A failed run, or (once detection leaves such files out) an unrecognised file: named either way.
    (line,) = [line for line in captured.out.splitlines() if fifo.path in line]
    assert line.strip().startswith(("failed:", "unrecognised:")) and "not a regular file (FIFO)" in line
    assert captured.err == ""
    assert not fifo.opened.is_set()


def _limit_memory():
    import resource

    # A regression reading /dev/zero to its end then fails with MemoryError, not the machine.
    resource.setrlimit(resource.RLIMIT_AS, (4 * 2**30, 4 * 2**30))


@needs_dev_zero
@pytest.mark.parametrize("ingestor", ["column_text", "spec"])
def test_forced_ingestor_on_dev_zero_is_one_line_per_file(tmp_path, ingestor):
    result = subprocess.run(
        [sys.executable, "-m", "intake_ingest.cli", "ingest", "/dev/zero", "--ingestor", ingestor,
         "--to", str(tmp_path / "out"), "--quiet", "--no-isolate"],
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=_limit_memory,
    )
    assert "Traceback" not in result.stderr and "MemoryError" not in result.stdout
    assert "/dev/zero" in result.stdout and "not a regular file (character device)" in result.stdout
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


# -- names that are not UTF-8 -------------------------------------------------------


def _undecodable_path(folder, raw_name):
    """A path whose name holds bytes that are not UTF-8, as Python lists it (lone surrogates)."""
    path = os.fsdecode(os.path.join(os.fsencode(folder), raw_name))
    try:
        open(path, "wb").close()
        os.remove(path)
    except (OSError, UnicodeError):
        pytest.skip("this filesystem refuses names that are not UTF-8")
    return path


def _hashed(*raw_names):
    digest = hashlib.sha256()
    for raw in raw_names:
        digest.update(raw)
    return base64.urlsafe_b64encode(digest.digest()).decode()


def test_uid_of_a_name_that_is_not_utf8_hashes_its_bytes():
    assert deterministic_uid([os.fsdecode(b"/data/sc\xffan_1.tif")]) == _hashed(b"/data/sc\xffan_1.tif")
    # UTF-8 names keep the uid they always had: runs already written are found again.
    assert deterministic_uid(["/data/scän_1.tif", "/data/b.tif"]) == _hashed(
        "/data/scän_1.tif".encode(), b"/data/b.tif"
    )


def test_files_named_not_utf8_are_detected_and_ingested(tmp_path):
    stack = _undecodable_path(tmp_path, b"st\xe9ck.tif")
    images = _image(stack)
    for number in [1, 2]:
        tifffile.imwrite(_undecodable_path(tmp_path, b"sc\xffan_%04d.tif" % number), np.full((4, 3), number, np.uint16))
    plan = detect(str(tmp_path), progress=False)
    assert sorted(run.ingestor for run in plan.runs) == ["tiff_series", "tiff_stack"] and not plan.unrecognised
    result = ingest(plan, progress=False)
    assert result.ok, result.summary()
    run = result.catalog.search({"ingestor": "tiff_stack"})[0]
    np.testing.assert_array_equal(run.primary.read()["image"].values, images)
    assert run.start["uid"] == deterministic_uid([stack])
    series = result.catalog.search({"ingestor": "tiff_series"})[0]
    assert series.primary.read()["image"].shape == (2, 4, 3)


def test_cli_prints_names_that_are_not_utf8_on_a_strict_utf8_terminal(tmp_path):
    _image(_undecodable_path(tmp_path, b"st\xe9ck.tif"))
    # Any UTF-8 locale but C gives Python a strict stdout; this is that, whatever the test's locale.
    environment = dict(os.environ, PYTHONIOENCODING="utf-8:strict")
    result = subprocess.run(
        [sys.executable, "-m", "intake_ingest.cli", "detect", str(tmp_path), "--quiet", "--no-isolate"],
        capture_output=True,
        timeout=300,
        env=environment,
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    assert b"st\\udce9ck.tif" in result.stdout and b"tiff_stack" in result.stdout


def test_files_named_not_utf8_are_written_to_msgpack(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    _image(_undecodable_path(data, b"st\xe9ck.tif"))
    result = ingest(detect(str(data), progress=False), to=str(tmp_path / "out"), progress=False)
    assert result.ok, result.summary()


# -- HDF5 member names that are not UTF-8 ---------------------------------------------


def _group_named(parent, raw_name):
    """A group whose name is bytes that are not UTF-8 (h5py lists it as bytes)."""
    link_properties = h5py.h5p.create(h5py.h5p.LINK_CREATE)
    link_properties.set_char_encoding(h5py.h5t.CSET_ASCII)
    h5py.h5g.create(parent.id, raw_name, lcpl=link_properties)
    return parent[raw_name]


def _nexus_file(path, entry_names, odd_inner_names=False):
    with h5py.File(path, "w") as h5:
        for name in entry_names:
            entry = _group_named(h5, name) if isinstance(name, bytes) else h5.create_group(name)
            entry.attrs["NX_class"] = "NXentry"
            data = entry.create_group("data")
            data.attrs["NX_class"] = "NXdata"
            data.attrs["signal"] = "counts"
            data["counts"] = np.arange(5.0)
            if odd_inner_names:
                _group_named(data, b"m\xe9ta")
                _group_named(entry, b"s\xe9mple").attrs["NX_class"] = "NXsample"


def test_natural_key_sorts_names_h5py_gives_as_bytes():
    names = ["S10", b"S\xff2", "S2", "\u00b2", "x\u00b2y", "1.10", "1.2"]
    assert sorted(names, key=natural_key) == ["1.2", "1.10", "S2", "S10", b"S\xff2", "x\u00b2y", "\u00b2"]


def test_hdf5_names_not_utf8_do_not_stop_detection_of_the_folder(tmp_path, capsys):
    _nexus_file(tmp_path / "mixed.nxs", ["entry", b"entr\xffy"])
    _nexus_file(tmp_path / "inner.nxs", ["entry"], odd_inner_names=True)
    _nexus_file(tmp_path / "plain.nxs", ["entry"])
    plan = detect(str(tmp_path), progress=False)
    assert not plan.unrecognised and not plan.ambiguous
    planned = sorted(((_name(run.files[0].path), run.kwargs.get("entry")) for run in plan.runs), key=repr)
    assert planned == [
        ("inner.nxs", "entry"),
        ("mixed.nxs", "entry"),
        ("mixed.nxs", b"entr\xffy"),
        ("plain.nxs", "entry"),
    ]
    assert main(["detect", str(tmp_path), "--json", "--quiet", "--no-isolate"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert sorted(run["kwargs"]["entry"] for run in shown["runs"]) == ["entr\\xffy", "entry", "entry", "entry"]


def test_forced_hdf5_ingestor_never_opens_a_fifo(fifo):
    # In a subprocess: h5py holds the GIL while it waits on the FIFO, so only a watcher
    # outside that process (this one) can let it go.
    result = subprocess.run(
        [sys.executable, "-m", "intake_ingest.cli", "detect", fifo.path, "--ingestor", "nexus_hdf5",
         "--quiet", "--no-isolate"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert f"unrecognised: {fifo.path} (not a regular file (FIFO))" in result.stdout
    assert not fifo.opened.is_set()
