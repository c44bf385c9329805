"""``stream_to_dataset`` builds its Dataset directly: the same Dataset ``xr.Dataset`` builds.

:func:`intake_ingest.run.to_xarray._dataset` joins the variables without xarray's merging
(see its docstring). Every case here compares its result with ``xr.Dataset`` of the same
arguments: variables and their order, dims and their order, coordinates, indexes, dtypes,
attributes, and errors where xarray refuses the arguments.
"""

import warnings

import dask.array as da
import numpy as np
import pytest
import xarray as xr

from intake_ingest.run import to_xarray
from intake_ingest.run.to_xarray import _dataset


def _public(data_vars, times):
    return xr.Dataset(data_vars, coords={"time": times})


def _assert_same(ours, theirs):
    assert ours.identical(theirs)
    assert list(ours.variables) == list(theirs.variables)
    assert list(ours.data_vars) == list(theirs.data_vars)
    assert list(ours.coords) == list(theirs.coords)
    assert dict(ours.sizes) == dict(theirs.sizes) and list(ours.sizes) == list(theirs.sizes)
    assert list(ours.xindexes) == list(theirs.xindexes) == ["time"]
    assert ours.xindexes["time"].equals(theirs.xindexes["time"])
    assert ours.indexes["time"].equals(theirs.indexes["time"])
    assert ours.indexes["time"].dtype == theirs.indexes["time"].dtype
    assert ours.indexes["time"].name == theirs.indexes["time"].name
    assert type(ours.variables["time"]) is type(theirs.variables["time"])
    for name in theirs.variables:
        assert ours.variables[name].dtype == theirs.variables[name].dtype
        assert type(ours.variables[name].data) is type(theirs.variables[name].data)
        assert ours.variables[name].encoding == theirs.variables[name].encoding
    assert ours.attrs == theirs.attrs and ours.encoding == theirs.encoding
    assert repr(ours) == repr(theirs)
    # what a user does next works the same on both
    assert ours.sel(time=slice(None, None)).identical(theirs.sel(time=slice(None, None)))
    if ours.sizes["time"]:
        first = float(theirs["time"][0])
        assert ours.sel(time=first).identical(theirs.sel(time=first))
    assert ours.to_dataframe().equals(theirs.to_dataframe()) if not any(
        isinstance(variable.data, da.Array) for variable in ours.variables.values()
    ) and all(variable.ndim <= 1 for variable in ours.variables.values()) else True


def _columns(n_rows):
    times = np.arange(n_rows, dtype=np.float64) + 1.5e9
    return {
        "Cryo_X": (("time",), np.linspace(-610, 190, n_rows)),
        "Epoch": (("time",), np.arange(n_rows, dtype=np.float64)),
        "seq_num": ("time", np.arange(1, n_rows + 1, dtype=np.int64)),
        "uid": ("time", np.asarray([f"u{n}" for n in range(n_rows)], dtype=str)),
    }, times


@pytest.mark.parametrize("n_rows", [0, 1, 56])
def test_scalar_columns(n_rows):
    data_vars, times = _columns(n_rows)
    _assert_same(_dataset(dict(data_vars), times), _public(dict(data_vars), times))


def test_array_columns_with_extra_dims_named_and_unnamed():
    data_vars, times = _columns(4)
    data_vars["image"] = (("time", "dim_0", "dim_1"), np.zeros((4, 2, 3), np.uint16))
    data_vars["mca_0"] = (("time", "mca_0_channel"), np.ones((4, 5)))
    data_vars["mca_1"] = (("time", "mca_0_channel"), np.ones((4, 5)))  # a dim shared, same size
    _assert_same(_dataset(dict(data_vars), times), _public(dict(data_vars), times))


def test_lazy_columns():
    data_vars, times = _columns(4)
    data_vars["image"] = (("time", "dim_0"), da.zeros((4, 3), chunks=(2, 3)))
    ours, theirs = _dataset(dict(data_vars), times), _public(dict(data_vars), times)
    assert isinstance(ours["image"].data, da.Array)
    _assert_same(ours, theirs)
    assert ours.compute().identical(theirs.compute())


def test_duplicate_times():
    data_vars, _ = _columns(3)
    times = np.array([1.0, 1.0, 2.0])
    _assert_same(_dataset(dict(data_vars), times), _public(dict(data_vars), times))


@pytest.mark.parametrize(
    "extra",
    [
        {"mca_1": (("time", "mca_0_channel"), np.ones((3, 6)))},  # a dim of two sizes
        {"image": (("time",), np.ones(4))},  # a column of another length
        {"dim_0": (("time", "dim_0"), np.ones((3, 2)))},  # a variable named as its dim
        {"time": (("time",), np.ones(3))},  # a column named as the coordinate
        {"image": (("time", "time"), np.ones((3, 3)))},  # a dim twice
    ],
)
def test_what_xarray_refuses_it_refuses_or_builds_alike(extra):
    data_vars, times = _columns(3)
    data_vars["mca_0"] = (("time", "mca_0_channel"), np.ones((3, 5)))
    data_vars.update(extra)
    with warnings.catch_warnings(record=True) as theirs_warned:
        warnings.simplefilter("always")
        try:
            theirs = _public(dict(data_vars), times)
        except Exception as error:
            theirs, theirs_error = None, error
    with warnings.catch_warnings(record=True) as ours_warned:
        warnings.simplefilter("always")
        if theirs is None:
            with pytest.raises(type(theirs_error)) as caught:
                _dataset(dict(data_vars), times)
            assert str(caught.value) == str(theirs_error)
        else:
            ours = _dataset(dict(data_vars), times)
    assert [str(w.message) for w in ours_warned] == [str(w.message) for w in theirs_warned]  # once, as xarray warns
    if theirs is not None:
        _assert_same(ours, theirs)


def test_an_xarray_without_the_direct_constructor_gets_the_same(monkeypatch):
    data_vars, times = _columns(5)
    ours = _dataset(dict(data_vars), times)
    monkeypatch.setattr(to_xarray, "_construct_direct", None)
    _assert_same(_dataset(dict(data_vars), times), ours)


def test_stream_to_dataset_equals_xarrays_construction(monkeypatch):
    """A whole stream, events and pages mixed: the direct and the public construction agree."""
    descriptor = {
        "uid": "d1",
        "name": "primary",
        "data_keys": {
            "x": {"dtype": "number", "shape": [], "source": "s", "dtype_numpy": "<f8"},
            "n": {"dtype": "integer", "shape": [], "source": "s"},
            "spectrum": {"dtype": "array", "shape": [3], "source": "s", "dims": ["channel"]},
        },
    }
    events = [
        ("event", {"descriptor": "d1", "uid": f"e{n}", "time": 10.0 + n, "seq_num": n + 1,
                   "data": {"x": n / 2, "n": n, "spectrum": np.arange(3.0) + n},
                   "timestamps": {"x": 0.0, "n": 0.0, "spectrum": 0.0}, "filled": {}})
        for n in range(3)
    ]
    events.append(("event_page", {"descriptor": "d1", "uid": ["p1", "p2"], "time": [13.0, 14.0], "seq_num": [4, 5],
                                  "data": {"x": [7.0, 8.0], "n": [3, 4], "spectrum": np.zeros((2, 3))},
                                  "timestamps": {"x": [0.0, 0.0], "n": [0.0, 0.0], "spectrum": [0.0, 0.0]},
                                  "filled": {}}))
    for lazy in (False, True):
        ours = to_xarray.stream_to_dataset([descriptor], events, lazy=lazy)
        with monkeypatch.context() as patch:
            patch.setattr(to_xarray, "_dataset", _public)
            theirs = to_xarray.stream_to_dataset([descriptor], events, lazy=lazy)
        _assert_same(ours, theirs)
        assert ours.compute().identical(theirs.compute())
