"""Ingestors for TIFF files: a series of single-image files, or one multi-page stack.

These follow the conventions of the original intake-bluesky ingestors notebook;
ingestors for particular producing programs (areaDetector's NDFileTIFF, ...)
build on the readers here and add what those programs put in names and headers.
"""

import contextlib
import struct
import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import tifffile

from ..errors import IngestError, IngestWarning
from ..files import deterministic_uid, errors_named, expand, open_local_or_buffer, timestamps
from ..lazy import blocks_array, dask_name, frames_per_chunk, lazy_array, reads_into
from ..registry import IngestorSpec
from ._common import array_data_key, check_declared_size, page_as_events, page_slices, source_label
from ._compose import compose_run

__all__ = [
    "TIFF_SERIES",
    "TIFF_SERIES_DASK",
    "TIFF_STACK",
    "ingest_tiff_series",
    "ingest_tiff_series_dask",
    "ingest_tiff_stack",
    "lazy_images",
    "read_tiff_with",
    "tiff_file",
    "tiff_header",
]



def _tiff_errors_named(source, action):
    """Run ``action(file_like)``, turning any parser failure into an error naming the file."""
    with errors_named(source, "TIFF"):
        file = open_local_or_buffer(source)
        if not isinstance(file, str):
            return action(file)
        # Opened here: given a path, tifffile resolves its real path (an lstat per folder
        # of it), a tenth of reading a small image. tifffile still knows name and folder.
        with open(file, "rb") as handle:
            return action(handle)


def read_tiff_with(source, action, header_only=False):
    """``action(tiff_file)`` on the file, any failure naming the file (see :func:`tiff_file`)."""
    with tiff_file(source, header_only) as tif:
        return action(tif)


@contextlib.contextmanager
def tiff_file(source, header_only=False):
    """The file as a ``tifffile.TiffFile``, errors inside the block naming the file.

    ``header_only`` opens a remote file for seeking (only the image headers are fetched)
    instead of fetching it whole, for reading tags without pixels.
    """
    with errors_named(source, "TIFF"):
        if header_only and not source.is_local:
            with source.fs.open(source.path, "rb") as file, tifffile.TiffFile(file) as tif:
                yield tif
        else:
            with tifffile.TiffFile(open_local_or_buffer(source)) as tif:
                yield tif


def check_series(source, series, shape, dtype):
    if shape is not None and tuple(series.shape) != tuple(shape):
        raise IngestError(
            source.url,
            f"has shape {tuple(series.shape)} but the series has images of shape {tuple(shape)}",
        )
    if dtype is not None and np.dtype(series.dtype) != dtype:
        raise IngestError(
            source.url, f"has dtype {series.dtype} but the series has images of dtype {dtype}"
        )


def check_series_size(source, tif, series):
    """An error naming the file if the series declares more pixels than the file can hold.

    Checked before tifffile allocates the array: an ImageLength of 2**31 - 1 in a 300-byte
    file would otherwise ask for gigabytes (see :func:`._common.check_declared_size`).
    """
    shape, dtype = tuple(series.shape), np.dtype(series.dtype)
    compressed = any(getattr(page, "compression", 1) != 1 for page in series.pages[:1] if page is not None)
    check_declared_size(
        source.url,
        int(np.prod(shape, dtype=object)) * dtype.itemsize,
        tif.filehandle.size,
        f"an image series of shape {shape} {dtype}",
        compressed=compressed,
    )


def read_tiff_header(source):
    """Shape and dtype of the first image series, without reading pixels."""

    def header(file):
        with tifffile.TiffFile(file) as tif:
            series = tif.series[0]
            check_series_size(source, tif, series)
            return tuple(series.shape), np.dtype(series.dtype)

    return _tiff_errors_named(source, header)


@reads_into
def read_tiff(source, shape=None, dtype=None, out=None):
    """The image in one TIFF file, checked against the shape and dtype the run expects.

    With ``out``, the pixels are read straight into that array (a slot of a larger
    buffer, the chunk of a lazy series: see :mod:`intake_ingest.lazy`), which saves a
    copy per file.
    """

    def read(file):
        with tifffile.TiffFile(file) as tif:
            page = _single_page(tif, out)
            if page is not None:
                page.asarray(out=out)
                return out
            series = tif.series[0]
            check_series(source, series, shape, dtype)
            if out is None:  # with ``out`` the caller allocated what the first file declared
                check_series_size(source, tif, series)
            return series.asarray(out=out)

    return _tiff_errors_named(source, read)


def _single_page(tif, out):
    """The file's one page, if it is the image ``out`` expects (an uncompressed one); else None.

    Such a page is the file's image series: reading it directly skips tifffile's series
    detection (parsing the image descriptions of ImageJ, OME, ... writers), about a
    quarter of reading a small image. Only uncompressed pages whose pixels lie within
    the file are read so; anything else goes through the series, checked as before.
    """
    if out is None:
        return None
    page = tif.pages.first
    if (
        len(tif.pages) != 1
        or tuple(page.shape) != out.shape
        or np.dtype(page.dtype) != out.dtype
        or page.compression != 1
        or not page.is_contiguous
        or page.dataoffsets[0] + page.nbytes > tif.filehandle.size
    ):
        return None
    return page


def _stack_layout(source, tif):
    """Number of frames, frame shape and dtype of a stack: its first image series, page by page."""
    if len(tif.series) > 1:
        warnings.warn(
            f"{source.url}: holds {len(tif.series)} image series; only the first "
            f"({tif.series[0].shape}) is read as the stack",
            IngestWarning,
            stacklevel=3,
        )
    series = tif.series[0]
    check_series_size(source, tif, series)
    frame_shape = tuple(series.keyframe.shape)
    n_frames = int(np.prod(series.shape)) // max(int(np.prod(frame_shape)), 1)
    _warn_if_page_list_breaks(source, tif, n_frames, frame_shape)
    return series, n_frames, frame_shape, np.dtype(series.dtype)


def _declared_frames(tif, frame_shape):
    """How many frames the writer's metadata says the file holds (ImageJ, tifffile), or None."""
    frame_size = max(int(np.prod(frame_shape)), 1)
    if tif.is_imagej and tif.imagej_metadata:
        meta = tif.imagej_metadata
        counts = [meta.get(name, 1) for name in ("images", "frames", "slices")]
        if all(isinstance(count, int) for count in counts):
            return max(counts[0], counts[1] * counts[2])
    if tif.is_shaped and tif.shaped_metadata:
        shape = tif.shaped_metadata[0].get("shape")
        if isinstance(shape, list) and all(isinstance(n, int) for n in shape):
            return int(np.prod(shape)) // frame_size
    return None


def _next_page_offset(tif, page_offset):
    """Where the image file directory at ``page_offset`` says the next one is (0: none)."""
    header, handle = tif.tiff, tif.filehandle
    handle.seek(page_offset)
    (n_tags,) = struct.unpack(header.tagnoformat, handle.read(header.tagnosize))
    handle.seek(page_offset + header.tagnosize + n_tags * header.tagsize)
    raw = handle.read(header.offsetsize)
    if len(raw) < header.offsetsize:
        return -1  # the directory itself is cut short
    return struct.unpack(header.offsetformat, raw)[0]


def _warn_if_page_list_breaks(source, tif, n_frames, frame_shape):
    """Warn when a stack's list of pages points past the end of the file (a truncated file).

    tifffile stops at the last page it can reach and only logs it, so a stack cut short
    after its first page's pixels reads as a one-page stack. Each page's directory ends with
    the offset of the next one (0 for the last): reading that one offset of the last page
    reached (a few bytes; the page list is already indexed by the series) tells a complete
    file from a broken one. The count the writer declared (ImageJ, tifffile metadata) is
    given where there is one.
    """
    pages = tif.pages
    if len(pages) == 0:
        return
    last = pages[len(pages) - 1]
    if getattr(last, "offset", None) is None:  # virtual frames of a contiguous stack
        return
    try:
        next_offset = _next_page_offset(tif, last.offset)
    except (OSError, struct.error):
        next_offset = -1
    declared = _declared_frames(tif, frame_shape)
    # A series shaped by metadata may count more frames than there are pages left to read.
    n_frames = min(n_frames, len(pages))
    if next_offset == 0 and (declared is None or declared <= n_frames):
        return
    if declared and declared > n_frames:
        counted = f"read {n_frames} of the {declared} pages it declares"
    else:  # a bare TIFF says how many pages follow only by linking to the next one
        counted = f"read {n_frames} page{'s' if n_frames != 1 else ''} of at least {n_frames + 1} it declares"
    where = (
        f"the page after it is declared at byte {next_offset}, the file has {tif.filehandle.size}"
        if next_offset > 0
        else "its page list is cut short"
    )
    warnings.warn(
        f"{source.url}: {counted} ({where}); the file is truncated or damaged",
        IngestWarning,
        stacklevel=4,
    )


def read_tiff_stack_header(source):
    """Number of frames, frame shape and dtype of a multi-page TIFF, without reading pixels."""

    def header(file):
        with tifffile.TiffFile(file) as tif:
            _, n_frames, frame_shape, dtype = _stack_layout(source, tif)
            return n_frames, frame_shape, dtype

    return _tiff_errors_named(source, header)


def read_tiff_stack(source):
    """All frames (pages) of a multi-page TIFF as one array of shape (frames, *frame_shape)."""

    def read(file):
        with tifffile.TiffFile(file) as tif:
            series, n_frames, frame_shape, _ = _stack_layout(source, tif)
            return series.asarray().reshape((n_frames,) + frame_shape)

    return _tiff_errors_named(source, read)


def read_tiff_pages(source, begin, end, frame_shape, dtype):
    """Frames (pages) ``begin:end`` of a multi-page TIFF, the file opened once.

    The task of one chunk of a lazy stack. The file must still hold those frames, of
    that shape and dtype (it may have changed since it was ingested).
    """

    def read(file):
        with tifffile.TiffFile(file) as tif:
            series = tif.series[0]
            page_shape, n_pages = tuple(series.keyframe.shape), len(series.pages)
            if page_shape != tuple(frame_shape) or np.dtype(series.dtype) != dtype or n_pages < end:
                raise IngestError(
                    source.url,
                    f"holds {n_pages} frames of {page_shape} {np.dtype(series.dtype)} now; frames "
                    f"{begin}-{end - 1} of {tuple(frame_shape)} {dtype} were asked for (the file changed)",
                )
            out = np.empty((end - begin,) + tuple(frame_shape), dtype)
            tif.asarray(key=slice(begin, end), series=0, out=out)
            # tifffile may set ``out.shape`` to the pages' own (one page: 2-D); a view, no copy.
            return out.reshape((end - begin,) + tuple(frame_shape))

    return _tiff_errors_named(source, read)


def lazy_stack(source, n_pages, page_shape, dtype, start=0, stop=None):
    """Frames ``start:stop`` of a multi-page TIFF as a dask array, several pages per task."""
    page_shape, dtype = tuple(page_shape), np.dtype(dtype)
    stop = n_pages if stop is None else stop
    step = frames_per_chunk(page_shape, dtype)
    blocks = []
    for begin in range(start, stop, step):
        end = min(begin + step, stop)
        blocks.append(((read_tiff_pages, source, begin, end, page_shape, dtype), end - begin))
    name = dask_name("read-tiff-pages", [file_version(source, f"{n_pages}x{page_shape}[{start}:{stop}]")])
    return blocks_array(
        name,
        blocks,
        page_shape,
        dtype,
        # Indexed (a viewer's one frame): only the pages asked for are read.
        subset=lambda begin, end: lazy_stack(source, n_pages, page_shape, dtype, start + begin, start + end),
    )


def file_version(source, part=""):
    return f"{source.url}|{source.mtime}|{source.size}|{part}"


def lazy_images(read, sources, shape, dtype):
    """One dask array per file, computed by ``read(source, shape, dtype)``; nothing read now."""
    return [lazy_array(read, (source, shape, dtype), shape, dtype, file_version(source)) for source in sources]


def ingest_tiff_series(pattern, *, lazy=False, storage_options=None):
    """Wrap a series of single-image TIFF files, one file per event, in the event model.

    Parameters
    ----------
    pattern : str or list of str
        Glob, path or fsspec URL of the files (``'scan/*.tif'``,
        ``'zip://*.tif::file://scan.zip'``). Files are taken in sorted order.
    lazy : bool, optional
        If True, events hold dask arrays that read their file only when computed;
        only the first file's header is opened while the documents are generated.
    storage_options : dict, optional
        Passed to fsspec.

    Yields
    ------
    name, doc : str, dict
        start, descriptor ``primary`` (data key ``image``), one event per file, stop.

    Raises
    ------
    IngestError
        If no file matches, a file is not a TIFF, or images differ in shape or dtype.

    Examples
    --------
    >>> catalog.upsert(ingest_tiff_series, ("files/*.tiff",), {})  # doctest: +SKIP
    """
    sources = expand(pattern, storage_options)
    # Same files (same names, same place) give the same uid, so re-ingesting replaces.
    uid = deterministic_uid(source.identity for source in sources)
    times = timestamps(sources)
    run_bundle = compose_run(
        uid=uid,
        time=times[0],
        metadata={
            "ingestor": "tiff_series_dask" if lazy else "tiff_series",
            "source": source_label(pattern),
            "num_points": len(sources),
        },
    )
    yield "start", run_bundle.start_doc

    shape, dtype = read_tiff_header(sources[0])
    data_keys = {"image": array_data_key(shape, dtype, source_label(pattern))}
    stream_bundle = run_bundle.compose_descriptor(
        data_keys=data_keys, name="primary", time=times[0]
    )
    yield "descriptor", stream_bundle.descriptor_doc

    if not lazy:
        # One buffer for the whole series: each file is read straight into its slot, and
        # the stream's Dataset can use the buffer as it is (see run.to_xarray).
        buffer = np.empty((len(sources),) + tuple(shape), dtype)
    for begin, end in page_slices(len(sources), shape, dtype):
        if lazy:
            images = lazy_images(read_tiff, sources[begin:end], shape, dtype)
        else:
            images = buffer[begin:end]
            for row, source in zip(images, sources[begin:end]):
                read_tiff(source, shape, dtype, out=row)
            images.flags.writeable = False  # documents are records: their arrays are read-only
        yield from page_as_events(stream_bundle, {"image": images}, times[begin:end], begin)
    if not lazy:
        buffer.flags.writeable = False

    yield "stop", run_bundle.compose_stop(time=times[-1])


def ingest_tiff_series_dask(pattern, *, storage_options=None):
    """Like :func:`ingest_tiff_series`, with events holding dask arrays read on compute."""
    return ingest_tiff_series(pattern, lazy=True, storage_options=storage_options)


def ingest_tiff_stack(filename, *, lazy=False, storage_options=None):
    """Wrap one multi-page TIFF file, one page per row of an event page, in the event model.

    Parameters
    ----------
    filename : str
        Path or fsspec URL of the file.
    lazy : bool, optional
        If True, the event page holds a dask array of the pages, several pages per
        chunk (one task opens the file once and reads a chunk's pages).
    storage_options : dict, optional
        Passed to fsspec.

    Yields
    ------
    name, doc : str, dict
        start, descriptor ``primary`` (data key ``image``), one event page with a row
        per page (``seq_num`` 1..N), stop.
    """
    sources = expand(filename, storage_options)
    if len(sources) != 1:
        raise IngestError(
            str(filename), f"matches {len(sources)} files; a TIFF stack is one file"
        )
    (source,) = sources
    uid = deterministic_uid([source.identity])
    (mtime,) = timestamps(sources)
    run_bundle = compose_run(
        uid=uid,
        time=mtime,
        metadata={"ingestor": "tiff_stack", "source": source_label(filename)},
    )
    yield "start", run_bundle.start_doc

    if lazy:
        n_pages, page_shape, dtype = read_tiff_stack_header(source)
        stack = lazy_stack(source, n_pages, page_shape, dtype)
    else:
        stack = read_tiff_stack(source)
        stack.flags.writeable = False
        n_pages, page_shape, dtype = len(stack), stack.shape[1:], stack.dtype
    data_keys = {"image": array_data_key(page_shape, dtype, source_label(filename))}
    stream_bundle = run_bundle.compose_descriptor(data_keys=data_keys, name="primary", time=mtime)
    yield "descriptor", stream_bundle.descriptor_doc

    yield "event_page", stream_bundle.compose_event_page(
        data={"image": stack},
        timestamps={"image": [mtime] * n_pages},
        time=[mtime] * n_pages,
        seq_num=list(range(1, n_pages + 1)),
    )
    yield "stop", run_bundle.compose_stop(time=mtime)


TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")  # classic and BigTIFF


def sniff_tiff(head, source):
    """Any TIFF: a low confidence, so ingestors for a particular producing program win."""
    return 0.3 if head[:4] in TIFF_MAGIC else 0.0


@dataclass(frozen=True)
class TiffHeader:
    """What sniffers ask of a TIFF: its page count and its first page's tags, no pixels."""

    n_pages: int
    shape: tuple
    dtype: np.dtype
    tags: dict  # tag code -> value, first page
    tag_types: dict  # tag code -> tifffile.DATATYPE, first page

    @classmethod
    def read(cls, file):
        with tifffile.TiffFile(file) as tif:
            page = tif.pages[0]
            tags = {tag.code: tag.value for tag in page.tags.values()}
            types = {tag.code: tag.dtype for tag in page.tags.values()}
            return cls(len(tif.pages), tuple(page.shape), np.dtype(page.dtype), tags, types)


@lru_cache(maxsize=1024)
def tiff_header(source):
    """The :class:`TiffHeader` of a file, parsed once however many sniffers ask for it.

    Detection runs every TIFF sniffer on every TIFF file; each parse costs ~0.1 ms, most
    of sniffing time. Cached per file version (path, mtime and size are in the key).
    """
    return _tiff_errors_named(source, TiffHeader.read)


def sniff_tiff_stack(head, source):
    """A TIFF with more than one page is a stack (above a series' 0.3); one page, hardly."""
    if head[:4] not in TIFF_MAGIC:
        return 0.0
    return 0.4 if tiff_header(source).n_pages > 1 else 0.1


TIFF_SERIES = IngestorSpec(
    name="tiff_series",
    ingest=ingest_tiff_series,
    software="any TIFF writer (generic; the original ingestors notebook)",
    patterns=("*.tif", "*.tiff"),
    mimetypes=("image/tiff",),
    sniff=sniff_tiff,
    grouping="prefix",
    description="a series of single-image TIFF files, one event per file",
)

TIFF_SERIES_DASK = IngestorSpec(
    name="tiff_series_dask",
    ingest=ingest_tiff_series_dask,
    software=TIFF_SERIES.software,
    patterns=TIFF_SERIES.patterns,
    mimetypes=TIFF_SERIES.mimetypes,
    sniff=None,  # a reading mode of tiff_series, chosen by the user, not by detection
    grouping="prefix",
    description="tiff_series with images read lazily (dask)",
)

TIFF_STACK = IngestorSpec(
    name="tiff_stack",
    ingest=ingest_tiff_stack,
    software=TIFF_SERIES.software,
    patterns=TIFF_SERIES.patterns,
    mimetypes=TIFF_SERIES.mimetypes,
    sniff=sniff_tiff_stack,
    grouping="file",
    description="one multi-page TIFF file, one event per page",
)
