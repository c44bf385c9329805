"""Pieces every ingestor composes documents from."""

import datetime
import re
import zoneinfo

import event_model
import numpy as np

from ..errors import IngestError


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


# -- names of data keys --------------------------------------------------------------------

#: Names every event (and the stream's xarray Dataset) already has; a data key named so
#: from a file would hide them, so it is renamed ``time_2``, ``seq_num_2``...
EVENT_FIELD_NAMES = frozenset({"time", "seq_num", "uid"})


def unique_key(name, taken, fallback="value"):
    """A name from a file as a data key of a stream: valid, unique, clear of the event's fields.

    The event model forbids ``.`` and ``/`` in keys and the keys name xarray variables, so
    those and white space become ``_``; a name equal to an event field (``time``,
    ``seq_num``, ``uid``) or to one already ``taken`` gets ``_2``, ``_3``... (as SPEC's and
    BLISS's ingestors always did).

    Parameters
    ----------
    name : str
        The name as the file writes it.
    taken : set of str
        Keys the stream already has; the new key is added to it.
    fallback : str, optional
        The base name when ``name`` is empty.

    Returns
    -------
    str
    """
    base = re.sub(r"[./\s]", "_", str(name).strip()) or fallback
    key, suffix = base, 2
    while key in taken or key in EVENT_FIELD_NAMES:
        key, suffix = f"{base}_{suffix}", suffix + 1
    taken.add(key)
    return key


# -- declared sizes ------------------------------------------------------------------------

#: Arrays up to this many bytes are allocated whatever a header declares: the memory is
#: harmless, and the parser's own error about the missing data names the problem better.
ALLOCATION_FLOOR = 64 * 2**20

#: How many times its stored size compressed data is taken to expand, at most. Deflate
#: (zlib, gzip: TIFF, HDF5 gzip, Eiger's bitshuffle/LZ4 frames) cannot exceed 1032:1 and
#: LZW about 2700:1; 10000 leaves room for LZ4, zstd and blosc on near-constant images.
#: A header declaring more than this is taken as damaged; raise it (``intake_ingest.
#: ingestors._common.MAX_DECOMPRESSION_RATIO = ...``) for data that truly compresses more.
MAX_DECOMPRESSION_RATIO = 10_000


def check_declared_size(url, nbytes, stored, what, compressed=False):
    """Refuse to allocate what a header declares when the file cannot hold it.

    Called before a reader allocates an array whose size comes from a header (image height,
    EDF ``Dim_1``, an HDF5 dataset's shape), so that a damaged or hostile header of a few
    bytes gives an error naming the file rather than a MemoryError or a machine out of memory.

    Parameters
    ----------
    url : str
        The file, for the message.
    nbytes : int
        Bytes the declared array would take in memory.
    stored : int or None
        Bytes the file (or the part holding the data) really has; None if unknown (nothing
        is checked then).
    what : str
        What is declared, for the message (``'an image of 2147483647 x 6 uint16'``).
    compressed : bool, optional
        The data is stored compressed: it may be up to :data:`MAX_DECOMPRESSION_RATIO`
        times larger in memory than in the file.

    Raises
    ------
    IngestError
        If the declared size exceeds :data:`ALLOCATION_FLOOR` and what ``stored`` bytes can
        hold.
    """
    nbytes = int(nbytes)
    if stored is None or nbytes <= ALLOCATION_FLOOR:
        return
    limit = int(stored) * (MAX_DECOMPRESSION_RATIO if compressed else 1)
    if nbytes > limit:
        if compressed:
            because = (
                f"{nbytes:,} bytes, over {MAX_DECOMPRESSION_RATIO:,} times the {int(stored):,} "
                "compressed bytes it has (if the data truly compresses so well, raise "
                "intake_ingest.ingestors._common.MAX_DECOMPRESSION_RATIO)"
            )
        else:
            because = f"{nbytes:,} bytes, but only {int(stored):,} bytes are stored for it"
        raise IngestError(url, f"declares {what}: {because}; its header is damaged or the file truncated")


def time_zone(timezone):
    """The tzinfo of an ingestor's ``timezone`` argument (an IANA name or a tzinfo), or None.

    Raises
    ------
    ValueError
        At once, for a name that is no IANA time zone, before any file is read.
    """
    if timezone is None or isinstance(timezone, datetime.tzinfo):
        return timezone
    try:
        return zoneinfo.ZoneInfo(str(timezone))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"timezone {timezone!r} is not a known IANA time zone name") from None
