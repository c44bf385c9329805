"""Pieces every ingestor composes documents from."""

import event_model
import numpy as np


def array_data_key(shape, dtype, source, **extra):
    """A descriptor data key for an array-valued reading (an image, a spectrum).

    ``dtype`` is the JSON-schema type 'number' (the event model's type of the
    elements); the exact numpy type is kept in ``dtype_numpy`` so readers can
    rebuild arrays without guessing.
    """
    return {
        "shape": [int(n) for n in shape],
        "dtype": "number",
        "dtype_numpy": np.dtype(dtype).str,
        "source": str(source),
        **extra,
    }


def source_label(pattern):
    """How the RunStart records what was ingested: the pattern(s) as the user gave them."""
    if isinstance(pattern, (list, tuple)):
        return [source_label(item) for item in pattern]
    return getattr(pattern, "url", None) or str(pattern)


#: Frames are composed into event pages of up to this many bytes of pixels: one schema
#: validation per page instead of per event (each costs about as much as reading a
#: small image), without holding a whole large series in one page.
PAGE_BYTES = 64 * 2**20


def page_slices(n_rows, frame_shape, dtype):
    """``(begin, end)`` row ranges of pages of frames, each up to :data:`PAGE_BYTES`."""
    frame_nbytes = max(1, int(np.prod(frame_shape)) * np.dtype(dtype).itemsize)
    rows_per_page = max(1, PAGE_BYTES // frame_nbytes)
    for begin in range(0, n_rows, rows_per_page):
        yield begin, min(begin + rows_per_page, n_rows)


def page_as_events(stream_bundle, data, times, begin):
    """Rows ``begin...`` of a stream, composed as one event page and yielded as events.

    One schema validation covers the page, where validating each event costs about as
    much as reading a small image; the events are what a RunEngine would have emitted.

    Parameters
    ----------
    stream_bundle : event_model.ComposeDescriptorBundle
    data : dict
        Every data key of the stream, each with one value per row.
    times : list of float
        The rows' times (also each reading's timestamp).
    begin : int
        Index of the first row in the stream (``seq_num`` counts from 1).
    """
    page = stream_bundle.compose_event_page(
        data=data,
        timestamps={key: times for key in data},
        time=times,
        seq_num=list(range(begin + 1, begin + len(times) + 1)),
    )
    for event in event_model.unpack_event_page(page):
        yield "event", event
