"""The compiled schema check against event_model's validator: the same verdict, always.

The ingestors compose documents through :mod:`intake_ingest.ingestors._compose`, which
accepts a document when the compiled check does, and asks event_model's validator
otherwise. So the property that matters is: whatever the compiled check accepts,
event_model's validator accepts. Hypothesis mutates real documents (values replaced by
values of every JSON and numpy type, keys added with and without '.' and '/', keys
removed) and compares both verdicts.
"""

import copy
import pathlib

import dask.array as da
import event_model
import jsonschema
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intake_ingest.ingestors import _schema_check
from intake_ingest.ingestors._compose import compose_run
from intake_ingest.ingestors.spec import ingest_spec

REAL_SPEC = pathlib.Path(__file__).parents[1] / "data" / "real" / "spec" / "pressure_calibration_scans_1_2.dat"


def _documents():
    """A valid document of every kind the ingestors write, each from real composition."""
    docs = list(ingest_spec(str(REAL_SPEC), "1"))
    run = compose_run(uid="run-uid", time=1.0, metadata={"plan_name": "count", "sample": {"name": "Si"}})
    stream = run.compose_descriptor(
        name="primary",
        data_keys={
            "det": {"dtype": "number", "shape": [], "source": "sim", "units": "counts", "precision": 3},
            "image": {"dtype": "array", "shape": [2, 3], "source": "sim", "external": "FILESTORE:",
                      "dtype_numpy": "<u2", "dims": ["y", "x"]},
        },
        configuration={"det": {"data": {"gain": 2.0}, "timestamps": {"gain": 1.0},
                               "data_keys": {"gain": {"dtype": "number", "shape": [], "source": "sim"}}}},
        hints={"det": {"fields": ["det"]}},
        time=1.0,
    )
    resource = run.compose_resource(spec="TIFF", root="/", resource_path="data/a.tiff", resource_kwargs={"k": 1})
    docs += [
        ("descriptor", stream.descriptor_doc),
        ("resource", resource.resource_doc),
        ("datum", resource.compose_datum(datum_kwargs={"frame": 0})),
        ("datum_page", resource.compose_datum_page(datum_kwargs={"frame": [1, 2]})),
        ("event_page", stream.compose_event_page(
            data={"det": [1.0, 2.0], "image": ["d1", "d2"]}, timestamps={"det": [1.0, 2.0], "image": [1.0, 2.0]},
            time=[1.0, 2.0], seq_num=[1, 2], filled={"image": [False, False]})),
        ("event_page", stream.compose_event_page(
            data={"det": np.arange(2.0), "image": np.zeros((2, 2, 3))}, timestamps={"det": [1.0, 2.0], "image": (1.0, 2.0)},
            time=np.array([3.0, 4.0]), seq_num=[3, 4])),
        ("event_page", stream.compose_event_page(  # lazy frames, as the lazy ingestors give them
            data={"det": da.arange(2.0, chunks=1), "image": da.zeros((2, 2, 3), chunks=(1, 2, 3))},
            timestamps={"det": [1.0, 2.0], "image": [1.0, 2.0]}, time=[3.0, 4.0], seq_num=[3, 4])),
        ("event_page", stream.compose_event_page(
            data={"det": [1.0, 2.0], "image": [da.zeros((2, 3), chunks=-1), da.ones((2, 3), chunks=-1)]},
            timestamps={"det": [1.0, 2.0], "image": [1.0, 2.0]}, time=[3.0, 4.0], seq_num=[3, 4])),
        ("event", stream.compose_event(
            data={"det": 1.0, "image": "d3"}, timestamps={"det": 1.0, "image": 1.0}, time=5.0, seq_num=5,
            filled={"image": False})),
        ("stop", run.compose_stop(time=6.0, reason="done")),
    ]
    return docs


DOCUMENTS = _documents()
BY_KIND = {}
for _name, _doc in DOCUMENTS:
    BY_KIND.setdefault(_name, []).append(_doc)

VALUES = st.sampled_from([
    None, True, False, 0, 1, -3, 2**70, 1.0, 1.5, float("nan"), "", "s", "a.b", "a/b", "number", "array",
    "string", "integer", "<f8", ">u2", "|b1", "f8", "STREAM:", "FILESTORE:", "fs", "success", "abort", "fail",
    [], [1], [None], [1.5], ["x"], [[1]], (1, 2), ("x",), {}, {"a": 1}, {"a.b": 1}, {"x": {"y/z": 1}},
    {"x": {"y": {"z": None}}}, {"dtype": "number", "shape": [], "source": "s"},
    {"dtype": "nope", "shape": [], "source": "s"}, {"dtype": "number", "shape": [1.0], "source": "s"},
    {"high": 1.0, "low": 0.0}, np.float64(1.0), np.float32(2.5), np.int64(2), np.bool_(True), np.str_("np"),
    np.array([1, 2]), np.array(3), np.zeros((2, 0)), np.array(["a", "b"]),
    da.zeros((3, 2), chunks=(2, 2)), da.zeros((), chunks=()), da.zeros((0, 2), chunks=-1),
    da.arange(4, chunks=2)[da.arange(4, chunks=2) > 1],  # of unknown length
])
KEYS = st.sampled_from(["uid", "time", "data", "extra", "a.b", "c/d", "", "seq_num", "filled", "shape",
                        "dtype", "units", "limits", "dims", "precision", "external", "hints", "fields"])


def _paths(doc, prefix=()):
    """Every (container, key) pair in a document, at every depth."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield doc, key
            yield from _paths(value, prefix + (key,))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            yield doc, index
            yield from _paths(value, prefix + (index,))


@st.composite
def mutated(draw):
    """A real document (every kind equally often) with one to three random changes."""
    name = draw(st.sampled_from(sorted(BY_KIND)))
    doc = copy.deepcopy(draw(st.sampled_from(BY_KIND[name])))
    for _ in range(draw(st.integers(1, 3))):
        places = list(_paths(doc))
        container, key = draw(st.sampled_from(places))
        action = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
        if action == "replace":
            container[key] = copy.deepcopy(draw(VALUES))
        elif action == "delete" and isinstance(container, dict):
            del container[key]
        elif isinstance(container, dict):
            container[draw(KEYS)] = copy.deepcopy(draw(VALUES))
        elif isinstance(container, list):
            container.append(copy.deepcopy(draw(VALUES)))
    return name, doc


def _event_model_verdict(name, doc):
    validator = event_model.schema_validators[event_model.DocumentNames[name]]
    try:
        return validator.is_valid(doc)
    except Exception:  # jsonschema itself fails on it (e.g. iterating a 0-d array): not valid
        return False


@pytest.mark.parametrize("index", range(len(DOCUMENTS)))
def test_real_documents_pass_both(index):
    name, doc = DOCUMENTS[index]
    assert _event_model_verdict(name, doc)
    assert _schema_check.is_valid(name, doc)


def test_every_document_schema_is_compiled():
    """Every schema of this event_model is compiled (none left to jsonschema alone)."""
    assert set(_schema_check._CHECKS) == set(event_model.schema_validators)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_compiled_check_agrees_with_event_model(case):
    name, doc = case
    fast = _schema_check.is_valid(name, doc)
    assert fast == _event_model_verdict(name, doc)


def test_a_page_of_dask_arrays_is_accepted_without_indexing_them(monkeypatch):
    """event_model's validator takes a dask array for an array and indexes each of its items
    (each a new dask array); the compiled check gives the same verdict without doing so."""
    name, doc = next((name, doc) for name, doc in DOCUMENTS if name == "event_page" and isinstance(doc["data"]["det"], da.Array))
    assert _event_model_verdict(name, doc)

    def no_indexing(*args, **kwargs):
        raise AssertionError("indexed")

    monkeypatch.setattr(da.Array, "__getitem__", no_indexing)
    assert _schema_check.is_valid(name, doc)
    assert not _event_model_verdict(name, doc)  # it does index them


def test_validate_raises_event_models_own_error():
    name, doc = next((name, doc) for name, doc in DOCUMENTS if name == "descriptor")
    doc = copy.deepcopy(doc)
    doc["data_keys"]["Cryo_X"]["dtype"] = "float"
    with pytest.raises(jsonschema.ValidationError) as caught:
        _schema_check.validate("descriptor", doc)
    assert "'float' is not one of" in str(caught.value)


# -- the composers: event_model's documents, event_model's errors ------------------------------


def _run():
    run = compose_run(uid="u", time=1.0, metadata={"plan_name": "x"})
    stream = run.compose_descriptor(name="primary", time=1.0, data_keys={
        "a": {"dtype": "number", "shape": [], "source": "s"},
        "b": {"dtype": "number", "shape": [], "source": "s"},
    })
    return run, stream


def test_composed_documents_equal_event_models():
    ours, stream = _run()
    theirs = event_model.compose_run(uid="u", time=1.0, metadata={"plan_name": "x"})
    their_stream = theirs.compose_descriptor(
        name="primary", time=1.0, uid=stream.descriptor_doc["uid"], data_keys=stream.descriptor_doc["data_keys"]
    )
    assert ours.start_doc == theirs.start_doc
    assert stream.descriptor_doc == their_stream.descriptor_doc
    fields = dict(data={"a": 1.0, "b": 2.0}, timestamps={"a": 1.0, "b": 1.0}, time=1.0, uid="e1")
    assert stream.compose_event(**fields) == their_stream.compose_event(**fields)
    page = dict(data={"a": [1.0], "b": [2.0]}, timestamps={"a": [1.0], "b": [1.0]}, time=[1.0], uid=["p1"])
    assert stream.compose_event_page(**page) == their_stream.compose_event_page(**page)
    assert ours.compose_stop(uid="s", time=2.0) == theirs.compose_stop(uid="s", time=2.0)


def test_event_with_keys_other_than_its_descriptors_is_refused():
    _, stream = _run()
    with pytest.raises(event_model.EventModelValidationError, match="sets of keys must match"):
        stream.compose_event(data={"a": 1.0}, timestamps={"a": 1.0}, time=1.0)
    with pytest.raises(event_model.EventModelValidationError, match="sets of keys must match"):
        stream.compose_event_page(data={"a": [1.0]}, timestamps={"a": [1.0]}, time=[1.0])


def test_event_failing_the_schema_is_refused():
    _, stream = _run()
    with pytest.raises(jsonschema.ValidationError):
        stream.compose_event(data={"a": 1.0, "b": 1.0}, timestamps={"a": 1.0, "b": 1.0}, time="noon")
    with pytest.raises(jsonschema.ValidationError):
        stream.compose_event_page(
            data={"a": [1.0], "b": [1.0]}, timestamps={"a": [1.0], "b": [1.0]}, time=[1.0], seq_num=[1.5]
        )


def test_descriptor_rules_are_event_models():
    run, _ = _run()
    with pytest.raises(event_model.EventModelValidationError, match="same data_keys"):
        run.compose_descriptor(name="primary", data_keys={"c": {"dtype": "number", "shape": [], "source": "s"}})
    with pytest.raises(jsonschema.ValidationError):
        run.compose_descriptor(name="other", data_keys={"c.d": {"dtype": "number", "shape": [], "source": "s"}})
    with pytest.raises(jsonschema.ValidationError):
        run.compose_descriptor(name="third", data_keys={"c": {"dtype": "number", "source": "s"}})


def test_without_compiled_checks_event_model_decides(monkeypatch):
    """A schema that could not be compiled (a future event_model's keyword) is event_model's to check."""
    monkeypatch.setattr(_schema_check, "_CHECKS", {})
    name, doc = next((name, doc) for name, doc in DOCUMENTS if name == "descriptor")
    assert not _schema_check.is_valid(name, doc)
    _schema_check.validate(name, doc)  # event_model accepts it
    doc = copy.deepcopy(doc)
    doc["data_keys"]["Cryo_X"]["shape"] = "scalar"
    with pytest.raises(jsonschema.ValidationError):
        _schema_check.validate(name, doc)
