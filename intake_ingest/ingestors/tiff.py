"""Ingestors for TIFF files: a series of single-image files, or one multi-page stack.

These follow the conventions of the original intake-bluesky ingestors notebook;
ingestors for particular producing programs (areaDetector's NDFileTIFF, ...)
build on the readers here and add what those programs put in names and headers.
"""

import dask
import dask.array as da
import event_model
import numpy as np
import tifffile

from ..errors import IngestError, MissingFileError
from ..files import deterministic_uid, expand, open_local_or_buffer, timestamps
from ._common import array_data_key, source_label

__all__ = ["ingest_tiff_series", "ingest_tiff_series_dask", "ingest_tiff_stack"]


def _tiff_errors_named(source, action):
    """Run ``action(file_like)``, turning any parser failure into an error naming the file."""
    try:
        return action(open_local_or_buffer(source))
    except IngestError:
        raise
    except FileNotFoundError:
        raise MissingFileError(source.url) from None
    except Exception as error:  # tifffile raises many kinds on damaged files
        raise IngestError(source.url, f"not a readable TIFF file ({error})") from None


def read_tiff_header(source):
    """Shape and dtype of the first image series, without reading pixels."""

    def header(file):
        with tifffile.TiffFile(file) as tif:
            series = tif.series[0]
            return tuple(series.shape), np.dtype(series.dtype)

    return _tiff_errors_named(source, header)


def read_tiff(source, shape=None, dtype=None):
    """The image in one TIFF file, checked against the shape and dtype the run expects."""
    image = _tiff_errors_named(source, tifffile.imread)
    if shape is not None and image.shape != tuple(shape):
        raise IngestError(
            source.url,
            f"has shape {image.shape} but the series has images of shape {tuple(shape)}",
        )
    if dtype is not None and image.dtype != dtype:
        raise IngestError(
            source.url, f"has dtype {image.dtype} but the series has images of dtype {dtype}"
        )
    return image


def read_tiff_pages(source, key=None):
    """All pages of a multi-page TIFF as one array of shape (pages, *page_shape)."""

    def pages(file):
        with tifffile.TiffFile(file) as tif:
            n_pages = len(tif.pages)
            page_shape = tif.pages[0].shape
            for index, page in enumerate(tif.pages):
                if page.shape != page_shape:
                    raise IngestError(
                        source.url,
                        f"page {index} has shape {page.shape} but page 0 has {page_shape}; "
                        "only stacks of equal pages can be read as one image stream",
                    )
            if key is None:
                return tif.asarray(key=range(n_pages)).reshape((n_pages,) + page_shape)
            return tif.asarray(key=key)

    return _tiff_errors_named(source, pages)


def read_tiff_stack_header(source):
    """Number of pages, page shape and dtype of a multi-page TIFF, without reading pixels."""

    def header(file):
        with tifffile.TiffFile(file) as tif:
            first = tif.pages[0]
            return len(tif.pages), tuple(first.shape), np.dtype(first.dtype)

    return _tiff_errors_named(source, header)


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
    uid = deterministic_uid(source.path for source in sources)
    times = timestamps(sources)
    run_bundle = event_model.compose_run(
        uid=uid,
        time=times[0],
        metadata={
            "ingestor": "tiff_series",
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

    for source, mtime in zip(sources, times):
        if lazy:
            image = _lazy_image(source, shape, dtype)
        else:
            image = read_tiff(source, shape, dtype)
        yield "event", stream_bundle.compose_event(
            data={"image": image}, timestamps={"image": mtime}, time=mtime
        )

    yield "stop", run_bundle.compose_stop(time=times[-1])


def ingest_tiff_series_dask(pattern, *, storage_options=None):
    """Like :func:`ingest_tiff_series`, with events holding dask arrays read on compute."""
    return ingest_tiff_series(pattern, lazy=True, storage_options=storage_options)


def _lazy_image(source, shape, dtype):
    # pure=True names the task after its inputs, so the same file is one task everywhere.
    delayed_image = dask.delayed(read_tiff, pure=True)(source, shape, dtype)
    return da.from_delayed(delayed_image, shape=shape, dtype=dtype)


def ingest_tiff_stack(filename, *, lazy=False, storage_options=None):
    """Wrap one multi-page TIFF file, one page per row of an event page, in the event model.

    Parameters
    ----------
    filename : str
        Path or fsspec URL of the file.
    lazy : bool, optional
        If True, the event page holds a dask array with one chunk per page.
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
    uid = deterministic_uid([source.path])
    (mtime,) = timestamps(sources)
    run_bundle = event_model.compose_run(
        uid=uid,
        time=mtime,
        metadata={"ingestor": "tiff_stack", "source": source_label(filename)},
    )
    yield "start", run_bundle.start_doc

    if lazy:
        n_pages, page_shape, dtype = read_tiff_stack_header(source)
        stack = da.stack(
            [
                da.from_delayed(
                    dask.delayed(read_tiff_pages, pure=True)(source, index),
                    shape=page_shape,
                    dtype=dtype,
                )
                for index in range(n_pages)
            ]
        )
    else:
        stack = read_tiff_pages(source)
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
