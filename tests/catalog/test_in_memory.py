import os

import dask.array as da
import event_model
import numpy as np
import pytest

from intake_ingest import (
    BlueskyCatalog,
    BlueskyInMemoryCatalog,
    BlueskyRun,
    ingest_tiff_series,
    ingest_tiff_series_dask,
    ingest_tiff_stack,
)


def small_run(time, **metadata):
    bundle = event_model.compose_run(time=time, metadata=metadata)
    yield "start", bundle.start_doc
    stream = bundle.compose_descriptor(name="primary", data_keys={"x": {"dtype": "number", "shape": [], "source": "s"}})
    yield "descriptor", stream.descriptor_doc
    yield "event", stream.compose_event(data={"x": 1.0}, timestamps={"x": time}, time=time)
    yield "stop", bundle.compose_stop(time=time + 1)


@pytest.fixture
def searchable():
    catalog = BlueskyInMemoryCatalog()
    uids = [
        catalog.upsert(small_run, (100.0,), {"sample": {"name": "Si", "thickness": 1}, "plan_name": "count"}),
        catalog.upsert(small_run, (200.0,), {"sample": {"name": "SiO2", "thickness": 5}, "plan_name": "scan"}),
        catalog.upsert(small_run, (300.0,), {"sample": {"name": "Ge", "thickness": 5}, "plan_name": "scan"}),
    ]
    return catalog, uids


def test_upsert_lists_uids_in_insertion_order(searchable):
    catalog, uids = searchable
    assert list(catalog) == uids
    assert len(catalog) == 3
    assert isinstance(catalog[uids[1]], BlueskyRun)
    assert catalog[uids[1]].start["sample"]["name"] == "SiO2"
    assert catalog[-1].uid == uids[2] and catalog[0].uid == uids[0]
    with pytest.raises(IndexError, match="3 runs"):
        catalog[3]
    with pytest.raises(KeyError):
        catalog["no-such-uid"]


@pytest.mark.parametrize(
    "query, expected",
    [
        ({"time": {"$lt": 250}}, [0, 1]),
        ({"time": {"$gt": 150}}, [1, 2]),
        ({"plan_name": {"$in": ["count", "fly"]}}, [0]),
        ({"sample.name": {"$regex": "^Si"}}, [0, 1]),
        ({"sample.thickness": 5}, [1, 2]),
        ({"$and": [{"sample.thickness": 5}, {"time": {"$lt": 250}}]}, [1]),
        ({"time": {"$lt": 0}}, []),
    ],
)
def test_search_with_mongo_queries(searchable, query, expected):
    catalog, uids = searchable
    result = catalog.search(query)
    assert isinstance(result, BlueskyCatalog)
    assert list(result) == [uids[i] for i in expected]


def test_search_results_can_be_searched_again_and_read(searchable):
    catalog, uids = searchable
    scans = catalog.search({"plan_name": "scan"})
    thin = scans.search({"sample.name": "Ge"})
    assert list(thin) == [uids[2]]
    assert thin[uids[2]].primary.read()["x"].values.tolist() == [1.0]


def test_upsert_of_the_same_uid_replaces_in_place(tiff_series, tiff_stack):
    catalog = BlueskyInMemoryCatalog()
    series_uid = catalog.upsert(ingest_tiff_series, (tiff_series[0],), {})
    stack_uid = catalog.upsert(ingest_tiff_stack, (tiff_stack[0],), {})
    assert list(catalog) == [series_uid, stack_uid]
    assert catalog.upsert(ingest_tiff_series_dask, (tiff_series[0],), {}) == series_uid
    assert list(catalog) == [series_uid, stack_uid]
    first_event = next(doc for name, doc in catalog[series_uid].read_canonical() if name == "event")
    assert isinstance(first_event["data"]["image"], da.Array)
    np.testing.assert_array_equal(first_event["data"]["image"].compute(), tiff_series[1][0])


def test_upsert_pulls_only_the_run_start(tiff_series, tiff_stack, memory_folder, count_memory_opens):
    fs, root = memory_folder
    for path in tiff_series[2]:
        fs.pipe(f"{root}/series/{os.path.basename(path)}", open(path, "rb").read())
    fs.pipe(f"{root}/stack.tiff", open(tiff_stack[0], "rb").read())
    count_memory_opens.clear()

    catalog = BlueskyInMemoryCatalog()
    series_uid = catalog.upsert(ingest_tiff_series, (f"memory://{root}/series/*.tiff",), {})
    stack_uid = catalog.upsert(ingest_tiff_stack, (f"memory://{root}/stack.tiff",), {})
    list(catalog)
    catalog.search({"time": {"$gt": 0}})
    series = catalog[series_uid]
    series.describe()
    assert sum(count_memory_opens.values()) == 0

    series.primary.read()
    assert sum(count_memory_opens.values()) == 11  # the first file's header, then every file
    assert sum(count for path, count in count_memory_opens.items() if "stack" in path) == 0
    # A second read, and a second run object for the same entry, use what was read.
    catalog[series_uid].primary.read()
    assert sum(count_memory_opens.values()) == 11

    np.testing.assert_array_equal(catalog[stack_uid].primary.read()["image"].values, tiff_stack[1])
    assert count_memory_opens[f"{root}/stack.tiff"] == 1


def test_dropping_the_catalog_frees_the_pixels_without_the_garbage_collector(tiff_series, tmp_path):
    """No reference cycles hold a run's arrays: memory returns as soon as it is dropped."""
    import gc
    import weakref

    from intake_ingest import BlueskyMsgpackCatalog
    from intake_ingest.msgpack import export

    gc.disable()
    try:
        catalog = BlueskyInMemoryCatalog()
        uid = catalog.upsert(ingest_tiff_series, (tiff_series[0],), {})
        run = catalog[uid]
        pixels = weakref.ref(run.primary.read()["image"].values.base)
        export(run.canonical(), tmp_path / "copies")
        del run
        assert pixels() is not None
        del catalog
        assert pixels() is None

        reopened = BlueskyMsgpackCatalog(str(tmp_path / "copies" / "*.msgpack"))
        run = reopened[uid]
        run.primary.read()
        pixels = weakref.ref(next(doc for name, doc in run.canonical() if name == "event")["data"]["image"])
        assert pixels() is not None  # held by the run's documents
        del run, reopened
        assert pixels() is None
    finally:
        gc.enable()


def test_regex_on_a_list_matches_any_element_as_in_mongodb():
    catalog = BlueskyInMemoryCatalog()
    uid = catalog.upsert(small_run, (1.0,), {"source": ["/data/dark_0001.tiff", "/data/dark_0002.tiff"]})
    catalog.upsert(small_run, (2.0,), {"source": "/data/flat_0001.tiff"})
    assert list(catalog.search({"source": {"$regex": "dark_"}})) == [uid]
    assert len(catalog.search({"source": {"$regex": "_0001"}})) == 2
