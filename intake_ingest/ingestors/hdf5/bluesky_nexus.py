"""Ingestor for Bluesky's own NeXus files, as apstools' ``NXWriter`` callback writes them.

``apstools.callbacks.NXWriter`` (apstools/callbacks/nexus_writer.py, release 1.7.12)
subscribes to a RunEngine and, at the run's stop document, writes one HDF5 file:

- ``/entry/instrument/bluesky/metadata`` (``write_metadata``): a dataset per key of the
  RunStart except ``scan_id``, ``time`` and ``uid`` (``callback_base.start`` leaves
  them out), dicts, lists and tuples as YAML text flagged ``@text_format='yaml'``
  (``yaml.dump``, so tuples carry ``!!python/tuple`` tags); ``run_start_uid``: the uid;
- ``/entry/instrument/bluesky/streams/<stream>`` (``write_streams``): ``@uid`` the
  stream's descriptor uid; a group per data key holding ``value`` (one row per
  event; attributes ``source``, ``units``, ``precision``, ``lower_ctrl_limit``,
  ``upper_ctrl_limit`` from the data key, ``write_stream_internal`` /
  ``add_dataset_attributes``), ``EPOCH`` (the reading's timestamp per event) and
  ``time`` (seconds since the first); baseline keys also ``value_start`` and
  ``value_end``; a key ``<name>_image`` is also hard-linked as ``<name>``;
- ``/entry/start_time``, ``/entry/end_time`` (``write_entry``): the RunStart's and
  RunStop's times as ISO 8601 without time zone (``datetime.fromtimestamp``: the
  writing computer's local time), ``/entry/instrument/bluesky/uid`` and ``plan_name``.

These hold the original run, which this ingestor rebuilds: the RunStart with its uid
and metadata, each stream as a descriptor (its uid kept) and events with their
timestamps, and the RunStop. What the writer does not keep cannot come back: the
RunStart's ``scan_id``; the data keys' ``dtype`` (rebuilt from the stored values),
``object_name``, hints and configuration; each event's ``time`` (rebuilt as its
latest reading's timestamp) and uid; the RunStop's exit status and reason.
"""

import event_model
import h5py
import numpy as np
import yaml

from ...errors import IngestError
from ...files import deterministic_uid, expand, timestamps
from ...registry import IngestorSpec
from .._common import EVENT_FIELD_NAMES, DataKeyNamer, labelled, safe_key, source_label
from .._compose import compose_run
from .nexus_rules import nexus_outline
from .sizes import check_dataset_size
from .tree import HDF5_ERRORS, HDF5_MAGIC, cached_read, member, open_source, read_named
from .values import natural_key, parse_time, plain, text

__all__ = ["BLUESKY_NEXUS", "bluesky_nexus_runs", "ingest_bluesky_nexus", "sniff_bluesky_nexus"]

#: Where NXWriter keeps the run, under the NXentry.
BLUESKY_GROUP = "instrument/bluesky"
#: Data key fields NXWriter copies to attributes of ``value`` (``add_dataset_attributes``).
DATA_KEY_ATTRIBUTES = ("units", "precision", "lower_ctrl_limit", "upper_ctrl_limit")
#: The exit status the RunStop gets: NXWriter writes the file at any stop and keeps no status.
ASSUMED_EXIT_STATUS = "success"


class _YamlLoader(yaml.SafeLoader):
    """Safe YAML, plus the ``!!python/tuple`` tags ``yaml.dump`` writes for tuples (as lists)."""


_YamlLoader.add_constructor(
    "tag:yaml.org,2002:python/tuple", lambda loader, node: loader.construct_sequence(node, deep=True)
)


def _metadata_value(dataset):
    """A RunStart value as NXWriter stored it: YAML text decoded, strings as ``str``."""
    value = dataset.asstr()[()] if h5py.check_string_dtype(dataset.dtype) is not None else dataset[()]
    value = plain(value) if np.ndim(value) == 0 else plain(np.asarray(value))
    if text(dataset.attrs.get("text_format")) == "yaml" and isinstance(value, str):
        try:
            return yaml.load(value, Loader=_YamlLoader)
        except yaml.YAMLError:
            return value  # tags of other Python objects: kept as the text written
    return value


class _Header:
    """What the RunStart needs: the entry, the original uid, metadata, start and stop times."""

    def __init__(self, h5, entry, source):
        entries = cached_read(source, nexus_outline, "a Bluesky NeXus file").bluesky_entries
        if entry is None:
            default = text(h5.attrs.get("default"))
            entry = default if default in entries else (entries[0] if entries else None)
        if entry not in entries:
            raise IngestError(
                source.url,
                f"has no run written by Bluesky (apstools NXWriter) in entry {entry!r}: "
                f"no /{entry}/{BLUESKY_GROUP}/streams group; such entries: {entries}",
            )
        self.entry = entry
        group = h5[entry][BLUESKY_GROUP]
        self.metadata = {}
        metadata_group = member(group, "metadata")
        if isinstance(metadata_group, h5py.Group):
            for name in sorted(metadata_group, key=natural_key):
                dataset = member(metadata_group, name)
                if isinstance(dataset, h5py.Dataset) and name != "run_start_uid":
                    self.metadata[name] = _metadata_value(dataset)
        uid = member(group, "uid")
        if not isinstance(uid, h5py.Dataset):
            uid = member(group, "metadata/run_start_uid")
        self.uid = _metadata_value(uid) if isinstance(uid, h5py.Dataset) else None
        self.start_time = parse_time(_scalar_text(h5[entry], "start_time"))
        self.stop_time = parse_time(_scalar_text(h5[entry], "end_time"))


def _scalar_text(group, name):
    dataset = member(group, name)
    return _metadata_value(dataset) if isinstance(dataset, h5py.Dataset) else None


def bluesky_nexus_runs(source):
    """One dict of ``ingest_bluesky_nexus`` arguments per entry holding a Bluesky run.

    Raises
    ------
    IngestError
        If the file holds none (no ``/<entry>/instrument/bluesky/streams``).
    """
    entries = cached_read(source, nexus_outline, "a Bluesky NeXus file").bluesky_entries
    if not entries:
        raise IngestError(
            source.url, f"holds no run written by Bluesky (no /<entry>/{BLUESKY_GROUP}/streams)"
        )
    return [{"entry": name} for name in entries]


# -- streams (read after the RunStart) ------------------------------------------------------


class _Key:
    """One data key of a stream: its values and timestamps, and the data key NXWriter kept."""

    def __init__(self, name, group, url):
        self.name = name
        value, epoch = group["value"], group["EPOCH"]
        for dataset in (value, epoch):
            check_dataset_size(url, dataset)
        is_string = h5py.check_string_dtype(value.dtype) is not None
        self.values = np.asarray(value.asstr()[()] if is_string else value[()])
        self.times = np.atleast_1d(np.asarray(epoch[()], dtype=np.float64))
        self.values.flags.writeable = False
        self.data_key = _data_key(value, self.values, is_string)

    def __len__(self):
        return len(self.times)


def _data_key(dataset, values, is_string):
    """The descriptor data key from ``value``'s attributes and the stored values' type."""
    shape = list(values.shape[1:])
    if is_string:
        key = {"dtype": "string"}
    elif shape:
        key = {"dtype": "array", "dtype_numpy": values.dtype.str}
    elif values.dtype.kind == "b":
        key = {"dtype": "boolean", "dtype_numpy": values.dtype.str}
    elif values.dtype.kind in "iu":
        key = {"dtype": "integer", "dtype_numpy": values.dtype.str}
    else:
        key = {"dtype": "number", "dtype_numpy": values.dtype.str}
    key.update(shape=shape, source=text(dataset.attrs.get("source")) or "")
    for name in DATA_KEY_ATTRIBUTES:
        value = plain(dataset.attrs.get(name))
        if value not in (None, ""):  # NXWriter writes '' for a field the data key lacked
            key[name] = value
    return key


def _stream_keys(stream_group, url):
    """The data keys of one stream group, leaving out NXWriter's ``<name>`` aliases of ``<name>_image``."""
    keys = {}
    # A data key named time, seq_num or uid (a device so named) would hide the stream's own
    # variable when read: time_2..., as in every ingestor, clear of the stream's other names.
    namer = DataKeyNamer(stream_group)
    for name in sorted(stream_group, key=natural_key):
        group = member(stream_group, name)
        alias_of = member(stream_group, f"{name}_image")
        if not isinstance(group, h5py.Group) or (alias_of is not None and alias_of == group):
            continue
        if not all(isinstance(member(group, name), h5py.Dataset) for name in ("value", "EPOCH")):
            raise IngestError(url, f"{group.name} has no value and EPOCH datasets, as NXWriter writes them")
        key = name if safe_key(name) == name and name.lower() not in EVENT_FIELD_NAMES else namer(name)
        keys[key] = _Key(key, group, url)
        labelled(keys[key].data_key, key, name)  # the file's name, where the key differs
    lengths = {len(key) for key in keys.values()} | {len(key.values) for key in keys.values()}
    if len(lengths) > 1:
        raise IngestError(
            url, f"the data keys of {stream_group.name} hold different numbers of events: {sorted(lengths)}"
        )
    return keys


def _stream_documents(h5, header, run_bundle, url):
    """For each stream, first recorded first: its descriptor and events."""
    streams_group = h5[header.entry][BLUESKY_GROUP]["streams"]
    streams = []
    for name in streams_group:
        stream_group = member(streams_group, name)
        if isinstance(stream_group, h5py.Group):
            keys = _stream_keys(stream_group, url)
            if keys:
                first = min(float(key.times[0]) if len(key) else np.inf for key in keys.values())
                streams.append((first, name, stream_group, keys))
    for first, name, stream_group, keys in sorted(streams, key=lambda stream: (stream[0], stream[1])):
        n_events = len(next(iter(keys.values())))
        descriptor_time = first if np.isfinite(first) else run_bundle.start_doc["time"]
        stream_bundle = run_bundle.compose_descriptor(
            name=name,
            data_keys={key.name: key.data_key for key in keys.values()},
            time=descriptor_time,
            uid=text(stream_group.attrs.get("uid")) or None,
        )
        yield "descriptor", stream_bundle.descriptor_doc
        if not n_events:
            continue
        # An event's time is not kept: its latest reading's timestamp stands in.
        times = np.max(np.stack([key.times for key in keys.values()]), axis=0)
        page = stream_bundle.compose_event_page(
            data={key.name: key.values for key in keys.values()},
            timestamps={key.name: key.times for key in keys.values()},
            time=times,
            seq_num=list(range(1, n_events + 1)),
        )
        yield from (("event", event) for event in event_model.unpack_event_page(page))


# -- the ingestor ---------------------------------------------------------------------------


def ingest_bluesky_nexus(filename, *, entry=None, storage_options=None):
    """Rebuild the Bluesky run that apstools' NXWriter saved in a NeXus HDF5 file.

    Parameters
    ----------
    filename : str
        Path or fsspec URL of the file (NXWriter names it ``.hdf`` by default).
    entry : str, optional
        The NXentry holding the run (NXWriter writes one, ``entry``).
    storage_options : dict, optional
        Passed to fsspec.

    Yields
    ------
    name, doc : str, dict
        start (the original uid and metadata, plus ``ingestor`` and ``source``), then
        for each stream a descriptor (the original uid) and its events (one per row,
        the readings' timestamps as recorded), stop.

    Raises
    ------
    IngestError
        If the file is not HDF5, holds no run written by NXWriter, or its streams are
        damaged (keys of different lengths), naming the file.

    Examples
    --------
    >>> run = BlueskyRun(ingest_bluesky_nexus("20240201-100000-S00012-1a2b3c4.hdf"))  # doctest: +SKIP
    >>> run.baseline.read()  # doctest: +SKIP
    """
    sources = expand(filename, storage_options)
    if len(sources) != 1:
        raise IngestError(str(filename), f"matches {len(sources)} files; a Bluesky NeXus run is one file")
    (source,) = sources
    (mtime,) = timestamps(sources)
    header = read_named(source, lambda h5: _Header(h5, entry, source), "a Bluesky NeXus file")
    start_time = header.start_time or mtime
    metadata = {**header.metadata, "ingestor": "bluesky_nexus", "source": source_label(filename)}
    uid = str(header.uid) if header.uid else deterministic_uid([source.identity, f"#{header.entry}"])
    run_bundle = compose_run(uid=uid, time=start_time, metadata=metadata)
    yield "start", run_bundle.start_doc

    with open_source(source) as file:
        try:
            yield from _stream_documents(file.h5, header, run_bundle, source.url)
        except IngestError:
            raise
        except HDF5_ERRORS as error:  # damaged beyond its header
            raise IngestError(source.url, f"cannot be read as a Bluesky NeXus file ({error})") from None
    yield "stop", run_bundle.compose_stop(
        exit_status=ASSUMED_EXIT_STATUS, time=max(header.stop_time or start_time, start_time)
    )


# -- detection --------------------------------------------------------------------------------


def sniff_bluesky_nexus(head, source):
    """HDF5 files with ``/<entry>/instrument/bluesky/streams``: 0.9, above generic NeXus (0.5)."""
    if head[:8] != HDF5_MAGIC:
        return 0.0
    try:
        outline = cached_read(source, nexus_outline, "a Bluesky NeXus file")
    except IngestError:
        return 0.0
    return 0.9 if outline.bluesky_entries else 0.0


BLUESKY_NEXUS = IngestorSpec(
    name="bluesky_nexus",
    ingest=ingest_bluesky_nexus,
    software="Bluesky, saved by apstools' NXWriter callback (NeXus HDF5)",
    patterns=("*.hdf", "*.h5", "*.hdf5", "*.nxs", "*.nx5", "*.nexus"),
    mimetypes=("application/x-hdf5",),
    sniff=sniff_bluesky_nexus,
    grouping="file",
    description="a Bluesky run saved as NeXus by apstools' NXWriter: start, streams, events rebuilt",
    runs_in=bluesky_nexus_runs,
)
