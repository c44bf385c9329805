"""Ingestor for multichannel-analyser spectra in ``.mca`` files: one spectrum per event.

Three layouts share the ``.mca`` extension, and each is recognised by its first bytes:

- **SPEC-style MCA** (PyMca's "Save as .mca", SPEC's ``mcasave``): a SPEC data file whose
  scans hold only spectra: ``#F``/``#S``/``#D`` control lines, ``#@MCA %16C``,
  ``#@CHANN n first last reduction``, ``#@CALIB a b c``, optionally ``#@CTIME preset live
  real``, and each spectrum as ``@A`` lines continued with ``\\``. Read with silx's
  :class:`silx.io.specfile.SpecFile`; one run per scan (``runs_in``), as the ``spec``
  ingestor does. A scan that also has ``#L`` columns is a SPEC scan, for ``spec``.
- **Amptek** (DppMCA, ADMCA, PMCA for the DP5/PX5/X-123): ``<<PMCA SPECTRUM>>`` with
  ``KEY - value`` lines, ``<<CALIBRATION>>`` channel/energy pairs, ``<<ROI>>``,
  ``<<DATA>>`` one count per line up to ``<<END>>``, then ``<<DP5 CONFIGURATION>>`` and
  ``<<DPP STATUS>>``. One run per file.
- **a single column of counts** after optional ``#`` comment lines, which PyMca reads
  too (PyMca ships ``XRFSpectrum.mca`` so). One run per file.

See ``docs/formats/mca.md`` for what goes where.
"""

import contextlib
import dataclasses
import datetime
import os
import re
import tempfile
import warnings

import event_model
import numpy as np
from silx.io.specfile import SpecFile

from ..errors import IngestError, IngestWarning, MissingFileError
from ..files import deterministic_uid, expand, read_bytes, timestamps
from ..registry import IngestorSpec
from ._common import array_data_key, source_label, time_zone
from ._compose import compose_run
from ._silx_guard import check_for_silx
from .spec import read_scan_index

__all__ = [
    "MCA",
    "Spectrum",
    "ingest_mca",
    "layout_of",
    "read_amptek",
    "read_column",
    "runs_in",
    "sniff_mca",
]

NAME = "mca"

AMPTEK_MAGIC = b"<<PMCA SPECTRUM>>"


@dataclasses.dataclass(frozen=True)
class Spectrum:
    """What one run holds: its spectra and what the file says about them.

    ``counts`` is (n_spectra, n_channels); ``energy`` the energy of each channel
    where the file calibrates them; ``live_time`` and ``real_time`` in seconds, one per
    spectrum, None where unknown; ``metadata`` goes to the RunStart; ``configuration``
    values (plain numbers, lists and text) go to the descriptor's ``mca`` configuration.
    """

    counts: np.ndarray
    channels: list
    energy: list | None
    live_time: float | None
    real_time: float | None
    start_time: float | None
    metadata: dict
    configuration: dict


# -- telling the layouts apart -----------------------------------------------------------------

_SPEC_SCAN = re.compile(rb"(?:^|\n)#S ")
_SPEC_LABELS = re.compile(rb"(?:^|\n)#L ")
_SPEC_SPECTRUM = re.compile(rb"(?:^|\n)@A")
_NUMBER_LINE = re.compile(rb"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def layout_of(head):
    """``'amptek'``, ``'spec'``, ``'column'`` or None, from the first bytes of a file.

    A SPEC-style file is ``'spec'`` only when its first bytes show an ``@A`` spectrum and
    no ``#L`` line: a file with ``#L`` columns is a SPEC scan file (the ``spec`` ingestor's).
    """
    if head.lstrip(b"\xef\xbb\xbf").startswith(AMPTEK_MAGIC):
        return "amptek"
    if _SPEC_SCAN.search(head) or head.startswith(b"#F "):
        if _SPEC_SPECTRUM.search(head) and not _SPEC_LABELS.search(head):
            return "spec"
        return None
    lines = head.splitlines()
    if len(head) == 4096 or (lines and not head.endswith((b"\n", b"\r"))):
        lines = lines[:-1]  # the last line may be cut off by the head's end
    values = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith(b"#")]
    if len(values) >= 8 and all(_NUMBER_LINE.fullmatch(value) for value in values):
        return "column"
    return None


def _reading_layout(head):
    """The layout to read a file as: a SPEC-style file with ``#L`` scans too is read as
    ``'spec'`` here (its spectra-only scans), though detection leaves it to ``spec``."""
    layout = layout_of(head)
    if layout is None and (_SPEC_SCAN.search(head) or head.startswith(b"#F ")):
        return "spec"
    return layout


def sniff_mca(head, source):
    """Decisive for Amptek and spectra-only SPEC files, a 'maybe' for a column of counts.

    A spectra-only SPEC file scores 0.97, above the ``spec`` ingestor's 0.9 for any file
    with ``#S`` lines by more than detection's ambiguity margin, so it comes here; a
    file with ``#L`` lines scores 0 here and goes to ``spec``.
    """
    return {"amptek": 0.99, "spec": 0.97, "column": 0.5}.get(layout_of(head), 0.0)


# -- times -------------------------------------------------------------------------------------


def _local_time(text, formats, zone):
    """Unix time of a date written in local time without a zone, or None if unreadable.

    Read in ``zone`` if given, else as local time of the computer that ingests.
    """
    for fmt in formats:
        try:
            local = datetime.datetime.strptime(" ".join(text.split()), fmt)
        except ValueError:
            continue
        return local.replace(tzinfo=zone).timestamp() if zone else local.timestamp()
    return None


# -- Amptek ------------------------------------------------------------------------------------

_AMPTEK_SECTION = re.compile(r"<<(?P<name>[A-Z0-9 ]+?)>>")
#: Amptek's START_TIME, written by DppMCA as month/day/year in the PC's local time.
AMPTEK_TIME_FORMATS = ("%m/%d/%Y %H:%M:%S",)


def _amptek_sections(source, text):
    """``{section name: [lines]}`` in file order; the spectrum ends at ``<<END>>``."""
    sections, current, ended = {}, None, False
    for line in text.splitlines():
        stripped = line.strip()
        match = _AMPTEK_SECTION.fullmatch(stripped)
        if match:
            current = match["name"]
            if current == "END":
                ended = True
            sections.setdefault(current, [])
        elif current is not None and stripped:
            sections[current].append(stripped)
    if "DATA" not in sections:
        raise IngestError(source.url, "is an Amptek spectrum without a <<DATA>> section")
    if not ended:
        raise IngestError(
            source.url, "ends inside its <<DATA>> section (no <<END>> line): the file is cut off"
        )
    return sections


def _key_values(lines, separator):
    values = {}
    for line in lines:
        key, sep, value = line.partition(separator)
        if sep and key.strip():
            values[key.strip()] = value.strip()
    return values


def _number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _linear_fit(source, points):
    """(offset, gain) of energy = offset + gain * channel through the calibration points.

    DppMCA calibrates with two or more (channel, energy) points; a least-squares line
    through them gives the energy of every channel.
    """
    channels, energies = np.array(points, dtype=float).T
    if len(set(channels)) < 2:
        warnings.warn(
            f"{source.url}: its calibration has fewer than two distinct channels; no energy axis",
            IngestWarning,
            stacklevel=4,
        )
        return None
    gain, offset = np.polyfit(channels, energies, 1)
    return float(offset), float(gain)


def read_amptek(source, content, zone=None):
    """The spectrum of an Amptek ``<<PMCA SPECTRUM>>`` file.

    Parameters
    ----------
    source : SourceFile
    content : bytes
    zone : tzinfo, optional
        The zone of START_TIME; the ingesting computer's local time by default.

    Returns
    -------
    Spectrum
    """
    sections = _amptek_sections(source, content.decode("latin-1"))
    header = _key_values(sections.get("PMCA SPECTRUM", []), " - ")
    for number, line in enumerate(sections["DATA"], start=1):
        # A count is a whole number that fits 64 bits (int() refuses over 4300 digits too).
        digits = line.strip().lstrip("-")
        if not digits.isdigit() or len(digits) > 18:
            shown = line if len(line) <= 40 else line[:37] + "..."
            raise IngestError(source.url, f"holds {shown!r} in its <<DATA>> section (line {number} of it), not a count")
    counts = np.array([int(line) for line in sections["DATA"]], dtype=np.int64)
    if counts.size == 0:
        raise IngestError(source.url, "holds no counts between <<DATA>> and <<END>>")
    configuration_lines = _key_values(sections.get("DP5 CONFIGURATION", []), "=")
    dp5 = {key: value.partition(";")[0].strip() for key, value in configuration_lines.items()}
    status = _key_values(sections.get("DPP STATUS", []), ":")
    declared = _number(dp5.get("MCAC"))
    if declared is not None and int(declared) != counts.size:
        raise IngestError(
            source.url,
            f"holds {counts.size} counts where its configuration (MCAC) says {int(declared)} channels",
        )

    channels = list(range(counts.size))
    points = []
    for line in sections.get("CALIBRATION", []):
        pair = [_number(word) for word in line.split()]
        if len(pair) == 2 and None not in pair:
            points.append(pair)
    configuration = {"channel": channels}
    energy = None
    if points:
        configuration["calibration_points"] = [list(point) for point in points]
        fit = _linear_fit(source, points) if len(points) >= 2 else None
        if fit:
            offset, gain = fit
            energy = (offset + gain * np.arange(counts.size)).tolist()
            configuration["calibration"] = [offset, gain, 0.0]
    rois = [[int(n) for n in line.split()] for line in sections.get("ROI", []) if len(line.split()) == 2]
    if rois:
        configuration["rois"] = rois
    for key in ("GAIN", "THRESHOLD", "PRESET_TIME"):
        value = _number(header.get(key))
        if value is not None:
            configuration[key.lower()] = value

    metadata = {"layout": "amptek"}
    for key, name in (("TAG", "tag"), ("DESCRIPTION", "description"), ("SERIAL_NUMBER", "serial_number")):
        if header.get(key):
            metadata[name] = header[key]
    for key, name in (("Device Type", "device_type"), ("Serial Number", "device_serial_number"),
                      ("Firmware", "firmware")):  # fmt: skip
        if status.get(key):
            metadata[name] = status[key]
    if dp5:
        metadata["dp5_configuration"] = dp5
    if status:
        metadata["dpp_status"] = status
    start = header.get("START_TIME")
    return Spectrum(
        counts=counts[np.newaxis],
        channels=channels,
        energy=energy,
        live_time=_number(header.get("LIVE_TIME")),
        real_time=_number(header.get("REAL_TIME")),
        start_time=_local_time(start, AMPTEK_TIME_FORMATS, zone) if start else None,
        metadata=metadata,
        configuration=configuration,
    )


# -- one column of counts ------------------------------------------------------------------------


def read_column(source, content):
    """The spectrum of a file holding one count per line after ``#`` comment lines."""
    comments, values = [], []
    for number, line in enumerate(content.decode("latin-1").splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            text = stripped.lstrip("#").strip()
            if text:
                comments.append(text)
            continue
        try:
            values.append(float(stripped))
        except ValueError:
            raise IngestError(source.url, f"line {number} holds {stripped!r}, not one count") from None
    if not values:
        raise IngestError(source.url, "holds no counts")
    counts = np.array(values)
    if np.all(counts == np.round(counts)) and np.all(np.abs(counts) < 2**53):
        counts = counts.astype(np.int64)  # counts written as integers stay integers
    channels = list(range(counts.size))
    metadata = {"layout": "column"}
    if comments:
        metadata["comments"] = comments
    return Spectrum(counts[np.newaxis], channels, None, None, None, None, metadata, {"channel": channels})


# -- SPEC-style MCA ------------------------------------------------------------------------------

#: SPEC's ``#D`` date, written by ``time.ctime()`` in PyMca and by SPEC itself.
SPEC_TIME_FORMATS = ("%a %b %d %H:%M:%S %Y",)


@contextlib.contextmanager
def _silx_path(source):
    """A path silx can open: the file itself, or a temporary copy (remote, non-ASCII name)."""
    if source.is_local and not os.path.exists(source.path):
        raise MissingFileError(source.url)
    content = read_bytes(source)
    check_for_silx(source.url, content)  # silx's C reader crashes on lines it cannot take
    if source.is_local and source.path.isascii():
        yield source.path
        return
    descriptor, path = tempfile.mkstemp(prefix="intake-ingest-mca-", suffix=".mca")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)
        yield path
    finally:
        os.remove(path)


def _scan_spectra(source, header):
    """The scan's spectra as silx reads them: a list of 1-d float64 arrays."""
    with _silx_path(source) as path:
        try:
            specfile = SpecFile(path)
            try:
                mca = specfile[header.index].mca
                return [np.asarray(mca[n]) for n in range(len(mca))]
            finally:
                specfile.close()
        except IngestError:
            raise
        except Exception as error:  # silx's C library reports damage in many ways
            raise IngestError(
                source.url, f"scan {header.key}: spectra not readable ({type(error).__name__}: {error})"
            ) from None


def _spec_numbers(header_dict, code):
    text = header_dict.get(code, "").split("\n")[0]
    numbers = [_number(word) for word in text.split()]
    return numbers if numbers and None not in numbers else None


def _spec_channels(source, header, n_channels):
    """Channel numbers from ``#@CHANN n first last reduction``, else 0...n-1."""
    chann = _spec_numbers(header.mca, "CHANN")
    if not chann or len(chann) < 3:
        return list(range(n_channels))
    declared, first = int(chann[0]), int(chann[1])
    reduction = int(chann[3]) if len(chann) > 3 and chann[3] > 0 else 1
    if declared != n_channels:  # PyMca and SPEC write the count they save: the file is damaged
        raise IngestError(
            source.url,
            f"scan {header.key}: #@CHANN declares {declared} channels where its spectra hold "
            f"{n_channels} (cut off or damaged)",
        )
    return [first + reduction * n for n in range(n_channels)]


def _spec_start_time(header, zone):
    for code in ("D",):
        for dictionary in (header.scan, header.file):
            text = dictionary.get(code, "").split("\n")[0]
            if text:
                when = _local_time(text, SPEC_TIME_FORMATS, zone)
                if when is not None:
                    return when
    return None


def read_spec_mca(source, header, zone=None):
    """The spectra of one scan of a SPEC-style MCA file.

    Parameters
    ----------
    source : SourceFile
    header : ScanHeader
        From :func:`intake_ingest.ingestors.spec.read_scan_index`.
    zone : tzinfo, optional

    Returns
    -------
    Spectrum
    """
    spectra = _scan_spectra(source, header)
    if not spectra:
        raise IngestError(source.url, f"scan {header.key} holds no MCA spectrum (no '@A' line)")
    lengths = sorted({spectrum.size for spectrum in spectra})
    if len(lengths) > 1:
        raise IngestError(
            source.url,
            f"scan {header.key}: its {len(spectra)} spectra differ in length ({lengths}); "
            "spectra of several devices are a SPEC scan for the spec ingestor",
        )
    counts = np.stack(spectra)
    channels = _spec_channels(source, header, counts.shape[1])
    configuration = {"channel": channels}
    energy = None
    calibration = _spec_numbers(header.mca, "CALIB")
    if calibration and len(calibration) == 3:
        a, b, c = calibration
        configuration["calibration"] = calibration
        axis = np.asarray(channels, dtype=float)
        energy = (a + b * axis + c * axis**2).tolist()
    ctime = _spec_numbers(header.mca, "CTIME")  # preset, live, real time
    if ctime and len(ctime) >= 1:
        configuration["preset_time"] = ctime[0]
    return Spectrum(
        counts=counts,
        channels=channels,
        energy=energy,
        live_time=ctime[1] if ctime and len(ctime) >= 2 else None,
        real_time=ctime[2] if ctime and len(ctime) >= 3 else None,
        start_time=_spec_start_time(header, zone),
        metadata=spec_scan_metadata(header),
        configuration=configuration,
    )


def spec_scan_metadata(header):
    """RunStart metadata of a SPEC-style scan, from its headers alone."""
    metadata = {"layout": "spec", "scan_id": header.number, "scan_key": header.key}
    title = header.scan.get("S", "").split(None, 1)
    if len(title) > 1:
        metadata["title"] = title[1].strip()
    if header.file.get("F"):
        metadata["spec_file"] = header.file["F"].split("\n")[0].strip()
    comments = [line for line in header.scan.get("C", "").split("\n") if line.strip()]
    if comments:
        metadata["comments"] = comments
    return metadata


_SPECTRUM_LINE = re.compile(rb"^@A", re.M)


def _count_spectra(source, header):
    """The number of ``@A`` spectra in a scan's block, counted without converting them."""
    try:
        with source.fs.open(source.path, "rb") as file:
            file.seek(header.begin)
            block = file.read(header.end - header.begin)
    except FileNotFoundError:
        raise MissingFileError(source.url) from None
    return len(_SPECTRUM_LINE.findall(block))


def _spectrum_scans(index):
    """The scans of a SPEC-style file that hold spectra and no ``#L`` columns."""
    return [header for header in index if not header.labels and header.mca]


def _choose_scan(source, index, scan):
    scans = _spectrum_scans(index)
    keys = [header.key for header in scans]
    if not scans:
        raise IngestError(
            source.url, "holds no scan of MCA spectra only (scans with #L columns are SPEC scans)"
        )
    if scan is None:
        if len(scans) == 1:
            return scans[0]
        raise IngestError(
            source.url,
            f"holds {len(scans)} spectra scans ({', '.join(keys[:5])}); choose one with scan='<number>.<order>'",
        )
    wanted = str(scan).strip()
    for header in scans:
        if wanted in (header.key, str(header.number)):
            return header
    raise IngestError(source.url, f"has no spectra scan {scan!r}; its scans are {', '.join(keys[:5])}")


# -- the ingestor --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _RunPlan:
    """What the RunStart needs, and how to read the spectra after it is yielded."""

    uid_names: list
    metadata: dict
    start_time: float | None
    n_spectra: int
    read: object  # () -> Spectrum


def _plan_run(source, scan, zone):
    """The run asked for, whatever the file's layout; a SPEC-style scan's spectra are read later.

    A SPEC-style file may hold many scans of many spectra, and a catalog lists its runs
    from their RunStarts alone: those come from the scan index and a count of ``@A``
    lines. An Amptek or one-column file is one small spectrum, read at once.
    """
    layout = _reading_layout(_head(source))
    if layout == "spec":
        header = _choose_scan(source, read_scan_index(source), scan)
        return _RunPlan(
            uid_names=[source.identity, header.key],
            metadata=spec_scan_metadata(header),
            start_time=_spec_start_time(header, zone),
            n_spectra=_count_spectra(source, header),
            read=lambda: read_spec_mca(source, header, zone),
        )
    if scan is not None:
        raise IngestError(source.url, f"holds one spectrum; scan={scan!r} applies to SPEC-style files")
    if layout == "amptek":
        spectrum = read_amptek(source, read_bytes(source), zone)
    elif layout == "column":
        spectrum = read_column(source, read_bytes(source))
    else:
        raise IngestError(
            source.url,
            "is not an MCA file this ingestor reads (an Amptek <<PMCA SPECTRUM>>, SPEC-style "
            "'@A' spectra without '#L' columns, or one count per line)",
        )
    return _RunPlan([source.identity], spectrum.metadata, spectrum.start_time, len(spectrum.counts), lambda: spectrum)


def _head(source):
    try:
        with source.fs.open(source.path, "rb") as file:
            return file.read(4096)
    except FileNotFoundError:
        raise MissingFileError(source.url) from None


def ingest_mca(filename, scan=None, *, timezone=None, storage_options=None):
    """Wrap the spectra of an ``.mca`` file in the event model: one event per spectrum.

    Parameters
    ----------
    filename : str or SourceFile
        Path or fsspec URL of one ``.mca`` file.
    scan : str or int, optional
        For SPEC-style files holding several scans: silx's key ``'2.1'`` or a scan number.
    timezone : str or datetime.tzinfo, optional
        The zone of the acquiring computer's clock (an IANA name), in which Amptek's
        START_TIME and SPEC's ``#D`` dates are written; by default the ingesting
        computer's local time.
    storage_options : dict, optional
        Passed to fsspec.

    Yields
    ------
    name, doc : str, dict
        start; descriptor ``primary`` with data key ``mca`` (shape ``[n_channels]``) and,
        where the file gives them, ``live_time`` and ``real_time``; the channel numbers,
        energy axis and calibration in the descriptor's configuration ``mca``; one event
        per spectrum; stop.

    Raises
    ------
    IngestError
        If the file is none of the three layouts, is cut off, or its counts are not numbers.
    """
    zone = time_zone(timezone)
    sources = expand(filename, storage_options)
    if len(sources) != 1:
        raise IngestError(str(filename), f"matches {len(sources)} files; an MCA run is one file")
    (source,) = sources
    label = source_label(filename)
    plan = _plan_run(source, scan, zone)
    (mtime,) = timestamps(sources)
    start_time = plan.start_time if plan.start_time is not None else mtime
    run_bundle = compose_run(
        uid=deterministic_uid(plan.uid_names),
        time=start_time,
        metadata={"ingestor": NAME, "source": label, "num_points": plan.n_spectra, **plan.metadata},
    )
    yield "start", run_bundle.start_doc

    # From here on the spectra are read, which listing a catalog never does.
    spectrum = plan.read()
    n_spectra, n_channels = spectrum.counts.shape
    if n_spectra != plan.n_spectra:
        raise IngestError(
            source.url, f"silx read {n_spectra} spectra where the scan has {plan.n_spectra} '@A' lines"
        )
    counts = spectrum.counts
    counts.flags.writeable = False  # documents are records: their arrays are read-only
    data_keys = {"mca": array_data_key([n_channels], counts.dtype, label, dims=["channel"])}
    data = {"mca": counts}
    for key, value in (("live_time", spectrum.live_time), ("real_time", spectrum.real_time)):
        if value is not None:
            data_keys[key] = {"dtype": "number", "shape": [], "source": label, "units": "s"}
            data[key] = [value] * n_spectra
    configuration_values = dict(spectrum.configuration)
    if spectrum.energy is not None:
        configuration_values["energy"] = spectrum.energy
    configuration_keys = {
        key: {
            "dtype": "array" if isinstance(value, list) else "number",
            "shape": list(np.shape(value)),
            "source": label,
        }
        for key, value in configuration_values.items()
    }
    descriptor = run_bundle.compose_descriptor(
        data_keys=data_keys,
        name="primary",
        time=start_time,
        configuration={
            "mca": {
                "data": configuration_values,
                "timestamps": dict.fromkeys(configuration_values, start_time),
                "data_keys": configuration_keys,
            }
        },
        object_keys={"mca": list(data_keys)},
    )
    yield "descriptor", descriptor.descriptor_doc
    times = [start_time] * n_spectra
    page = descriptor.compose_event_page(
        data=data,
        timestamps=dict.fromkeys(data, times),
        time=times,
        seq_num=list(range(1, n_spectra + 1)),
    )
    for event in event_model.unpack_event_page(page):
        yield "event", event
    yield "stop", run_bundle.compose_stop(time=start_time)


def runs_in(source):
    """``[{'scan': key}, ...]`` for a SPEC-style file with several spectra scans, else one run."""
    if _reading_layout(_head(source)) != "spec":
        return [{}]
    return [{"scan": header.key} for header in _spectrum_scans(read_scan_index(source))]


MCA = IngestorSpec(
    name=NAME,
    ingest=ingest_mca,
    software="PyMca / SPEC MCA spectra, Amptek DppMCA/ADMCA spectra",
    patterns=("*.mca",),
    mimetypes=(),
    sniff=sniff_mca,
    grouping="file",
    description="one event per spectrum of an .mca file (SPEC-style scans, Amptek, one column)",
    runs_in=runs_in,
)
