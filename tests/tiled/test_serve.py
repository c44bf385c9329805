"""``intake-ingest serve``: a real tiled server process, its runs read back with tiled's client.

A mixed folder (TIFF series and stack, SPEC, EDF, CBF and Pilatus TIFF, areaDetector HDF5)
is served on a free loopback port with an SQLite catalog in ``tmp_path``; every run is
read through ``tiled.client.from_uri`` (bluesky-tiled-plugins' BlueskyRun) and compared
with ``primary.read()`` of the same run in an in-memory catalog.
"""

import os
import pathlib
import shutil
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest
import tifffile

pytest.importorskip("tiled.server", reason="tiled[server] is not installed")
pytest.importorskip("bluesky.callbacks.tiled_writer", reason="bluesky is not installed")
pytest.importorskip("bluesky_tiled_plugins", reason="bluesky-tiled-plugins is not installed")

from tiled.client import from_uri  # noqa: E402

from intake_ingest.detect import detect, ingest  # noqa: E402
from intake_ingest.tiled.writing import TiledConnectionError, connect, write_plan  # noqa: E402

REAL = pathlib.Path(__file__).resolve().parent.parent / "data" / "real"
KEY = "testkey0123456789"
#: Columns tiled adds to a stream's table beside the data keys.
TABLE_COLUMNS = {"time", "seq_num"}


def mixed_folder(root):
    """The real files of several formats, and a TIFF series and stack, in one folder."""
    for name in ("edf", "pilatus", "spec"):
        shutil.copytree(REAL / name, root / name, ignore=shutil.ignore_patterns("*.md", "*.txt", "fred_header.cbf"))
    shutil.copytree(REAL / "area_detector_hdf5" / "usaxs_pilatus100k", root / "hdf5", ignore=shutil.ignore_patterns("*.md", "*.txt"))
    rng = np.random.default_rng(5)
    (root / "series").mkdir()
    for number in range(1, 6):
        tifffile.imwrite(root / "series" / f"scan_{number:04d}.tiff", rng.integers(0, 60000, (24, 32), dtype=np.uint16))
    (root / "stack").mkdir()
    tifffile.imwrite(root / "stack" / "stack.tiff", rng.integers(0, 255, (6, 16, 20), dtype=np.uint8), photometric="minisblack")
    return root


class Server:
    """``python -m intake_ingest.cli.serve`` in a process of its own; its address once it has ingested."""

    def __init__(self, paths, catalog, extra=(), key=KEY):
        env = {**os.environ, "TILED_SINGLE_USER_API_KEY": key}
        command = [sys.executable, "-m", "intake_ingest.cli.serve", *map(str, paths), "--catalog", str(catalog), "--port", "0", *extra]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        first = self.process.stdout.readline()
        if not first.startswith("tiled server: http://127.0.0.1:"):
            self.stop()
            pytest.fail(f"the server did not start: {first}{self.process.stderr.read()}")
        self.uri = first.split()[2]
        assert "api_key" not in first  # a key from the environment is not printed
        self.summary = []  # up to the line saying it serves
        while not (line := self.process.stdout.readline()).startswith("serving "):
            if not line:
                pytest.fail(f"the server stopped: {''.join(self.summary)}{self.process.stderr.read()}")
            self.summary.append(line)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = mixed_folder(tmp_path_factory.mktemp("beamtime"))
    catalog = tmp_path_factory.mktemp("catalog")
    server = Server([root], catalog)
    yield server, root, catalog
    server.stop()


def tiled_dataset(run, stream="primary"):
    return run[stream].read()


def test_every_run_reads_back_equal_to_the_in_memory_catalog(served):
    server, root, _ = served
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan = detect([str(root)])
        memory = ingest(plan).catalog
    client = from_uri(server.uri, api_key=KEY)
    assert sorted(client) == sorted(memory)
    assert len(client) == len(plan.runs) >= 8
    ingestors = set()
    for uid in memory:
        expected = memory[uid].primary.read()
        run = client[uid]
        assert type(run).__name__.startswith("BlueskyRun")  # bluesky-tiled-plugins' view
        ingestors.add(run.start["ingestor"])
        got = tiled_dataset(run)
        data_keys = set(expected.data_vars) - {"uid", "seq_num"}  # this package's view adds both
        assert set(got.data_vars) - TABLE_COLUMNS - {name for name in got.data_vars if name.startswith("ts_")} == data_keys
        for name in data_keys:
            np.testing.assert_array_equal(np.asarray(got[name]), np.asarray(expected[name]), err_msg=f"{uid} {name}")
    assert {"tiff_stack", "spec", "esrf_edf", "pilatus_cbf", "pilatus_tiff", "area_detector_hdf5"} <= ingestors
    assert ingestors & {"tiff_series", "tiff_series_dask"}


def test_pixels_stay_where_they_are(served):
    server, root, catalog = served
    client = from_uri(server.uri, api_key=KEY, include_data_sources=True)
    checked = 0
    for uid in client:
        run = client[uid]
        stream = run["primary"]
        for key in stream.base:
            if key == "internal":
                continue
            (source,) = stream.base[key].data_sources()
            assert source.management == "external"
            assert all(asset.data_uri.startswith(f"file://localhost{root}") for asset in source.assets)
            checked += 1
    assert checked >= 7
    assert not any((pathlib.Path(catalog) / "data").rglob("*.*"))  # nothing copied into tiled's storage


def test_runs_are_searchable_by_runstart_fields(served):
    from tiled.queries import Key

    server, _, _ = served
    client = from_uri(server.uri, api_key=KEY)
    scans = client.search(Key("start.ingestor") == "spec")
    assert len(scans) == 2 and {scans[uid].start["scan_id"] for uid in scans} == {1, 2}


def test_a_run_that_fails_is_named_and_the_others_written(tmp_path):
    folder = tmp_path / "data"
    shutil.copytree(REAL / "pilatus", folder, ignore=shutil.ignore_patterns("*.md", "*.txt", "series"))
    server = Server([folder], tmp_path / "catalog")
    try:
        assert server.summary[0].startswith("3 run(s) written to") and "1 failed" in server.summary[0]
        assert server.summary[1].strip() == (
            f"failed: {folder}/fred_header.cbf: ends before the start of its binary data section (a truncated or damaged CBF file)"
        )
        assert len(from_uri(server.uri, api_key=KEY)) == 3
    finally:
        server.stop()


def test_unreachable_server_and_wrong_key_are_one_line_errors(served, monkeypatch):
    import tiled.client.utils

    monkeypatch.setattr(tiled.client.utils, "TILED_RETRY_ATTEMPTS", 1)  # not ten tries of a closed port
    server, _, _ = served
    with pytest.raises(TiledConnectionError, match=r"^the tiled server at http://127\.0\.0\.1:\d+ refused the API key$"):
        connect(server.uri, api_key="wrong")
    with pytest.raises(TiledConnectionError, match=r"^cannot reach a tiled server at http://127\.0\.0\.1:9 "):
        connect("http://127.0.0.1:9", api_key=KEY)


def test_serving_the_same_files_again_writes_nothing_new(served):
    server, root, _ = served
    client = connect(server.uri, KEY)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = write_plan(detect([str(root / "stack"), str(root / "series")]), client)
    assert result.counts() == {"ok": 0, "skipped": 2, "error": 0}
