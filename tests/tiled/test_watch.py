"""``serve --watch``: files that appear become runs; a file still being written is not taken.

The watcher is :class:`intake_ingest.detect.watching.Watcher` with a
:class:`~intake_ingest.tiled.sink.TiledSink`: first in this process against a server
thread (pass by pass), then end to end, ``intake-ingest serve --watch`` in a process of
its own, read with tiled's client.
"""

import select
import time

import numpy as np
import pytest
import tifffile

pytest.importorskip("tiled.server", reason="tiled[server] is not installed")
pytest.importorskip("bluesky.callbacks.tiled_writer", reason="bluesky is not installed")
pytest.importorskip("bluesky_tiled_plugins", reason="bluesky-tiled-plugins is not installed")

from tiled.client import from_uri  # noqa: E402

from intake_ingest.detect.watching import Watcher  # noqa: E402
from intake_ingest.tiled.server import ServerThread, catalog_tree  # noqa: E402
from intake_ingest.tiled.sink import TiledSink  # noqa: E402
from intake_ingest.tiled.writing import connect  # noqa: E402

from .test_serve import KEY, Server  # noqa: E402


def frame(seed):
    return np.random.default_rng(seed).integers(0, 999, (8, 10), dtype=np.uint16)


def test_new_files_become_runs_and_a_growing_series_replaces_its_run(tmp_path):
    folder = tmp_path / "beamtime"
    folder.mkdir()
    for number in (1, 2):
        tifffile.imwrite(folder / f"scan_{number:03d}.tif", frame(number))
    with ServerThread(catalog_tree(tmp_path / "catalog", readable=[folder]), KEY) as server:
        client = connect(server.uri, KEY)
        watcher = Watcher([str(folder)], TiledSink(client))
        assert watcher.once() == [] and len(client) == 0  # files just seen: not settled yet
        (made,) = watcher.once()
        assert made.kind == "new"
        (uid,) = list(client)
        assert made.result.uid == uid
        assert client[uid]["primary"].read()["image"].shape == (2, 8, 10)

        # A third frame is being written: half a file, then the rest.
        whole = (folder / "scan_001.tif").read_bytes()
        (folder / "scan_003.tif").write_bytes(whole[: len(whole) // 2])
        assert watcher.once() == []
        assert watcher.once() == []  # unchanged, but cut short: it waits
        assert list(client) == [uid]
        tifffile.imwrite(folder / "scan_003.tif", frame(3))
        assert watcher.once() == []  # changed since the last pass: not settled yet
        (grown,) = watcher.once()
        assert grown.kind == "updated" and grown.replaced == [uid]
        assert list(client) == [grown.result.uid]  # the longer series replaced the shorter one
        np.testing.assert_array_equal(
            client[grown.result.uid]["primary"].read()["image"], np.stack([frame(1), frame(2), frame(3)])
        )
        assert watcher.once() == []  # nothing new


def test_a_file_that_fails_is_retried_only_once_it_changes(tmp_path):
    folder = tmp_path / "beamtime"
    folder.mkdir()
    (folder / "broken.edf").write_bytes(b"{\nHeaderID = EH:000001:000000:000000 ;\nDim_1 = 4 ;\n")
    with ServerThread(catalog_tree(tmp_path / "catalog", readable=[folder]), KEY) as server:
        client = connect(server.uri, KEY)
        watcher = Watcher([str(folder)], TiledSink(client))
        watcher.once()
        (failed,) = watcher.once()
        assert failed.kind == "failed" and "broken.edf" in failed.message
        assert watcher.once() == []  # the same bytes: not tried again
        assert len(client) == 0


def _lines_until(process, wanted, timeout=60):
    """stdout lines of ``process`` up to the first one starting with ``wanted``."""
    lines, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.5)
        if ready:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith(wanted):
                return lines
    pytest.fail(f"no line starting {wanted!r} within {timeout} s: {''.join(lines)}")


def test_serve_watch_end_to_end(tmp_path):
    folder = tmp_path / "beamtime"
    folder.mkdir()
    for number in (1, 2):
        tifffile.imwrite(folder / f"scan_{number:03d}.tif", frame(number))
    server = Server([folder], tmp_path / "catalog", extra=["--watch"])
    try:
        client = from_uri(server.uri, api_key=KEY)
        (first,) = list(client)
        assert client[first]["primary"].read()["image"].shape == (2, 8, 10)

        # Half a frame: passes go by (a pass a second) and it is not taken.
        whole = (folder / "scan_001.tif").read_bytes()
        (folder / "scan_003.tif").write_bytes(whole[: len(whole) // 2])
        time.sleep(4)
        assert list(client) == [first]
        # Whole now: the series of three replaces the run of two.
        tifffile.imwrite(folder / "scan_003.tif", frame(3))
        line = _lines_until(server.process, "updated:")[-1]
        assert f"replaces {first}" in line
        (grown,) = list(client)
        assert grown != first and grown in line
        np.testing.assert_array_equal(client[grown]["primary"].read()["image"], np.stack([frame(1), frame(2), frame(3)]))

        # A file of another kind is a new run beside it.
        tifffile.imwrite(folder / "stack.tiff", np.stack([frame(7), frame(8)]), photometric="minisblack")
        line = _lines_until(server.process, "new:")[-1]
        assert "stack.tiff" in line
        assert len(client) == 2
    finally:
        server.stop()
