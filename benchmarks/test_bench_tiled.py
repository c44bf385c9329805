"""Serving through tiled: the package's TiledWriter path against tiled's own directory walker.

Group ``tiled-series``: 100 single-image TIFFs (512x512 uint16), served and read back as
one array through the tiled client. Baseline: ``tiled register`` of the folder (tiled's
walker: a TIFF sequence node) and a read of that node; the package: ``write_plan`` of
the detected run (bluesky's TiledWriter, frames external in place) and a read of
``run["primary"]["image"]``. Each round writes into a container of its own on one
in-process server (SQLite catalog), so nothing is skipped as already there.

Group ``tiled-ingest``: 20 small runs (one 64x64 TIFF stack each) written into tiled
(runs/s = 20 / time), against writing the same runs to msgpack files.
"""

import asyncio
import itertools

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


@pytest.fixture(scope="module")
def small_runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("small-runs")
    rng = np.random.default_rng(4)
    for number in range(20):
        tifffile.imwrite(folder / f"run{number:02d}.tiff", rng.integers(0, 999, (3, 64, 64), dtype=np.uint16), photometric="minisblack")
    plan = detect([str(folder)], ingestor="tiff_stack", progress=False)
    assert len(plan.runs) == 20
    return plan


@pytest.mark.benchmark(group="tiled-ingest")
def test_ingest_to_msgpack_baseline(benchmark, small_runs, tmp_path_factory):
    benchmark.extra_info["role"] = "baseline"

    def write():
        return ingest(small_runs, to=str(tmp_path_factory.mktemp("msgpack")))

    assert benchmark.pedantic(write, **ROUNDS).counts()["ok"] == 20


@pytest.mark.benchmark(group="tiled-ingest")
def test_ingest_to_tiled_sqlite(benchmark, tiled_server, small_runs):
    benchmark.extra_info["role"] = "package"

    def write():
        return write_plan(small_runs, _fresh(tiled_server))

    assert benchmark.pedantic(write, **ROUNDS).counts()["ok"] == 20
