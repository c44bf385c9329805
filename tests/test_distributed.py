"""Lazy runs compute on dask.distributed worker processes: every task pickles and reads by itself."""

import numpy as np
import pytest

from intake_ingest import BlueskyInMemoryCatalog, ingest_tiff_series_dask, ingest_tiff_stack


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as client:
        yield client


def test_lazy_series_and_stack_compute_on_worker_processes(client, tiff_series, tiff_stack, monkeypatch):
    from intake_ingest import lazy

    # Chunks of 3 frames: each array is several tasks, which the workers share.
    monkeypatch.setattr(lazy, "CHUNK_BYTES", 3 * tiff_series[1][0].nbytes)
    catalog = BlueskyInMemoryCatalog()
    series_uid = catalog.upsert(ingest_tiff_series_dask, (tiff_series[0],), {})
    stack_uid = catalog.upsert(ingest_tiff_stack, (tiff_stack[0],), {"lazy": True})

    from distributed import get_task_stream

    series = catalog[series_uid].primary.to_dask()
    stack = catalog[stack_uid].primary.to_dask()
    with get_task_stream(client) as tasks:
        images, frames = client.compute([series["image"].data, stack["image"].data], sync=True)
    np.testing.assert_array_equal(images, tiff_series[1])
    np.testing.assert_array_equal(frames, tiff_stack[1])
    # Every file and page was read by a task on a worker process, 3 frames per task.
    reads = [task for task in tasks.data if str(task["key"]).startswith("('read-tiff-")]
    assert len(reads) == -(-len(tiff_series[1]) // 3) + -(-len(tiff_stack[1]) // 3)
    assert {task["worker"] for task in reads} <= set(client.scheduler_info()["workers"])
