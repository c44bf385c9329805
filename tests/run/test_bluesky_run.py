import dask.array as da
import event_model
import numpy as np
import pytest
import xarray as xr

from intake_ingest import BlueskyRun, IngestError, ingest_tiff_series, ingest_tiff_series_dask, ingest_tiff_stack
from intake_ingest.run import BlueskyEventStream


def names(documents):
    return [name for name, _ in documents]


def test_series_canonical_order_and_stream_dataset(tiff_series):
    pattern, images, _ = tiff_series
    run = BlueskyRun(ingest_tiff_series(pattern))
    assert names(run.read_canonical()) == ["start", "descriptor"] + ["event"] * 10 + ["stop"]
    assert isinstance(run.primary, BlueskyEventStream)
    assert isinstance(run["primary"], BlueskyEventStream)
    assert list(run) == ["primary"]

    dataset = run.primary.read()
    assert isinstance(dataset, xr.Dataset)
    assert dict(dataset.sizes) == {"time": 10, "dim_0": images.shape[1], "dim_1": images.shape[2]}
    assert list(dataset.data_vars) == ["image", "seq_num", "uid"]
    assert list(dataset.coords) == ["time"]
    assert dataset["image"].dims == ("time", "dim_0", "dim_1")
    assert dataset["image"].dtype == images.dtype
    assert dataset["seq_num"].dtype == np.int64
    assert dataset["uid"].dtype.kind == "U"
    assert dataset["time"].dtype == np.float64
    np.testing.assert_array_equal(dataset["image"].values, images)
    assert int(dataset["image"].sum()) == int(images.sum(dtype=np.int64))
    assert dataset["seq_num"].values.tolist() == list(range(1, 11))


def test_stack_canonical_unpacks_the_page_into_events(tiff_stack, validated):
    path, images = tiff_stack
    run = BlueskyRun(ingest_tiff_stack(path))
    documents = validated(run.read_canonical())
    assert names(documents) == ["start", "descriptor"] + ["event"] * 10 + ["stop"]
    events = [doc for name, doc in documents if name == "event"]
    assert [event["seq_num"] for event in events] == list(range(1, 11))
    for event, image in zip(events, images):
        np.testing.assert_array_equal(event["data"]["image"], image)
    # The documents as generated keep the page.
    assert names(run.documents()) == ["start", "descriptor", "event_page", "stop"]
    assert int(run.primary.read()["image"].sum()) == int(images.sum(dtype=np.int64))


def test_stack_and_series_of_the_same_images_give_the_same_values(tiff_series, tiff_stack):
    stack = BlueskyRun(ingest_tiff_stack(tiff_stack[0])).primary.read()
    np.testing.assert_array_equal(stack["image"].values, tiff_stack[1])
    assert stack["image"].dims == ("time", "dim_0", "dim_1")


def test_fill_modes(tiff_series, validated):
    pattern, images, _ = tiff_series
    run = BlueskyRun(ingest_tiff_series_dask(pattern))
    lazy = [doc for name, doc in run.canonical(fill="no") if name == "event"]
    assert all(isinstance(event["data"]["image"], da.Array) for event in lazy)
    delayed = [doc for name, doc in run.canonical(fill="delayed") if name == "event"]
    assert all(isinstance(event["data"]["image"], da.Array) for event in delayed)
    filled = [doc for name, doc in validated(run.canonical(fill="yes")) if name == "event"]
    assert all(type(event["data"]["image"]) is np.ndarray for event in filled)
    np.testing.assert_array_equal(np.stack([e["data"]["image"] for e in filled]), images)
    # Filling makes new documents; the run's own stay lazy.
    assert isinstance(next(d for n, d in run.canonical() if n == "event")["data"]["image"], da.Array)
    with pytest.raises(ValueError, match="fill"):
        next(run.canonical(fill="maybe"))


def test_to_dask_is_lazy_and_equal_to_read(tiff_series):
    pattern, images, _ = tiff_series
    run = BlueskyRun(ingest_tiff_series_dask(pattern))
    lazy = run.primary.to_dask()
    assert isinstance(lazy["image"].data, da.Array)
    assert lazy["image"].dims == ("time", "dim_0", "dim_1")
    xr.testing.assert_identical(lazy.compute(), run.primary.read())
    np.testing.assert_array_equal(lazy["image"].values, images)


def test_to_dask_of_an_eager_run_wraps_the_arrays(tiff_stack):
    run = BlueskyRun(ingest_tiff_stack(tiff_stack[0]))
    lazy = run.primary.to_dask()
    assert isinstance(lazy["image"].data, da.Array)
    xr.testing.assert_identical(lazy.compute(), run.primary.read())


def test_metadata_has_start_and_stop(tiff_series):
    run = BlueskyRun(ingest_tiff_series(tiff_series[0]))
    assert run.metadata["start"]["uid"] == run.uid
    assert run.metadata["stop"]["exit_status"] == "success"
    assert run.stop == run.metadata["stop"]
    assert run.describe()["metadata"]["start"]["uid"] == run.uid
    assert run.uid in repr(run)


def synthetic_run(n_events=5, stop=True, fail_at=None):
    """A run with two streams: 'primary' (a scalar and a 1-D spectrum) and 'baseline'."""
    bundle = event_model.compose_run(metadata={"sample": {"name": "Si", "thickness": 2}})
    yield "start", bundle.start_doc
    primary = bundle.compose_descriptor(
        name="primary",
        data_keys={
            "motor": {"dtype": "number", "shape": [], "source": "sim"},
            "spectrum": {"dtype": "array", "shape": [7], "dtype_numpy": "<f8", "source": "sim"},
        },
    )
    yield "descriptor", primary.descriptor_doc
    baseline = bundle.compose_descriptor(
        name="baseline", data_keys={"temperature": {"dtype": "number", "shape": [], "source": "sim"}}
    )
    yield "descriptor", baseline.descriptor_doc
    yield "event", baseline.compose_event(data={"temperature": 295.0}, timestamps={"temperature": 1.0})
    for i in range(n_events):
        if i == fail_at:
            raise IngestError("synthetic.dat", f"line {i} is damaged")
        yield "event", primary.compose_event(
            data={"motor": float(i), "spectrum": np.full(7, float(i))},
            timestamps={"motor": 1.0 + i, "spectrum": 1.0 + i},
        )
    yield "event_page", primary.compose_event_page(
        data={"motor": [10.0, 11.0], "spectrum": np.ones((2, 7))},
        timestamps={"motor": [2.0, 2.0], "spectrum": [2.0, 2.0]},
        time=[20.0, 21.0],
        seq_num=[n_events + 1, n_events + 2],
    )
    if stop:
        yield "stop", bundle.compose_stop()


def test_several_streams_scalars_and_events_mixed_with_pages(validated):
    run = BlueskyRun(synthetic_run())
    validated(run.canonical())
    assert list(run) == ["primary", "baseline"]
    primary = run.primary.read()
    assert primary["motor"].values.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 10.0, 11.0]
    assert primary["motor"].dims == ("time",)
    assert primary["spectrum"].dims == ("time", "dim_0")
    assert primary["spectrum"].shape == (7, 7)
    assert primary["seq_num"].values.tolist() == list(range(1, 8))
    assert run.baseline.read()["temperature"].values.tolist() == [295.0]
    xr.testing.assert_identical(run.primary.to_dask().compute(), primary)


def test_partial_run_without_stop_is_readable():
    run = BlueskyRun(synthetic_run(stop=False))
    assert run.metadata["stop"] is None
    assert run.stop is None
    assert run.primary.read().sizes["time"] == 7
    assert names(run.canonical())[-1] == "event"


def test_error_mid_run_is_raised_and_the_start_stays_available():
    run = BlueskyRun(synthetic_run(fail_at=2))
    assert run.start["sample"]["name"] == "Si"
    with pytest.raises(IngestError, match="synthetic.dat: line 2 is damaged"):
        run.primary.read()
    # Asking again gives the same clear error, not an empty stream.
    with pytest.raises(IngestError, match="line 2"):
        list(run.canonical())
    assert run.start["sample"]["name"] == "Si"


def test_a_generator_that_does_not_start_with_a_run_start_is_refused():
    def bad():
        yield "descriptor", {}

    with pytest.raises(IngestError, match="RunStart"):
        BlueskyRun(bad())


def test_documents_are_pulled_once_and_cached(tiff_series, monkeypatch):
    import tifffile

    opened = []

    class CountingTiffFile(tifffile.TiffFile):
        def __init__(self, file, *args, **kwargs):
            opened.append(file)
            super().__init__(file, *args, **kwargs)

    monkeypatch.setattr(tifffile, "TiffFile", CountingTiffFile)
    run = BlueskyRun(ingest_tiff_series(tiff_series[0]))
    assert opened == []
    run.primary.read()
    run.primary.read()
    list(run.canonical())
    assert len(opened) == 11  # the first file's header, then each file once


def test_inconsistent_events_give_clear_errors():
    bundle = event_model.compose_run()
    stream = bundle.compose_descriptor(
        name="primary", data_keys={"x": {"dtype": "number", "shape": [], "source": "s"}}
    )
    good = stream.compose_event(data={"x": 1.0}, timestamps={"x": 1.0})
    missing = {**good, "uid": "event-without-x", "data": {}}
    run = BlueskyRun(iter([("start", bundle.start_doc), ("descriptor", stream.descriptor_doc), ("event", missing)]))
    with pytest.raises(ValueError, match="event-without-x has no value for 'x'"):
        run.primary.read()

    page = event_model.pack_event_page(good)
    page["data"]["x"] = [1.0, 2.0]
    run = BlueskyRun(iter([("start", bundle.start_doc), ("descriptor", stream.descriptor_doc), ("event_page", page)]))
    with pytest.raises(ValueError, match="2 values of 'x' for 1 times"):
        run.primary.read()
