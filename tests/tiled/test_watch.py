"""``serve --watch``: files that appear become runs; a file still being written is not taken."""

import numpy as np
import pytest
import tifffile

pytest.importorskip("tiled.server", reason="tiled[server] is not installed")
pytest.importorskip("bluesky.callbacks.tiled_writer", reason="bluesky is not installed")

from intake_ingest.tiled.server import ServerThread, catalog_tree  # noqa: E402
from intake_ingest.tiled.watch import Watcher  # noqa: E402
from intake_ingest.tiled.writing import connect  # noqa: E402

KEY = "watchkey123"


def frame(seed):
    return np.random.default_rng(seed).integers(0, 999, (8, 10), dtype=np.uint16)


def test_new_files_become_runs_and_a_growing_series_replaces_its_run(tmp_path):
    folder = tmp_path / "beamtime"
    folder.mkdir()
    for number in (1, 2):
        tifffile.imwrite(folder / f"scan_{number:03d}.tif", frame(number))
    with ServerThread(catalog_tree(tmp_path / "catalog", readable=[folder]), KEY) as server:
        client = connect(server.uri, KEY)
        watcher = Watcher([str(folder)], client)
        assert watcher.poll() is None and len(client) == 0  # files just seen: not settled yet
        assert watcher.poll().counts()["ok"] == 1
        (uid,) = list(client)
        assert client[uid]["primary"].read()["image"].shape == (2, 8, 10)

        # A third frame is being written: half a file, then the rest.
        whole = (folder / "scan_001.tif").read_bytes()
        (folder / "scan_003.tif").write_bytes(whole[: len(whole) // 2])
        watcher.poll()
        assert list(client) == [uid]  # not taken while it changes
        tifffile.imwrite(folder / "scan_003.tif", frame(3))
        watcher.poll()
        assert list(client) == [uid]  # changed since the last pass: still not settled
        assert watcher.poll().counts()["ok"] == 1
        (grown,) = list(client)  # the longer series replaced the shorter one
        assert grown != uid
        np.testing.assert_array_equal(client[grown]["primary"].read()["image"], np.stack([frame(1), frame(2), frame(3)]))
        assert watcher.poll() is None  # nothing new


def test_a_file_that_fails_is_retried_only_once_it_changes(tmp_path):
    folder = tmp_path / "beamtime"
    folder.mkdir()
    (folder / "broken.edf").write_bytes(b"{\nHeaderID = EH:000001:000000:000000 ;\nDim_1 = 4 ;\n")
    with ServerThread(catalog_tree(tmp_path / "catalog", readable=[folder]), KEY) as server:
        watcher = Watcher([str(folder)], connect(server.uri, KEY))
        watcher.poll()
        result = watcher.poll()
        assert result is not None and result.counts()["error"] == 1
        assert "broken.edf" in result.errors[0].message
        assert watcher.poll() is None  # the same bytes: not tried again
