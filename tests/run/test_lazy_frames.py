"""A stream of one-frame lazy events is read many frames per task (intake_ingest.lazy)."""

import os
import pickle

import dask
import dask.array as da
import numpy as np
import pytest
import tifffile

from intake_ingest import BlueskyRun, IngestError, MissingFileError, ingest_tiff_series, ingest_tiff_series_dask
from intake_ingest import lazy
from intake_ingest.ingestors import tiff


def lazy_image(pattern):
    return BlueskyRun(ingest_tiff_series_dask(pattern)).primary.to_dask()["image"].data


def test_lazy_series_is_one_task_equal_to_tifffile(tiff_series):
    pattern, images, paths = tiff_series
    image = lazy_image(pattern)
    assert isinstance(image, lazy.FramesArray)
    assert image.chunks[0] == (len(images),)  # 10 small frames: one chunk
    assert len(image.__dask_graph__()) == 1
    np.testing.assert_array_equal(image.compute(), tifffile.imread(paths))


def test_chunks_hold_as_many_frames_as_fit(tiff_series, monkeypatch):
    pattern, images, _ = tiff_series
    monkeypatch.setattr(lazy, "CHUNK_BYTES", 3 * images[0].nbytes + 1)
    image = lazy_image(pattern)
    assert image.chunks[0] == (3, 3, 3, 1)
    assert len(image.__dask_graph__()) == 4
    np.testing.assert_array_equal(image.compute(), images)
    np.testing.assert_array_equal(image[2:5].compute(), images[2:5])  # across two chunks
    np.testing.assert_array_equal(image[7].compute(), images[7])


def test_to_dask_reads_no_pixels(tiff_series, monkeypatch):
    pattern, _, _ = tiff_series
    run = BlueskyRun(ingest_tiff_series_dask(pattern))
    reads = []
    original = tiff.read_tiff
    monkeypatch.setattr(tiff, "read_tiff", lambda *args, **kwargs: reads.append(args) or original(*args, **kwargs))
    run.primary.to_dask()
    assert reads == []


def test_same_files_give_the_same_keys(tiff_series):
    pattern, _, _ = tiff_series
    assert lazy_image(pattern).name == lazy_image(pattern).name


def test_graph_pickles_and_computes_after_unpickling(tiff_series, monkeypatch):
    pattern, images, _ = tiff_series
    monkeypatch.setattr(lazy, "CHUNK_BYTES", 4 * images[0].nbytes)
    image = lazy_image(pattern)
    copy = pickle.loads(pickle.dumps(image))
    np.testing.assert_array_equal(copy.compute(), images)
    # The tasks alone (what dask.distributed ships to workers).
    graph = dict(image.__dask_graph__())
    tasks = pickle.loads(pickle.dumps(graph))
    np.testing.assert_array_equal(dask.get(tasks, (image.name, 1, 0, 0)), images[4:8])


def test_each_compute_gets_its_own_array(tiff_series):
    pattern, images, _ = tiff_series
    image = lazy_image(pattern)
    first, second = image.compute(), image.compute()
    assert not np.shares_memory(first, second)
    first[0, 0, 0] += 1  # the caller's to change
    np.testing.assert_array_equal(second, images)


def test_file_changed_between_ingest_and_compute_names_the_file(tiff_series):
    pattern, images, paths = tiff_series
    image = lazy_image(pattern)
    tifffile.imwrite(paths[6], images[6][:5])
    with pytest.raises(IngestError, match="shape") as info:
        image.compute()
    assert info.value.path == paths[6]
    tifffile.imwrite(paths[6], images[6].astype(np.float32))
    with pytest.raises(IngestError, match="dtype") as info:
        image.compute()
    assert info.value.path == paths[6]


def test_file_gone_between_ingest_and_compute_names_the_file(tiff_series):
    pattern, _, paths = tiff_series
    run = BlueskyRun(ingest_tiff_series_dask(pattern))
    image = run.primary.to_dask()["image"].data
    os.remove(paths[3])
    with pytest.raises(MissingFileError) as info:
        image.compute()
    assert info.value.path == paths[3]
    with pytest.raises(MissingFileError) as info:  # the eager read of the lazy run, too
        run.primary.read()
    assert info.value.path == paths[3]


def test_read_of_a_lazy_run_reads_into_one_array(tiff_series, monkeypatch):
    pattern, images, _ = tiff_series
    run = BlueskyRun(ingest_tiff_series_dask(pattern))

    def no_compute(*args, **kwargs):
        raise AssertionError("read() of lazy frames should read them directly, not through dask")

    monkeypatch.setattr(dask, "compute", no_compute)
    monkeypatch.setattr(da.Array, "compute", no_compute)
    values = run.primary.read()["image"].values
    np.testing.assert_array_equal(values, images)
    assert values.flags.c_contiguous and values.flags.owndata


def test_events_still_hold_their_own_frame(tiff_series, validated):
    pattern, images, _ = tiff_series
    events = [doc for name, doc in validated(ingest_tiff_series_dask(pattern)) if name == "event"]
    for index in (0, 9):
        image = events[index]["data"]["image"]
        assert isinstance(image, da.Array) and image.shape == images.shape[1:]
        np.testing.assert_array_equal(image.compute(), images[index])


def _mixed_run(pattern):
    """Events of lazy frames, then events of frames in memory: the stream joins both."""
    lazy_documents = list(ingest_tiff_series_dask(pattern))
    eager_events = [doc for name, doc in ingest_tiff_series(pattern) if name == "event"]
    *head, stop = lazy_documents
    descriptor = head[1][1]
    for event in eager_events[:3]:
        yield_event = {**event, "descriptor": descriptor["uid"], "seq_num": event["seq_num"] + 10}
        head.append(("event", {**yield_event, "uid": yield_event["uid"] + "-eager"}))
    return head + [stop]


def test_lazy_and_in_memory_frames_in_one_stream(tiff_series):
    pattern, images, _ = tiff_series
    expected = np.concatenate([images, images[:3]])
    run = BlueskyRun(_mixed_run(pattern))
    image = run.primary.to_dask()["image"].data
    np.testing.assert_array_equal(image.compute(), expected)
    np.testing.assert_array_equal(run.primary.read()["image"].values, expected)


def _read_small(path):
    """A reader (not marked ``reads_into``) whose file now holds a frame of another shape."""
    return np.zeros((2, 2), np.uint16)


def test_frames_of_a_plain_reader_are_checked(tmp_path):
    reads = [lazy.FrameRead(_read_small, (str(tmp_path / f"f{i}"),), f"{tmp_path}/f{i}|1|2|") for i in range(3)]
    frames = [lazy.lazy_array(read.read, read.args, (4, 4), np.uint16, read.version) for read in reads]
    fused = lazy.fuse_frames(frames)
    assert fused.chunks[0] == (3,)
    with pytest.raises(IngestError, match=r"\(2, 2\) uint16; the run declares \(4, 4\) uint16") as info:
        fused.compute()
    assert info.value.path == f"{tmp_path}/f0"


def test_arrays_of_other_shapes_or_not_lazy_frames_are_not_fused(tiff_series):
    pattern, images, _ = tiff_series
    frames = [doc["data"]["image"] for name, doc in ingest_tiff_series_dask(pattern) if name == "event"]
    assert lazy.fuse_frames(frames) is not None
    assert lazy.fuse_frames(frames[:2] + [da.from_array(images[2])]) is None
    assert lazy.fuse_frames(frames[:2] + [frames[2][:5]]) is None
    assert lazy.fuse_frames([]) is None


@pytest.mark.parametrize(
    "write",
    [
        dict(),  # one uncompressed page: read directly into its row
        dict(compression="zlib"),  # compressed: read through tifffile's series
        dict(photometric="rgb"),
        dict(imagej=True),
        dict(tile=(16, 16)),
    ],
    ids=["plain", "zlib", "rgb", "imagej", "tiled"],
)
def test_series_of_every_layout_reads_as_tifffile_does(tmp_path, write):
    shape = (3, 32, 48, 3) if write.get("photometric") == "rgb" else (3, 32, 48)
    images = np.random.default_rng(5).integers(0, 60000, shape).astype(np.uint16)
    paths = [str(tmp_path / f"f_{index}.tif") for index in range(len(images))]
    for path, image in zip(paths, images):
        tifffile.imwrite(path, image, **write)
    expected = tifffile.imread(paths)
    pattern = str(tmp_path / "f_*.tif")
    np.testing.assert_array_equal(lazy_image(pattern).compute(), expected)
    np.testing.assert_array_equal(BlueskyRun(ingest_tiff_series(pattern)).primary.read()["image"].values, expected)


def test_one_frame_of_a_fused_series_reads_only_its_file(tiff_series):
    pattern, images, paths = tiff_series
    image = lazy_image(pattern)
    os.remove(paths[2])  # another frame's file is gone: these are still read
    np.testing.assert_array_equal(image[1].compute(), images[1])
    np.testing.assert_array_equal(image[-7, 3:9].compute(), images[-7, 3:9])
    np.testing.assert_array_equal(image[5:8].compute(), images[5:8])
    assert len(image[5:8].__dask_graph__()) == 1  # one task: the three files read
    with pytest.raises(MissingFileError):
        image[2].compute()
    with pytest.raises(MissingFileError):
        image[::2].compute()  # any other index reads the chunk
    with pytest.raises(IndexError):
        image[10]


def test_one_frame_of_a_lazy_stack_reads_only_its_page(tiff_stack, monkeypatch):
    from intake_ingest.ingestors import ingest_tiff_stack

    path, images = tiff_stack
    page = next(doc for name, doc in ingest_tiff_stack(path, lazy=True) if name == "event_page")
    stack = page["data"]["image"]
    asked = []
    original = tiff.read_tiff_pages

    def recording(source, begin, end, *rest):
        asked.append((begin, end))
        return original(source, begin, end, *rest)

    monkeypatch.setattr(tiff, "read_tiff_pages", recording)
    np.testing.assert_array_equal(stack[4].compute(), images[4])
    np.testing.assert_array_equal(stack[6:9][1].compute(), images[7])
    assert asked == [(4, 5), (7, 8)]


def test_one_frame_is_handed_over_without_a_copy(tiff_series):
    pattern, images, _ = tiff_series
    frame = lazy_image(pattern)[4]
    assert isinstance(frame, lazy.FramesArray) and frame.shape == images.shape[1:]
    values = frame.compute()
    np.testing.assert_array_equal(values, images[4])
    assert values.base is not None and values.base.shape == (1, *images.shape[1:])  # its read's own array
    np.testing.assert_array_equal(lazy_image(pattern)[4, ...].compute(), images[4])
    copy = pickle.loads(pickle.dumps(frame))  # dask.distributed ships it
    np.testing.assert_array_equal(copy.compute(), images[4])


def _read_rows(begin, end):
    return np.arange(begin * 6, end * 6, dtype=np.int32).reshape(end - begin, 2, 3)


def test_a_frame_of_a_chunk_without_subsets_is_its_own_array():
    """Without a way to read fewer frames, a frame is cut from its chunk's read, and copied
    out of it (a view would keep the chunk's other frames in memory)."""
    blocks = [((_read_rows, begin, min(begin + 4, 10)), min(4, 10 - begin)) for begin in range(0, 10, 4)]
    array = lazy.blocks_array("read-rows-test", blocks, (2, 3), np.int32)
    expected = _read_rows(0, 10)
    for index in (0, 5, 9, -1, -10):
        frame = array[index]
        assert isinstance(frame, lazy.FramesArray)
        values = frame.compute()
        np.testing.assert_array_equal(values, expected[index])
        assert values.flags.owndata
    np.testing.assert_array_equal(array[5, 1].compute(), expected[5, 1])
    np.testing.assert_array_equal(array[5][:, 1:].compute(), expected[5][:, 1:])
    np.testing.assert_array_equal(array[3:7].compute(), expected[3:7])
    np.testing.assert_array_equal(array[:].compute(), expected)
    with pytest.raises(IndexError):
        array[10]
