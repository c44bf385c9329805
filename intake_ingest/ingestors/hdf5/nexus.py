"""Ingestor for NeXus HDF5 files: one run per NXentry, its default NXdata as a scan.

NeXus (https://manual.nexusformat.org) is written by many programs (beamline control
systems, spec2nexus, Mantid, pyFAI, Dectris detectors, ...); what they share is the
plot convention this ingestor follows:

- the file's ``@default`` attribute names the NXentry to show, the NXentry's
  ``@default`` names its NXdata group;
- the NXdata's ``@signal`` names the dataset plotted, ``@axes`` the coordinates of
  its dimensions (``'.'`` for none) and ``<axis>_indices`` which dimensions each
  coordinate spans; datasets carry ``@units``.

The first dimension of the signal is read as the scan (the time axis of the run): one
event per point. Per-point scalars are embedded in the events; per-point arrays (a
detector frame per point) stay in the file and are referenced by Resource and Datum
documents (spec ``HDF5_FRAMES``), read when the run is read.

The HDF5 reading it shares with the other HDF5 ingestors is in
:mod:`~intake_ingest.ingestors.hdf5.tree` and :mod:`~intake_ingest.ingestors.hdf5.values`.
"""

import re

import event_model
import h5py
import numpy as np

from ...errors import IngestError
from ...files import deterministic_uid, expand, timestamps
from ...registry import IngestorSpec
from .._common import array_data_key, source_label
from .tree import (
    HDF5_ERRORS,
    HDF5_FRAMES,
    HDF5_MAGIC,
    frame_resource,
    linked_file,
    member,
    nx_class,
    open_source,
    read_named,
)
from .values import natural_key, parse_time, plain, read_scalar, scalar_data_key, text, texts, units_of

__all__ = ["NEXUS_HDF5", "ingest_nexus", "nexus_runs", "sniff_nexus"]

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


# -- NeXus structure ----------------------------------------------------------------------


def _entry_names(h5, with_data=False):
    """Names of the NXentry groups at the top of the file, in natural order.

    With ``with_data``, only those holding an NXdata group (a file of detector frames
    linked from another has entries with nothing to plot).
    """
    names = []
    for name in h5:
        group = member(h5, name)
        if isinstance(group, h5py.Group) and nx_class(group) == "NXentry":
            if not with_data or _has_nxdata(group):
                names.append(name)
    return sorted(names, key=natural_key)


def _has_nxdata(entry_group):
    try:
        _find_nxdata(entry_group, "")
    except IngestError:
        return False
    return True


def _choose_entry(h5, entry, url):
    names = _entry_names(h5)
    if entry is not None:
        if not isinstance(member(h5, entry), h5py.Group):
            raise IngestError(url, f"has no entry {entry!r}; its NXentry groups are {names}")
        return entry
    default = text(h5.attrs.get("default"))
    if default and isinstance(member(h5, default), h5py.Group):
        return default.strip("/")
    if not names:
        raise IngestError(url, "is not a NeXus file: it has no NXentry group at the top level")
    return (_entry_names(h5, with_data=True) or names)[0]


def _find_nxdata(entry_group, url):
    """The NXdata group to read: follow ``@default`` from the entry, else its first NXdata."""
    group = entry_group
    for _ in range(8):  # @default chains are short; a cycle must not hang the ingestor
        if nx_class(group) == "NXdata":
            return group
        default = text(group.attrs.get("default"))
        target = member(group, default) if default else None
        if not isinstance(target, h5py.Group):
            break
        group = target
    for name in sorted(entry_group, key=natural_key):
        child = member(entry_group, name)
        if isinstance(child, h5py.Group) and nx_class(child) == "NXdata":
            return child
    raise IngestError(url, f"entry {entry_group.name!r} has no NXdata group to read")


def _is_signal_flag(value):
    try:
        return int(plain(value)) == 1
    except (TypeError, ValueError):
        return False


def _signal_name(nxdata, url):
    """The signal: ``@signal`` of the group, else the dataset flagged ``@signal=1`` (NeXus 1)."""
    name = text(nxdata.attrs.get("signal"))
    if name and name in nxdata:
        return name
    members = sorted(nxdata, key=natural_key)
    flagged = [name for name in members if "signal" in _member_attrs(nxdata, name)]
    if flagged:
        ones = [name for name in flagged if _is_signal_flag(_member_attrs(nxdata, name)["signal"])]
        return (ones or flagged)[0]
    if len(members) == 1:
        return members[0]
    raise IngestError(url, f"NXdata {nxdata.name!r} names no signal (no @signal attribute)")


def _member_attrs(group, name):
    found = member(group, name)
    return found.attrs if found is not None else {}


def _parse_indices(value):
    """``<axis>_indices``: an int, an array of ints, or a string ``'0,1'`` (canSAS); None if neither."""
    try:
        if isinstance(value, (str, bytes, np.bytes_)) or (
            isinstance(value, np.ndarray) and value.dtype.kind in "OSU"
        ):
            return tuple(int(part) for part in texts(value))
        return tuple(int(index) for index in np.atleast_1d(value))
    except (TypeError, ValueError):
        return None


def _axes(nxdata, signal_name, signal_ndim):
    """Each axis of the signal and the signal dimensions it spans: ``{name: (dims...)}``."""
    names = texts(nxdata.attrs.get("axes"))
    if not names:  # canSAS ``I_axes`` on the group, or NeXus 1 ``axes`` on the signal
        names = texts(nxdata.attrs.get(f"{signal_name}_axes")) or texts(
            _member_attrs(nxdata, signal_name).get("axes")
        )
    axes = {}
    for position, name in enumerate(names):
        if name == "." or name in axes or name not in nxdata or position >= max(signal_ndim, 1):
            continue
        indices = nxdata.attrs.get(f"{name}_indices")
        axes[name] = _parse_indices(indices) if indices is not None else (position,)
    # Coordinates may also be given only by their <axis>_indices attribute.
    for attribute in nxdata.attrs:
        name = attribute[: -len("_indices")]
        if attribute.endswith("_indices") and name not in axes and name in nxdata and name != signal_name:
            axes[name] = _parse_indices(nxdata.attrs[attribute])
    return {name: dims for name, dims in axes.items() if dims}  # unreadable indices: not an axis


def _key_name(name):
    """A data key name event-model accepts (no dots or slashes)."""
    return re.sub(r"[./]", "_", name)


def nexus_runs(source):
    """One dict of ``ingest_nexus`` arguments per NXentry of the file: ``[{'entry': 'S1'}, ...]``.

    Entries without an NXdata group (nothing to plot) make no run. Reads group
    attributes only.
    """
    entries = read_named(source, lambda h5: _entry_names(h5, with_data=True), "a NeXus file")
    return [{"entry": name} for name in entries]


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


def _nexus_header(h5, entry, source):
    """What the RunStart needs: entry name, NXdata path, signal, scan axes, metadata."""
    url = source.url
    entry = _choose_entry(h5, entry, url)
    entry_group = h5[entry]
    nxdata = _find_nxdata(entry_group, url)
    signal = _signal_name(nxdata, url)
    signal_link = nxdata.get(signal, getlink=True)
    signal_shape = None
    if not isinstance(signal_link, h5py.ExternalLink):  # another file: not opened before the start
        signal_shape = nxdata[signal].shape
    axes = _axes(nxdata, signal, len(signal_shape) if signal_shape is not None else 1)
    metadata, units = _entry_metadata(entry_group)
    metadata.update(
        entry=entry,
        nxdata=nxdata.name,
        signal=_key_name(signal),
        axes=[_key_name(name) for name in axes],
    )
    if signal_shape is not None:
        metadata["num_points"] = int(signal_shape[0]) if signal_shape else 1
    scan_axes = [_key_name(name) for name, dims in axes.items() if dims[:1] == (0,)]
    if scan_axes:
        metadata["hints"] = {"dimensions": [[scan_axes, "primary"]]}
    if units:
        metadata["units"] = units
    return entry, metadata


# -- the fields of the scan (read after the RunStart) -------------------------------------


class _Field:
    """One dataset of the NXdata group: where it is, its shape, type and units."""

    def __init__(self, name, dataset, target, path, in_ingested_file):
        self.name = name
        self.in_ingested_file = in_ingested_file
        self.key = _key_name(name)
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
        return key

    def values(self):
        """All values (of a scalar-per-event field), read-only."""
        values = self.dataset.asstr()[()] if self.is_string else self.dataset[()]
        values = np.atleast_1d(np.asarray(values))
        values.flags.writeable = False
        return values


def _open_fields(nxdata, source, opened):
    """Every dataset of the NXdata group as a _Field, following external links through fsspec.

    ``opened`` collects the files opened for external links, for the caller to close.
    """
    fields = {}
    for name in sorted(nxdata, key=natural_key):
        link = nxdata.get(name, getlink=True)
        if isinstance(link, h5py.ExternalLink):
            target = linked_file(source, link.filename)
            if target.identity not in opened:
                opened[target.identity] = open_source(target)
            dataset = opened[target.identity].h5.get(link.path)
            path = link.path
        else:
            target, dataset = source, member(nxdata, name)
            path = dataset.name if dataset is not None else None
        if isinstance(dataset, h5py.Dataset) and not dataset.dtype.names:
            fields[name] = _Field(name, dataset, target, path, target is source)
    return fields


def _layout(fields, signal, axes):
    """Which fields are per-event scalars, per-event arrays (frames), or constant axes.

    Returns (number of events, scalars, frames, constants, dims of frames by field name).
    """
    signal_field = fields[signal]
    scan_length = signal_field.shape[0] if signal_field.shape else 1
    scalars, frames, constants = [], [], []
    for name, field in fields.items():
        dims = axes.get(name)
        if not signal_field.shape:  # a single point: every scalar is its value
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
    # Name the dimensions of frames after the constant axes that index them.
    frame_dims = {}
    constant_names = {field.key for field in constants}
    for field in frames:
        names = []
        for dimension in range(1, len(field.shape)):
            axis = next(
                (
                    _key_name(name)
                    for name, dims in axes.items()
                    if dims == (dimension,) and _key_name(name) in constant_names
                ),
                None,
            )
            names.append(axis)
        if field.shape[1:] == signal_field.shape[1:] and all(names):
            frame_dims[field.name] = names
    return scan_length, scalars, frames, constants, frame_dims


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
        start, descriptor ``primary`` (one data key per dataset of the NXdata group that
        runs along the scan), for array-valued fields a resource (spec ``HDF5_FRAMES``)
        and a datum per point, events (one per point of the signal's first dimension),
        stop.

    Raises
    ------
    IngestError
        If the file is not HDF5, has no NXentry or NXdata, or names no signal.

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
    run_bundle = event_model.compose_run(
        uid=uid,
        time=start_time,
        metadata={"ingestor": "nexus_hdf5", "source": label, **metadata},
    )
    yield "start", run_bundle.start_doc

    opened = {}
    with open_source(source) as file:
        try:
            yield from _scan_documents(file.h5, entry, source, label, run_bundle, opened, start_time)
        except IngestError:
            raise
        except HDF5_ERRORS as error:  # damaged beyond its header
            raise IngestError(source.url, f"cannot be read as a NeXus file ({error})") from None
        finally:
            for other in opened.values():
                other.close()
    stop_time = parse_time(metadata.get("end_time")) or start_time
    yield "stop", run_bundle.compose_stop(time=max(stop_time, start_time))


def _scan_documents(h5, entry, source, label, run_bundle, opened, time):
    """Descriptor, resources, datums and events of the NXdata group of ``entry``."""
    nxdata = _find_nxdata(h5[entry], source.url)
    signal = _signal_name(nxdata, source.url)
    fields = _open_fields(nxdata, source, opened)
    if signal not in fields:
        raise IngestError(source.url, f"signal {signal!r} of {nxdata.name!r} is not a readable dataset")
    axes = _axes(nxdata, signal, len(fields[signal].shape))
    n_points, scalars, frames, constants, frame_dims = _layout(fields, signal, axes)

    data_keys = {field.key: field.data_key(label, ()) for field in scalars}
    for field in frames:
        data_keys[field.key] = field.data_key(label, field.shape[1:], frame_dims.get(field.name))
        data_keys[field.key]["external"] = "FILESTORE:"
    stream_bundle = run_bundle.compose_descriptor(
        data_keys=data_keys,
        name="primary",
        time=time,
        configuration=_configuration(constants, label, time),
        object_keys={"nxdata": list(data_keys)},
        hints={"nxdata": {"fields": [_key_name(signal)]}},
    )
    yield "descriptor", stream_bundle.descriptor_doc

    resources = {}
    for field in frames:
        resource = frame_resource(
            run_bundle, run_bundle.start_doc["uid"], field.key, field.target, field.path
        )
        resources[field.key] = resource
        yield "resource", resource.resource_doc
    values = {field.key: field.values() for field in scalars}

    for begin in range(0, n_points, PAGE_ROWS):
        end = min(begin + PAGE_ROWS, n_points)
        rows = end - begin
        data = {key: column[begin:end] for key, column in values.items()}
        for key, resource in resources.items():
            page = resource.compose_datum_page(datum_kwargs={"frame": list(range(begin, end))})
            yield "datum_page", page
            data[key] = page["datum_id"]
        page = stream_bundle.compose_event_page(
            data=data,
            timestamps={key: [time] * rows for key in data},
            time=[time] * rows,
            seq_num=list(range(begin + 1, end + 1)),
            filled={key: [False] * rows for key in resources},
        )
        yield from (("event", event) for event in event_model.unpack_event_page(page))


# -- detection ------------------------------------------------------------------------------


def sniff_nexus(head, source):
    """Any HDF5 file: NeXus is the common layout, but generic, so below specific ingestors."""
    return 0.5 if head[:8] == HDF5_MAGIC else 0.0


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
)
