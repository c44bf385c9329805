"""The same runs in a tiled catalog on PostgreSQL (a deployment several servers share).

The cluster is the one ``.ci/run`` starts (``INTAKE_INGEST_POSTGRES_URI``), or one this
module starts with ``.ci/postgres.sh``; the tests skip, saying why, only where no
PostgreSQL server can start.
"""

import os
import pathlib
import shutil
import subprocess
import warnings

import numpy as np
import pytest
import tifffile

pytest.importorskip("tiled.server", reason="tiled[server] is not installed")
pytest.importorskip("bluesky.callbacks.tiled_writer", reason="bluesky is not installed")
pytest.importorskip("asyncpg", reason="tiled's PostgreSQL driver (asyncpg) is not installed")

from intake_ingest.detect import detect, ingest  # noqa: E402
from intake_ingest.tiled.server import ServerThread, catalog_tree  # noqa: E402
from intake_ingest.tiled.writing import connect, write_plan  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
REAL = ROOT / "tests" / "data" / "real"
SCRIPT = ROOT / ".ci" / "postgres.sh"


@pytest.fixture(scope="module")
def postgres_uri():
    uri = os.environ.get("INTAKE_INGEST_POSTGRES_URI")
    if uri:
        yield uri
        return
    started = subprocess.run([str(SCRIPT)], capture_output=True, text=True)
    if started.returncode != 0:
        pytest.skip(f"PostgreSQL cannot start here: {started.stderr.strip().splitlines()[-1] if started.stderr.strip() else 'no reason given'}")
    uri = started.stdout.strip()
    yield uri
    subprocess.run([str(SCRIPT), "stop", uri], check=False)


def test_runs_in_a_postgresql_catalog_read_back_equal(postgres_uri, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # tiled's own files (none for these runs) go to ./tiled-data
    folder = tmp_path / "beamtime"
    shutil.copytree(REAL / "spec", folder / "spec", ignore=shutil.ignore_patterns("*.md", "*.txt"))
    (folder / "series").mkdir()
    rng = np.random.default_rng(9)
    for number in range(3):
        tifffile.imwrite(folder / "series" / f"img_{number:03d}.tif", rng.integers(0, 999, (8, 12), dtype=np.uint16))
    plan = detect([str(folder)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        memory = ingest(plan).catalog
    key = "postgreskey123"
    with ServerThread(catalog_tree(postgres_uri, readable=[folder]), key) as server:
        client = connect(server.uri, key)
        result = write_plan(plan, client)
        assert result.ok, result.summary()
        # the same files again: nothing new (the catalog outlives a server: another may share it)
        assert write_plan(plan, client).counts()["skipped"] == len(plan.runs)
        for uid in memory:
            expected = memory[uid].primary.read()
            got = client[uid]["primary"].read()
            data_keys = set(expected.data_vars) - {"uid", "seq_num"}  # this package's view adds both
            assert data_keys <= set(got.data_vars)
            for name in data_keys:
                np.testing.assert_array_equal(np.asarray(got[name]), np.asarray(expected[name]), err_msg=name)
        for uid in list(client):  # a shared cluster: leave it as found
            client.delete_contents(uid, recursive=True, external_only=False)
