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
    return name, _mutate(draw, copy.deepcopy(draw(st.sampled_from(BY_KIND[name]))))


def _mutate(draw, doc):
    """``doc`` with one to three random changes (in place)."""
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
    return doc


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


# -- verdicts kept by content -------------------------------------------------------------------

def _kept_checks():
    """Every kept check of the compiled schemas (the data-key maps of the descriptor's)."""
    return list(_schema_check._KEPT_CHECKS)


def test_data_key_maps_are_kept():
    """The descriptor's data_keys and each configuration's data_keys go through a kept check."""
    kept = _kept_checks()
    assert kept
    descriptor = next(doc for name, doc in DOCUMENTS if name == "descriptor" and doc["configuration"])
    for check in kept:
        check.accepted.clear()
    assert _schema_check.is_valid("descriptor", descriptor)
    assert sum(len(check.accepted) for check in kept) >= 2  # data_keys and a configuration's
    assert _schema_check.is_valid("descriptor", copy.deepcopy(descriptor))  # now from the kept verdicts


def _kept_twin(doc):
    """``doc`` checked once (its data keys kept), and a deep copy of it, to be mutated."""
    assert _schema_check.is_valid("descriptor", doc)
    return copy.deepcopy(doc)


@st.composite
def _descriptor_and_mutation(draw):
    """A real descriptor, and a mutated copy of it."""
    original = draw(st.sampled_from(BY_KIND["descriptor"]))
    return original, _mutate(draw, copy.deepcopy(original))


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_descriptor_and_mutation(), st.booleans())
def test_a_kept_verdict_never_accepts_a_mutated_descriptor(case, in_place):
    """A descriptor accepted (so its data-key maps are kept), then changed, in place or as a
    copy: the compiled check's verdict is still event_model's."""
    original, mutated_doc = case
    doc = _kept_twin(original)
    if in_place:
        # The very objects the kept check saw, changed afterwards.
        assert _schema_check.is_valid("descriptor", doc)
        for key in list(doc):
            if key not in mutated_doc:
                del doc[key]
        for key, value in mutated_doc.items():
            if isinstance(value, dict) and isinstance(doc.get(key), dict):
                for inner in list(doc[key]):
                    if inner not in value:
                        del doc[key][inner]
                doc[key].update(value)
            else:
                doc[key] = value
    else:
        doc = mutated_doc
    assert doc == mutated_doc
    assert _schema_check.is_valid("descriptor", doc) == _event_model_verdict("descriptor", doc)


class _Sneaky(str):
    """A str that is equal to no other (jsonschema's enum calls ==)."""

    def __eq__(self, other):
        return False

    __hash__ = str.__hash__


class _KeyLike:
    """A key equal to a str (and hashed alike), which is not a str."""

    def __init__(self, text):
        self.text = text

    def __eq__(self, other):
        return other == self.text

    def __hash__(self):
        return hash(self.text)


@pytest.mark.parametrize(
    "change",
    [
        lambda key: {"dtype": _Sneaky("number"), "shape": [], "source": "s"},  # a str subclass
        lambda key: {"dtype": "number", "shape": (np.int64(1),), "source": "s"},  # numpy values
        lambda key: {"dtype": "number", "shape": [1.0], "source": "s"},  # float, not int
        lambda key: {"dtype": "number", "shape": [True], "source": "s"},  # bool, not int
        lambda key: {"dtype": "number", "shape": [], "source": b"s"},  # bytes, not str
    ],
)
def test_a_kept_verdict_is_not_given_to_values_that_only_look_alike(change):
    """Values that equal, hash or print like an accepted map's are checked, not taken from
    the kept verdicts: the pickle snapshot refuses anything but exact builtins."""
    descriptor = next(doc for name, doc in DOCUMENTS if name == "descriptor")
    _kept_twin(descriptor)
    doc = copy.deepcopy(descriptor)
    key = next(iter(doc["data_keys"]))
    doc["data_keys"][key] = change(key)
    assert _schema_check.is_valid("descriptor", doc) == _event_model_verdict("descriptor", doc)


def test_a_key_equal_to_a_str_is_not_taken_for_it():
    descriptor = next(doc for name, doc in DOCUMENTS if name == "descriptor")
    _kept_twin(descriptor)
    doc = copy.deepcopy(descriptor)
    key = next(iter(doc["data_keys"]))
    doc["data_keys"][_KeyLike(key + "_x")] = doc["data_keys"].pop(key)
    _schema_check.is_valid("descriptor", {**doc, "data_keys": {key + "_x": doc["data_keys"][_KeyLike(key + "_x")]}})
    assert not _schema_check.is_valid("descriptor", doc)
    assert _schema_check.is_valid("descriptor", doc) == _event_model_verdict("descriptor", doc)


def test_kept_verdicts_are_bounded(monkeypatch):
    monkeypatch.setattr(_schema_check, "_KEPT_COUNT", 64)
    check = _schema_check._kept_verdicts(lambda instance: True)
    for n in range(500):
        assert check({f"k{n}": {"dtype": "number", "shape": [], "source": "s"}})
    assert len(check.accepted) <= 64
    huge = {f"k{n}": {"dtype": "number", "shape": [], "source": f"{n:06d}" * 10} for n in range(2000)}
    assert len(_schema_check._snapshot(huge)) > _schema_check._KEPT_BYTES
    assert check(huge)
    assert _schema_check._snapshot(huge) not in check.accepted  # larger than _KEPT_BYTES


def test_only_acceptances_are_kept():
    verdicts = iter([False, True])
    check = _schema_check._kept_verdicts(lambda instance: next(verdicts))
    value = {"a": {"dtype": "number"}}
    assert not check(value)
    assert check(value)  # asked again: the refusal was not kept
    assert check.accepted


def test_snapshot_refuses_anything_but_exact_builtins():
    assert _schema_check._snapshot({"a": [1, 2.0, "x", None, True, (1,), {"b": b"c"}]}) is not None
    for value in (np.float64(1.0), np.str_("x"), _Sneaky("x"), np.array([1]), _KeyLike("x"), str, object()):
        assert _schema_check._snapshot({"a": value}) is None
    assert _schema_check._snapshot({_KeyLike("a"): 1}) is None
    assert _schema_check._snapshot({"a": [1]}) != _schema_check._snapshot({"a": (1,)})
    assert _schema_check._snapshot({"a": 1}) != _schema_check._snapshot({"a": True})
    assert _schema_check._snapshot({"a": 1}) != _schema_check._snapshot({"a": 1.0})
    assert _schema_check._snapshot({"a": 1, "b": 2}) != _schema_check._snapshot({"b": 2, "a": 1})


# -- the walk over nested keys, and items decided by their type ----------------------------------

@pytest.mark.parametrize(
    "value, valid",
    [
        ({}, True),
        ({"a": {"b": {"c": 1}}, "d": [{"e.f": 1}]}, True),  # a dict inside a list is not walked
        ({"a": {"b.c": 1}}, False),
        ({"a": {"b": {"c/d": 1}}}, False),
        ({"a": {1: 1}}, False),
        ({"a": {_Sneaky("b"): 1}}, False),  # a str subclass key: left to jsonschema
        ({"a": 1, "b": {"a": {"a": {}}}}, True),
    ],
)
def test_nested_keys_walk(value, valid):
    import re

    walk = _schema_check._key_pattern_tree(re.compile(r"^([^./]+)$").search)
    assert walk(value) is valid
    assert walk(value) is valid  # the keys found the first time do not change a verdict


def test_nested_keys_too_deep_or_too_wide_are_left_to_jsonschema():
    import re

    walk = _schema_check._key_pattern_tree(re.compile(r"^([^./]+)$").search)
    deep = {}
    node = deep
    for _ in range(_schema_check._MAX_DEPTH + 2):
        node["a"] = {}
        node = node["a"]
    assert not walk(deep)
    cycle = {}
    cycle["a"] = cycle
    cycle["b"] = cycle  # doubles every level
    assert not walk(cycle)


@pytest.mark.parametrize(
    "seq_num, valid",
    [([1, 2, 3], True), ([1, 2.0, 3], True), ([1.5, 2.5], False), ([1.0, 2.0], True), ([True, False], False),
     ([1, "2"], False), ((1, 2), True), ([np.int64(1), np.int64(2)], False), ([None], False)],
)
def test_items_of_one_type_decided_once_agree_with_event_model(seq_num, valid):
    page = copy.deepcopy(next(doc for name, doc in DOCUMENTS if name == "event_page"))
    page["seq_num"], page["uid"], page["time"] = seq_num, ["u"] * len(seq_num), [1.0] * len(seq_num)
    for key in page["data"]:
        page["data"][key] = [1.0] * len(seq_num)
        page["timestamps"][key] = [1.0] * len(seq_num)
    page["filled"] = {}
    assert _event_model_verdict("event_page", page) is valid
    assert _schema_check.is_valid("event_page", page) is valid


# -- a page's uids and its events -----------------------------------------------------------------

def test_new_uids_are_random_version_4_uuids():
    import uuid

    from intake_ingest.ingestors._compose import new_uids

    uids = new_uids(2000)
    assert len(set(uids)) == 2000
    for text in uids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
    assert new_uids(0) == []


def test_a_page_composed_without_uids_gets_new_ones():
    _, stream = _run()
    page = stream.compose_event_page(
        data={"a": [1.0, 2.0], "b": [3.0, 4.0]}, timestamps={"a": [1.0, 1.0], "b": [1.0, 1.0]},
        time=[1.0, 2.0], seq_num=[1, 2],
    )
    assert len(set(page["uid"])) == 2
    assert all(len(uid) == 36 for uid in page["uid"])


def _page(**changes):
    times = [10.0, 11.0, 12.0]
    page = {
        "descriptor": "d", "uid": ["u1", "u2", "u3"], "time": times, "seq_num": [1, 2, 3],
        "data": {"a": [1.0, 2.0, 3.0], "b": [4, 5, 6], "image": np.arange(12.0).reshape(3, 2, 2)},
        "timestamps": {"a": times, "b": times, "image": times}, "filled": {},
    }
    page.update(changes)
    return page


@pytest.mark.parametrize(
    "page",
    [
        _page(),
        _page(filled={"image": [False, False, False]}),  # filled: event_model's own unpacking
        _page(timestamps={"a": [1.0, 2.0, 3.0], "b": [1.0, 2.0, 3.0], "image": [1.0, 2.0, 3.0]}),
        _page(timestamps={"b": [1.0] * 3, "a": [1.0] * 3, "image": [1.0] * 3}),
        _page(uid=["u1", "u2"]),  # fewer uids than rows: event_model's zip_longest
        _page(seq_num=(1, 2, 3)),
        _page(data={"a": [1.0, 2.0], "b": [1, 2, 3]}, timestamps={"a": [0.0] * 3, "b": [0.0] * 3}),
        _page(data={}, timestamps={}),
    ],
)
def test_pages_unpack_into_event_models_events(page):
    from intake_ingest.ingestors._compose import unpack_event_page

    ours, theirs = unpack_event_page(copy.deepcopy(page)), list(event_model.unpack_event_page(copy.deepcopy(page)))
    assert len(ours) == len(theirs)
    for mine, expected in zip(ours, theirs):
        assert list(mine) == list(expected)  # the same fields in the same order
        for field in expected:
            if field == "data":
                assert list(mine["data"]) == list(expected["data"])
                for key, value in expected["data"].items():
                    np.testing.assert_array_equal(mine["data"][key], value)
                    assert type(mine["data"][key]) is type(value)
            else:
                assert mine[field] == expected[field]
                assert type(mine[field]) is type(expected[field])


def test_unpacked_events_do_not_share_their_dicts():
    from intake_ingest.ingestors._compose import unpack_event_page

    first, second, _ = unpack_event_page(_page())
    first["filled"]["a"] = True
    first["timestamps"]["a"] = 0.0
    assert second["filled"] == {} and second["timestamps"]["a"] == 11.0


@pytest.mark.parametrize(
    "column",
    [lambda: [1.0, 2.0], lambda: (1.0, 2.0), lambda: "ab", lambda: {"a": 1}, lambda: 3, lambda: None,
     lambda: np.arange(2.0), lambda: [[1], [2]]],
)
@pytest.mark.parametrize("all_alike", [True, False])
def test_columns_of_one_type_decided_once_agree_with_event_model(column, all_alike):
    """An event page's data and timestamps: a map whose values all of one exact type are checked once."""
    page = copy.deepcopy(next(doc for name, doc in DOCUMENTS if name == "event_page"))
    page["filled"] = {}
    for field in ("data", "timestamps"):
        for key in page[field]:
            page[field][key] = column()
        if not all_alike:
            page[field][next(iter(page[field]))] = [1.0, 2.0]
    assert _schema_check.is_valid("event_page", page) == _event_model_verdict("event_page", page)
