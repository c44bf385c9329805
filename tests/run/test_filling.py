"""External data: events pointing at frames through Resource/Datum documents, filled by handlers."""

import dask.array as da
import event_model
import fsspec
import numpy as np
import pytest
import xarray as xr

from intake_ingest import BlueskyMsgpackCatalog, BlueskyRun
from intake_ingest.msgpack import export
from intake_ingest.run import filling


class NpyFrames:
    """A handler in the Bluesky convention: frames of a .npy stack, opened through fsspec."""

    opened = 0

    def __init__(self, path, mmap=False):
        NpyFrames.opened += 1
        with fsspec.open(path, "rb") as file:
            self._frames = np.load(file)

    def __call__(self, index):
        return self._frames[index]


@pytest.fixture
def npy_handler():
    filling.register_handler("NPY_FRAMES", NpyFrames)
    NpyFrames.opened = 0
    yield NpyFrames
    filling._registered.pop("NPY_FRAMES", None)
    filling._handler.cache_clear()


@pytest.fixture
def frames_file(tmp_path):
    frames = np.random.default_rng(3).integers(0, 1000, size=(6, 5, 4)).astype(np.uint16)
    path = tmp_path / "frames.npy"
    np.save(path, frames)
    return str(path), frames


def external_run(path, frames, spec="NPY_FRAMES", with_dtype=True):
    run = event_model.compose_run()
    yield "start", run.start_doc
    image_key = {"shape": list(frames.shape[1:]), "dtype": "array", "source": path, "external": "FILESTORE:"}
    if with_dtype:
        image_key["dtype_numpy"] = frames.dtype.str
    stream = run.compose_descriptor(
        name="primary",
        data_keys={"image": image_key, "exposure": {"shape": [], "dtype": "number", "source": "header"}},
    )
    yield "descriptor", stream.descriptor_doc
    resource = run.compose_resource(spec=spec, root="", resource_path=path, resource_kwargs={"mmap": False})
    yield "resource", resource.resource_doc
    datums = [resource.compose_datum(datum_kwargs={"index": i}) for i in range(len(frames))]
    yield "datum_page", event_model.pack_datum_page(*datums[:3])
    for datum in datums[3:]:
        yield "datum", datum
    for i, datum in enumerate(datums):
        yield "event", stream.compose_event(
            data={"image": datum["datum_id"], "exposure": 0.1},
            timestamps={"image": 1.0 + i, "exposure": 1.0 + i},
            filled={"image": False},
            time=1.0 + i,
        )
    yield "stop", run.compose_stop()


def test_read_fills_through_the_handler(frames_file, npy_handler, validated):
    path, frames = frames_file
    run = BlueskyRun(external_run(path, frames))
    validated(run.documents())
    dataset = run.primary.read()
    np.testing.assert_array_equal(dataset["image"].values, frames)
    assert dataset["image"].dims == ("time", "dim_0", "dim_1")
    assert dataset["exposure"].values.tolist() == [0.1] * 6
    assert npy_handler.opened == 1  # one handler per resource


def test_to_dask_reads_nothing_until_computed(frames_file, npy_handler):
    path, frames = frames_file
    lazy = BlueskyRun(external_run(path, frames)).primary.to_dask()
    assert isinstance(lazy["image"].data, da.Array)
    assert npy_handler.opened == 0
    np.testing.assert_array_equal(lazy["image"].values, frames)


def test_missing_dtype_is_learned_from_the_first_datum(frames_file, npy_handler):
    path, frames = frames_file
    lazy = BlueskyRun(external_run(path, frames, with_dtype=False)).primary.to_dask()
    assert lazy["image"].dtype == frames.dtype
    np.testing.assert_array_equal(lazy["image"].values, frames)


def test_canonical_fill_modes(frames_file, npy_handler, validated):
    path, frames = frames_file
    run = BlueskyRun(external_run(path, frames))
    names = [name for name, _ in run.canonical()]
    assert names == ["start", "descriptor", "resource"] + ["datum"] * 6 + ["event"] * 6 + ["stop"]

    unfilled = [doc for name, doc in run.canonical(fill="no") if name == "event"]
    resource_uid = next(doc["uid"] for name, doc in run.canonical() if name == "resource")
    assert [event["data"]["image"] for event in unfilled] == [f"{resource_uid}/{i}" for i in range(6)]
    assert all(event["filled"] == {"image": False} for event in unfilled)

    filled = [doc for name, doc in validated(run.canonical(fill="yes")) if name == "event"]
    np.testing.assert_array_equal(np.stack([event["data"]["image"] for event in filled]), frames)
    assert [event["filled"]["image"] for event in filled] == [event["data"]["image"] for event in unfilled]

    delayed = [doc for name, doc in run.canonical(fill="delayed") if name == "event"]
    assert all(isinstance(event["data"]["image"], da.Array) for event in delayed)
    np.testing.assert_array_equal(delayed[4]["data"]["image"].compute(), frames[4])


def test_unknown_handler_is_a_clear_error(frames_file):
    path, frames = frames_file
    run = BlueskyRun(external_run(path, frames, spec="NO_SUCH_SPEC"))
    with pytest.raises(KeyError, match="no handler for resource spec 'NO_SUCH_SPEC'"):
        run.primary.read()


def test_unfilled_run_survives_a_msgpack_round_trip(frames_file, npy_handler, tmp_path):
    path, frames = frames_file
    run = BlueskyRun(external_run(path, frames))
    (copy,) = export(run.canonical(), tmp_path / "copies")
    reopened = BlueskyMsgpackCatalog(copy)[run.uid]
    assert [name for name, _ in reopened.documents()][:4] == ["start", "descriptor", "resource", "datum_page"]
    xr.testing.assert_identical(reopened.primary.read(), run.primary.read())



def test_lazy_frames_of_a_handler_stay_one_task_per_datum(frames_file, npy_handler):
    # Handlers read their files chunk-aligned themselves; a frame reads only its own file.
    path, frames = frames_file
    image = BlueskyRun(external_run(path, frames)).primary.to_dask()["image"].data
    assert image.chunks[0] == (1,) * len(frames)
    np.testing.assert_array_equal(image[2].compute(), frames[2])
    np.testing.assert_array_equal(image.compute(), frames)
