"""What one scan entry of a BLISS HDF5 file holds, read with h5py as plain values.

The layout, as BLISS's writers lay it out (the ``nexus_writer_service`` of BLISS 1.x,
``blisswriter`` from the h5 maps BLISS 2 publishes; see the real files in
``tests/data/real/bliss/``)::

    /                         @NX_class=NXroot @creator @creator_version @publisher
                              @publisher_version @file_name @file_time @default
    /<N>.<M>                  NXentry, one per scan: N the scan number, M the subscan
        title                 the command: 'ascan sy 0 1 10 0.1'
        start_time, end_time  ISO 8601 with the zone
        end_reason            SUCCESS, FAILURE, USER_ABORT or DELETION (BLISS 2)
        writer/status         SUCCEEDED, FAILED, RUNNING, ... (the writer's own state)
        sample/name
        instrument/name       @short_name: the beamline
        instrument/<channel>/data or /value    one value (or frame, spectrum) per point
        instrument/positioners                 every motor: scanned ones per point
        instrument/positioners_start, _end     every motor at the scan's start and end
        measurement/<channel> soft links to the per-point datasets (lima images: to
                              datasets in the detector's own files, by external link)
        plotselect            NXdata: @signal, @axes of the default plot

This module reads the header (before the RunStart) and the channels; :mod:`.bliss`
composes the documents.
"""

import dataclasses
import re

import h5py
import numpy as np
from h5py import h5s

from ...errors import IngestError, MissingFileError
from .._common import DataKeyNamer
from .bliss_command import command_metadata
from .tree import follow_links, linked_file, member
from .values import natural_key, parse_time, read_scalar, text, texts, units_of

__all__ = [
    "SCAN_KEY",
    "Channel",
    "FrameBlock",
    "choose_scan",
    "data_policy",
    "frame_blocks",
    "key_name",
    "measurement_channels",
    "motor_positions",
    "scan_header",
    "scan_keys",
]

#: Scan entries are named '<scan number>.<subscan>': '1.1', '12.2'.
SCAN_KEY = re.compile(r"^(\d+)\.(\d+)$")

# The ESRF data policy's folders: /data/visitor/<proposal>/<beamline>/<session>/RAW_DATA/
# <collection>/<collection>_<dataset>/<collection>_<dataset>.h5 (also under /data/<beamline>/inhouse).
_DATA_POLICY = re.compile(
    r"/(?P<proposal>[^/]+)/(?P<beamline>[^/]+)/(?P<session>\d{8})/RAW_DATA/"
    r"(?P<collection>[^/]+)/(?P=collection)_(?P<dataset>[^/]+)/(?P=collection)_(?P=dataset)\.h5$"
)


def scan_keys(h5):
    """Names of the scan entries at the top of the file ('1.1', '2.1', ...), in natural order."""
    return sorted(
        (name for name in h5 if isinstance(name, str) and SCAN_KEY.match(name) and isinstance(member(h5, name), h5py.Group)),
        key=natural_key,
    )


def choose_scan(h5, scan, url):
    """The key of the scan asked for: a key '3.1', a scan number 3 (one subscan), or the only one."""
    keys = scan_keys(h5)
    listing = ", ".join(f"'{key}'" for key in keys[:5]) + (f", ... '{keys[-1]}'" if len(keys) > 5 else "")
    if not keys:
        raise IngestError(url, "holds no BLISS scan (no entry named like '1.1' at the top level)")
    if scan is None:
        if len(keys) == 1:
            return keys[0]
        raise IngestError(url, f"holds {len(keys)} scans ({listing}); choose one with scan='<number>.<subscan>'")
    if isinstance(scan, str) and scan.strip().isdigit():  # '3' as a YAML catalog may give it
        scan = int(scan)
    if isinstance(scan, (int, np.integer)) and not isinstance(scan, bool):
        matches = [key for key in keys if SCAN_KEY.match(key)[1] == str(int(scan))]
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise IngestError(url, f"scan {scan} has subscans {matches}; choose one by key")
        raise IngestError(url, f"has no scan number {scan}; its scans are {listing}")
    if str(scan) in keys:
        return str(scan)
    raise IngestError(url, f"has no scan {scan!r}; its scans are {listing}")


def key_name(name, taken=()):
    """A channel name as a data key: no '.', '/' or spaces (event-model and xarray names),
    clear of the keys ``taken`` (left as they are)."""
    return DataKeyNamer(taken)(name, fallback="channel")


def data_policy(file_name):
    """proposal, beamline, session, collection and dataset from an ESRF data-policy path."""
    match = _DATA_POLICY.search(file_name or "")
    return match.groupdict() if match else {}


def _entry_text(entry, name):
    value = read_scalar(member(entry, name))
    return text(value) if value is not None else None


def _root_metadata(h5):
    """Who wrote the file: BLISS (the publisher) and the writer (the creator)."""
    attrs = h5.attrs
    metadata = {}
    creator, publisher = text(attrs.get("creator")), text(attrs.get("publisher"))
    # blissdata 1.x spells the creator's version 'create_version'.
    creator_version = text(attrs.get("creator_version", attrs.get("create_version")))
    if creator:
        metadata["writer"] = creator
    if creator_version:
        metadata["writer_version"] = creator_version
    program = publisher or creator
    if program:
        metadata["program_name"] = program
        version = text(attrs.get("publisher_version")) if publisher else creator_version
        if version:
            metadata["program_version"] = version
    file_name = text(attrs.get("file_name"))
    if file_name:
        metadata["file_name"] = file_name
        metadata.update(data_policy(file_name))
    return metadata


def _plot_hints(entry):
    """Data keys of the default plot (the entry's @default NXdata): signal and axes."""
    plot = member(entry, text(entry.attrs.get("default")) or "plotselect")
    if not isinstance(plot, h5py.Group):
        return None, []
    signal = text(plot.attrs.get("signal"))
    return signal, [axis for axis in texts(plot.attrs.get("axes")) if axis != "."]


def scan_header(h5, key):
    """RunStart metadata of one scan, from attributes and small datasets only.

    Returns
    -------
    metadata : dict
    times : dict
        ``start`` and ``end`` as Unix times where the file gives them.
    """
    entry = h5[key]
    number, subscan = (int(part) for part in SCAN_KEY.match(key).groups())
    metadata = {"scan": key, "scan_id": number, "subscan": subscan}
    metadata.update(_root_metadata(h5))
    title = _entry_text(entry, "title")
    if title is not None:
        metadata["title"] = title
        metadata.update(command_metadata(title))
    for field in ("start_time", "end_time", "end_reason"):
        value = _entry_text(entry, field)
        if value:
            metadata[field] = value
    writer_status = _entry_text(entry, "writer/status")
    if writer_status:
        metadata["writer_status"] = writer_status
    sample = _entry_text(entry, "sample/name")
    if sample:
        metadata["sample"] = sample
    instrument = member(entry, "instrument/name")
    if isinstance(instrument, h5py.Dataset):
        metadata["instrument"] = text(read_scalar(instrument))
        short_name = text(instrument.attrs.get("short_name"))
        if short_name and "beamline" not in metadata:
            metadata["beamline"] = short_name
    signal, axes = _plot_hints(entry)
    dimensions = axes or [motor for motor in metadata.get("motors", []) if motor in entry.get("measurement", {})]
    if dimensions:
        metadata["hints"] = {"dimensions": [[[key_name(axis)], "primary"] for axis in dimensions]}
    if signal:
        metadata["plot_signal"] = key_name(signal)
    times = {"start": parse_time(metadata.get("start_time")), "end": parse_time(metadata.get("end_time"))}
    return metadata, times


@dataclasses.dataclass
class Channel:
    """One ``measurement/`` channel: where its data really is, and its layout."""

    name: str
    key: str
    source: object  # SourceFile holding the dataset
    dataset: h5py.Dataset
    path: str  # the dataset's path in that file
    units: str | None
    blocks: list = dataclasses.field(default_factory=list)  # FrameBlocks of an array channel

    @property
    def length(self):
        return self.dataset.shape[0]

    @property
    def point_shape(self):
        return tuple(self.dataset.shape[1:])


def _units(dataset):
    units = units_of(dataset)
    return units.strip() if units and units.strip() else None  # BLISS writes '' or ' ' for none


def measurement_channels(h5, key, source, open_linked):
    """The channels of ``measurement/``, followed through their links, in natural order.

    Returns
    -------
    channels : list of Channel
        Numeric datasets with a first (point) dimension.
    left_out : dict
        Channel name -> why it is not read (a dangling link, a string or scalar dataset).
    """
    group = member(h5[key], "measurement")
    if not isinstance(group, h5py.Group):
        raise IngestError(source.url, f"scan {key} has no measurement group")
    channels, left_out, namer = [], {}, DataKeyNamer()
    for name in sorted(group, key=natural_key):
        try:
            found = follow_links(source, h5, f"{group.name}/{name}", open_linked)
        except MissingFileError as error:  # a detector's file not copied with the dataset
            left_out[name] = f"links to {error.path}, which does not exist"
            continue
        dataset = member(found[1], found[2]) if found else None
        if isinstance(dataset, h5py.Group):
            left_out[name] = "is a group, not a dataset"
        elif not isinstance(dataset, h5py.Dataset):
            left_out[name] = "its link leads to no dataset"
        elif dataset.dtype.kind not in "iufb" or dataset.ndim == 0:
            kind = "scalar" if dataset.ndim == 0 else str(dataset.dtype)
            left_out[name] = f"is a {kind} dataset, not numbers per point"
        else:
            channel = Channel(name, None, found[0], dataset, found[2], _units(dataset))  # keyed once kept
            if channel.point_shape:
                try:
                    channel.blocks = frame_blocks(channel)
                except MissingFileError as error:
                    left_out[name] = f"maps frames from {error.path}, which does not exist"
                    continue
            channel.key = namer(name, fallback="channel")  # a channel left out takes no name
            channels.append(channel)
    return channels, left_out


@dataclasses.dataclass(frozen=True)
class FrameBlock:
    """Points ``begin`` to ``end`` of an array channel: frames ``offset...`` of ``path`` in ``source``."""

    begin: int
    end: int
    source: object  # SourceFile
    path: str
    offset: int = 0


def _whole_frames(space, shape):
    """(first, last + 1) along the first axis where a selection takes whole frames, else None."""
    first, last = space.get_select_bounds()
    if tuple(first[1:]) != (0,) * (len(shape) - 1) or tuple(last[1:]) != tuple(n - 1 for n in shape[1:]):
        return None
    if space.get_select_npoints() != (last[0] - first[0] + 1) * int(np.prod(shape[1:], dtype=np.int64)):
        return None  # strided or scattered: not a block of consecutive frames
    return first[0], last[0] + 1


def frame_blocks(channel):
    """Where the frames of an array channel are: its dataset, or the files a VDS maps.

    BLISS may keep a lima detector's images as an HDF5 virtual dataset (VDS) over the
    detector's own files. HDF5 reads a VDS's sources only from a local disk, and reads
    those it cannot find as zeros, silently; following the mapping instead names each
    file, which fsspec then reads from anywhere, and a missing one is an error. A
    mapping of anything but whole frames (modules stitched into one image) is read
    through the VDS itself.

    Raises
    ------
    MissingFileError
        Naming a source file of the VDS that does not exist.
    """
    dataset = channel.dataset
    whole = [FrameBlock(0, channel.length, channel.source, channel.path)]
    if not dataset.is_virtual:
        return whole
    blocks = []
    for mapping in dataset.virtual_sources():
        virtual = _whole_frames(mapping.vspace, dataset.shape)
        if virtual is None:
            return whole
        if mapping.src_space.get_select_type() == h5s.SEL_ALL:
            # The whole source dataset fills the block (HDF5 does not keep its shape here).
            source_frames = (0, virtual[1] - virtual[0])
        elif tuple(mapping.src_space.shape[1:]) == channel.point_shape:
            source_frames = _whole_frames(mapping.src_space, mapping.src_space.shape)
        else:
            return whole
        if source_frames is None or virtual[1] - virtual[0] != source_frames[1] - source_frames[0]:
            return whole
        if mapping.file_name == ".":
            target = channel.source
        else:
            target = linked_file(channel.source, mapping.file_name)
            if not target.fs.exists(target.path):
                raise MissingFileError(target.url)
        end = min(virtual[1], channel.length)
        blocks.append(FrameBlock(virtual[0], end, target, mapping.dset_name, source_frames[0]))
    blocks = sorted((block for block in blocks if block.begin < block.end), key=lambda block: block.begin)
    edges = [0] + [edge for block in blocks for edge in (block.begin, block.end)] + [channel.length]
    if any(edges[i] != edges[i + 1] for i in range(0, len(edges), 2)):
        return whole  # gaps or overlaps between the mapped blocks: read what the VDS reads
    return blocks


def motor_positions(group):
    """The numeric scalars of a positioners group: name -> (value, units, numpy dtype)."""
    positions = {}
    if not isinstance(group, h5py.Group):
        return positions
    for name in sorted(group, key=natural_key):
        dataset = member(group, name)
        value = read_scalar(dataset) if isinstance(dataset, h5py.Dataset) and dataset.ndim == 0 else None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            positions[name] = (value, _units(dataset), dataset.dtype)
    return positions
