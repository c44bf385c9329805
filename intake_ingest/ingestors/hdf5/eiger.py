"""Ingestor for Dectris Eiger HDF5 files: a master file and the data files it links to.

An Eiger detector (its SIMPLON file writer) writes, for a series ``name``:

- ``name_master.h5``: the metadata of the series, in a "nearly NeXus" layout
  (``/entry/instrument/detector/...``, ``.../detectorSpecific/...``,
  ``/entry/instrument/beam/incident_wavelength``, ``/entry/sample/goniometer/...``,
  each value with a ``@units`` attribute), and HDF5 external links
  ``/entry/data/data_000001``, ``data_000002``, ... (directly under ``/entry`` before
  firmware 1.3.0), each to ``/entry/data/data`` of a data file;
- ``name_data_000001.h5``, ...: a block of frames each (``nimages_per_file`` of the
  series, 100 by default), compressed with bitshuffle/LZ4 by default.

(See the Dectris Neggia plugin's file requirements,
https://github.com/dectris/neggia/blob/master/README.md, and its
``bin/check_h5_compatibility.py``.)

The run is made from the master file; its frames stay in the data files and are
referenced by Resource documents (one per data file, spec ``HDF5_FRAMES``) and Datum
documents (one per frame), and read when the run is read, through
:class:`intake_ingest.handlers.hdf5.HDF5Frames`.
"""

import posixpath
import re
import warnings

import event_model
import h5py
import numpy as np

from ...errors import IngestError, IngestWarning, MissingFileError
from ...files import deterministic_uid, expand, timestamps
from ...registry import IngestorSpec
from ...sibling_files import as_siblings
from .._common import array_data_key, source_label
from .._compose import compose_run
from .nexus import nexus_companions
from .sizes import check_dataset_size
from .tree import HDF5_MAGIC, frame_resource, linked_file, member, read_named
from .values import parse_time, read_scalar, scalar_data_key, units_of

__all__ = ["EIGER_HDF5", "eiger_data_files", "ingest_eiger", "sniff_eiger"]

DETECTOR = "/entry/instrument/detector"
DETECTOR_SPECIFIC = f"{DETECTOR}/detectorSpecific"
BEAM = "/entry/instrument/beam"
GONIOMETER = "/entry/sample/goniometer"

#: RunStart key <- master file dataset (or the first present of several). The rest of
#: the scalars go to the descriptor's configuration.
START_FIELDS = {
    "detector_description": f"{DETECTOR}/description",
    "detector_serial_number": f"{DETECTOR}/detector_number",
    "sensor_material": f"{DETECTOR}/sensor_material",
    "sensor_thickness": f"{DETECTOR}/sensor_thickness",
    "x_pixel_size": f"{DETECTOR}/x_pixel_size",
    "y_pixel_size": f"{DETECTOR}/y_pixel_size",
    "beam_center_x": f"{DETECTOR}/beam_center_x",
    "beam_center_y": f"{DETECTOR}/beam_center_y",
    # NXmx masters written by beamline software (DLS GDA, nexgen) name it ``distance``.
    "detector_distance": (f"{DETECTOR}/detector_distance", f"{DETECTOR}/distance"),
    "count_time": f"{DETECTOR}/count_time",
    "frame_time": f"{DETECTOR}/frame_time",
    "bit_depth_image": f"{DETECTOR}/bit_depth_image",
    "incident_wavelength": f"{BEAM}/incident_wavelength",
    "photon_energy": f"{DETECTOR_SPECIFIC}/photon_energy",
    "nimages": f"{DETECTOR_SPECIFIC}/nimages",
    "ntrigger": f"{DETECTOR_SPECIFIC}/ntrigger",
    "x_pixels_in_detector": f"{DETECTOR_SPECIFIC}/x_pixels_in_detector",
    "y_pixels_in_detector": f"{DETECTOR_SPECIFIC}/y_pixels_in_detector",
    "software_version": f"{DETECTOR_SPECIFIC}/software_version",
    "data_collection_date": f"{DETECTOR_SPECIFIC}/data_collection_date",
    "start_time": "/entry/start_time",
    "end_time": "/entry/end_time",
    "definition": "/entry/definition",
}
#: Groups holding per-frame angles: the SIMPLON file writer's, then NXmx masters' (the
#: transformations of the sample, and the coordinates of the NXdata group).
ANGLE_GROUPS = (GONIOMETER, "/entry/sample/transformations", "/entry/data")
DATA_LINK = re.compile(r"^data_\d{6}$")
MASTER_SUFFIX = "_master.h5"


class _DataBlock:
    """One block of frames: the link name in the master, the file and dataset holding it."""

    def __init__(self, name, target, dataset):
        self.name = name
        self.target = target  # SourceFile
        self.dataset = dataset  # path in that file


class _Scalar:
    """A scalar read from the master: its value, where it was, its type and units."""

    def __init__(self, value, dataset):
        self.value = value
        self.path = dataset.name
        self.dtype = dataset.dtype
        self.units = units_of(dataset)


class _Master:
    """What the master file says: RunStart metadata, configuration, frames, angles."""

    def __init__(self):
        self.metadata = {}
        self.units = {}
        self.configuration = {}  # object name -> {key: _Scalar}
        self.blocks = []
        self.angles = []  # per-frame goniometer datasets (paths)
        self.expected_frames = None
        self.collection_time = None
        self.frame_time = None


def _scalars(group):
    """The scalar datasets of a group, by name (arrays such as pixel_mask are left out)."""
    found = {}
    if not isinstance(group, h5py.Group):
        return found
    for name in group:
        dataset = member(group, name)
        value = read_scalar(dataset) if isinstance(dataset, h5py.Dataset) else None
        if value is not None:
            found[name] = _Scalar(value, dataset)
    return found


def _data_blocks(h5, source):
    """The blocks of frames, in order: the master's links ``data_000001``, ... ."""
    group = h5.get("/entry/data")
    if not isinstance(group, h5py.Group) or not any(DATA_LINK.match(name) for name in group):
        group = h5["/entry"]  # firmware before 1.3.0 put the links directly under /entry
    blocks = []
    for name in sorted(name for name in group if DATA_LINK.match(name)):
        link = group.get(name, getlink=True)
        if isinstance(link, h5py.ExternalLink):
            blocks.append(_DataBlock(name, linked_file(source, link.filename), link.path))
        elif isinstance(link, h5py.SoftLink):
            blocks.append(_DataBlock(name, source, link.path))
        else:
            blocks.append(_DataBlock(name, source, f"{group.name}/{name}"))
    if not blocks and isinstance(h5.get("/entry/data/data"), h5py.Dataset):
        blocks.append(_DataBlock("data", source, "/entry/data/data"))  # frames in the master
    if not blocks:
        raise IngestError(source.url, "links no data files (no /entry/data/data_000001, ...)")
    return blocks


def _angles(h5, master, source):
    """Goniometer datasets with a value per frame (``omega``, ``omega_end``, ...) and constants.

    From the file writer's goniometer group, else (NXmx masters) the sample's
    transformations and the NXdata group's coordinates; a name is taken once.
    """
    constants, seen = {}, set()
    for group_path in ANGLE_GROUPS:
        group = h5.get(group_path)
        if isinstance(group, h5py.Group):
            _group_angles(group, group_path == GONIOMETER, master, source, constants, seen)
    if constants:
        master.configuration["goniometer"] = constants


def _group_angles(group, warn, master, source, constants, seen):
    for name in sorted(group):
        dataset = member(group, name)
        if name in seen or not isinstance(dataset, h5py.Dataset) or dataset.dtype.kind not in "iuf":
            continue
        if dataset.ndim == 1 and dataset.shape[0] == master.expected_frames:
            master.angles.append(dataset.name)
            seen.add(name)
        elif dataset.size == 1 and group.name != "/entry/data":
            constants[name] = _Scalar(read_scalar(dataset), dataset)
            seen.add(name)
        elif warn:
            warnings.warn(
                f"{source.url}: {dataset.name} has {dataset.shape} values for "
                f"{master.expected_frames} frames (nimages x ntrigger); left out",
                IngestWarning,
                stacklevel=5,
            )


def _read_master(h5, source):
    master = _Master()
    if not isinstance(h5.get("/entry"), h5py.Group):
        raise IngestError(source.url, "has no /entry group: not an Eiger master file")
    for key, paths in START_FIELDS.items():
        for path in (paths,) if isinstance(paths, str) else paths:
            dataset = member(h5, path)
            value = read_scalar(dataset) if isinstance(dataset, h5py.Dataset) else None
            if value is not None:
                master.metadata[key] = value
                if units_of(dataset):
                    master.units[key] = units_of(dataset)
                break
    detector = _scalars(h5.get(DETECTOR))
    for name, item in _scalars(h5.get(DETECTOR_SPECIFIC)).items():
        detector.setdefault(name, item)
    detector.update(_scalars(h5.get(BEAM)))
    master.configuration["eiger"] = detector

    nimages, ntrigger = master.metadata.get("nimages"), master.metadata.get("ntrigger", 1)
    if isinstance(nimages, int) and isinstance(ntrigger, int):
        master.expected_frames = nimages * max(ntrigger, 1)
    frame_time = master.metadata.get("frame_time")
    master.frame_time = float(frame_time) if isinstance(frame_time, (int, float)) else None
    master.collection_time = parse_time(master.metadata.get("data_collection_date")) or parse_time(
        master.metadata.get("start_time")
    )
    master.blocks = _data_blocks(h5, source)
    _angles(h5, master, source)
    return master


def _master_errors_named(source, action):
    """Run ``action(h5)`` on the open master file, naming the file in any error."""
    return read_named(source, action, "an Eiger master file")


def _block_layout(master_source, block):
    """Number of frames, frame shape and dtype of one block, from its data file's header."""

    def layout(h5):
        dataset = h5.get(block.dataset)
        if not isinstance(dataset, h5py.Dataset) or dataset.ndim != 3:
            raise IngestError(
                block.target.url,
                f"has no stack of frames at {block.dataset!r} "
                f"(linked as {block.name} from {master_source.url})",
            )
        # Frames are filled lazily, one at a time, but a 20000 x 20000 frame declared in a
        # file of kilobytes would still ask gigabytes per frame: refused before any is made.
        check_dataset_size(block.target.url, dataset, f"the frames {block.dataset!r}")
        return dataset.shape[0], tuple(dataset.shape[1:]), dataset.dtype

    try:
        return read_named(block.target, layout, "an Eiger data file")
    except MissingFileError:
        raise MissingFileError(
            block.target.url, f"no such file: the data file {block.name} of {master_source.url}"
        ) from None


def _configuration(master, label, time):
    configuration = {}
    for name, items in master.configuration.items():
        data, data_keys = {}, {}
        for key, scalar in items.items():
            data[key] = scalar.value
            data_keys[key] = scalar_data_key(
                scalar.value, f"{label}:{scalar.path}", dtype=scalar.dtype, units=scalar.units
            )
        timestamps = {key: time for key in data}
        configuration[name] = {"data": data, "timestamps": timestamps, "data_keys": data_keys}
    return configuration


def _read_angles(source, master):
    """The per-frame goniometer values and their units, read after the RunStart, by data key."""

    def read(h5):
        angles = {}
        for path in master.angles:
            check_dataset_size(source.url, h5[path], f"the goniometer values {path!r}")
            column = np.asarray(h5[path][()], dtype=np.float64)
            column.flags.writeable = False
            angles[posixpath.basename(path)] = (column, units_of(h5[path]), path)
        return angles

    return _master_errors_named(source, read)


def ingest_eiger(filename, *, storage_options=None):
    """Wrap a Dectris Eiger series (master file + data files) in the event model.

    Parameters
    ----------
    filename : str
        Path or fsspec URL of the master file (``name_master.h5``). The data files are
        found through the master's external links, relative to the master's folder, on
        the same filesystem.
    storage_options : dict, optional
        Passed to fsspec.

    Yields
    ------
    name, doc : str, dict
        start (detector, beam and geometry metadata), descriptor ``primary`` (``image``
        external, plus per-frame goniometer angles), then per data file a resource
        (spec ``HDF5_FRAMES``), a datum page (a datum per frame) and one event per frame,
        and stop.

    Raises
    ------
    IngestError
        If the master file cannot be read (naming it), or a data file is missing or
        holds frames of another shape or type than the first (naming the data file);
        raised when the documents after the RunStart are generated.

    Examples
    --------
    >>> run = BlueskyRun(ingest_eiger("lysozyme_1_master.h5"))  # doctest: +SKIP
    >>> run.primary.to_dask()["image"]  # doctest: +SKIP
    """
    sources = expand(filename, storage_options)
    if len(sources) != 1:
        raise IngestError(str(filename), f"matches {len(sources)} files; give one Eiger master file")
    (source,) = sources
    (mtime,) = timestamps(sources)
    label = source_label(filename)
    master = _master_errors_named(source, lambda h5: _read_master(h5, source))
    start_time = master.collection_time or mtime
    metadata = {"ingestor": "eiger_hdf5", "source": label, **master.metadata}
    if master.expected_frames is not None:
        metadata["num_points"] = master.expected_frames
    if master.units:
        metadata["units"] = master.units
    run_bundle = compose_run(
        uid=deterministic_uid([source.identity]), time=start_time, metadata=metadata
    )
    yield "start", run_bundle.start_doc
    yield from _frame_documents(source, master, label, run_bundle, start_time)


def _frame_documents(source, master, label, run_bundle, start_time):
    """Descriptor, then per data file its resource, datums and events; then the stop."""
    frame_time = master.frame_time or 0.0
    angles = _read_angles(source, master)
    stream_bundle = None
    frame_shape = dtype = None
    total = 0
    for block in master.blocks:
        n_frames, shape, block_dtype = _block_layout(source, block)
        if stream_bundle is None:
            frame_shape, dtype = shape, block_dtype
            stream_bundle = _descriptor(master, angles, label, run_bundle, start_time, shape, dtype)
            yield "descriptor", stream_bundle.descriptor_doc
        elif (shape, block_dtype) != (frame_shape, dtype):
            raise IngestError(
                block.target.url,
                f"holds frames of {shape} {block_dtype}; the first data file's are {frame_shape} {dtype}",
            )
        resource = frame_resource(
            run_bundle, run_bundle.start_doc["uid"], block.name, block.target, block.dataset
        )
        yield "resource", resource.resource_doc
        datums = resource.compose_datum_page(datum_kwargs={"frame": list(range(n_frames))})
        yield "datum_page", datums
        indices = np.arange(total, total + n_frames)
        times = (start_time + indices * frame_time).tolist()
        data = {"image": datums["datum_id"]}
        data.update({key: _column(values, indices) for key, (values, _, _) in angles.items()})
        page = stream_bundle.compose_event_page(
            data=data,
            timestamps={key: times for key in data},
            time=times,
            seq_num=(indices + 1).tolist(),
            filled={"image": [False] * n_frames},
        )
        yield from (("event", event) for event in event_model.unpack_event_page(page))
        total += n_frames
    if master.expected_frames is not None and total != master.expected_frames:
        warnings.warn(
            f"{source.url}: the data files hold {total} frames; nimages x ntrigger is "
            f"{master.expected_frames}",
            IngestWarning,
            stacklevel=2,
        )
    yield "stop", run_bundle.compose_stop(time=start_time + total * frame_time)


def _column(values, indices):
    """Per-frame values for these frames; NaN where the master has fewer values than frames."""
    column = np.full(len(indices), np.nan)
    present = indices < len(values)
    column[present] = values[indices[present]]
    column.flags.writeable = False
    return column


def _descriptor(master, angles, label, run_bundle, time, frame_shape, dtype):
    data_keys = {"image": array_data_key(frame_shape, dtype, label, external="FILESTORE:")}
    for key, (_, units, path) in angles.items():
        data_keys[key] = scalar_data_key(0.0, f"{label}:{path}", units=units)
    return run_bundle.compose_descriptor(
        data_keys=data_keys,
        name="primary",
        time=time,
        configuration=_configuration(master, label, time),
        object_keys={"eiger": ["image"], "goniometer": [key for key in data_keys if key != "image"]},
        hints={"eiger": {"fields": ["image"]}},
    )


# -- detection --------------------------------------------------------------------------------


def sniff_eiger(head, source):
    """An HDF5 file named ``*_master.h5``; data files (``*_data_000001.h5``) are not runs."""
    if head[:8] != HDF5_MAGIC:
        return 0.0
    return 0.95 if posixpath.basename(source.path).lower().endswith(MASTER_SUFFIX) else 0.0


def eiger_data_files(source, candidates):
    """The data files among ``candidates`` that belong to the master file ``source``.

    By name, as the file writer names them: ``name_master.h5`` -> ``name_data_NNNNNN.h5``
    in the same folder; and any file the master's NXdata group links to (NXmx masters
    written by beamline software name them otherwise: ``name_000001.h5``).
    """
    name = posixpath.basename(source.path)
    if not name.lower().endswith(MASTER_SUFFIX):
        return []
    stem = name[: -len(MASTER_SUFFIX)]
    pattern = re.compile(re.escape(stem) + r"_data_\d{6}\.h5$")
    candidates = as_siblings(candidates)
    # Only the files of the master's folder named like its data files are looked at.
    named = candidates.in_folder(source.chain, posixpath.dirname(source.path), prefix=f"{stem}_data_")
    named = [candidate for candidate in named if pattern.match(posixpath.basename(candidate.path))]
    return candidates.in_order([*nexus_companions(source, candidates), *named])


EIGER_HDF5 = IngestorSpec(
    name="eiger_hdf5",
    ingest=ingest_eiger,
    software="Dectris Eiger / Eiger2 detectors (SIMPLON file writer)",
    patterns=("*_master.h5",),
    mimetypes=("application/x-hdf5",),
    sniff=sniff_eiger,
    grouping="file",
    description="an Eiger master file and its data files, one event per frame (frames filled lazily)",
    companions=eiger_data_files,
)
