import base64
import hashlib
import os

import dask.array as da
import numpy as np
import pytest
import tifffile

from intake_ingest import IngestError, MissingFileError
from intake_ingest.ingestors import ingest_tiff_series, ingest_tiff_series_dask, ingest_tiff_stack

from .tiff_tags import declare_image_length


def names(documents):
    return [name for name, _ in documents]


def test_series_documents(tiff_series, validated):
    pattern, images, paths = tiff_series
    documents = validated(ingest_tiff_series(pattern))
    assert names(documents) == ["start", "descriptor"] + ["event"] * len(images) + ["stop"]

    start = documents[0][1]
    expected_uid = hashlib.sha256()
    for path in sorted(paths):
        expected_uid.update(path.encode())
    assert start["uid"] == base64.urlsafe_b64encode(expected_uid.digest()).decode()
    assert start["time"] == os.path.getmtime(paths[0])
    assert start["ingestor"] == "tiff_series"
    assert start["num_points"] == len(images)

    descriptor = documents[1][1]
    assert descriptor["name"] == "primary"
    assert descriptor["run_start"] == start["uid"]
    assert descriptor["data_keys"]["image"] == {
        "shape": list(images.shape[1:]),
        "dtype": "number",
        "dtype_numpy": "<u2",
        "source": pattern,
    }

    events = [doc for name, doc in documents if name == "event"]
    assert [event["seq_num"] for event in events] == list(range(1, len(images) + 1))
    for event, path, image in zip(events, paths, images):
        assert event["descriptor"] == descriptor["uid"]
        assert event["time"] == event["timestamps"]["image"] == os.path.getmtime(path)
        np.testing.assert_array_equal(event["data"]["image"], image)
        assert event["data"]["image"].dtype == np.uint16

    stop = documents[-1][1]
    assert stop["run_start"] == start["uid"]
    assert stop["exit_status"] == "success"
    assert stop["num_events"] == {"primary": len(images)}


def test_series_uid_is_deterministic_and_depends_on_the_files(tiff_series, tmp_path):
    pattern, _, paths = tiff_series
    first = next(ingest_tiff_series(pattern))[1]["uid"]
    assert next(ingest_tiff_series(pattern))[1]["uid"] == first
    # The same files named explicitly, in another order, are the same run.
    assert next(ingest_tiff_series(list(reversed(paths))))[1]["uid"] == first
    assert next(ingest_tiff_series(paths[:-1]))[1]["uid"] != first


def test_series_generator_opens_nothing_before_the_start(tiff_series, monkeypatch):
    pattern, _, _ = tiff_series
    reads = []
    monkeypatch.setattr(tifffile, "TiffFile", lambda *a, **k: reads.append(a) or 1 / 0)
    monkeypatch.setattr(tifffile, "imread", lambda *a, **k: reads.append(a) or 1 / 0)
    name, _ = next(ingest_tiff_series(pattern))
    assert name == "start" and reads == []


def test_series_with_mixed_shapes_names_the_file_and_both_shapes(tiff_series):
    pattern, images, paths = tiff_series
    tifffile.imwrite(paths[3], images[3][:-1])
    with pytest.raises(ValueError) as info:
        list(ingest_tiff_series(pattern))
    message = str(info.value)
    assert paths[3] in message
    assert str(images.shape[1:]) in message and str(images[3][:-1].shape) in message


def test_series_with_mixed_dtypes_names_the_file(tiff_series):
    pattern, images, paths = tiff_series
    tifffile.imwrite(paths[5], images[5].astype(np.float32))
    with pytest.raises(IngestError, match="float32") as info:
        list(ingest_tiff_series(pattern))
    assert info.value.path == paths[5]


def test_no_match_names_the_pattern(tmp_path):
    pattern = str(tmp_path / "nothing_*.tiff")
    with pytest.raises(ValueError, match="nothing_"):
        next(ingest_tiff_series(pattern))


def test_non_tiff_file_names_the_file(tiff_series):
    pattern, _, paths = tiff_series
    with open(paths[2], "wb") as file:
        file.write(b"this is a text file, not a TIFF\n")
    with pytest.raises(IngestError, match="not a readable TIFF") as info:
        list(ingest_tiff_series(pattern))
    assert info.value.path == paths[2]
    assert "Traceback" not in str(info.value)


def test_truncated_tiff_names_the_file(tiff_stack):
    path, _ = tiff_stack
    with open(path, "rb") as file:
        head = file.read(3000)
    with open(path, "wb") as file:
        file.write(head)
    with pytest.raises(IngestError) as info:
        list(ingest_tiff_stack(path))
    assert info.value.path == path


def test_missing_stack_file_names_the_file(tmp_path):
    path = str(tmp_path / "gone.tiff")
    with pytest.raises(MissingFileError) as info:
        next(ingest_tiff_stack(path))
    assert info.value.path == path
    assert isinstance(info.value, FileNotFoundError)


def test_file_deleted_after_listing_names_the_file(tiff_series):
    pattern, _, paths = tiff_series
    documents = ingest_tiff_series(pattern)
    next(documents)
    os.remove(paths[4])
    with pytest.raises(MissingFileError) as info:
        list(documents)
    assert info.value.path == paths[4]


def test_stack_documents(tiff_stack, validated):
    path, images = tiff_stack
    documents = validated(ingest_tiff_stack(path))
    assert names(documents) == ["start", "descriptor", "event_page", "stop"]
    start, descriptor, page, stop = (doc for _, doc in documents)
    assert start["time"] == os.path.getmtime(path)
    assert descriptor["data_keys"]["image"]["shape"] == list(images.shape[1:])
    assert page["seq_num"] == list(range(1, len(images) + 1))
    assert page["time"] == [start["time"]] * len(images)
    np.testing.assert_array_equal(page["data"]["image"], images)
    assert stop["num_events"] == {"primary": len(images)}


def test_lazy_stack_reads_pages_on_compute(tiff_stack, validated):
    path, images = tiff_stack
    documents = validated(ingest_tiff_stack(path, lazy=True))
    page = documents[2][1]
    assert isinstance(page["data"]["image"], da.Array)
    # A small stack is one chunk: one task opens the file once and reads every page.
    assert page["data"]["image"].chunks[0] == (len(images),)
    assert len(page["data"]["image"].__dask_graph__()) == 1
    np.testing.assert_array_equal(page["data"]["image"].compute(), images)


def test_lazy_stack_in_chunks_of_several_pages(tiff_stack, monkeypatch):
    from intake_ingest import lazy

    path, images = tiff_stack
    monkeypatch.setattr(lazy, "CHUNK_BYTES", 4 * images[0].nbytes)
    page = next(doc for name, doc in ingest_tiff_stack(path, lazy=True) if name == "event_page")
    assert page["data"]["image"].chunks[0] == (4, 4, 2)
    np.testing.assert_array_equal(page["data"]["image"].compute(), images)
    np.testing.assert_array_equal(page["data"]["image"][3:7].compute(), images[3:7])


def test_lazy_stack_changed_after_ingest_names_the_file(tiff_stack):
    path, images = tiff_stack
    page = next(doc for name, doc in ingest_tiff_stack(path, lazy=True) if name == "event_page")
    tifffile.imwrite(path, images[:3], photometric="minisblack")
    with pytest.raises(IngestError, match="changed") as info:
        page["data"]["image"].compute()
    assert info.value.path == path
    os.remove(path)
    with pytest.raises(MissingFileError) as info:
        page["data"]["image"].compute()
    assert info.value.path == path


def test_dask_series_holds_lazy_images(tiff_series, validated):
    pattern, images, _ = tiff_series
    documents = validated(ingest_tiff_series_dask(pattern))
    events = [doc for name, doc in documents if name == "event"]
    assert all(isinstance(event["data"]["image"], da.Array) for event in events)
    np.testing.assert_array_equal(np.stack([e["data"]["image"].compute() for e in events]), images)


def test_dask_series_checks_shape_on_compute(tiff_series):
    pattern, images, paths = tiff_series
    documents = list(ingest_tiff_series_dask(pattern))
    tifffile.imwrite(paths[1], images[1][:5])
    with pytest.raises(IngestError, match="shape") as info:
        documents[3][1]["data"]["image"].compute()
    assert info.value.path == paths[1]


def test_dask_series_reads_only_the_first_header_while_generating(
    tiff_series, memory_folder, count_memory_opens
):
    _, images, paths = tiff_series
    fs, root = memory_folder
    for path in paths:
        fs.pipe(f"{root}/{os.path.basename(path)}", open(path, "rb").read())
    count_memory_opens.clear()
    documents = list(ingest_tiff_series_dask(f"memory://{root}/*.tiff"))
    assert sum(count_memory_opens.values()) == 1  # the header of the first file
    first_event = documents[2][1]
    np.testing.assert_array_equal(first_event["data"]["image"].compute(), images[0])


def test_series_in_several_pages_still_gives_one_event_per_file(tiff_series, monkeypatch, validated):
    from intake_ingest.ingestors import _common

    pattern, images, _ = tiff_series
    monkeypatch.setattr(_common, "PAGE_BYTES", 3 * images[0].nbytes)  # pages of 3 files
    documents = validated(ingest_tiff_series(pattern))
    events = [doc for name, doc in documents if name == "event"]
    assert [event["seq_num"] for event in events] == list(range(1, 11))
    assert len({event["uid"] for event in events}) == 10
    np.testing.assert_array_equal(np.stack([event["data"]["image"] for event in events]), images)
    assert documents[-1][1]["num_events"] == {"primary": 10}


def test_event_arrays_are_read_only(tiff_series, tiff_stack):
    event = next(doc for name, doc in ingest_tiff_series(tiff_series[0]) if name == "event")
    with pytest.raises(ValueError, match="read-only"):
        event["data"]["image"][0, 0] = 1
    page = next(doc for name, doc in ingest_tiff_stack(tiff_stack[0]) if name == "event_page")
    with pytest.raises(ValueError, match="read-only"):
        page["data"]["image"][0, 0, 0] = 1


def test_stack_with_a_second_image_series_reads_the_first_and_warns(tmp_path, validated):
    from intake_ingest import IngestWarning

    path = tmp_path / "with_thumbnail.tiff"
    frames = np.arange(4 * 8 * 6, dtype=np.uint16).reshape(4, 8, 6)
    with tifffile.TiffWriter(path) as writer:
        writer.write(frames, photometric="minisblack")
        writer.write(np.zeros((2, 2), np.uint8))  # a thumbnail, as some software appends
    with pytest.warns(IngestWarning, match="2 image series") as record:
        documents = validated(ingest_tiff_stack(str(path)))
    assert str(path) in str(record[0].message)
    np.testing.assert_array_equal(documents[2][1]["data"]["image"], frames)


def _pil_zlib_stack(path, frames):
    """A deflate-compressed stack as Pillow writes one: each page's pixels, then its directory."""
    from PIL import Image

    images = [Image.fromarray(frame) for frame in frames]
    images[0].save(path, save_all=True, append_images=images[1:], compression="tiff_adobe_deflate")


def test_truncated_zlib_stack_reads_the_pages_left_and_warns_how_many(tmp_path, validated):
    from intake_ingest import IngestWarning

    frames = np.random.default_rng(3).integers(0, 1000, (3, 64, 64)).astype(np.uint16)
    whole = tmp_path / "whole.tiff"
    _pil_zlib_stack(whole, frames)
    with tifffile.TiffFile(whole) as tif:
        second_directory = tif.pages[1].offset
    cut = tmp_path / "cut.tiff"
    cut.write_bytes(whole.read_bytes()[: second_directory - 8])  # page 2's pixels, not its directory
    for lazy in (False, True):
        with pytest.warns(IngestWarning, match=r"read 1 page of at least 2 it declares") as record:
            documents = validated(ingest_tiff_stack(str(cut), lazy=lazy))
        assert str(cut) in str(record[0].message)
        np.testing.assert_array_equal(np.asarray(documents[2][1]["data"]["image"]), frames[:1])


def test_truncated_imagej_stack_names_the_count_it_declares(tmp_path):
    from intake_ingest import IngestWarning

    frames = np.arange(3 * 32 * 32, dtype=np.uint16).reshape(3, 32, 32)
    whole = tmp_path / "whole.tiff"
    tifffile.imwrite(whole, frames, imagej=True)
    cut = tmp_path / "cut.tiff"
    cut.write_bytes(whole.read_bytes()[: len(whole.read_bytes()) // 2])
    with pytest.warns(IngestWarning, match=r"read 1 of the 3 pages it declares"):
        list(ingest_tiff_stack(str(cut)))


def test_complete_stacks_do_not_warn(tmp_path, tiff_stack):
    import warnings

    path = tmp_path / "whole.tiff"
    _pil_zlib_stack(path, np.zeros((3, 8, 8), np.uint16))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        list(ingest_tiff_stack(str(path)))
        list(ingest_tiff_stack(tiff_stack[0]))


def _with_image_length(tmp_path, height, compression=None):
    """A small TIFF whose ImageLength tag is then overwritten with ``height``."""
    path = tmp_path / "tall.tiff"
    tifffile.imwrite(path, np.zeros((4, 6), np.uint16), metadata=None, compression=compression)
    declare_image_length(path, height)
    return str(path)


@pytest.mark.parametrize("compression", [None, "zlib"])
def test_image_height_beyond_the_file_is_an_error_before_allocating(tmp_path, compression):
    path = _with_image_length(tmp_path, 2**31 - 1, compression)
    for ingest in (ingest_tiff_stack, ingest_tiff_series, ingest_tiff_series_dask):
        with pytest.raises(IngestError, match=r"declares an image series of shape \(2147483647, 6\)") as info:
            list(ingest(path))
        assert info.value.path == path


def test_declared_size_ceiling_can_be_raised(monkeypatch):
    from intake_ingest.ingestors import _common

    huge = 2**33
    with pytest.raises(IngestError, match="MAX_DECOMPRESSION_RATIO"):
        _common.check_declared_size("f.tif", huge, 1000, "an image", compressed=True)
    monkeypatch.setattr(_common, "MAX_DECOMPRESSION_RATIO", 10**8)
    _common.check_declared_size("f.tif", huge, 1000, "an image", compressed=True)
    _common.check_declared_size("f.tif", _common.ALLOCATION_FLOOR, 10, "an image")  # small: allowed
