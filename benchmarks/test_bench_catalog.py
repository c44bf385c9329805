"""The in-memory catalog with 10,000 small runs: adding them, and searching them.

Group ``upsert-10000-runs``: ``catalog.upsert`` of 10,000 tiny generated runs into a
new catalog; baseline: pulling the RunStart of the same 10,000 generators into a plain
dict (composing documents is a cost the catalog cannot avoid).

Groups ``search-num-lt-100`` and ``search-sample-regex``: ``catalog.search(query)``;
baseline: a list comprehension matching the same RunStart documents with mongoquery.
"""

import event_model
import pytest
from mongoquery import Query

from intake_ingest import BlueskyInMemoryCatalog

N_RUNS = 10_000
QUERY_NUM = {"num": {"$lt": 100}}
QUERY_SAMPLE = {"sample": {"$regex": "^s1"}}  # s1, s10..s19: 11 of 100 samples


def tiny_run(i):
    """A run of one event with one scalar; RunStart metadata ``sample`` and ``num``."""
    run = event_model.compose_run(metadata={"sample": f"s{i % 100}", "num": i})
    yield "start", run.start_doc
    stream = run.compose_descriptor(
        data_keys={"x": {"dtype": "number", "shape": [], "source": "benchmark"}}, name="primary"
    )
    yield "descriptor", stream.descriptor_doc
    yield "event", stream.compose_event(data={"x": float(i)}, timestamps={"x": 0.0})
    yield "stop", run.compose_stop()


def upsert_all():
    catalog = BlueskyInMemoryCatalog()
    for i in range(N_RUNS):
        catalog.upsert(tiny_run, (i,), {})
    return catalog


def starts_only():
    starts = {}
    for i in range(N_RUNS):
        _, start = next(tiny_run(i))
        starts[start["uid"]] = start
    return starts


@pytest.fixture(scope="module")
def full_catalog():
    """``(catalog, starts)``: 10,000 upserted runs, and their RunStarts in catalog order."""
    catalog = upsert_all()
    starts = [catalog._entries[uid].start for uid in catalog]
    return catalog, starts


# -- upsert ------------------------------------------------------------------------------


@pytest.mark.benchmark(group="upsert-10000-runs")
def test_upsert_compose_starts_baseline(benchmark):
    benchmark.extra_info["role"] = "baseline"
    starts = benchmark.pedantic(starts_only, rounds=3, iterations=1, warmup_rounds=0)
    assert len(starts) == N_RUNS


@pytest.mark.benchmark(group="upsert-10000-runs")
def test_upsert_all(benchmark):
    benchmark.extra_info["role"] = "package"
    catalog = benchmark.pedantic(upsert_all, rounds=3, iterations=1, warmup_rounds=0)
    assert len(catalog) == N_RUNS
    uids = list(catalog)
    assert catalog._entries[uids[0]].start["num"] == 0
    assert catalog._entries[uids[-1]].start["num"] == N_RUNS - 1
    # Upsert pulls only the RunStart; the run is still readable afterwards.
    dataset = catalog[uids[7]].primary.read()
    assert dataset["x"].values.tolist() == [7.0]


# -- search ------------------------------------------------------------------------------


def _baseline_search(starts, query):
    matcher = Query(query)
    return [start for start in starts if matcher.match(start)]


def _check_search(result, starts, query, expected_count):
    expected = [start["uid"] for start in _baseline_search(starts, query)]
    assert len(expected) == expected_count
    assert list(result) == expected
    assert len(result) == expected_count


@pytest.mark.benchmark(group="search-num-lt-100")
def test_search_num_baseline(benchmark, full_catalog):
    _, starts = full_catalog
    benchmark.extra_info["role"] = "baseline"
    matched = benchmark(_baseline_search, starts, QUERY_NUM)
    assert sorted(start["num"] for start in matched) == list(range(100))


@pytest.mark.benchmark(group="search-num-lt-100")
def test_search_num(benchmark, full_catalog):
    catalog, starts = full_catalog
    benchmark.extra_info["role"] = "package"
    result = benchmark(catalog.search, QUERY_NUM)
    _check_search(result, starts, QUERY_NUM, 100)


@pytest.mark.benchmark(group="search-sample-regex")
def test_search_sample_baseline(benchmark, full_catalog):
    _, starts = full_catalog
    benchmark.extra_info["role"] = "baseline"
    matched = benchmark(_baseline_search, starts, QUERY_SAMPLE)
    assert len(matched) == 11 * N_RUNS // 100
    assert all(start["sample"].startswith("s1") for start in matched)


@pytest.mark.benchmark(group="search-sample-regex")
def test_search_sample(benchmark, full_catalog):
    catalog, starts = full_catalog
    benchmark.extra_info["role"] = "package"
    result = benchmark(catalog.search, QUERY_SAMPLE)
    _check_search(result, starts, QUERY_SAMPLE, 11 * N_RUNS // 100)
