"""Serving through tiled: the package's TiledWriter path against tiled's own directory walker.

Group ``tiled-series``: 100 single-image TIFFs (512x512 uint16), served and read back as
one array through the tiled client. Baseline: ``tiled register`` of the folder (tiled's
walker: a TIFF sequence node) and a read of that node; the package: ``write_plan`` of
the detected run (bluesky's TiledWriter, frames external in place) and a read of
``run["primary"]["image"]``. Each round writes into a container of its own on one
in-process server (SQLite catalog), so nothing is skipped as already there.

Group ``tiled-ingest-1000``: 1,000 small runs (one 3x64x64 TIFF stack each, frames
external) written into tiled with an SQLite catalog and with a PostgreSQL one (runs/s in
``extra_info``), against writing the same runs to msgpack files. One round each: a round
takes minutes (every run is seven requests to the server, each ~50-100 ms of tiled's
own work on a loaded 2-core machine). Under ``--benchmark-disable`` (the CI smoke run)
there are 20 runs, not 1,000. PostgreSQL is the cluster of ``INTAKE_INGEST_POSTGRES_URI``
(``.ci/run`` starts one) or one ``.ci/postgres.sh`` starts; its benchmark skips, saying
why, where none can start.
"""

import asyncio
import itertools
import os
import pathlib
import subprocess

import numpy as np
import pytest
import tifffile

pytest.importorskip("tiled.server")
pytest.importorskip("bluesky.callbacks.tiled_writer")

from tiled.client.register import register  # noqa: E402

from intake_ingest.detect import detect, ingest  # noqa: E402
from intake_ingest.tiled.server import ServerThread, catalog_tree  # noqa: E402
from intake_ingest.tiled.writing import connect, write_plan  # noqa: E402

ROUNDS = dict(rounds=5, iterations=1, warmup_rounds=1)
KEY = "benchkey123"
_counter = itertools.count()


@pytest.fixture(scope="module")
def tiled_server(tmp_path_factory, tiff_series):
    folder = tmp_path_factory.mktemp("tiled-catalog")
    series_folder = str(tiff_series[0]).rsplit("/", 1)[0]
    with ServerThread(catalog_tree(folder, readable=[series_folder, str(tmp_path_factory.getbasetemp())]), KEY) as server:
        yield connect(server.uri, KEY)


def _fresh(client):
    return client.create_container(key=f"round{next(_counter)}")


def _array_nodes(node):
    for key in node:
        child = node[key]
        if child.structure_family == "array":
            yield child
        elif child.structure_family == "container":
            yield from _array_nodes(child)


@pytest.mark.benchmark(group="tiled-series")
def test_tiled_register_baseline(benchmark, tiled_server, tiff_series):
    pattern, images = tiff_series
    folder = pattern.rsplit("/", 1)[0]
    benchmark.extra_info["role"] = "baseline"

    def serve_and_read():
        container = _fresh(tiled_server)
        asyncio.run(register(container, folder))
        (node,) = [node for node in _array_nodes(container) if node.shape == images.shape]
        return node.read()

    np.testing.assert_array_equal(benchmark.pedantic(serve_and_read, **ROUNDS), images)


@pytest.mark.benchmark(group="tiled-series")
def test_tiled_write_plan(benchmark, tiled_server, tiff_series):
    pattern, images = tiff_series
    plan = detect([pattern.rsplit("/", 1)[0]], progress=False)
    benchmark.extra_info["role"] = "package"

    def serve_and_read():
        container = _fresh(tiled_server)
        result = write_plan(plan, container)
        return container[result.uids[0]]["primary"]["image"].read()

    np.testing.assert_array_equal(benchmark.pedantic(serve_and_read, **ROUNDS), images)


#: Runs written in the ingest group (CI smoke run: ``SMOKE_RUNS``).
RUNS, SMOKE_RUNS = 1000, 20
ONCE = dict(rounds=1, iterations=1, warmup_rounds=0)
POSTGRES_SCRIPT = pathlib.Path(__file__).resolve().parent.parent / ".ci" / "postgres.sh"


@pytest.fixture(scope="module")
def small_runs(tmp_path_factory, request):
    count = SMOKE_RUNS if request.config.getoption("benchmark_disable", False) else RUNS
    folder = tmp_path_factory.mktemp("small-runs")
    rng = np.random.default_rng(4)
    for number in range(count):
        tifffile.imwrite(folder / f"run{number:04d}.tiff", rng.integers(0, 999, (3, 64, 64), dtype=np.uint16), photometric="minisblack")
    plan = detect([str(folder)], ingestor="tiff_stack", progress=False)
    assert len(plan.runs) == count
    return plan


@pytest.fixture(scope="module")
def postgres_server(tmp_path_factory):
    """A tiled server on a PostgreSQL catalog: its client (runs left there are deleted at the end)."""
    pytest.importorskip("asyncpg", reason="tiled's PostgreSQL driver (asyncpg) is not installed")
    uri, started = os.environ.get("INTAKE_INGEST_POSTGRES_URI"), False
    if not uri:
        run = subprocess.run([str(POSTGRES_SCRIPT)], capture_output=True, text=True)
        if run.returncode != 0:
            pytest.skip(f"PostgreSQL cannot start here: {run.stderr.strip() or 'no reason given'}")
        uri, started = run.stdout.strip(), True
    here = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("postgres-data"))  # tiled's own files (none here) go to ./tiled-data
    try:
        with ServerThread(catalog_tree(uri, readable=[str(tmp_path_factory.getbasetemp())]), KEY) as server:
            client = connect(server.uri, KEY)
            yield client
            for key in list(client):  # a shared cluster: leave it as found
                client.delete_contents(key, recursive=True, external_only=False)
    finally:
        os.chdir(here)
        if started:
            subprocess.run([str(POSTGRES_SCRIPT), "stop", uri], check=False)


def _runs_per_second(benchmark, count):
    if benchmark.stats is not None:
        benchmark.extra_info["runs_per_second"] = round(count / benchmark.stats.stats.median, 2)


@pytest.mark.benchmark(group="tiled-ingest-1000")
def test_ingest_to_msgpack_baseline(benchmark, small_runs, tmp_path_factory):
    benchmark.extra_info["role"] = "baseline"

    def write():
        return ingest(small_runs, to=str(tmp_path_factory.mktemp("msgpack")))

    assert benchmark.pedantic(write, **ONCE).counts()["ok"] == len(small_runs.runs)
    _runs_per_second(benchmark, len(small_runs.runs))


@pytest.mark.benchmark(group="tiled-ingest-1000")
def test_ingest_to_tiled_sqlite(benchmark, tiled_server, small_runs):
    benchmark.extra_info["role"] = "package"

    def write():
        return write_plan(small_runs, _fresh(tiled_server))

    assert benchmark.pedantic(write, **ONCE).counts()["ok"] == len(small_runs.runs)
    _runs_per_second(benchmark, len(small_runs.runs))


@pytest.mark.benchmark(group="tiled-ingest-1000")
def test_ingest_to_tiled_postgresql(benchmark, postgres_server, small_runs):
    benchmark.extra_info["role"] = "package"

    def write():
        return write_plan(small_runs, _fresh(postgres_server))

    assert benchmark.pedantic(write, **ONCE).counts()["ok"] == len(small_runs.runs)
    _runs_per_second(benchmark, len(small_runs.runs))
