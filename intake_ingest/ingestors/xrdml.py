"""Ingestor for PANalytical XRDML files (X'Pert / Empyrean Data Collector): one run per scan.

An XRDML file is XML (schema ``http://www.xrdml.com/XRDMeasurement/<version>``): a
``<sample>``, then one or more ``<xrdMeasurement>`` (its ``measurementType``: 'Scan',
'Area measurement', ...; the wavelength used, the beam path), each holding ``<scan>``
elements. A scan's ``<dataPoints>`` give each moving axis as ``startPosition`` /
``endPosition`` (points evenly spaced between them) or ``listPositions``, fixed axes as
``commonPosition``, the counting time, and the detector's ``intensities`` (XRDML 1.x)
or ``counts`` (2.x), one per point.

Each ``<scan>`` is one run (``runs_in`` lists them), one event per point. The XML is
parsed with ``defusedxml``, refusing DTDs, so that a file cannot expand entities.

See ``docs/formats/xrdml.md`` for what goes where.
"""

import collections
import datetime
import re
import threading

import event_model
import numpy as np

from ..errors import IngestError
from ..files import deterministic_uid, expand, read_bytes, timestamps
from ..registry import IngestorSpec
from ._common import DataKeyNamer, labelled, source_label
from ._compose import compose_run

__all__ = ["XRDML", "XrdmlScan", "ingest_xrdml", "read_scans", "runs_in", "sniff_xrdml"]

NAME = "xrdml"

#: Scan statuses and the RunStop exit status they give; others give 'abort' with the status.
EXIT_STATUS = {"Completed": "success", "Aborted": "abort"}

#: The detector's readings, by the element XRDML versions name them.
INTENSITY_ELEMENTS = ("intensities", "counts")


def sniff_xrdml(head, source):
    """An XML document whose root is ``xrdMeasurements`` (in the xrdml.com namespace)."""
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if not text.startswith(b"<"):
        return 0.0
    if b"<xrdMeasurements" in text and b"xrdml.com/XRDMeasurement" in text:
        return 0.98
    if b"<xrdMeasurements" in text:
        return 0.8
    return 0.0


def _local(element):
    return element.tag.rpartition("}")[2]


def _children(element, name):
    return [child for child in element if _local(child) == name]


def _child(element, name):
    return next((child for child in element if _local(child) == name), None)


def _text(element, *path):
    for name in path:
        if element is None:
            return None
        element = _child(element, name)
    if element is None or element.text is None:
        return None
    return element.text.strip()


def _float(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _numbers(source, where, text):
    try:
        return np.array(text.split(), dtype=float) if text else np.empty(0)
    except ValueError:
        raise IngestError(source.url, f"{where} holds text that is not numbers") from None


def _time(text):
    """Unix time of an XRDML time stamp (ISO 8601 with its UTC offset), or None."""
    try:
        return datetime.datetime.fromisoformat(text.strip()).timestamp()
    except (AttributeError, ValueError):
        return None


class XrdmlScan:
    """One ``<scan>`` of an XRDML file and the measurement, sample and file around it."""

    def __init__(self, number, scan, measurement, root):
        self.number = number  # 1-based position among all the file's scans
        self.element = scan
        self.measurement = measurement
        self.root = root

    @property
    def status(self):
        return self.element.get("status", "")

    def header_times(self):
        header = _child(self.element, "header")
        return _time(_text(header, "startTimeStamp")), _time(_text(header, "endTimeStamp"))

    def start_metadata(self):
        """What a user searches runs by: sample, measurement, wavelength, software, times."""
        metadata = {"scan_id": self.number, "measurement_type": self.measurement.get("measurementType", "")}
        for key, attribute in (("scan_axis", "scanAxis"), ("scan_mode", "mode"), ("scan_status", "status"),
                               ("append_number", "appendNumber")):  # fmt: skip
            if self.element.get(attribute) is not None:
                metadata[key] = self.element.get(attribute)
        if self.measurement.get("measurementStepAxis"):
            metadata["measurement_step_axis"] = self.measurement.get("measurementStepAxis")
        sample = _child(self.root, "sample")
        for key in ("id", "name"):
            value = _text(sample, key)
            if value:
                metadata[f"sample_{key}"] = value
        if sample is not None and sample.get("type"):
            metadata["sample_type"] = sample.get("type")
        wavelength = _child(self.measurement, "usedWavelength")
        if wavelength is not None:
            used = {"intended": wavelength.get("intended", "")}
            for element in wavelength:
                value = _float(element.text)
                if value is not None:
                    used[_local(element)] = value
            metadata["wavelength"] = used
            if "kAlpha1" in used:
                metadata["wavelength_angstrom"] = used["kAlpha1"]
        tube = None
        beam_path = _child(self.measurement, "incidentBeamPath")
        if beam_path is not None:
            tube = _child(beam_path, "xRayTube")
        if tube is not None:
            metadata["anode"] = _text(tube, "anodeMaterial") or ""
            for key in ("tension", "current"):
                value = _float(_text(tube, key))
                if value is not None:
                    metadata[f"tube_{key}"] = value
        header = _child(self.element, "header")
        author = _text(header, "author", "name")
        if author:
            metadata["author"] = author
        source = _child(header, "source") if header is not None else None
        if source is not None:
            software = _child(source, "applicationSoftware")
            if software is not None and software.text:
                metadata["software"] = software.text.strip()
                metadata["software_version"] = software.get("version", "")
            instrument = _text(source, "instrumentID")
            if instrument:
                metadata["instrument_id"] = instrument
        comments = [
            entry.text.strip()
            for comment in _children(self.root, "comment") + _children(self.measurement, "comment")
            for entry in comment
            if entry.text and entry.text.strip()
        ]
        if comments:
            metadata["comments"] = comments
        reflection = _child(self.element, "reflection")
        if reflection is not None and _text(reflection, "material"):
            metadata["reflection_material"] = _text(reflection, "material")
        return metadata


def _parse(source, content):
    import defusedxml.ElementTree as SafeElementTree
    from defusedxml import DefusedXmlException

    try:
        return SafeElementTree.fromstring(content, forbid_dtd=True)
    except DefusedXmlException as error:
        raise IngestError(source.url, f"is refused: {error} (XRDML files have no DTD)") from None
    except SafeElementTree.ParseError as error:
        raise IngestError(source.url, f"is not well-formed XML ({error})") from None


# The scans of the files read last, by file version: listing the runs of a file and
# composing each run's RunStart parse it once.
_CACHE = collections.OrderedDict()
_CACHE_SIZE = 8
_CACHE_LOCK = threading.Lock()


def read_scans(source):
    """Every ``<scan>`` of an XRDML file, in file order.

    Parameters
    ----------
    source : SourceFile

    Returns
    -------
    list of XrdmlScan
    """
    version = (source.identity, source.mtime, source.size)
    if source.mtime is not None:
        with _CACHE_LOCK:
            if version in _CACHE:
                _CACHE.move_to_end(version)
                return _CACHE[version]
    root = _parse(source, read_bytes(source))
    if _local(root) != "xrdMeasurements":
        raise IngestError(source.url, f"is XML whose root is <{_local(root)}>, not an XRDML <xrdMeasurements>")
    scans = []
    for measurement in _children(root, "xrdMeasurement"):
        for scan in _children(measurement, "scan"):
            scans.append(XrdmlScan(len(scans) + 1, scan, measurement, root))
    if source.mtime is not None:
        with _CACHE_LOCK:
            _CACHE[version] = scans
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
    return scans


def _choose(source, scans, scan):
    if not scans:
        raise IngestError(source.url, "holds no <scan>")
    if scan is None:
        if len(scans) == 1:
            return scans[0]
        raise IngestError(source.url, f"holds {len(scans)} scans; choose one with scan=<1...{len(scans)}>")
    try:
        number = int(scan)
    except (TypeError, ValueError):
        number = None
    if number is None or not 1 <= number <= len(scans) or isinstance(scan, bool):
        raise IngestError(source.url, f"has no scan {scan!r}; its scans are numbered 1 to {len(scans)}")
    return scans[number - 1]


def _data_name(axis):
    """A data key for an axis: XRDML's name, with characters other than word ones as '_'."""
    return re.sub(r"\W", "_", axis)


def _points(source, scan):
    """(data, data_keys, configuration values, configuration keys, n_points) of a scan."""
    where = f"scan {scan.number}"
    points = _child(scan.element, "dataPoints")
    if points is None:
        raise IngestError(source.url, f"{where} has no <dataPoints>")
    intensity = next((_child(points, name) for name in INTENSITY_ELEMENTS if _child(points, name) is not None), None)
    if intensity is None:
        raise IngestError(source.url, f"{where} has neither <intensities> nor <counts>")
    readings = _numbers(source, f"{where} <{_local(intensity)}>", intensity.text)
    n_points = readings.size
    if n_points == 0:
        raise IngestError(source.url, f"{where} holds no points")
    label = source.url
    intensity_key = _local(intensity)
    data = {intensity_key: readings}
    data_keys = {
        intensity_key: {"dtype": "number", "shape": [], "source": label, "units": intensity.get("unit", "counts")}
    }
    configuration, configuration_keys = {}, {}
    # The keys this function makes itself, so that no axis takes their names.
    namer = DataKeyNamer({intensity_key, "counting_time", "beam_attenuation_factor"})
    for positions in _children(points, "positions"):
        axis = positions.get("axis", "")
        name, unit = namer(_data_name(axis), fallback="axis"), positions.get("unit", "")
        start, end = _float(_text(positions, "startPosition")), _float(_text(positions, "endPosition"))
        listed, common = _text(positions, "listPositions"), _float(_text(positions, "commonPosition"))
        if start is not None and end is not None:
            values = np.linspace(start, end, n_points)
        elif listed is not None:
            values = _numbers(source, f"{where} {axis} listPositions", listed)
            if values.size != n_points:
                raise IngestError(
                    source.url, f"{where}: {axis} lists {values.size} positions for {n_points} points"
                )
        elif common is not None:
            configuration[name] = common
            configuration_keys[name] = labelled({"dtype": "number", "shape": [], "source": label, "units": unit}, name, axis)
            continue
        else:
            raise IngestError(source.url, f"{where}: {axis} positions give no start, list or common position")
        data[name] = values
        data_keys[name] = labelled({"dtype": "number", "shape": [], "source": label, "units": unit}, name, axis)
    common_time = _child(points, "commonCountingTime")
    counting_times = _child(points, "countingTimes")
    if counting_times is not None:
        values = _numbers(source, f"{where} countingTimes", counting_times.text)
        if values.size != n_points:
            raise IngestError(source.url, f"{where}: {values.size} counting times for {n_points} points")
        data["counting_time"] = values
        data_keys["counting_time"] = {"dtype": "number", "shape": [], "source": label, "units": "s"}
    elif common_time is not None and _float(common_time.text) is not None:
        configuration["counting_time"] = _float(common_time.text)
        configuration_keys["counting_time"] = {"dtype": "number", "shape": [], "source": label, "units": "s"}
    attenuation = _child(points, "beamAttenuationFactors")
    if attenuation is not None and attenuation.text and attenuation.text.strip():
        values = _numbers(source, f"{where} beamAttenuationFactors", attenuation.text)
        if values.size == n_points:
            data["beam_attenuation_factor"] = values
            data_keys["beam_attenuation_factor"] = {"dtype": "number", "shape": [], "source": label}
    return data, data_keys, configuration, configuration_keys, n_points


def ingest_xrdml(filename, scan=None, *, storage_options=None):
    """Wrap one scan of a PANalytical XRDML file in the event model.

    Parameters
    ----------
    filename : str or SourceFile
        Path or fsspec URL of one ``.xrdml`` file.
    scan : int, optional
        Which ``<scan>``, counting from 1 over the whole file; may be left out when the
        file holds one.
    storage_options : dict, optional
        Passed to fsspec.

    Yields
    ------
    name, doc : str, dict
        start (sample, measurement type, wavelength, tube, software, comments); descriptor
        ``primary`` with a data key per moving axis (``2Theta``, ``Omega``...), the
        detector's ``intensities`` or ``counts``, and where given per point
        ``counting_time`` and ``beam_attenuation_factor``; fixed axes and a common
        counting time in its configuration ``diffractometer``; one event per point;
        stop (``success`` for a completed scan).

    Raises
    ------
    IngestError
        If the file is not XRDML, has a DTD, has no such scan, or a scan's lists do not
        match its number of points.
    """
    sources = expand(filename, storage_options)
    if len(sources) != 1:
        raise IngestError(str(filename), f"matches {len(sources)} files; an XRDML run is a scan of one file")
    (source,) = sources
    label = source_label(filename)
    chosen = _choose(source, read_scans(source), scan)
    (mtime,) = timestamps(sources)
    begin, end = chosen.header_times()
    start_time = begin if begin is not None else mtime
    end_time = end if end is not None and end >= start_time else start_time
    data, data_keys, configuration, configuration_keys, n_points = _points(source, chosen)
    run_bundle = compose_run(
        uid=deterministic_uid([source.identity, f"scan {chosen.number}"]),
        time=start_time,
        metadata={"ingestor": NAME, "source": label, "num_points": n_points, **chosen.start_metadata()},
    )
    yield "start", run_bundle.start_doc

    for key in data_keys:
        data_keys[key]["source"] = str(label)
    for key in configuration_keys:
        configuration_keys[key]["source"] = str(label)
    intensity_key = next(key for key in INTENSITY_ELEMENTS if key in data)
    descriptor = run_bundle.compose_descriptor(
        data_keys=data_keys,
        name="primary",
        time=start_time,
        configuration={
            "diffractometer": {
                "data": configuration,
                "timestamps": dict.fromkeys(configuration, start_time),
                "data_keys": configuration_keys,
            }
        },
        object_keys={"diffractometer": list(data_keys)},
        hints={"diffractometer": {"fields": [intensity_key]}},
    )
    yield "descriptor", descriptor.descriptor_doc
    # A continuous scan moves at constant speed from startTimeStamp to endTimeStamp:
    # each point's time is when its counting interval began.
    times = (start_time + (end_time - start_time) * np.arange(n_points) / n_points).tolist()
    page = descriptor.compose_event_page(
        data={key: values.tolist() for key, values in data.items()},
        timestamps=dict.fromkeys(data, times),
        time=times,
        seq_num=list(range(1, n_points + 1)),
    )
    for event in event_model.unpack_event_page(page):
        yield "event", event
    status = chosen.status or "Completed"
    exit_status = EXIT_STATUS.get(status, "abort")
    yield "stop", run_bundle.compose_stop(
        exit_status=exit_status,
        reason="" if exit_status == "success" else f"scan status '{status}'",
        time=end_time,
    )


def runs_in(source):
    """One ``{'scan': n}`` per ``<scan>`` of the file, in file order."""
    return [{"scan": scan.number} for scan in read_scans(source)]


XRDML = IngestorSpec(
    name=NAME,
    ingest=ingest_xrdml,
    software="PANalytical X'Pert / Empyrean Data Collector XRDML",
    patterns=("*.xrdml",),
    mimetypes=(),
    sniff=sniff_xrdml,
    grouping="file",
    description="one run per <scan> of a PANalytical XRDML file, one event per point",
    runs_in=runs_in,
)
