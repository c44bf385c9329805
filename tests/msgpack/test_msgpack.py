import os
import pickle
import warnings

import msgpack
import msgpack_numpy
import numpy as np
import pytest
import suitcase.msgpack
import xarray as xr

from intake_ingest import (
    BlueskyInMemoryCatalog,
    BlueskyMsgpackCatalog,
    IngestError,
    IngestWarning,
    ingest_tiff_series,
    ingest_tiff_series_dask,
    ingest_tiff_stack,
)
from intake_ingest.msgpack import decode, encode, export


@pytest.fixture
def catalog(tiff_series, tiff_stack):
    catalog = BlueskyInMemoryCatalog()
    catalog.upsert(ingest_tiff_series, (tiff_series[0],), {})
    catalog.upsert(ingest_tiff_stack, (tiff_stack[0],), {})
    return catalog


def test_export_writes_one_file_per_run_and_reopens_identically(catalog, tmp_path, validated):
    out = tmp_path / "native_copies"
    for uid in catalog:
        assert export(catalog[uid].canonical(), out) == [str(out / f"{uid}.msgpack")]
    assert sorted(os.listdir(out)) == sorted(f"{uid}.msgpack" for uid in catalog)

    reopened = BlueskyMsgpackCatalog(str(out / "*.msgpack"))
    assert sorted(reopened) == sorted(catalog)
    for uid in catalog:
        xr.testing.assert_identical(reopened[uid].primary.read(), catalog[uid].primary.read())
        original, again = list(catalog[uid].canonical()), validated(reopened[uid].canonical())
        assert [n for n, _ in again] == [n for n, _ in original]
        assert again[0][1] == original[0][1]  # RunStart
        assert again[-1][1] == original[-1][1]  # RunStop


def test_several_runs_in_one_stream_of_documents(catalog, tmp_path):
    def all_runs():
        for uid in catalog:
            yield from catalog[uid].canonical()

    written = export(all_runs(), tmp_path / "copies")
    assert len(written) == 2


@pytest.mark.parametrize("ingestor", [ingest_tiff_series, ingest_tiff_series_dask])
def test_bytes_identical_to_suitcase_msgpack(tiff_series, tmp_path, ingestor):
    catalog = BlueskyInMemoryCatalog()
    uid = catalog.upsert(ingestor, (tiff_series[0],), {})
    ours = export(catalog[uid].canonical(), tmp_path / "ours")
    # suitcase cannot encode dask arrays, so it is given the filled documents.
    theirs = suitcase.msgpack.export(catalog[uid].canonical(fill="yes"), str(tmp_path / "theirs"))
    (our_file,), (their_file,) = ours, theirs["all"]
    with open(our_file, "rb") as a, open(their_file, "rb") as b:
        assert a.read() == b.read()


def test_stack_bytes_identical_to_suitcase_msgpack(tiff_stack, tmp_path):
    catalog = BlueskyInMemoryCatalog()
    uid = catalog.upsert(ingest_tiff_stack, (tiff_stack[0],), {})
    (ours,) = export(catalog[uid].documents(), tmp_path / "ours")
    (theirs,) = suitcase.msgpack.export(catalog[uid].documents(), str(tmp_path / "theirs"))["all"]
    assert open(ours, "rb").read() == open(theirs, "rb").read()


def test_reads_files_written_by_suitcase(catalog, tmp_path):
    for uid in catalog:
        suitcase.msgpack.export(catalog[uid].canonical(fill="yes"), str(tmp_path / "theirs"))
    reopened = BlueskyMsgpackCatalog([str(tmp_path / "theirs" / f"{uid}.msgpack") for uid in catalog])
    assert list(reopened) == sorted(catalog)
    for uid in catalog:
        xr.testing.assert_identical(reopened[uid].primary.read(), catalog[uid].primary.read())


def test_files_read_by_the_ecosystems_msgpack_numpy_decoder(catalog, tmp_path):
    uid = list(catalog)[0]
    (path,) = export(catalog[uid].canonical(), tmp_path)
    with open(path, "rb") as file:
        documents = list(msgpack.Unpacker(file, object_hook=msgpack_numpy.decode, raw=False, max_buffer_size=0))
    assert [name for name, _ in documents] == ["start", "descriptor"] + ["event_page"] * 10 + ["stop"]
    images = np.concatenate([page["data"]["image"] for name, page in documents if name == "event_page"])
    np.testing.assert_array_equal(images, catalog[uid].primary.read()["image"].values)


def test_codec_round_trips_numpy_types():
    values = {
        "u2": np.arange(6, dtype="<u2").reshape(2, 3),
        "big_endian": np.arange(3, dtype=">i4"),
        "transposed": np.arange(6.0).reshape(2, 3).T,
        "structured": np.array([(1, 2.0)], dtype=[("a", "<i4"), ("b", "<f8")]),
        "scalar": np.float32(1.5),
        "flag": np.bool_(True),
        "complex": 1 + 2j,
    }
    packed = msgpack.packb(values, default=encode, use_bin_type=True)
    assert packed == msgpack.packb(values, default=msgpack_numpy.encode, use_bin_type=True)
    unpacked = msgpack.unpackb(packed, object_hook=decode, raw=False)
    for key, value in values.items():
        np.testing.assert_array_equal(unpacked[key], value)
        assert np.asarray(unpacked[key]).dtype == np.asarray(value).dtype


class Payload:
    def __reduce__(self):
        return (open, ("/tmp/intake-ingest-payload-ran", "w"))


def test_pickled_object_arrays_are_refused_and_never_run(tmp_path):
    marker = "/tmp/intake-ingest-payload-ran"
    if os.path.exists(marker):
        os.remove(marker)
    start = {"uid": "evil", "time": 0.0}
    evil = {b"nd": True, b"type": "|O", b"kind": b"O", b"shape": [1], b"data": pickle.dumps(Payload())}
    path = tmp_path / "evil.msgpack"
    with open(path, "wb") as file:
        file.write(msgpack.packb(("start", start), use_bin_type=True))
        file.write(msgpack.packb(("event_page", {"data": {"x": evil}}), use_bin_type=True))
    catalog = BlueskyMsgpackCatalog(str(path))
    with pytest.raises(IngestError, match="pickled") as info:
        list(catalog["evil"].canonical())
    assert info.value.path == str(path)
    assert not os.path.exists(marker)
    with pytest.raises(TypeError, match="object arrays"):
        encode(np.array([object()]))


def test_truncated_file_is_a_partial_run_with_a_warning(catalog, tmp_path):
    uid = list(catalog)[0]
    (path,) = export(catalog[uid].canonical(), tmp_path)
    data = open(path, "rb").read()
    with open(path, "wb") as file:
        file.write(data[: len(data) // 2])
    reopened = BlueskyMsgpackCatalog(str(tmp_path / "*.msgpack"))
    run = reopened[uid]
    with pytest.warns(IngestWarning, match="middle of a document"):
        dataset = run.primary.read()
    assert 0 < dataset.sizes["time"] < 10
    assert run.metadata["stop"] is None


def test_unreadable_files_are_skipped_with_a_warning_naming_them(catalog, tmp_path):
    for uid in catalog:
        export(catalog[uid].canonical(), tmp_path)
    (tmp_path / "notes.msgpack").write_bytes(b"\xc1 not msgpack")
    with pytest.warns(IngestWarning, match="notes.msgpack"):
        reopened = BlueskyMsgpackCatalog(str(tmp_path / "*.msgpack"))
    assert sorted(reopened) == sorted(catalog)


def test_export_refuses_to_overwrite(catalog, tmp_path):
    uid = list(catalog)[0]
    export(catalog[uid].canonical(), tmp_path)
    with pytest.raises(FileExistsError, match=uid):
        export(catalog[uid].canonical(), tmp_path)
    export(catalog[uid].canonical(), tmp_path, overwrite=True)


def test_memory_url_and_reload_sees_new_files(catalog, memory_folder):
    fs, root = memory_folder
    first, second = list(catalog)
    export(catalog[first].canonical(), f"memory://{root}/copies")
    reopened = BlueskyMsgpackCatalog(f"memory://{root}/copies/*.msgpack")
    assert list(reopened) == [first]
    export(catalog[second].canonical(), f"memory://{root}/copies")
    reopened.force_reload()
    assert sorted(reopened) == sorted([first, second])
    xr.testing.assert_identical(reopened[second].primary.read(), catalog[second].primary.read())


def test_empty_glob_is_an_empty_catalog(tmp_path):
    assert list(BlueskyMsgpackCatalog(str(tmp_path / "*.msgpack"))) == []


def test_a_failed_export_leaves_no_file_behind(tmp_path):
    import event_model

    def run_with_an_object_array():
        bundle = event_model.compose_run()
        yield "start", bundle.start_doc
        stream = bundle.compose_descriptor(
            name="primary", data_keys={"x": {"dtype": "array", "shape": [1], "source": "s"}}
        )
        yield "descriptor", stream.descriptor_doc
        yield "event", stream.compose_event(data={"x": np.array([object()])}, timestamps={"x": 0.0})
        yield "stop", bundle.compose_stop()

    with pytest.raises(TypeError, match="object arrays"):
        export(run_with_an_object_array(), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_partial_run_is_exported_as_a_partial_run(catalog, tmp_path):
    uid = list(catalog)[0]
    documents = [doc for doc in catalog[uid].canonical() if doc[0] != "stop"]
    (path,) = export(documents, tmp_path)
    run = BlueskyMsgpackCatalog(path)[uid]
    assert run.metadata["stop"] is None
    assert run.primary.read().sizes["time"] == 10
