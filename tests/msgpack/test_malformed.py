"""Crafted msgpack files that break the event model: each is refused or skipped, naming the file.

Each test writes the smallest file showing one defect, next to good files where the
defect used to break a whole folder.
"""

import os
import re
import warnings

import event_model
import msgpack
import numpy as np
import pytest

from intake_ingest import BlueskyMsgpackCatalog, IngestError, IngestWarning
from intake_ingest.cli import main
from intake_ingest.files import expand
from intake_ingest.msgpack import encode, read_documents
from intake_ingest.msgpack.codec import pack


def good_run(values=(1.0, 2.0, 3.0), key="x"):
    """A small valid run: start, descriptor, one event page per value, stop."""
    bundle = event_model.compose_run()
    stream = bundle.compose_descriptor(
        name="primary", data_keys={key: {"dtype": "number", "shape": [], "source": "test"}}
    )
    documents = [("start", bundle.start_doc), ("descriptor", stream.descriptor_doc)]
    for value in values:
        event = stream.compose_event(data={key: value}, timestamps={key: 0.0})
        documents.append(("event_page", event_model.pack_event_page(event)))
    documents.append(("stop", bundle.compose_stop()))
    return documents


def write(path, documents, raw=False):
    """Documents to a file; ``raw``: packed as they are, without this package's encoder checks."""
    with open(path, "wb") as file:
        for name, doc in documents:
            file.write(msgpack.packb((name, doc), use_bin_type=True) if raw else pack(name, doc))
    return str(path)


def array_map(dtype_string, data=b"\x00" * 8, shape=(1,)):
    """An array as msgpack-numpy writes it, with any dtype string."""
    return {b"nd": True, b"type": dtype_string, b"kind": b"", b"shape": list(shape), b"data": data}


def with_event_data(value):
    """A good run whose first event page's data is ``value`` (a crafted array map)."""
    documents = good_run()
    page = dict(documents[2][1])
    page["data"] = {"x": [value]}
    documents[2] = ("event_page", page)
    return documents


# -- dtypes ----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype_string", ["|O", "<M8[ns]", "|V8", [["a", "<i4"], ["b", "|O"]]])
def test_arrays_of_other_than_numeric_bool_or_string_dtypes_are_refused(tmp_path, dtype_string):
    # '|O' with an empty kind is not a pickle: numpy would build the array from the file's
    # bytes as object pointers, and reading it would crash the process.
    path = write(tmp_path / "evil.msgpack", with_event_data(array_map(dtype_string)), raw=True)
    run = BlueskyMsgpackCatalog(path)[-1]
    with pytest.raises(IngestError, match="only bool, numeric and fixed-width string arrays are read") as raised:
        run.primary.read()
    assert raised.value.path == path and "document 3" in raised.value.reason


def test_show_of_an_object_array_run_is_a_one_line_error(tmp_path, capsys):
    path = write(tmp_path / "evil.msgpack", with_event_data(array_map("|O")), raw=True)
    uid = BlueskyMsgpackCatalog(path)[-1].uid
    assert main(["show", str(tmp_path), uid]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"intake-ingest: error: {path}: ") and "dtype '|O'" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "value",
    [np.array([b"ab", b"c"]), np.array(["ab", "é"]), np.array([True, False]), np.arange(4, dtype=">c8"),
     np.array([(1, [2.0, 3.0])], dtype=[("a", "<i2"), ("b", "<f4", (2,))])],
)
def test_numeric_bool_and_string_arrays_are_read(tmp_path, value):
    path = write(tmp_path / "fine.msgpack", with_event_data(value))
    (source,) = expand(path)
    page = [doc for name, doc in read_documents(source) if name == "event_page"][0]
    np.testing.assert_array_equal(page["data"]["x"][0], value)
    assert page["data"]["x"][0].dtype == value.dtype


def test_arrays_readers_refuse_are_not_written():
    with pytest.raises(TypeError, match="dtype '<M8\\[s\\]' cannot be written"):
        encode(np.array(["2024-01-01"], dtype="datetime64[s]"))


@pytest.mark.parametrize(
    "value, message",
    [
        (array_map("<f8", data=b"\x00" * 4), "buffer is too small"),
        (array_map("not a dtype"), "is not a numpy dtype"),
        ({b"nd": True, b"type": "<f8", b"kind": b""}, "an array in it has no data or shape"),
    ],
)
def test_damaged_array_maps_name_the_file(tmp_path, value, message):
    path = write(tmp_path / "damaged.msgpack", with_event_data(value), raw=True)
    with pytest.raises(IngestError, match=message) as raised:
        BlueskyMsgpackCatalog(path)[-1].primary.read()
    assert raised.value.path == path


# -- RunStarts -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"uid": None}, "its RunStart has no uid"),
        ({"uid": ["a", "b"]}, "its RunStart has a uid that is not text (['a', 'b'])"),
        ({"uid": 7}, "its RunStart has a uid that is not text (7)"),
        ({"time": "yesterday"}, "its RunStart has a time that is not a number ('yesterday')"),
        ({"time": 1e300}, "its RunStart has a time out of range (1e+300)"),
    ],
)
def test_a_bad_runstart_skips_its_file_and_ls_search_show_work_for_the_rest(tmp_path, capsys, change, reason):
    good = good_run()
    write(tmp_path / "good.msgpack", good)
    bad = good_run()
    start = {key: value for key, value in {**bad[0][1], **change}.items() if value is not None}
    bad_path = write(tmp_path / "bad.msgpack", [("start", start)] + bad[1:], raw=True)
    uid = good[0][1]["uid"]

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        catalog = BlueskyMsgpackCatalog(str(tmp_path / "*.msgpack"))
    assert [(w.category, str(w.message)) for w in caught] == [(IngestWarning, f"skipped: {bad_path}: {reason}")]
    assert list(catalog) == [uid]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IngestWarning)
        listings = (["ls", str(tmp_path), "--columns", "uid"], ["search", str(tmp_path), "{}", "--columns", "uid"])
        for command in (*listings, ["show", str(tmp_path), uid[:8]]):
            assert main(command) == 0
            lines = capsys.readouterr().out.splitlines()
            if command[0] == "show":
                assert lines[0].split()[:2] == ["#1", uid]
                assert "  stream primary: 3 events" in lines
            else:
                assert lines == ["uid", uid]  # a header, then the good run only


# -- files cut short --------------------------------------------------------------------


def test_every_cut_inside_a_document_warns_and_a_cut_between_documents_does_not(tmp_path):
    documents = good_run()
    sizes = [len(pack(name, doc)) for name, doc in documents]
    boundaries = set(np.cumsum(sizes).tolist())
    data = open(write(tmp_path / "whole.msgpack", documents), "rb").read()
    assert len(data) == sum(sizes)
    cut_path = tmp_path / "cut.msgpack"
    silent_cuts, warned_boundaries = [], []
    for cut in range(1, len(data)):
        cut_path.write_bytes(data[:cut])
        (source,) = expand(str(cut_path))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            read = list(read_documents(source))
        warned = any(issubclass(w.category, IngestWarning) and "middle of a document" in str(w.message) for w in caught)
        assert len(read) == sum(1 for boundary in boundaries if boundary <= cut)
        if cut in boundaries and warned:
            warned_boundaries.append(cut)
        elif cut not in boundaries and not warned:
            silent_cuts.append(cut)
    assert silent_cuts == [] and warned_boundaries == []


# -- documents the run layer cannot use ----------------------------------------------------


def without(documents, index, *keys):
    name, doc = documents[index]
    documents[index] = (name, {key: value for key, value in doc.items() if key not in keys})
    return documents


def replaced(documents, index, **values):
    name, doc = documents[index]
    documents[index] = (name, {**doc, **values})
    return documents


@pytest.mark.parametrize(
    "make, reason",
    [
        (lambda d: without(d, 1, "data_keys"), "document 2 (descriptor) has no data_keys"),
        (lambda d: replaced(d, 1, data_keys={"x": {"shape": "big"}}), "document 2 (descriptor) gives 'x' a shape"),
        (lambda d: replaced(d, 1, data_keys={"x": {"dtype_numpy": "|O"}}), "document 2 (descriptor) describes 'x'"),
        (lambda d: replaced(d, 2, time=[1.0, 2.0]), "document 3 (event_page) is ragged: 1 values of uid for 2 times"),
        (lambda d: replaced(d, 3, data={"x": [1.0, 2.0]}), "document 4 (event_page) is ragged: 2 data of 'x' for 1 times"),
        (lambda d: replaced(d, 3, data={"x": 1.0}), "document 4 (event_page) holds float as the data of 'x'"),
        (lambda d: replaced(d, 3, data={"y": [1.0]}), "document 4 (event_page) has no values for 'x'"),
        (lambda d: replaced(d, 3, time=["noon"]), "document 4 (event_page) has times that are not numbers"),
        (lambda d: without(d, 4, "timestamps"), "document 5 (event_page) has no timestamps map"),
    ],
)
def test_malformed_documents_are_errors_naming_the_file_and_document(tmp_path, make, reason):
    path = write(tmp_path / "malformed.msgpack", make(good_run()))
    run = BlueskyMsgpackCatalog(path)[-1]
    with pytest.raises(IngestError) as raised:
        run.primary.read()
    assert raised.value.path == path
    assert raised.value.reason.startswith(reason)


def test_malformed_events_datums_and_resources(tmp_path):
    event = {"descriptor": None, "uid": "e", "time": 1.0, "seq_num": 1, "data": {"x": 1.0}, "timestamps": {"x": 1.0}}
    cases = {
        "event_without_descriptor": (("event", event), "document 3 (event) has no descriptor uid"),
        "ragged_datum_page": (
            ("datum_page", {"datum_id": ["a", "b"], "resource": "r", "datum_kwargs": {"frame": [0]}}),
            "document 3 (datum_page) is ragged",
        ),
        "resource_without_path": (("resource", {"uid": "r", "spec": "TIFF"}), "document 3 (resource) has no resource_path"),
    }
    for name, (document, reason) in cases.items():
        documents = good_run()
        documents.insert(2, document)
        path = write(tmp_path / f"{name}.msgpack", documents)
        with pytest.raises(IngestError, match=re.escape(reason)):
            list(BlueskyMsgpackCatalog(path)[-1].canonical())


def test_events_of_an_unknown_descriptor_are_left_out_with_a_warning(tmp_path):
    documents = good_run()
    documents = replaced(documents, 3, descriptor="nobody")
    path = write(tmp_path / "orphan.msgpack", documents)
    run = BlueskyMsgpackCatalog(path)[-1]
    with pytest.warns(IngestWarning, match=r"orphan\.msgpack: document 4 \(event_page\) belongs to descriptor 'nobody'"):
        dataset = run.primary.read()
    assert dataset["x"].values.tolist() == [1.0, 3.0]


def test_a_good_run_reads_without_warnings(tmp_path):
    path = write(tmp_path / "good.msgpack", good_run())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dataset = BlueskyMsgpackCatalog(path)[-1].primary.read()
    assert dataset["x"].values.tolist() == [1.0, 2.0, 3.0]
    assert os.path.basename(path) == "good.msgpack"
