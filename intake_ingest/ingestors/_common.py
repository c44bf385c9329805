"""Pieces every ingestor composes documents from."""

import datetime
import re
import zoneinfo

import numpy as np

from ..errors import IngestError
from ._compose import unpack_event_page


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
    for event in unpack_event_page(page):
        yield "event", event


# -- names of data keys --------------------------------------------------------------------
#
# One rule names every data key made from a name in a file (a SPEC label, a column header,
# an NDAttribute, an HDF5 field), so a run's keys are the same in intake, msgpack and tiled.
# A key must be valid wherever runs go: event-model forbids '.' and '/', keys name xarray
# variables, and tiled (bluesky's TiledWriter) stores scalar readings as columns of an SQL
# table, refusing names that are not SQL identifiers (422 "Malformed SQL identifier",
# e.g. SPEC's ``2-theta``) and names equal but for case. A name the rule changes is kept,
# as the file writes it, in the data key's ``label`` field (:func:`labelled`).

#: Names every event (and the stream's xarray Dataset) already has; a data key named so
#: from a file would hide them, so it is renamed ``time_2``, ``seq_num_2``... (whatever its
#: case: an SQL table's columns are told apart without it).
EVENT_FIELD_NAMES = frozenset({"time", "seq_num", "uid"})

#: The longest data key, in bytes of UTF-8: PostgreSQL's 63-byte identifiers (the shortest
#: of the SQL databases tiled stores tables in), less the ``ts_`` of the timestamp column
#: TiledWriter writes beside each key.
KEY_BYTES = 60

#: The data key field keeping a name as the file wrote it, where the key differs from it.
LABEL = "label"

# Runs of characters that are not letters, digits or '_' (Unicode letters are kept).
_NOT_WORD = re.compile(r"\W+")
_FIRST = re.compile(r"[A-Za-z]")


def _truncated(text, nbytes):
    """``text`` cut to at most ``nbytes`` bytes of UTF-8, never inside a character."""
    return text.encode("utf-8")[:nbytes].decode("utf-8", errors="ignore")


def safe_key(name, fallback="value"):
    """A name from a file as a valid data key, before uniqueness (see :class:`DataKeyNamer`).

    Letters (of any script), digits and ``_`` are kept; every run of other characters
    (``-``, ``.``, ``/``, spaces, brackets) becomes one ``_``, and is dropped at either end
    (``'I0/I00'`` -> ``'I0_I00'``, ``'Counts (cps)'`` -> ``'Counts_cps'``). A key starts
    with an ASCII letter, else ``X`` goes first as in R's ``make.names`` (``'2-theta'`` ->
    ``'X2_theta'``: tiled keeps column names starting with ``_`` for itself) and has at most
    :data:`KEY_BYTES` bytes.

    Parameters
    ----------
    name : str
        The name as the file writes it.
    fallback : str, optional
        The name to use when ``name`` has no letter or digit.

    Returns
    -------
    str
    """
    key = "_".join(part for part in _NOT_WORD.split(str(name)) if part)
    if not key:
        key = "_".join(part for part in _NOT_WORD.split(str(fallback)) if part) or "value"
    if not _FIRST.match(key):
        key = "X" + key
    return _truncated(key, KEY_BYTES)


def _clashes(key, folded):
    """True if ``key`` cannot join keys whose lower-case forms are ``folded``."""
    lowered = key.lower()
    return (
        lowered in folded
        or lowered in EVENT_FIELD_NAMES
        # TiledWriter's timestamp column of key x is ts_x: a key ts_x beside x would clash.
        or f"ts_{lowered}" in folded
        or (lowered.startswith("ts_") and lowered[3:] in folded)
    )


class DataKeyNamer:
    """Names the data keys of one stream from names in a file: valid, unique, clear of the
    event's fields.

    Each key is :func:`safe_key` of the name; a key equal (whatever the case) to an event
    field (``time``, ``seq_num``, ``uid``), to a key given before or to one ``taken`` gets
    ``_2``, ``_3``..., as do ``x`` and ``ts_x`` together (TiledWriter's timestamp column of
    ``x``). The same names in the same order always give the same keys. Only the lower-case
    form of each key is kept, so naming n keys costs O(n).

    Parameters
    ----------
    taken : iterable of str, optional
        Keys the stream already has (the ingestor's own, an image's).

    Examples
    --------
    >>> namer = DataKeyNamer()
    >>> [namer(name) for name in ["2-theta", "2_theta", "Time", "I0/I00"]]
    ['X2_theta', 'X2_theta_2', 'Time_2', 'I0_I00']
    >>> DataKeyNamer({"image"})("Image")
    'Image_2'
    """

    def __init__(self, taken=()):
        # Only the lower-case forms: SQL tables tell columns apart without case.
        self._folded = {str(key).lower() for key in taken}

    def __call__(self, name, fallback="value"):
        """The data key for ``name``, taken from now on.

        Parameters
        ----------
        name : str
            The name as the file writes it.
        fallback : str, optional
            The base name when ``name`` has no letter or digit.

        Returns
        -------
        str
        """
        base = safe_key(name, fallback)
        key, suffix = base, 2
        while _clashes(key, self._folded):
            tail = f"_{suffix}"
            key, suffix = _truncated(base, KEY_BYTES - len(tail)) + tail, suffix + 1
        self._folded.add(key.lower())
        return key


def unique_key(name, taken, fallback="value"):
    """One data key for ``name`` among the keys ``taken`` (a set, to which it is added).

    For a single key: ``unique_key(name, set())`` is :func:`safe_key` of the name, clear of
    the event's fields. The key is the one a :class:`DataKeyNamer` gives, but all of
    ``taken`` is folded to lower case on every call: name the keys of a stream with one
    :class:`DataKeyNamer` (O(n) for n keys).

    Parameters
    ----------
    name : str
        The name as the file writes it.
    taken : set of str
        Keys the stream already has; the new key is added to it.
    fallback : str, optional
        The base name when ``name`` has no letter or digit.

    Returns
    -------
    str

    Examples
    --------
    >>> taken = {"time"}
    >>> unique_key("Time", taken), sorted(taken)
    ('Time_2', ['Time_2', 'time'])
    """
    key = DataKeyNamer(taken)(name, fallback)
    taken.add(key)
    return key


def labelled(data_key, key, name):
    """``data_key`` with the file's own ``name`` for it in :data:`LABEL` where ``key`` differs.

    Parameters
    ----------
    data_key : dict
        A descriptor data key (changed in place).
    key : str
        Its key (from a :class:`DataKeyNamer`).
    name : str
        The name as the file writes it.

    Returns
    -------
    dict
        ``data_key``.
    """
    name = str(name)
    if name and name != key:
        data_key[LABEL] = name
    return data_key


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
