"""Ingestor for ESRF BLISS HDF5 files (dataset and scan files): one run per scan entry.

BLISS, the ESRF's beamline control system, writes every scan of a dataset into one
HDF5 file, an NXentry per scan named ``<scan number>.<subscan>`` (``1.1``, ``2.1``,
``3.2``); see :mod:`.bliss_entry` for the layout. A run is one entry:

- ``measurement/`` channels are the ``primary`` stream: one event per point; a 1-D
  channel (a counter, a motor) gives a number per event, a 2-D or 3-D channel (an MCA
  spectrum, a lima image) an array per event, left in the file and referenced by
  Resource and Datum documents (spec ``HDF5_FRAMES``), read when the run is read;
- ``instrument/positioners_start`` (and ``positioners_end``) is the ``baseline``
  stream, a reading at the start (and one at the end); the motors held still during
  the scan (the scalars of ``instrument/positioners``) are the configuration of
  ``primary``;
- the title (the command), times, sample, ESRF data-policy names and who wrote the
  file go into the RunStart; how the scan ended (``end_reason``, the writer's status,
  the points recorded against those the command asks for, channels of unequal length)
  into the RunStop.
"""

import posixpath
import re
import warnings

import event_model
import h5py
import numpy as np

from ...errors import IngestError, IngestWarning
from ...files import deterministic_uid, expand, timestamps
from ...registry import IngestorSpec
from ...sibling_files import as_siblings
from .._common import array_data_key, labelled, source_label
from .._compose import compose_run
from .bliss_entry import (
    choose_scan,
    key_name,
    measurement_channels,
    motor_positions,
    scan_header,
    scan_keys,
)
from .sizes import check_dataset_size
from .tree import HDF5_ERRORS, HDF5_MAGIC, frame_resource, member, open_source, read_named, reading
from .values import scalar_data_key, text

__all__ = ["ESRF_BLISS", "bliss_lima_files", "bliss_runs", "ingest_bliss", "sniff_bliss", "stop_status"]

#: Events are composed (and validated) this many rows at a time, then yielded one by one.
PAGE_ROWS = 10_000
#: RunStop exit status for each BLISS end_reason (blissdata's scan_info schema).
END_REASONS = {"SUCCESS": "success", "USER_ABORT": "abort", "FAILURE": "fail", "DELETION": "fail"}
#: The writer's own final states (nexus_writer_service); any other means it never finished.
WRITER_STATES = {"SUCCEEDED": "success", "FAILED": "fail"}
# Epoch channels before 2001 are not Unix times (a counter reset, a relative clock).
_EARLIEST_EPOCH = 1e9


def bliss_runs(source):
    """One dict of ``ingest_bliss`` arguments per scan entry: ``[{'scan': '1.1'}, ...]``.

    Reads group names only, in natural order ('2.1' before '10.1').
    """
    keys = read_named(source, scan_keys, "a BLISS HDF5 file")
    return [{"scan": key} for key in keys]


def ingest_bliss(filename, scan=None, *, storage_options=None):
    """Wrap one scan of a BLISS HDF5 file in the event model: one event per point.

    Parameters
    ----------
    filename : str
        Path or fsspec URL of the dataset (or scan) file.
    scan : str or int, optional
        The scan entry: a key ``'3.1'`` (scan 3, subscan 1), or a scan number ``3``
        with one subscan. May be left out when the file holds one scan;
        :func:`bliss_runs` lists them.
    storage_options : dict, optional
        Passed to fsspec.

    Yields
    ------
    name, doc : str, dict
        start; descriptor ``baseline`` and its events (positions at the start, and at
        the end where the file has them); descriptor ``primary``, a resource per
        array channel (per detector file, for images in a virtual dataset) and datum
        pages, one event per point; stop, its ``exit_status`` from how the scan ended
        (:func:`stop_status`). Channels that cannot be read are left out with an
        ``IngestWarning``.

    Raises
    ------
    IngestError
        If the file is not HDF5, holds no such scan, or the scan has no measurement.

    Examples
    --------
    >>> run = BlueskyRun(ingest_bliss("sample_0001.h5", "2.1"))  # doctest: +SKIP
    """
    sources = expand(filename, storage_options)
    if len(sources) != 1:
        raise IngestError(str(filename), f"matches {len(sources)} files; a BLISS run is a scan of one file")
    (source,) = sources
    (mtime,) = timestamps(sources)
    label = source_label(filename)

    def header(h5):
        key = choose_scan(h5, scan, source.url)
        return key, *scan_header(h5, key)

    key, metadata, times = read_named(source, header, "a BLISS HDF5 file")
    start_time = times["start"] or mtime
    run_bundle = compose_run(
        uid=deterministic_uid([source.identity, f"#{key}"]),
        time=start_time,
        metadata={"ingestor": "esrf_bliss", "source": label, **metadata},
    )
    yield "start", run_bundle.start_doc

    with reading(source, f"scan {key} cannot be read") as (h5, linked):
        stop = yield from _scan_documents(h5, key, source, label, run_bundle, metadata, times, linked.h5)
    yield "stop", stop


def _position_keys(positions):
    """A data key per motor name, unique and valid (see :func:`.bliss_entry.key_name`)."""
    keys = {}
    for name in positions:
        keys[name] = key_name(name, set(keys.values()))
    return keys


def _baseline(entry, label, run_bundle, times, start_time):
    """The ``baseline`` stream: positioners at the start, and at the end where written."""
    instrument = member(entry, "instrument")
    if not isinstance(instrument, h5py.Group):
        return
    group_name = "positioners_start"
    at_start = motor_positions(member(instrument, group_name))
    if not at_start:  # files without it: the scalars of 'positioners' are the start positions
        group_name = "positioners"
        at_start = motor_positions(member(instrument, group_name))
    if not at_start:
        return
    keys = _position_keys(at_start)
    data_keys = {
        keys[name]: labelled(scalar_data_key(value, f"{label}:{instrument.name}/{group_name}/{name}", dtype, units), keys[name], name)
        for name, (value, units, dtype) in at_start.items()
    }
    bundle = run_bundle.compose_descriptor(data_keys=data_keys, name="baseline", time=start_time)
    yield "descriptor", bundle.descriptor_doc
    readings = [(start_time, {keys[name]: value for name, (value, _, _) in at_start.items()})]
    at_end = motor_positions(member(instrument, "positioners_end"))
    if at_end:
        end_time = max(times["end"] or start_time, start_time)
        # A motor missing at the end (removed from the session mid-scan) reads NaN.
        end_values = {
            keys[name]: at_end[name][0] if name in at_end else float("nan")
            for name in at_start
        }
        readings.append((end_time, end_values))
    for seq_num, (time, data) in enumerate(readings, start=1):
        yield "event", bundle.compose_event(
            data=data, timestamps=dict.fromkeys(data, time), time=time, seq_num=seq_num
        )


def _configuration(entry, label, time):
    """Motors held still during the scan: the scalars of ``instrument/positioners``."""
    group = member(entry, "instrument/positioners")
    held = motor_positions(group)
    if not held:
        return {}
    keys = _position_keys(held)
    data = {keys[name]: value for name, (value, _, _) in held.items()}
    data_keys = {
        keys[name]: labelled(scalar_data_key(value, f"{label}:{group.name}/{name}", dtype, units), keys[name], name)
        for name, (value, units, dtype) in held.items()
    }
    return {"positioners": {"data": data, "timestamps": dict.fromkeys(data, time), "data_keys": data_keys}}


def _channel_data_key(channel, source, label):
    where = label if channel.source.identity == source.identity else channel.source.url
    origin = f"{where}:{channel.path}"
    if channel.point_shape:
        # Images and spectra are filled lazily; a shape far beyond what the file stores is
        # a damaged header, refused before any frame is asked for.
        check_dataset_size(channel.source.url, channel.dataset, f"channel {channel.name!r} ({channel.path})")
        key = array_data_key(channel.point_shape, channel.dataset.dtype, origin, external="FILESTORE:")
        if len(channel.point_shape) == 1:  # a spectrum per point (MCA, spectrometer)
            key["dims"] = [f"{channel.key}_channel"]
    else:
        zero = np.zeros((), channel.dataset.dtype).item()
        key = scalar_data_key(zero, origin, dtype=channel.dataset.dtype)
    if channel.units:
        key["units"] = channel.units
    if channel.key != channel.name:
        key["bliss_name"] = channel.name
    return labelled(key, channel.key, channel.name)


def _event_times(channels, n_points, start_time, url):
    """Unix times of the points: BLISS's ``epoch`` channel where it has one, else the start."""
    epoch = next((c for c in channels if c.name == "epoch" and not c.point_shape), None)
    if epoch is not None and n_points:
        check_dataset_size(url, epoch.dataset, f"channel 'epoch' ({epoch.dataset.name})")
        times = np.asarray(epoch.dataset[:n_points], dtype=np.float64)
        if np.isfinite(times).all() and times.min() > _EARLIEST_EPOCH:
            return times.tolist()
    return [float(start_time)] * n_points


def _scan_documents(h5, key, source, label, run_bundle, metadata, times, open_linked):
    """Baseline, descriptor, resources, datums and events of one scan; returns the RunStop."""
    entry = h5[key]
    start_time = run_bundle.start_doc["time"]
    yield from _baseline(entry, label, run_bundle, times, start_time)

    channels, left_out = measurement_channels(h5, key, source, open_linked)
    for name, why in left_out.items():
        warnings.warn(
            f"{source.url}: scan {key}: channel {name!r} {why}; it is left out", IngestWarning, stacklevel=4
        )
    lengths = {channel.key: channel.length for channel in channels}
    n_points = min(lengths.values(), default=0)

    data_keys = {channel.key: _channel_data_key(channel, source, label) for channel in channels}
    signal = metadata.get("plot_signal")
    stream_bundle = run_bundle.compose_descriptor(
        data_keys=data_keys,
        name="primary",
        time=start_time,
        configuration=_configuration(entry, label, start_time),
        object_keys={"measurement": list(data_keys)},
        hints={"measurement": {"fields": [signal] if signal in data_keys else []}},
    )
    yield "descriptor", stream_bundle.descriptor_doc

    resources = {}  # channel key -> [(FrameBlock, its resource bundle)]
    for channel in channels:
        for block in channel.blocks:
            resource = frame_resource(
                run_bundle, run_bundle.start_doc["uid"], channel.key, block.source, block.path
            )
            resources.setdefault(channel.key, []).append((block, resource))
            yield "resource", resource.resource_doc
    columns = {}
    for channel in channels:
        if not channel.point_shape:
            check_dataset_size(source.url, channel.dataset, f"channel {channel.name!r} ({channel.dataset.name})")
            column = np.asarray(channel.dataset[:n_points])
            column.flags.writeable = False
            columns[channel.key] = column
    event_times = _event_times(channels, n_points, start_time, source.url)

    for begin in range(0, n_points, PAGE_ROWS):
        end = min(begin + PAGE_ROWS, n_points)
        rows = end - begin
        data = {key_: column[begin:end] for key_, column in columns.items()}
        for channel_key, blocks in resources.items():
            data[channel_key] = []
            for block, resource in blocks:
                first, last = max(begin, block.begin), min(end, block.end)
                if first >= last:
                    continue
                frames = range(first - block.begin + block.offset, last - block.begin + block.offset)
                page = resource.compose_datum_page(datum_kwargs={"frame": list(frames)})
                yield "datum_page", page
                data[channel_key].extend(page["datum_id"])
        page = stream_bundle.compose_event_page(
            data=data,
            timestamps={key_: event_times[begin:end] for key_ in data},
            time=event_times[begin:end],
            seq_num=list(range(begin + 1, end + 1)),
            filled={key_: [False] * rows for key_ in resources},
        )
        yield from (("event", event) for event in event_model.unpack_event_page(page))

    exit_status, reason = stop_status(metadata, lengths, n_points)
    stop_time = max(times["end"] or (event_times[-1] if event_times else start_time), start_time)
    return run_bundle.compose_stop(time=stop_time, exit_status=exit_status, reason=reason)


def stop_status(metadata, lengths, n_points):
    """``(exit_status, reason)`` of the RunStop, from what the file says of the scan's end.

    - ``end_reason`` (BLISS 2): SUCCESS, USER_ABORT (abort), FAILURE or DELETION (fail);
    - else the writer's status: SUCCEEDED, FAILED; another state (RUNNING) means the
      writer never finished: fail; with neither, an ``end_time`` means the scan ended;
    - fewer points than the command asks for: abort where the file does not say how the
      scan ended (BLISS 1.x files record a user's abort only this way), fail where it
      says SUCCESS;
    - channels of unequal length: the points all of them have are kept, and the reason
      says so (fast scans record some channels one point longer by design).
    """
    notes = []
    end_reason = metadata.get("end_reason")
    writer_status = metadata.get("writer_status")
    if end_reason:
        status = END_REASONS.get(end_reason.upper(), "fail")
        if status != "success":
            notes.append(f"BLISS end_reason {end_reason}")
    elif writer_status:
        status = WRITER_STATES.get(writer_status.upper(), "fail")
        if status != "success":
            notes.append(f"writer status {writer_status}: the scan was not written to its end")
    elif metadata.get("end_time"):
        status = "success"
    else:
        status = "fail"
        notes.append("the file records no end of the scan (no end_reason, writer status or end_time)")
    planned = metadata.get("num_points")
    if planned is not None and n_points < planned:
        notes.append(f"holds {n_points} of the {planned} points the command asks for")
        if status == "success":
            status = "fail" if end_reason else "abort"
    if len(set(lengths.values())) > 1:
        by_length = {}
        for key, length in lengths.items():
            by_length.setdefault(length, []).append(key)
        longer = sorted(key for length, keys in by_length.items() if length > n_points for key in keys)
        notes.append(
            f"channels differ in length ({', '.join(str(n) for n in sorted(by_length))} points); "
            f"the {n_points} points all channels have are kept, cutting {', '.join(longer)}"
        )
    return status, "; ".join(notes)


# -- detection ------------------------------------------------------------------------------


def _bliss_confidence(h5):
    """How sure the file's root says a BLISS writer wrote it (see :func:`sniff_bliss`)."""
    writers = [text(h5.attrs.get(name)) or "" for name in ("creator", "publisher")]
    keys = scan_keys(h5)
    if any(writer.lower().startswith("bliss") for writer in writers):
        return 0.9
    if keys and text(h5.attrs.get("NX_class")) == "NXroot":
        first = member(h5, keys[0])
        return 0.8 if "measurement" in first and "instrument" in first else 0.0
    return 0.0


def sniff_bliss(head, source):
    """An HDF5 file whose root says BLISS wrote it, or whose entries are BLISS scans.

    The root's ``@creator`` or ``@publisher`` (``Bliss``, ``bliss``, ``blissdata``):
    0.9; an NXroot whose first entry is named like ``1.1`` and holds ``measurement``
    and ``instrument`` groups (a file by another BLISS writer): 0.8. Both above the
    generic NeXus ingestor's 0.5. BLISS stores many root attributes densely, outside
    the first bytes, so the file's header is opened (as h5py opens it: the superblock
    and the root group).
    """
    if head[:8] != HDF5_MAGIC:
        return 0.0
    try:
        with open_source(source) as file:
            return _bliss_confidence(file.h5)
    except (IngestError, *HDF5_ERRORS):
        return 0.0


#: BLISS saves lima images in ``scan<NNNN>/<detector>_<NNNN>.h5`` beside the dataset file.
_LIMA_FOLDER = re.compile(r"^scan\d{4,}$")


def bliss_lima_files(source, candidates):
    """The lima image files among ``candidates`` that belong to the dataset file ``source``.

    By place, as BLISS saves them: ``.h5`` files in the ``scan<NNNN>`` folders beside the
    dataset file (their images are linked from its scans).
    """
    candidates = as_siblings(candidates)
    found = []
    # Only the scan folders beside the dataset file are looked in.
    for scan_folder in candidates.subfolders(source.chain, posixpath.dirname(source.path)):
        if _LIMA_FOLDER.match(posixpath.basename(scan_folder)):
            files = candidates.in_folder(source.chain, scan_folder)
            found.extend(candidate for candidate in files if candidate.path.lower().endswith(".h5"))
    return candidates.in_order(found)


ESRF_BLISS = IngestorSpec(
    name="esrf_bliss",
    ingest=ingest_bliss,
    software="ESRF BLISS (dataset and scan files: nexus_writer_service, blisswriter)",
    patterns=("*.h5", "*.hdf5", "*.nxs"),
    mimetypes=("application/x-hdf5",),
    sniff=sniff_bliss,
    grouping="file",
    description="a BLISS HDF5 file, one run per scan entry (1.1, 2.1, ...), one event per point",
    runs_in=bliss_runs,
    companions=bliss_lima_files,
)
