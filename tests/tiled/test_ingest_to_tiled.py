"""``ingest(plan, to=tiled_client)`` in Python: the runs go into a running tiled server.

The server is a real one (uvicorn in a thread of this process, SQLite catalog in
``tmp_path``); one run of the plan cannot be read: it is reported, naming its file, and
every other run is written and reads back equal to the in-memory catalog.
"""

import pathlib
import shutil
import warnings

import numpy as np
import pytest

pytest.importorskip("tiled.server", reason="tiled[server] is not installed")
pytest.importorskip("bluesky.callbacks.tiled_writer", reason="bluesky is not installed")

from intake_ingest.detect import detect, ingest  # noqa: E402
from intake_ingest.tiled.server import ServerThread, catalog_tree  # noqa: E402
from intake_ingest.tiled.writing import connect  # noqa: E402

REAL = pathlib.Path(__file__).resolve().parent.parent / "data" / "real"
KEY = "ingestkey123"


def test_ingest_to_a_tiled_client_writes_the_good_runs_and_names_the_bad_one(tmp_path):
    folder = tmp_path / "data"
    shutil.copytree(REAL / "pilatus", folder, ignore=shutil.ignore_patterns("*.md", "*.txt", "series"))
    plan = detect([str(folder)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        memory = ingest(plan).catalog
    with ServerThread(catalog_tree(tmp_path / "catalog", readable=[folder]), KEY) as server:
        client = connect(server.uri, KEY)
        result = ingest(plan, to=client)
        assert result.target == "tiled" and len(result.results) == len(plan.runs)
        (failed,) = result.errors
        assert failed.message == (
            f"{folder}/fred_header.cbf: ends before the start of its binary data section (a truncated or damaged CBF file)"
        )
        written = [outcome.uid for outcome in result.results if outcome.status == "ok"]
        assert len(written) == len(plan.runs) - 1 >= 2
        assert sorted(client) == sorted(written)
        for uid in written:
            expected = memory[uid].primary.read()
            got = client[uid]["primary"].read()
            for name in set(expected.data_vars) - {"uid", "seq_num"}:
                np.testing.assert_array_equal(np.asarray(got[name]), np.asarray(expected[name]), err_msg=f"{uid} {name}")
        # Again: nothing new is written, the bad run fails again.
        again = ingest(plan, to=client)
        assert again.counts() == {"ok": 0, "skipped": len(written), "error": 1}
