"""A large column text file: ingest and read it, against ``numpy.loadtxt``.

Group ``column-text-20000-rows``: a comma-separated file with a header line and 20,000
rows of 30 numeric columns (4.5 MB). The package: a new catalog,
``upsert(ingest_column_text, ...)`` and ``primary.read()``; the baseline:
``numpy.loadtxt(path, delimiter=",", skiprows=1)``. The run's one event page is checked
against event-model's schema on the way (see ``intake_ingest/ingestors/_schema_check.py``).
"""

import numpy as np
import pytest

from intake_ingest import BlueskyInMemoryCatalog
from intake_ingest.ingestors.column_text import ingest_column_text

ROWS, COLUMNS = 20_000, 30
ROUNDS = dict(rounds=5, iterations=1, warmup_rounds=1)


@pytest.fixture(scope="module")
def csv_file(tmp_path_factory):
    """``(path, table)``: the file and the numbers written to it."""
    rng = np.random.default_rng(20_000)
    table = rng.normal(1000, 100, size=(ROWS, COLUMNS)).round(3)
    path = tmp_path_factory.mktemp("columns") / "scan.csv"
    header = ",".join(f"counter{index}" for index in range(COLUMNS))
    np.savetxt(path, table, delimiter=",", header=header, comments="", fmt="%.3f")
    return str(path), table


@pytest.mark.benchmark(group="column-text-20000-rows")
def test_columns_loadtxt_baseline(benchmark, csv_file):
    path, table = csv_file
    benchmark.extra_info["role"] = "baseline"
    values = benchmark.pedantic(lambda: np.loadtxt(path, delimiter=",", skiprows=1), **ROUNDS)
    np.testing.assert_array_equal(values, table)


@pytest.mark.benchmark(group="column-text-20000-rows")
def test_columns_ingest_read(benchmark, csv_file):
    path, table = csv_file
    benchmark.extra_info["role"] = "package"

    def read():
        catalog = BlueskyInMemoryCatalog()
        uid = catalog.upsert(ingest_column_text, (path,), {})
        return catalog[uid].primary.read()

    dataset = benchmark.pedantic(read, **ROUNDS)
    assert dataset.sizes["time"] == ROWS
    np.testing.assert_array_equal(dataset["counter7"].values, table[:, 7])
