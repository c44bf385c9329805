"""Ingestor for NeXus HDF5 files: one run per NXentry, its default NXdata as a scan.

NeXus (https://manual.nexusformat.org) is written by many programs (beamline control
systems, spec2nexus, Mantid, pyFAI, Dectris detectors, ...); what they share is the
plot convention this ingestor follows:

- the file's ``@default`` attribute names the NXentry to show, the NXentry's
  ``@default`` names its NXdata group;
- the NXdata's ``@signal`` names the dataset plotted, ``@axes`` the coordinates of
  its dimensions (``'.'`` for none) and ``<axis>_indices`` which dimensions each
  coordinate spans; datasets carry ``@units``.

These rules, and the older conventions still found in files, are in
:mod:`~intake_ingest.ingestors.hdf5.nexus_rules`. The first dimension of a 1-D or
3-D signal is read as the scan (the time axis of the run): one event per point; a
2-D signal is one image, one event, unless its rows are scan points; an NXdata of
equal-length columns without signal is a table, one event per row. Per-point scalars
are embedded in the events; per-point arrays (a detector frame per point) stay in the
file and are referenced by Resource and Datum documents (spec ``HDF5_FRAMES``), one
Resource per file holding them (the sources of a virtual dataset, as NXmx masters
have), read when the run is read.

The HDF5 reading it shares with the other HDF5 ingestors is in
:mod:`~intake_ingest.ingestors.hdf5.tree` and :mod:`~intake_ingest.ingestors.hdf5.values`.
"""

import event_model
import h5py
import numpy as np

from ...errors import IngestError, MissingFileError
from ...files import deterministic_uid, expand, timestamps
from ...registry import IngestorSpec
from ...sibling_files import as_siblings
from .._common import array_data_key, labelled, source_label
from .._compose import compose_run
from .nexus_rules import (
    LAYOUT_IMAGE,
    axes_of,
    choose_entry,
    dataset_names,
    find_nxdata,
    key_name,
    nexus_outline,
    point_layout,
    signal_name,
)
from .sizes import check_dataset_size
from .tree import (
    HDF5_MAGIC,
    cached_read,
    frame_blocks,
    frame_resource,
    linked_file,
    member,
    nx_class,
    read_named,
    reading,
)
from .values import natural_key, parse_time, plain, read_scalar, scalar_data_key, units_of

__all__ = ["NEXUS_HDF5", "ingest_nexus", "nexus_companions", "nexus_runs", "sniff_nexus"]

#: Events are composed (and validated) this many rows at a time, then yielded one by one.
PAGE_ROWS = 10_000
#: NXentry fields copied to the RunStart under the same name (NeXus base class NXentry).
ENTRY_FIELDS = (
    "title",
    "start_time",
    "end_time",
    "definition",
    "experiment_identifier",
    "experiment_description",
    "collection_identifier",
    "collection_description",
    "entry_identifier",
    "program_name",
    "duration",
    "collection_time",
)


# -- runs of a file ---------------------------------------------------------------------


def nexus_runs(source):
    """One dict of ``ingest_nexus`` arguments per NXentry of the file: ``[{'entry': 'S1'}, ...]``.

    Entries without an NXdata group (nothing to plot) make no run. Reads group
    attributes only.

    Raises
    ------
    IngestError
        If the file makes no run: it has no NXentry, or none of its entries holds an
        NXdata group (a file of frames that another file links to, say). Detection
        reports the file as unrecognised with this reason.
    """
    outline = cached_read(source, nexus_outline, "a NeXus file")
    if not outline.entries:
        raise IngestError(source.url, "is not a NeXus file: it has no NXentry group at the top level")
    if not outline.entries_with_data:
        raise IngestError(
            source.url,
            f"has no NXdata group in its NXentry groups {outline.entries}: nothing to plot "
            "(a file of frames that another file links to?)",
        )
    return [{"entry": name} for name in outline.entries_with_data]


# -- the run's header (read before the RunStart) ------------------------------------------


def _entry_metadata(entry_group):
    """RunStart metadata from the NXentry: its standard fields, sample and instrument names."""
    metadata, units = {}, {}
    for field in ENTRY_FIELDS:
        dataset = member(entry_group, field)
        value = read_scalar(dataset) if isinstance(dataset, h5py.Dataset) else None
        if value is not None:
            metadata[field] = value
            if units_of(dataset):
                units[field] = units_of(dataset)
    # spec2nexus (and other SPEC converters) keep the scan number and date here.
    date = read_scalar(member(entry_group, "date"))
    if "start_time" not in metadata and parse_time(date) is not None:
        metadata["date"] = date
    scan_number = read_scalar(member(entry_group, "scan_number"))
    if isinstance(scan_number, int) and not isinstance(scan_number, bool):
        metadata["scan_id"] = scan_number
    for name in sorted(entry_group, key=natural_key):
        child = member(entry_group, name)
        if not isinstance(child, h5py.Group):
            continue
        for nxclass, key in (("NXsample", "sample"), ("NXinstrument", "instrument")):
            if nx_class(child) == nxclass and key not in metadata:
                value = read_scalar(member(child, "name"))
                if value is not None:
                    metadata[key] = str(value)
    return metadata, units


class _Plot:
    """The NXdata group of an entry read by the NeXus rules (:mod:`.nexus_rules`).

    Attributes
    ----------
    nxdata : h5py.Group
    signal : str or None
        None for a table of scan columns.
    shape : tuple or None
        The signal's shape (of the table's columns), None when it is in another file,
        which is not opened before the RunStart.
    axes : dict
        Coordinate name -> signal dimensions it spans.
    layout : str
        ``'points'`` (one event per index of the first dimension) or ``'image'`` (one event).
    """

    def __init__(self, h5, entry, url):
        self.nxdata = find_nxdata(h5[entry], url)
        self.signal = signal_name(self.nxdata, url)
        first = self.signal if self.signal is not None else dataset_names(self.nxdata)[0]
        link = self.nxdata.get(first, getlink=True)
        self.shape = None
        if not isinstance(link, h5py.ExternalLink):
            self.shape = tuple(self.nxdata[first].shape)
        self.axes = axes_of(self.nxdata, self.signal, len(self.shape) if self.shape is not None else 1)
        self.layout = point_layout(self.nxdata, self.signal, self.shape, self.axes)

    @property
    def num_points(self):
        if self.shape is None:
            return None
        if self.layout == LAYOUT_IMAGE or not self.shape:
            return 1
        return int(self.shape[0])

    @property
    def scan_axes(self):
        if self.layout == LAYOUT_IMAGE:
            return []
        return [key_name(name) for name, dims in self.axes.items() if dims[:1] == (0,)]


def _nexus_header(h5, entry, source):
    """What the RunStart needs: entry name, NXdata path, signal, scan axes, metadata."""
    url = source.url
    entry = choose_entry(h5, entry, url)
    plot = _Plot(h5, entry, url)
    metadata, units = _entry_metadata(h5[entry])
    metadata.update(
        entry=entry,
        nxdata=plot.nxdata.name,
        axes=[key_name(name) for name in plot.axes],
    )
    if plot.signal is not None:
        metadata["signal"] = key_name(plot.signal)
    if plot.num_points is not None:
        metadata["num_points"] = plot.num_points
    if plot.scan_axes:
        metadata["hints"] = {"dimensions": [[plot.scan_axes, "primary"]]}
    if units:
        metadata["units"] = units
    return entry, metadata


# -- the fields of the scan (read after the RunStart) -------------------------------------


class _Field:
    """One dataset of the NXdata group: where it is, its shape, type and units."""

    def __init__(self, name, dataset, target, path, in_ingested_file):
        self.name = name
        self.in_ingested_file = in_ingested_file
        self.key = key_name(name)
        self.dataset = dataset
        self.target = target  # SourceFile holding the dataset
        self.path = path  # its path in that file
        self.shape = tuple(dataset.shape)
        self.dtype = dataset.dtype
        self.units = units_of(dataset)
        self.is_string = h5py.check_string_dtype(dataset.dtype) is not None

    def data_key(self, label, per_event_shape, dims=None):
        """The descriptor data key; ``label`` names the ingested file (the user's spelling)."""
        where = label if self.in_ingested_file else self.target.url
        source = f"{where}:{self.path}"
        if self.is_string:
            key = {"dtype": "string", "shape": list(per_event_shape), "source": source}
        elif per_event_shape:
            key = array_data_key(per_event_shape, self.dtype, source)
        else:
            key = scalar_data_key(plain(np.zeros((), self.dtype)), source, dtype=self.dtype)
        if self.units:
            key["units"] = self.units
        if dims:
            key["dims"] = list(dims)
        return labelled(key, self.key, self.name)

    def values(self):
        """All values, read-only (for a string field, as ``str``)."""
        check_dataset_size(self.target.url, self.dataset, f"the field {self.path!r}")
        values = self.dataset.asstr()[()] if self.is_string else self.dataset[()]
        values = np.atleast_1d(np.asarray(values))
        values.flags.writeable = False
        return values


def _link_target(source, link):
    """(file identity, dataset path) an external link points at, to compare with frame blocks."""
    return linked_file(source, link.filename).identity, link.path.lstrip("/")


def _open_fields(nxdata, source, linked, skip=frozenset()):
    """Every dataset of the NXdata group as a _Field, following external links through fsspec.

    ``linked`` (a :class:`~.tree.LinkedFiles`) opens the files of external links.
    External links to one of ``skip`` ((file identity, path) pairs: the blocks of
    the signal's virtual dataset) are left out, not opened: the signal reads them.
    """
    fields = {}
    for name in sorted(nxdata, key=natural_key):
        link = nxdata.get(name, getlink=True)
        if isinstance(link, h5py.ExternalLink):
            if _link_target(source, link) in skip:
                continue
            target = linked_file(source, link.filename)
            dataset = linked.h5(target).get(link.path)
            path = link.path
        else:
            target, dataset = source, member(nxdata, name)
            path = dataset.name if dataset is not None else None
        if isinstance(dataset, h5py.Dataset) and not dataset.dtype.names:
            fields[name] = _Field(name, dataset, target, path, target is source)
    return fields


def _signal_blocks(nxdata, signal, source):
    """The frame blocks of the signal when it is a local virtual dataset (NXmx masters)."""
    if signal is None or isinstance(nxdata.get(signal, getlink=True), h5py.ExternalLink):
        return []
    dataset = member(nxdata, signal)
    if not isinstance(dataset, h5py.Dataset) or not dataset.is_virtual:
        return []
    return frame_blocks(dataset, source)


def _layout(fields, plot):
    """Which fields are per-event scalars, per-event arrays (frames), or constant axes.

    Returns (number of events, scalars, frames, constants, dims of frames by field name).
    """
    signal, axes = plot.signal, plot.axes
    reference = fields[signal] if signal is not None else next(iter(fields.values()))
    if plot.layout == LAYOUT_IMAGE:
        # One event: fields shaped like the image are its data, the others constants.
        frames = [field for field in fields.values() if field.shape == reference.shape]
        constants = [field for field in fields.values() if field.shape != reference.shape]
        dims = _dims_named_by_axes(reference.shape, axes, constants, first=0)
        return 1, [], frames, constants, {field.name: dims for field in frames if dims}
    scan_length = reference.shape[0] if reference.shape else 1
    scalars, frames, constants = [], [], []
    for name, field in fields.items():
        dims = axes.get(name)
        if not reference.shape:  # a single point: every scalar is its value
            if not field.shape:
                scalars.append(field)
            continue
        along_scan = bool(field.shape) and field.shape[0] == scan_length
        if dims is not None and dims[:1] != (0,):
            constants.append(field)  # a coordinate of the frame (an energy axis, pixels)
        elif along_scan and len(field.shape) == 1:
            scalars.append(field)
        elif along_scan and not field.is_string:
            frames.append(field)
    names = _dims_named_by_axes(reference.shape, axes, constants, first=1)
    frame_dims = {
        field.name: names for field in frames if names and field.shape[1:] == reference.shape[1:]
    }
    return scan_length, scalars, frames, constants, frame_dims


def _dims_named_by_axes(shape, axes, constants, first):
    """Names of dimensions ``first...`` of the signal after the constant axes spanning each.

    None if any dimension has no such axis (of its length).
    """
    constant_keys = {field.key: field for field in constants}
    names = []
    for dimension in range(first, len(shape)):
        name = next(
            (
                key_name(name)
                for name, dims in axes.items()
                if dims == (dimension,)
                and key_name(name) in constant_keys
                and constant_keys[key_name(name)].shape == (shape[dimension],)
            ),
            None,
        )
        names.append(name)
    return names if names and all(names) else None


def _configuration(constants, label, time):
    if not constants:
        return {}
    data, data_keys = {}, {}
    for field in constants:
        values = field.values()
        # Plain lists: configuration is metadata, kept as JSON-like values.
        data[field.key] = plain(values)
        shape = () if values.size == 1 else values.shape
        data_keys[field.key] = field.data_key(label, shape)
    return {"nxdata": {"data": data, "timestamps": {key: time for key in data}, "data_keys": data_keys}}


# -- the ingestor --------------------------------------------------------------------------


def ingest_nexus(filename, *, entry=None, storage_options=None):
    """Wrap one NXentry of a NeXus HDF5 file in the event model: one event per scan point.

    Parameters
    ----------
    filename : str
        Path or fsspec URL of the file (``.nxs``, ``.h5``, ``.hdf5``).
    entry : str, optional
        Name of the NXentry to read. By default the file's ``@default`` entry, else the
        first NXentry. :func:`nexus_runs` lists one argument set per entry.
    storage_options : dict, optional
        Passed to fsspec.

    Yields
    ------
    name, doc : str, dict
        start, descriptor ``primary``, for array-valued fields along the scan a
        resource (spec ``HDF5_FRAMES``) per file of frames and a datum per point,
        events, stop. One event per index of the signal's first dimension (per row
        of a table without signal); one event in all for a 2-D image (see
        :func:`~.nexus_rules.point_layout`).

    Raises
    ------
    IngestError
        If the file is not HDF5, has no NXentry or NXdata, or names no signal and is
        not a table; a data file that is missing is a
        :class:`~intake_ingest.MissingFileError` naming it, raised when the run is read.

    Examples
    --------
    >>> run = BlueskyRun(ingest_nexus("scan.nxs", entry="entry1"))  # doctest: +SKIP
    """
    sources = expand(filename, storage_options)
    if len(sources) != 1:
        raise IngestError(str(filename), f"matches {len(sources)} files; a NeXus run is one file")
    (source,) = sources
    (mtime,) = timestamps(sources)
    label = source_label(filename)
    entry, metadata = read_named(source, lambda h5: _nexus_header(h5, entry, source), "a NeXus file")
    start_time = parse_time(metadata.get("start_time", metadata.get("date"))) or mtime
    uid = deterministic_uid([source.identity, f"#{entry}"])
    run_bundle = compose_run(
        uid=uid,
        time=start_time,
        metadata={"ingestor": "nexus_hdf5", "source": label, **metadata},
    )
    yield "start", run_bundle.start_doc

    with reading(source, "cannot be read as a NeXus file") as (h5, linked):
        yield from _scan_documents(h5, entry, source, label, run_bundle, linked, start_time)
    stop_time = parse_time(metadata.get("end_time")) or start_time
    yield "stop", run_bundle.compose_stop(time=max(stop_time, start_time))


def _check_block(source, field, block):
    """Open the file of a block of frames: a missing one is named now, not read as zeros later."""
    try:
        read_named(block.target, lambda h5: h5[block.path].shape, "a file of frames")
    except MissingFileError:
        raise MissingFileError(
            block.target.url,
            f"no such file: it holds frames {block.begin}-{block.end - 1} of {field.path} in {source.url}",
        ) from None


def _scan_documents(h5, entry, source, label, run_bundle, linked, time):
    """Descriptor, resources, datums and events of the NXdata group of ``entry``."""
    plot = _Plot(h5, entry, source.url)
    signal_blocks = _signal_blocks(plot.nxdata, plot.signal, source)
    skip = {(block.target.identity, block.path.lstrip("/")) for block in signal_blocks}
    fields = _open_fields(plot.nxdata, source, linked, skip)
    if plot.signal is not None and plot.signal not in fields:
        raise IngestError(
            source.url, f"signal {plot.signal!r} of {plot.nxdata.name!r} is not a readable dataset"
        )
    if plot.shape is None:  # the signal was in another file: now it is open
        plot.shape = fields[plot.signal].shape if plot.signal is not None else None
        plot.layout = point_layout(plot.nxdata, plot.signal, plot.shape, plot.axes)
    n_points, scalars, frames, constants, frame_dims = _layout(fields, plot)

    data_keys = {field.key: field.data_key(label, ()) for field in scalars}
    per_event = 0 if plot.layout == LAYOUT_IMAGE else 1
    for field in frames:
        data_keys[field.key] = field.data_key(label, field.shape[per_event:], frame_dims.get(field.name))
        if per_event:
            data_keys[field.key]["external"] = "FILESTORE:"
    hinted = [key_name(plot.signal)] if plot.signal is not None else list(data_keys)
    stream_bundle = run_bundle.compose_descriptor(
        data_keys=data_keys,
        name="primary",
        time=time,
        configuration=_configuration(constants, label, time),
        object_keys={"nxdata": list(data_keys)},
        hints={"nxdata": {"fields": hinted}},
    )
    yield "descriptor", stream_bundle.descriptor_doc

    if plot.layout == LAYOUT_IMAGE:
        data = {field.key: field.values() for field in frames}
        yield from (
            ("event", event)
            for event in event_model.unpack_event_page(
                stream_bundle.compose_event_page(
                    data={key: [value] for key, value in data.items()},
                    timestamps={key: [time] for key in data},
                    time=[time],
                    seq_num=[1],
                )
            )
        )
        return

    blocks_of = {}
    for field in frames:
        # Filled lazily, a frame at a time; still, frames declared far beyond what the file
        # stores (a damaged shape) are refused here, before any is asked for.
        check_dataset_size(field.target.url, field.dataset, f"the frames {field.path!r}")
        if field.name == plot.signal and signal_blocks:
            blocks = signal_blocks
        else:
            blocks = frame_blocks(field.dataset, field.target)
        if field.dataset.is_virtual and blocks[0].path != field.dataset.name:
            for block in blocks:
                _check_block(source, field, block)
        blocks_of[field.key] = []
        for number, block in enumerate(blocks):
            resource = frame_resource(
                run_bundle,
                run_bundle.start_doc["uid"],
                f"{field.key}#{number}" if number else field.key,
                block.target,
                block.path,
            )
            blocks_of[field.key].append((block, resource))
            yield "resource", resource.resource_doc
    values = {field.key: field.values() for field in scalars}

    for begin in range(0, n_points, PAGE_ROWS):
        end = min(begin + PAGE_ROWS, n_points)
        rows = end - begin
        data = {key: column[begin:end] for key, column in values.items()}
        for key, blocks in blocks_of.items():
            datum_ids = []
            for block, resource in blocks:
                low, high = max(begin, block.begin), min(end, block.end)
                if low >= high:
                    continue
                frames_in_file = [block.offset + index - block.begin for index in range(low, high)]
                page = resource.compose_datum_page(datum_kwargs={"frame": frames_in_file})
                yield "datum_page", page
                datum_ids.extend(page["datum_id"])
            if len(datum_ids) != rows:
                raise IngestError(
                    source.url, f"the frames of {key!r} do not cover points {begin + 1}-{end} of the scan"
                )
            data[key] = datum_ids
        page = stream_bundle.compose_event_page(
            data=data,
            timestamps={key: [time] * rows for key in data},
            time=[time] * rows,
            seq_num=list(range(begin + 1, end + 1)),
            filled={key: [False] * rows for key in blocks_of},
        )
        yield from (("event", event) for event in event_model.unpack_event_page(page))


# -- detection ------------------------------------------------------------------------------


def sniff_nexus(head, source):
    """HDF5 files with an NXentry: 0.5 (NeXus is generic, below the specific ingestors).

    Opens the file (once per detection, shared with the other NeXus sniffers) to look
    for NXentry groups: an HDF5 file without any is not ours (0). An entry without
    NXdata still counts: :func:`nexus_runs` then says why it makes no run.
    """
    if head[:8] != HDF5_MAGIC:
        return 0.0
    try:
        outline = cached_read(source, nexus_outline, "a NeXus file")
    except IngestError:
        return 0.2  # HDF5 but unreadable (truncated): let the ingestor name what is wrong
    return 0.5 if outline.entries else 0.0


def _linked_files(h5):
    """Files the NXdata groups of the file link to (external links, virtual dataset sources)."""
    found = set()
    for entry in nexus_outline(h5).entries_with_data:
        nxdata = find_nxdata(h5[entry], "")
        for name in nxdata:
            link = nxdata.get(name, getlink=True)
            if isinstance(link, h5py.ExternalLink):
                found.add(link.filename)
                continue
            dataset = member(nxdata, name)
            if isinstance(dataset, h5py.Dataset) and dataset.is_virtual:
                for mapping in dataset.virtual_sources():
                    if mapping.file_name != ".":
                        found.add(mapping.file_name)
    return sorted(found)


def nexus_companions(source, candidates):
    """The files among ``candidates`` that the NeXus file links to: its data files.

    Detection attaches them to the NeXus file's run instead of reporting them (an NXmx
    master's data files hold an entry without NXdata, or frames of its scan).
    """
    try:
        names = cached_read(source, _linked_files, "a NeXus file")
    except IngestError:
        return []
    # Each link target looked up by identity (it may be anywhere in the selection): a
    # scan of every candidate per NeXus file made a folder of them quadratic.
    candidates = as_siblings(candidates)
    found = (candidates.get(linked_file(source, name).identity) for name in names)
    return candidates.in_order(candidate for candidate in found if candidate is not None)


NEXUS_HDF5 = IngestorSpec(
    name="nexus_hdf5",
    ingest=ingest_nexus,
    software="NeXus writers (beamline control systems, spec2nexus, pyFAI, Mantid, ...)",
    patterns=("*.nxs", "*.nx5", "*.nexus", "*.h5", "*.hdf5", "*.hdf", "*.he5"),
    mimetypes=("application/x-hdf5", "application/x-hdf"),
    sniff=sniff_nexus,
    grouping="file",
    description="a NeXus HDF5 file, one run per NXentry, one event per point of its default NXdata",
    runs_in=nexus_runs,
    companions=nexus_companions,
)
