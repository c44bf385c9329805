"""What crash isolation costs: ingest and detection of many small runs, in a worker process or not.

Group ``ingest-200-runs``: a folder of 200 small TIFF stacks (one run each), planned
once, then ``ingest(plan, to=folder, overwrite=True)``. The baseline reads and writes
every run in this process (``isolate=False``); ``isolated`` starts a worker process
(``spawn``) and reads and writes every run there, as the command line does;
``isolated_warm_worker`` uses a worker already started, so its ratio is the cost per
run of the isolation itself (a request and a reply per run), without the start-up.
The isolated benchmarks run with the default time limit (a shared-memory counter moved
per document, read by the parent every 50 ms while it waits);
``isolated_warm_worker_no_limit`` runs without one (``timeout=None``): the difference
is what the limit costs.

Group ``detect-200-runs``: ``detect(folder)`` of the same files, in this process
(baseline) and with sniffing in one worker batch (``isolate=True``, worker start-up
included, and with a warm worker).

The overhead per run is printed at the end of the session (from the medians), e.g.
``isolation: +3.1 ms per run ...``.
"""

import numpy as np
import pytest
import tifffile

from intake_ingest.detect import detect, ingest
from intake_ingest.detect.isolation import IsolatedWorker

N_RUNS = 200

MEDIANS = {}


@pytest.fixture(scope="module")
def many_runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs")
    for number in range(N_RUNS):
        tifffile.imwrite(folder / f"stack_{number:04d}.tif", np.full((2, 8, 8), number, np.uint16), photometric="minisblack")
    plan = detect(str(folder), progress=False)
    assert len(plan.runs) == N_RUNS and {run.ingestor for run in plan.runs} == {"tiff_stack"}
    return str(folder), plan


@pytest.fixture(scope="module")
def warm_worker():
    with IsolatedWorker() as worker:
        worker.call(len, "started")  # the start-up is paid here, not in the timing
        yield worker


def _ingest(plan, to, isolate, **limit):
    result = ingest(plan, to=to, overwrite=True, progress=False, isolate=isolate, **limit)
    assert result.counts() == {"ok": N_RUNS, "skipped": 0, "error": 0}
    return result


def _record(benchmark, role):
    benchmark.extra_info["role"] = role
    MEDIANS[(benchmark.group, role)] = benchmark


@pytest.mark.benchmark(group="ingest-200-runs")
def test_ingest_in_process_baseline(benchmark, many_runs, tmp_path):
    _record(benchmark, "baseline")
    benchmark.pedantic(_ingest, args=(many_runs[1], str(tmp_path), False), rounds=3, iterations=1)


@pytest.mark.benchmark(group="ingest-200-runs")
def test_ingest_isolated(benchmark, many_runs, tmp_path):
    _record(benchmark, "isolated")
    benchmark.pedantic(_ingest, args=(many_runs[1], str(tmp_path), True), rounds=3, iterations=1)


@pytest.mark.benchmark(group="ingest-200-runs")
def test_ingest_isolated_warm_worker(benchmark, many_runs, tmp_path, warm_worker):
    _record(benchmark, "isolated_warm_worker")
    benchmark.pedantic(_ingest, args=(many_runs[1], str(tmp_path), warm_worker), rounds=3, iterations=1)


@pytest.mark.benchmark(group="ingest-200-runs")
def test_ingest_isolated_warm_worker_no_time_limit(benchmark, many_runs, tmp_path, warm_worker):
    _record(benchmark, "isolated_warm_worker_no_limit")
    benchmark.pedantic(_ingest, args=(many_runs[1], str(tmp_path), warm_worker), kwargs={"timeout": None},
                       rounds=3, iterations=1)


def _detect(folder, isolate, **limit):
    plan = detect(folder, progress=False, isolate=isolate, **limit)
    assert len(plan.runs) == N_RUNS and plan.unrecognised == []
    return plan


@pytest.mark.benchmark(group="detect-200-runs")
def test_detect_in_process_baseline(benchmark, many_runs):
    _record(benchmark, "baseline")
    benchmark.pedantic(_detect, args=(many_runs[0], False), rounds=3, iterations=1)


@pytest.mark.benchmark(group="detect-200-runs")
def test_detect_isolated(benchmark, many_runs):
    _record(benchmark, "isolated")
    benchmark.pedantic(_detect, args=(many_runs[0], True), rounds=3, iterations=1)


@pytest.mark.benchmark(group="detect-200-runs")
def test_detect_isolated_warm_worker(benchmark, many_runs, warm_worker):
    _record(benchmark, "isolated_warm_worker")
    benchmark.pedantic(_detect, args=(many_runs[0], warm_worker), rounds=3, iterations=1)


@pytest.mark.benchmark(group="detect-200-runs")
def test_detect_isolated_warm_worker_no_time_limit(benchmark, many_runs, warm_worker):
    _record(benchmark, "isolated_warm_worker_no_limit")
    benchmark.pedantic(_detect, args=(many_runs[0], warm_worker), kwargs={"timeout": None}, rounds=3, iterations=1)


def _median(bench):
    stats = getattr(bench, "stats", None)
    stats = getattr(stats, "stats", stats)
    return getattr(stats, "median", None)


def teardown_module(module):
    """Print the overhead per run of each isolated benchmark against its group's baseline."""
    for group in ("ingest-200-runs", "detect-200-runs"):
        baseline = MEDIANS.get((group, "baseline"))
        if baseline is None or _median(baseline) is None:
            continue  # --benchmark-disable: nothing was measured
        for role in ("isolated", "isolated_warm_worker", "isolated_warm_worker_no_limit"):
            bench = MEDIANS.get((group, role))
            if bench is not None and _median(bench) is not None:
                extra = (_median(bench) - _median(baseline)) / N_RUNS
                print(
                    f"\n{group} {role}: {extra * 1e3:+.2f} ms per run "
                    f"(median {_median(bench):.3f} s vs {_median(baseline):.3f} s for {N_RUNS} runs)"
                )
