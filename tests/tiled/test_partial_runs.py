"""Runs without a RunStop reach tiled whole: every event readable, no RunStop made up.

bluesky's TiledWriter keeps rows back until its batch is full or the RunStop comes; a run
cut short has no RunStop. The server is a real one (uvicorn in a thread of this process,
SQLite catalog in ``tmp_path``). The partial run is the real SPEC file of
``tests/data/real/spec`` cut in the middle of a data line of its second scan; the run
with external frames is the real PILATUS TIFF series without its RunStop (a writer that
stopped before the end).
"""

import pathlib
import shutil
import warnings

import numpy as np
import pytest

pytest.importorskip("tiled.server", reason="tiled[server] is not installed")
pytest.importorskip("bluesky.callbacks.tiled_writer", reason="bluesky is not installed")

from intake_ingest import IngestWarning  # noqa: E402
from intake_ingest.detect import detect, ingest  # noqa: E402
from intake_ingest.tiled.server import ServerThread, catalog_tree  # noqa: E402
from intake_ingest.tiled.writing import connect, run_documents, write_documents  # noqa: E402

REAL = pathlib.Path(__file__).resolve().parent.parent / "data" / "real"
SPEC = REAL / "spec" / "pressure_calibration_scans_1_2.dat"
KEY = "partialkey123"


def cut_spec_file(folder):
    """The real SPEC file, cut half-way through a data line in the middle of scan 2."""
    lines = SPEC.read_text().splitlines()
    scan_2 = next(index for index, line in enumerate(lines) if line.startswith("#S 2 "))
    data = [index for index, line in enumerate(lines) if index > scan_2 and line[:1] in "-0123456789" and line.strip()]
    cut = data[len(data) // 2]
    kept = lines[:cut] + [" ".join(lines[cut].split()[:5])]
    path = folder / "cut.dat"
    path.write_text("\n".join(kept) + "\n")
    return path


def assert_streams_equal(got_run, expected_run, stream):
    expected = getattr(expected_run, stream).read()
    got = got_run[stream].read()
    names = set(expected.data_vars) - {"uid", "seq_num"}  # this package's view adds both
    assert names and names <= set(got.data_vars)
    for name in names:
        assert got[name].shape == expected[name].shape, name
        np.testing.assert_array_equal(np.asarray(got[name]), np.asarray(expected[name]), err_msg=f"{stream} {name}")


@pytest.fixture
def server(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    with ServerThread(catalog_tree(tmp_path / "catalog", readable=[folder, REAL]), KEY) as running:
        yield running, folder


def test_a_spec_scan_cut_short_reads_back_whole_and_without_a_runstop(server):
    running, folder = server
    plan = detect(str(cut_spec_file(folder)), progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IngestWarning)
        memory = ingest(plan, progress=False).catalog
        client = connect(running.uri, KEY)
        result = ingest(plan, to=client)
    assert [(run.status, run.ending) for run in result.results] == [("ok", "complete"), ("ok", "partial")]
    assert result.results[1].shown_status == "partial"
    complete, partial = (client[run.uid] for run in result.results)
    assert "stop" in complete.metadata
    assert "stop" not in partial.metadata  # none is made up: the file has none
    for run in result.results:
        for stream in ("primary", "baseline"):
            assert_streams_equal(client[run.uid], memory[run.uid], stream)
    n_events = len(memory[result.results[1].uid].primary.read()["time"])
    assert 1 < n_events < 40  # cut short: scan 2 planned 41 points

    # Served again: the complete run is skipped, the partial one written again (it may have grown).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IngestWarning)
        again = ingest(plan, to=client)
    assert [run.message for run in again.results] == ["already on the server", "replaced"]
    assert sorted(client) == sorted(memory)
    assert_streams_equal(client[result.results[1].uid], memory[result.results[1].uid], "primary")


def test_external_frames_of_a_run_without_runstop_are_all_registered(server, tmp_path):
    running, _ = server
    series = tmp_path / "series"
    shutil.copytree(REAL / "pilatus" / "series", series, ignore=shutil.ignore_patterns("*.txt", "*.md"))
    with ServerThread(catalog_tree(tmp_path / "catalog2", readable=[series]), KEY) as second:
        (run,) = detect(str(series), progress=False).runs
        memory = ingest(detect(str(series), progress=False), progress=False).catalog
        documents = [(name, doc) for name, doc in run_documents(run) if name != "stop"]
        assert sum(name == "stream_datum" for name, _ in documents) == 3  # one per frame, as made
        client = connect(second.uri, KEY)
        uid, outcome = write_documents(documents, client, str(series))
        assert outcome == "written"
        got = client.include_data_sources()[uid]
        assert "stop" not in got.metadata
        (source,) = got["primary"].base["image"].data_sources()
        assert source.management == "external" and len(source.assets) == 3
        assert_streams_equal(client[uid], memory[uid], "primary")
