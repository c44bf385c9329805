"""Ingestor for ESRF Data Format (EDF) image files, as SPEC, LIMA and BLISS write them.

An EDF file is one or more frames, each an ASCII header block ``{ ... }`` of
``Key = Value ;`` lines, padded with spaces to a multiple of 512 bytes and closed by
``}\\n``, followed by the frame's binary data (the EDF format of P. Boesecke, "Keywords
for SAXS data in EDF files", and fabio's ``edfimage``). Every frame's header has the
keys that describe the binary data (``HeaderID`` or ``EDF_DataBlockID``, ``Image``,
``ByteOrder``, ``DataType``, ``Dim_1``, ``Dim_2``, ``Size``); the beamline control
software adds its own: the ESRF SPEC macros (and BLISS/LIMA after them) write the
counters and motors as space-separated mnemonics and values, ``counter_mne`` /
``counter_pos`` and ``motor_mne`` / ``motor_pos`` (the keys PyMca and silx's
``fabioh5`` read), plus ``title``, ``time``, ``preset``, ``count_time``...

One run is one file (a multi-frame file is a scan: one event per frame) or one
numbered series of files (one event per frame of each file, in file order). Counter and
motor values are event data, one data key per mnemonic; other header values are event
data where they change from frame to frame and descriptor configuration where they do
not (the header is parsed in ``_edf_header``). An image's error block
(``EDF_DataBlockID`` ``<n>.Image.Error``, paired in ``_edf_blocks``) is part of its
frame: event data ``image_error``. Images are read with fabio.
"""

import bz2
import contextlib
import dataclasses
import typing
import warnings
import zlib

import fabio.edfimage
import fabio.fabioutils
import numpy as np

from ..errors import IngestError, IngestWarning, MissingFileError
from ..files import deterministic_uid, expand, timestamps
from ..lazy import lazy_array
from ..registry import IngestorSpec
from ._common import array_data_key, check_declared_size, labelled, page_as_events, page_slices, source_label
from ._compose import compose_run
from ._edf_blocks import is_error_block, pair_error_blocks
from ._edf_header import TIME_KEYS, EdfHeader, parse_edf_header
from ._fabio import (
    OBJECT_NAME,
    check_timezone,
    compose_image_descriptor,
    describe_header_values,
    fabio_errors_named,
    numbered_order,
)
from .tiff import file_version

__all__ = [
    "ESRF_EDF",
    "EdfFileLayout",
    "EdfFrameLayout",
    "EdfHeader",
    "TIME_KEYS",
    "ingest_esrf_edf",
    "parse_edf_header",
    "read_edf_frame",
    "read_edf_layout",
]

SOFTWARE = "ESRF SPEC / LIMA / BLISS (EDF, read with fabio)"

_COMPRESSED_SUFFIXES = (".gz", ".bz2")


# -- reading ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class EdfFrameLayout:
    """One frame of an EDF file: its header, image shape and dtype, and where its pixels are."""

    index: int  # the block's index in its file, as fabio counts frames
    header: dict
    shape: tuple
    dtype: np.dtype
    #: Offset of the pixels, and their dtype with the file's byte order, for a frame stored
    #: uncompressed in the file itself (read directly when lazy); None otherwise.
    offset: int | None = None
    stored_dtype: str | None = None
    #: The block holding the frame's error array (``EDF_DataBlockID`` ``<n>.Image.Error``).
    error: "EdfFrameLayout | None" = None
    #: The frame's number in its file, from 1: an image and its error block are one frame.
    number: int = 0


class EdfFileLayout(typing.NamedTuple):
    """What the headers of one EDF file say: its frames, and what is wrong with the rest."""

    frames: list  # of EdfFrameLayout: the complete frames, error blocks attached
    problem: str | None  # what ends the file early (a frame cut short): the run is partial
    notes: tuple = ()  # what is left out of a file otherwise read whole (warned of)


def _compressed(source):
    return source.path.lower().endswith(_COMPRESSED_SUFFIXES)


@contextlib.contextmanager
def _seekable_file(source):
    """The file for fabio to read headers from, seeking over the data (not reading it)."""
    if source.is_local:
        yield source.path  # fabio decompresses .gz and .bz2 itself
    else:
        with source.fs.open(source.path, "rb", compression="infer") as file:
            yield file


def _whole_file(source):
    """The file for fabio to read frames from: the local path, or its bytes (decompressed)."""
    if source.is_local:
        return source.path
    try:
        with source.fs.open(source.path, "rb", compression="infer") as file:
            # fabio's own BytesIO: its frames lock the file while reading their data.
            return fabio.fabioutils.BytesIO(file.read(), fname=source.url)
    except FileNotFoundError:
        raise MissingFileError(source.url) from None


def _stored_dtype(header, dtype, plain):
    if not plain:
        return None
    byte_order = next((value for key, value in header.items() if key.upper() == "BYTEORDER"), "")
    order = ">" if "High" in byte_order else "<" if "Low" in byte_order else "="
    return np.dtype(dtype).newbyteorder(order).str


def _frame_layout(source, index, frame):
    header = dict(frame.header)
    upper = {key.upper(): value for key, value in header.items()}
    compression = upper.get("COMPRESSION", "NONE").upper()
    dtype = np.dtype(frame.dtype)
    shape = tuple(int(n) for n in frame.shape)
    nbytes = int(np.prod(shape)) * dtype.itemsize
    # fabio's rule: "None" or "No..." means uncompressed.
    uncompressed = compression == "NONE" or compression.startswith("NO")
    if "EDF_BinaryFileName" not in header and frame.blobsize is not None:
        # Before anything allocates the frame (a Dim_1 of 2**31 in a 1 KB file): its block
        # must hold it, or its compressed bytes expand to it (a .gz file's blocks are
        # counted decompressed, as fabio reads them).
        check_declared_size(
            source.url,
            nbytes,
            frame.blobsize,
            f"a frame (block {index + 1}) of shape {shape} {dtype}",
            compressed=not uncompressed,
        )
    plain = (
        uncompressed
        and "EDF_BinaryFileName" not in header
        and not _compressed(source)
        and frame.blobsize is not None
        and frame.blobsize >= nbytes
    )
    return EdfFrameLayout(
        index, header, shape, dtype, frame.start if plain else None, _stored_dtype(header, dtype, plain)
    )


def _bytes_at(source, file, offset, size=512):
    """Up to ``size`` bytes of the file (decompressed) at ``offset``."""
    if isinstance(file, str):
        with source.fs.open(source.path, "rb", compression="infer") as opened:
            opened.seek(offset)
            return opened.read(size)
    file.seek(offset)
    return file.read(size)


def _after_last_block(source, file, last):
    """Whether what fabio finds after the last complete block is a frame cut short.

    A header block that fabio cannot read (it starts with '{') is a frame cut short;
    other bytes are no frame at all (padding, a writer's trailer), and fabio reads the
    file as if they were not there.
    """
    following = _bytes_at(source, file, last.start + last.blobsize).lstrip(b" \t\r\n\x00")
    return following.startswith(b"{")


def _without_cut_error_block(complete, frames):
    """The complete blocks, less the image whose error block is the one cut short: an
    image and its error are one frame."""
    cut = frames[len(complete)]
    if complete and is_error_block(cut.header) and not is_error_block(complete[-1].header):
        return complete[:-1]
    return complete


def read_edf_layout(source):
    """The frames of an EDF file, from its headers (fabio seeks over the data).

    Returns
    -------
    EdfFileLayout
        ``frames``: the complete frames (none, if the file ends inside the first frame),
        each error block (``EDF_DataBlockID`` ``<n>.Image.Error``) attached to its image;
        ``problem``: what ends the file early, if a frame is cut short; ``notes``: what
        is left out of a file otherwise read whole (bytes after the last frame that are
        no EDF header, error blocks of no image).

    Raises
    ------
    IngestError
        If the file does not start with an EDF header block.
    """

    def scan(file):
        image = fabio.edfimage.EdfImage()
        image.readheader(file)
        blocks = [image.get_frame(index) for index in range(image.nframes)]
        complete = [block for block in blocks if not block.incomplete_data]
        cut_short = len(complete) < len(blocks)
        if cut_short:
            complete = _without_cut_error_block(complete, blocks)
        layouts = [_frame_layout(source, index, block) for index, block in enumerate(complete)]
        frames, notes = pair_error_blocks(layouts)
        frames = [dataclasses.replace(frame, number=number) for number, frame in enumerate(frames, 1)]
        problem = None
        if cut_short:
            problem = f"frame {len(frames) + 1} is cut short: the file ends inside its data"
        elif image.incomplete_file and _after_last_block(source, file, complete[-1]):
            problem = f"the header of frame {len(frames) + 1} is cut short or damaged"
        elif image.incomplete_file:
            notes.append(f"the bytes after frame {len(frames)} are not an EDF header block; they are left out")
        return EdfFileLayout(frames, problem, tuple(notes))

    def scan_seeking():
        with _seekable_file(source) as file:
            return scan(file)

    try:
        return fabio_errors_named(source, scan_seeking, "EDF")
    except MissingFileError:
        raise
    except IngestError:
        if source.is_local:
            raise
    # Seeking a remote file failed (an HTTP server without range requests, say): the
    # whole file, in memory, once more.
    return fabio_errors_named(source, lambda: scan(_whole_file(source)), "EDF")


def _edf_image(source):
    image = fabio.edfimage.EdfImage()
    image.read(_whole_file(source))
    return image


def _check_frame(source, what, shape, dtype, expected_shape, expected_dtype):
    """Refuse, naming the file and ``what`` (``'frame 3'``), an array unlike the run's others."""
    if tuple(shape) != tuple(expected_shape) or np.dtype(dtype) != np.dtype(expected_dtype):
        raise IngestError(
            source.url,
            f"{what} is {tuple(shape)} {np.dtype(dtype)} but the run has arrays of "
            f"{tuple(expected_shape)} {np.dtype(expected_dtype)}",
        )


def _read_stored(source, index, offset, stored_dtype, shape):
    """The frame's bytes at ``offset`` as an array; None if the filesystem cannot seek there."""
    nbytes = int(np.prod(shape)) * np.dtype(stored_dtype).itemsize
    try:
        with source.fs.open(source.path, "rb") as file:
            file.seek(offset)
            raw = file.read(nbytes)
    except FileNotFoundError:
        raise MissingFileError(source.url) from None
    except (OSError, ValueError) as error:
        if not source.is_local:  # an HTTP server without range requests, say
            return None
        raise IngestError(source.url, f"cannot be read ({error})") from None
    if len(raw) < nbytes:
        raise IngestError(source.url, f"frame {index + 1} is cut short: {len(raw)} of {nbytes} bytes")
    return np.frombuffer(raw, stored_dtype).reshape(shape)


def read_edf_frame(source, index, shape, dtype, offset=None, stored_dtype=None):
    """One frame of an EDF file, checked against the shape and dtype the run expects.

    With ``offset`` and ``stored_dtype`` (a frame stored uncompressed), only the frame's
    bytes are read; otherwise fabio reads the file and decodes the frame.
    """
    if offset is not None:
        image = _read_stored(source, index, offset, stored_dtype, shape)
        if image is not None:
            return image.astype(dtype)

    def read():
        with _edf_image(source) as image:
            if index >= image.nframes:
                raise IngestError(source.url, f"has {image.nframes} frames, not {index + 1}")
            return image.get_frame(index).data

    frame = fabio_errors_named(source, read, "EDF")
    _check_frame(source, f"block {index + 1}", frame.shape, frame.dtype, shape, dtype)
    return frame


def _read_frames_into(source, blocks_and_rows):
    """Read blocks of one file with fabio, each into its row of a buffer of the run."""

    def read():
        with _edf_image(source) as image:
            for layout, row in blocks_and_rows:
                data = image.get_frame(layout.index).data
                _check_frame(source, f"block {layout.index + 1}", data.shape, data.dtype, row.shape, row.dtype)
                row[...] = data

    fabio_errors_named(source, read, "EDF")


# -- the run ---------------------------------------------------------------------------


@dataclasses.dataclass
class _Frames:
    """The frames of the run, file by file, up to the first damaged file."""

    files: list = dataclasses.field(default_factory=list)  # (source, [EdfFrameLayout])
    problem: str | None = None  # what ended the run early, naming the file
    notes: list = dataclasses.field(default_factory=list)  # what was left out, naming the file

    def add(self, source, layout):
        if layout.frames:
            self.files.append((source, layout.frames))
        if layout.problem is not None:
            self.problem = f"{source.url}: {layout.problem}"
        self.notes += [f"{source.url}: {note}" for note in layout.notes]

    @property
    def count(self):
        return sum(len(layouts) for _, layouts in self.files)


def _scan(series, first):
    """Headers of every file (the first file's already read, or None); a file that ends
    early ends the run there."""
    frames = _Frames()
    layout = first or read_edf_layout(series[0])
    if not layout.frames:
        raise IngestError(series[0].url, f"has no complete EDF frame: {layout.problem}")
    frames.add(series[0], layout)
    scanned = 1
    for source in series[1:]:
        if frames.problem is not None:
            break
        frames.add(source, read_edf_layout(source))
        scanned += 1
    if frames.problem is not None and scanned < len(series):
        frames.problem += f"; the {len(series) - scanned} files after it are left out"
    return frames


def _frame_headers(frames, shape, dtype, timezone):
    """Every frame's parsed header and file, frames checked against the first's shape and dtype.

    One warning for all the frames whose mnemonics and values do not pair up, and one
    for all those holding integers beyond 64 bits (kept as the header's text).
    """
    headers, files, unpaired, huge = [], [], [], []
    for source, layouts in frames.files:
        for layout in layouts:
            _check_frame(source, f"frame {layout.number}", layout.shape, layout.dtype, shape, dtype)
            header = parse_edf_header(layout.header, timezone)
            if header.unpaired:
                unpaired.append(f"{source.url}: frame {layout.number}: {header.unpaired[0]}")
            if header.beyond_64_bits:
                keys = ", ".join(repr(key) for key in header.beyond_64_bits)
                huge.append(
                    f"{source.url}: frame {layout.number}: header value {keys} holds an integer beyond 64 bits; "
                    "kept exactly as the header's text (a string), not as a number"
                )
            headers.append(header)
            files.append(source)
    for found in (unpaired, huge):
        if found:
            others = f" (and {len(found) - 1} more frames)" if len(found) > 1 else ""
            warnings.warn(found[0] + others, IngestWarning, stacklevel=3)
    return headers, files


def _error_arrays(frames):
    """Shape and dtype of the frames' error arrays; None if the frames have none.

    Raises
    ------
    IngestError
        Naming the file and block, if error arrays differ in shape or dtype.
    """
    with_error = [(source, layout) for source, layouts in frames.files for layout in layouts if layout.error]
    if not with_error:
        return None
    if len(with_error) < frames.count:
        warnings.warn(
            f"{with_error[0][0].url}: {len(with_error)} of the run's {frames.count} frames have an "
            "error block (EDF_DataBlockID <n>.Image.Error); the error arrays are left out",
            IngestWarning,
            stacklevel=3,
        )
        return None
    first = with_error[0][1].error
    for source, layout in with_error:
        error = layout.error
        what = f"the error block of frame {layout.number}"
        _check_frame(source, what, error.shape, error.dtype, first.shape, first.dtype)
    return first.shape, first.dtype


def _first_layout(source):
    """The first file's frames for the RunStart; None if it cannot be read (the error is
    raised when the run is read, so that a catalog still lists the run)."""
    try:
        return read_edf_layout(source)
    except IngestError:
        return None


def _start_metadata(pattern, series, first, timezone):
    """RunStart metadata and time (None: unknown) from the first file's headers."""
    metadata = {"ingestor": "esrf_edf", "source": source_label(pattern)}
    first_frames = first.frames if first is not None else []
    if not first_frames:
        return metadata, None
    if len(series) == 1:  # the frames of the one file are known from its headers
        metadata["num_points"] = len(first_frames)
    header = parse_edf_header(first_frames[0].header, timezone)
    if header.title is not None:
        metadata["title"] = header.title
    return metadata, header.time


def ingest_esrf_edf(pattern, *, lazy=False, timezone=None, storage_options=None):
    """Wrap an EDF file (one event per frame), or a numbered series of them, in the event model.

    Parameters
    ----------
    pattern : str, SourceFile or list of those
        Path, glob or fsspec URL of one file or of a series (``'scan/img_*.edf'``);
        files are taken in numeric order (``x_9`` before ``x_10``), frames in file order.
        ``.edf.gz`` and ``.edf.bz2`` files are decompressed.
    lazy : bool, optional
        If True, events hold dask arrays that read their frame only when computed; every
        frame's header is still read while the documents are generated.
    timezone : str or datetime.tzinfo, optional
        The zone of ``time`` and ``Date`` values written without one (an IANA name such
        as ``'Europe/Paris'``); by default the local time of the computer that ingests.
    storage_options : dict, optional
        Passed to fsspec.

    Yields
    ------
    name, doc : str, dict
        start, descriptor ``primary`` (data keys ``image``, ``image_error`` where every
        frame has an error block (``EDF_DataBlockID`` ``<n>.Image.Error``), one per
        counter and motor mnemonic, and the header values that change from frame to
        frame; the others in ``configuration['detector']``), one event per frame, stop.
        Event times are the headers' (``time_of_day``, ``time``, ``Date``, ``epoch``:
        see :data:`TIME_KEYS`), else the file's modification time. A file that ends inside a frame (an
        interrupted acquisition) gives the frames before, no RunStop, and an
        :class:`~intake_ingest.IngestWarning`; bytes after the last frame that are no
        EDF header are left out with a warning (as fabio reads such a file).

    Raises
    ------
    IngestError
        If no file matches, a file is not an EDF file or has no complete frame, or frames
        differ in shape or dtype.
    """
    check_timezone(timezone)
    sources = expand(pattern, storage_options)
    uid = deterministic_uid(source.identity for source in sources)
    series = numbered_order(sources)
    mtimes = dict(zip((source.identity for source in series), timestamps(series)))
    # The first file's headers give the RunStart's title, time and (for one file) frame count.
    first = _first_layout(series[0])
    metadata, first_time = _start_metadata(pattern, series, first, timezone)
    run_bundle = compose_run(
        uid=uid, time=first_time if first_time is not None else mtimes[series[0].identity], metadata=metadata
    )
    yield "start", run_bundle.start_doc

    frames = _scan(series, first)
    shape, dtype = frames.files[0][1][0].shape, frames.files[0][1][0].dtype
    headers, files = _frame_headers(frames, shape, dtype, timezone)
    # A frame's header says when it was taken (TIME_KEYS); without any, its file's mtime.
    times = [
        mtimes[source.identity] if header.time is None else header.time
        for header, source in zip(headers, files)
    ]

    sources_of_keys, labels_of_keys, event_keys = {}, {}, {}
    for header in headers:
        event_keys.update(header.event_keys)
        for key, where in header.sources.items():
            sources_of_keys.setdefault(key, where)
        for key, name in header.labels.items():
            labels_of_keys.setdefault(key, name)
    header_keys, event_data, configuration = describe_header_values(
        [header.values for header in headers],
        sources_of_keys,
        time=times[0],
        event_keys=event_keys,
        object_names=event_keys,
        files=files,
    )
    for data_keys in (header_keys, *(group["data_keys"] for group in configuration.values())):
        for key, data_key in data_keys.items():
            labelled(data_key, key, labels_of_keys.get(key, key))
    arrays = {"image": (shape, dtype)}
    error_arrays = _error_arrays(frames)
    if error_arrays is not None:
        arrays["image_error"] = error_arrays
        header_keys = {
            "image_error": array_data_key(*error_arrays, source_label(pattern), object_name=OBJECT_NAME),
            **header_keys,
        }
    image_key = array_data_key(shape, dtype, source_label(pattern), object_name=OBJECT_NAME)
    stream_bundle = compose_image_descriptor(run_bundle, image_key, header_keys, configuration, times[0])
    yield "descriptor", stream_bundle.descriptor_doc
    for note in frames.notes:
        warnings.warn(note, IngestWarning, stacklevel=2)

    columns = _arrays(frames, arrays, lazy)
    for begin, end in page_slices(frames.count, shape, dtype):
        page_data = {key: column[begin:end] for key, column in (*columns.items(), *event_data.items())}
        yield from page_as_events(stream_bundle, page_data, times[begin:end], begin)

    if frames.problem is not None:
        # An interrupted acquisition: what was written is the run, which has no end.
        warnings.warn(f"{frames.problem}; the run has no RunStop", IngestWarning, stacklevel=2)
        return
    last_mtime = mtimes[series[-1].identity]
    yield "stop", run_bundle.compose_stop(time=max(last_mtime, times[-1]))


def _image(layout):
    return layout


def _error(layout):
    return layout.error


#: The arrays of a frame: data key -> the block of a frame that holds it.
_BLOCKS = {"image": _image, "image_error": _error}


def _arrays(frames, arrays, lazy):
    """The run's arrays (images, error arrays): dask arrays reading one block each, or
    read-only buffers, each file read once.

    Parameters
    ----------
    frames : _Frames
    arrays : dict
        Data key -> (shape, dtype) of the arrays to read; the key names the block
        (:data:`_BLOCKS`).
    lazy : bool
    """
    if lazy:
        return {
            key: [
                lazy_array(
                    read_edf_frame,
                    (source, block.index, shape, dtype, block.offset, block.stored_dtype),
                    shape,
                    dtype,
                    file_version(source, block.index),
                )
                for source, layouts in frames.files
                for block in map(_BLOCKS[key], layouts)
            ]
            for key, (shape, dtype) in arrays.items()
        }
    buffers = {key: np.empty((frames.count,) + tuple(shape), dtype) for key, (shape, dtype) in arrays.items()}
    row = 0
    for source, layouts in frames.files:
        blocks_and_rows = [
            (_BLOCKS[key](layout), buffer[row + position])
            for key, buffer in buffers.items()
            for position, layout in enumerate(layouts)
        ]
        _read_frames_into(source, blocks_and_rows)
        row += len(layouts)
    for buffer in buffers.values():
        buffer.flags.writeable = False  # documents are records: their arrays are read-only
    return buffers


# -- detection --------------------------------------------------------------------------


def _decompressed_head(head):
    """The first bytes of a gzip or bzip2 file, decompressed as far as ``head`` goes."""
    try:
        if head[:2] == b"\x1f\x8b":
            return zlib.decompressobj(wbits=31).decompress(head)
        if head[:3] == b"BZh":
            return bz2.BZ2Decompressor().decompress(head)
    except (zlib.error, OSError, EOFError):
        return b""
    return head


def sniff_esrf_edf(head, source):
    """A header block ``{`` with ``HeaderID`` or ``EDF_DataBlockID``: 0.9 (also gzipped)."""
    text = _decompressed_head(head).lstrip(b"\r\n\t ")
    if not text.startswith(b"{"):
        return 0.0
    block = text[: text.find(b"}") if b"}" in text else len(text)].lower()
    return 0.9 if b"headerid" in block or b"edf_datablockid" in block else 0.0


ESRF_EDF = IngestorSpec(
    name="esrf_edf",
    ingest=ingest_esrf_edf,
    software=SOFTWARE,
    patterns=("*.edf", "*.edf.gz", "*.edf.bz2"),
    mimetypes=(),
    sniff=sniff_esrf_edf,
    grouping="prefix",
    description="an EDF file (one event per frame) or a numbered series of them; "
    "counters and motors as event data",
)
