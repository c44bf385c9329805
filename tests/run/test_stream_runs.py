"""A stream's events are taken into columns a run of events at a time: values, order and
errors are those of taking them one event at a time."""

import event_model
import numpy as np
import pytest

from intake_ingest.run.to_xarray import stream_to_dataset


def documents(layout):
    """A stream of events and event pages of a scalar ``x`` and a 3-value ``v``, in ``layout``
    order ('e': an event, 'p': a page of two rows with list values, 'a': with arrays)."""
    bundle = event_model.compose_run()
    stream = bundle.compose_descriptor(
        name="primary",
        data_keys={
            "x": {"dtype": "number", "shape": [], "source": "s"},
            "v": {"dtype": "array", "shape": [3], "dtype_numpy": "<f8", "source": "s"},
        },
    )
    docs, row = [], 0
    for kind in layout:
        if kind == "e":
            docs.append(("event", stream.compose_event(
                data={"x": float(row), "v": np.full(3, row)}, timestamps={"x": 0.0, "v": 0.0}, time=float(row), seq_num=row + 1,
            )))  # fmt: skip
            row += 1
            continue
        values = {"x": [float(row), float(row + 1)], "v": [np.full(3, row), np.full(3, row + 1)]}
        if kind == "a":
            values = {key: np.asarray(value) for key, value in values.items()}
        docs.append(("event_page", stream.compose_event_page(
            data=values, timestamps={"x": [0.0, 0.0], "v": [0.0, 0.0]}, time=[float(row), float(row + 1)], seq_num=[row + 1, row + 2],
        )))  # fmt: skip
        row += 2
    return [stream.descriptor_doc], docs, row


@pytest.mark.parametrize("layout", ["eee", "eepee", "peep", "eaeep", "apa", "e", "p"])
def test_rows_keep_their_order_whatever_mix_of_events_and_pages(layout):
    descriptors, docs, n_rows = documents(layout)
    dataset = stream_to_dataset(descriptors, docs)
    assert dataset["x"].values.tolist() == [float(row) for row in range(n_rows)]
    np.testing.assert_array_equal(dataset["v"].values, np.repeat(np.arange(n_rows), 3).reshape(n_rows, 3))
    assert dataset["seq_num"].values.tolist() == list(range(1, n_rows + 1))
    assert dataset["time"].values.tolist() == [float(row) for row in range(n_rows)]
    lazy = stream_to_dataset(descriptors, docs, lazy=True)
    np.testing.assert_array_equal(lazy["v"].values, dataset["v"].values)


def test_an_event_without_a_key_is_named_in_the_middle_of_a_run():
    descriptors, docs, _ = documents("eeee")
    docs[2] = ("event", {**docs[2][1], "uid": "third-event", "data": {"v": np.zeros(3)}})
    with pytest.raises(ValueError, match="event third-event has no value for 'x'"):
        stream_to_dataset(descriptors, docs)


def test_an_empty_page_adds_no_rows():
    descriptors, docs, n_rows = documents("ep")
    empty = {**docs[1][1], "time": [], "seq_num": [], "uid": [], "data": {"x": [], "v": []}}
    dataset = stream_to_dataset(descriptors, [docs[0], ("event_page", empty), docs[1]])
    assert dataset["x"].values.tolist() == [float(row) for row in range(n_rows)]
