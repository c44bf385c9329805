"""Ingestor for XAS Data Interchange (XDI) files: one X-ray absorption scan per file.

XDI (https://github.com/XraySpectroscopy/XAS-Data-Interchange, specification 1.0) is
the text format the XAS community exchanges single spectra in; beamline programs (the
GSE and EDC data collection programs, Larch's EPICS step scans, Athena) write it::

    # XDI/1.0 GSE/1.0
    # Column.1: energy eV
    # Element.symbol: Cu
    # Mono.d_spacing: 3.13553
    # Scan.start_time: 2001-06-26T22:27:31
    # ///
    # Cu foil Room Temperature
    #----
    # energy i0 itrans mutrans
      8779.0  149013.7  550643.089065  -1.3070486

The header fields (``Namespace.tag: value``) go to the RunStart under ``xdi``, nested by
namespace (``start['xdi']['Element']['symbol'] == 'Cu'``, searched as
``{'xdi.Element.symbol': 'Cu'}``); the ``Column.N`` fields name the data keys and give
their units; the user comments between ``# ///`` and ``#----`` are the RunStart's
``comments``; the rows are one event page; ``Scan.start_time`` and ``Scan.end_time``
are the run's start and stop times. No maintained, light reader of XDI exists on PyPI
(``xdifile`` is a C library, ``xraylarch`` a whole analysis suite), so the file is
parsed here, after the specification. See ``docs/formats/xdi.md``.
"""

import codecs
import datetime
import re
import warnings
from dataclasses import dataclass, field

import numpy as np

from ..errors import IngestError, IngestWarning
from ..files import deterministic_uid, expand, read_bytes, timestamps
from ..registry import IngestorSpec
from ._common import DataKeyNamer, source_label
from ._compose import compose_run
from ._column_table import data_key_name

__all__ = ["XDI", "XdiHeader", "ingest_xdi", "read_xdi_header", "read_xdi_rows", "sniff_xdi"]

NAME = "xdi"

#: The namespaces of the XDI dictionary (1.0), in their recommended capitalisation. Field
#: names are case-insensitive: these are written so, whatever the file's case.
DEFINED_NAMESPACES = {
    name.lower(): name
    for name in ("Facility", "Beamline", "Mono", "Detector", "Sample", "Scan", "Element", "Column")
}

#: Defined fields whose value is a number (and maybe a unit), per the XDI dictionary;
#: every other value is text, as the specification says of extension fields.
NUMBER_FIELDS = frozenset(
    {
        ("Facility", "energy"),
        ("Facility", "current"),
        ("Mono", "d_spacing"),
        ("Sample", "temperature"),
        ("Scan", "edge_energy"),
    }
)

#: Units the dictionary gives where the file gives none.
DEFAULT_UNITS = {("Mono", "d_spacing"): "Å"}

#: A column counting seconds from Scan.start_time, as the dictionary suggests naming it.
ELAPSED_TIME_COLUMN = "elapsed_time"

#: Confidence of the sniffer for a file that starts with the XDI version line.
XDI_CONFIDENCE = 0.95

_VERSION_LINE = re.compile(r"#\s*XDI/(?P<version>\d+(\.\d+)*)(?P<applications>.*)$", re.IGNORECASE)
_FIELD_LINE = re.compile(
    r"#\s*(?P<namespace>[A-Za-z][A-Za-z0-9_]*)\.(?P<tag>[A-Za-z0-9_-]+)\s*:\s*(?P<value>.*)$"
)
_FIELD_END = re.compile(r"#\s*/{3,}")
_HEADER_END = re.compile(r"#\s*-{3,}\s*$")
_NUMBER_AND_UNIT = re.compile(r"(?P<number>[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)\s*(?P<unit>\S.*)?$")


@dataclass
class XdiHeader:
    """What the header of an XDI file says.

    ``fields`` holds the values by namespace and tag (``{'Element': {'symbol': 'Cu'}}``),
    ``units`` the units of the numeric ones likewise, ``pvs`` the EPICS PVs that Larch's
    step scans name after ``||`` likewise; ``labels`` are the words of the
    column-label line; ``data_start`` is the index of the first data line.
    """

    version: str
    applications: list
    fields: dict = field(default_factory=dict)
    units: dict = field(default_factory=dict)
    pvs: dict = field(default_factory=dict)
    comments: list = field(default_factory=list)
    labels: list | None = None
    ignored: list = field(default_factory=list)  # (line number, text) of lines not read
    data_start: int | None = None

    def get(self, namespace, tag):
        """The value of ``Namespace.tag``, or None."""
        return self.fields.get(namespace, {}).get(tag)


# ---------------------------------------------------------------------------- header


def _canonical_namespace(header, namespace):
    """The defined spelling of a defined namespace; else the file's first spelling of it."""
    defined = DEFINED_NAMESPACES.get(namespace.lower())
    if defined is not None:
        return defined
    for known in header.fields:
        if known.lower() == namespace.lower():
            return known
    return namespace


def _field_value(namespace, tag, text):
    """A field's value as the RunStart keeps it, and its unit (or None)."""
    if (namespace, tag) in NUMBER_FIELDS:
        match = _NUMBER_AND_UNIT.match(text)
        if match is not None:
            return float(match["number"]), match["unit"] or DEFAULT_UNITS.get((namespace, tag))
    if namespace == "Element":
        # Symbols and edges are case-insensitive in the dictionary: written as chemists do.
        if tag in ("symbol", "reference"):
            return text.capitalize(), None
        if tag in ("edge", "ref_edge"):
            return text.upper(), None
    return text, None


def _add_field(header, match):
    namespace = _canonical_namespace(header, match["namespace"])
    tag = match["tag"].lower()
    text, pv = match["value"].strip(), None
    if namespace != "Column" and "||" in text:
        # Larch's EPICS step scans write 'value || PV': the EPICS process variable read.
        text, pv = (part.strip() for part in text.split("||", 1))
    if pv:
        header.pvs.setdefault(namespace, {})[tag] = pv
    elif tag in header.pvs.get(namespace, {}):
        del header.pvs[namespace][tag]
    value, unit = _field_value(namespace, tag, text)
    header.fields.setdefault(namespace, {})[tag] = value  # the last occurrence wins
    if unit is not None:
        header.units.setdefault(namespace, {})[tag] = unit
    elif tag in header.units.get(namespace, {}):
        del header.units[namespace][tag]


def _comment_body(line):
    """A user comment line without its '#', at most one leading space and trailing space."""
    body = line.lstrip()[1:]
    return body.removeprefix(" ").rstrip()


def read_xdi_header(lines, url):
    """Read the header of an XDI file (every line up to the first data line).

    Parameters
    ----------
    lines : list of str
        The file's lines, without line ends.
    url : str
        The file, for error messages.

    Returns
    -------
    XdiHeader

    Raises
    ------
    IngestError
        If the first line is not an XDI version line (``# XDI/1.0 ...``).
    """
    first = lines[0].strip().removeprefix("\ufeff") if lines else ""
    version = _VERSION_LINE.match(first)
    if version is None:
        raise IngestError(
            url, f"is not an XDI file: its first line is {first[:60]!r}, not '# XDI/<version> ...'"
        )
    header = XdiHeader(version=version["version"], applications=version["applications"].split())
    section = "fields"  # then "comments" after '# ///', "labels" after '#----'
    for index in range(1, len(lines)):
        stripped = lines[index].strip()
        if not stripped:
            continue
        if not stripped.startswith("#"):
            header.data_start = index
            return header
        if section != "labels" and _HEADER_END.match(stripped):
            section = "labels"
        elif section == "fields" and _FIELD_END.match(stripped):
            section = "comments"
        elif section == "fields" and (match := _FIELD_LINE.match(stripped)) is not None:
            _add_field(header, match)
        elif section == "comments":
            header.comments.append(_comment_body(stripped))
        elif section == "labels" and header.labels is None:
            header.labels = stripped[1:].split()
        else:
            header.ignored.append((index + 1, stripped))
    return header


# ---------------------------------------------------------------------------- data


def read_xdi_rows(lines, header, url):
    """The data section as one array per column, and the 1-based numbers of its lines.

    Comment lines among the rows (which the specification does not allow, and which some
    writers use for an outer scan's value) are skipped, with a warning.

    Raises
    ------
    IngestError
        A row with another number of values than the first, or a value that is not a
        number, naming the line.
    """
    if header.data_start is None:
        return [], []
    rows, numbers, skipped = [], [], []
    for number, line in enumerate(lines[header.data_start :], start=header.data_start + 1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            skipped.append(number)
            continue
        rows.append(stripped.split())
        numbers.append(number)
    width = len(rows[0])
    for number, row in zip(numbers, rows):
        if len(row) != width:
            values = "1 value" if len(row) == 1 else f"{len(row)} values"
            raise IngestError(url, f"line {number} has {values}, not {width} as line {numbers[0]}")
    if skipped:
        warnings.warn(
            f"{url}: {len(skipped)} comment lines among the data rows (the first on line {skipped[0]}) "
            "are not read",
            IngestWarning,
            stacklevel=3,
        )
    table = np.asarray(rows, dtype=str).reshape(len(rows), width)
    return [_number_column(table[:, index], numbers, url) for index in range(width)], numbers


def _number_column(values, numbers, url):
    """A column as int64 if every value is an integer, else float64; text is an error."""
    try:
        return values.astype(np.int64)
    except (ValueError, OverflowError):
        pass
    try:
        return values.astype(np.float64)
    except ValueError:
        for number, value in zip(numbers, values):
            try:
                float(value)
            except ValueError:
                raise IngestError(url, f"line {number} has {str(value)!r}, which is not a number") from None
        raise


def _column_names_and_units(header, n_columns):
    """Data key names, units and sources of the columns, from Column.N, else the labels line.

    A ``Column.N`` value is ``name units``; Larch's EPICS step scans add ``|| PV``, the
    EPICS process variable that was read, which becomes the data key's ``source``.
    """
    columns = header.fields.get("Column", {})
    labels = header.labels if header.labels is not None and len(header.labels) == n_columns else None
    namer, described = DataKeyNamer(), []
    for index in range(n_columns):
        text, pv = columns.get(str(index + 1), ""), None
        if "||" in text:
            text, pv = (part.strip() for part in text.split("||", 1))
        words = text.split()
        if words:
            name, unit = words[0], " ".join(words[1:]) or None
        else:
            name, unit = (labels[index] if labels else ""), None
        described.append((data_key_name(name, index, namer), unit, pv))
    return described


# ---------------------------------------------------------------------------- documents


def _iso_time(header, tag, url):
    """``Scan.<tag>`` as Unix seconds (a time without UTC offset is local time), or None."""
    text = header.get("Scan", tag)
    if not text:
        return None
    try:
        return datetime.datetime.fromisoformat(text.strip().replace("Z", "+00:00")).timestamp()
    except ValueError:
        warnings.warn(
            f"{url}: Scan.{tag} {text!r} is not an ISO 8601 date and time; not used", IngestWarning, stacklevel=4
        )
        return None


def _start_metadata(label, header, n_points):
    xdi = {"version": header.version, "applications": list(header.applications), **header.fields}
    metadata = {"ingestor": NAME, "source": label, "xdi": xdi, "num_points": n_points}
    if header.units:
        metadata["units"] = header.units
    if header.pvs:
        metadata["epics_pvs"] = header.pvs
    if header.comments:
        metadata["comments"] = list(header.comments)
    abscissa = str(header.get("Column", "1") or "").split("||")[0].split()
    if abscissa:
        # The first column is the scan's abscissa (the specification says so): Bluesky's
        # plots and xarray views take it as the dimension the other columns vary along.
        metadata["hints"] = {"dimensions": [[[data_key_name(abscissa[0], 0, DataKeyNamer())], "primary"]]}
    # The names Bluesky's own runs use, for searches across ingestors.
    sample, beamline = header.get("Sample", "name"), header.get("Beamline", "name")
    if sample:
        metadata["sample"] = str(sample)
    if beamline:
        metadata["beamline_id"] = str(beamline)
    return metadata


def _decode(source, data, encoding):
    try:
        if codecs.lookup(encoding).name == "utf-8":
            encoding = "utf-8-sig"
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise IngestError(
            source.url,
            f"is not {error.encoding.removesuffix('-sig').upper()} text: byte 0x{data[error.start]:02x} on line "
            f"{line}; if the file is text in another encoding, pass encoding= (e.g. 'latin-1')",
        ) from None
    except LookupError:
        raise IngestError(source.url, f"cannot be read as {encoding!r}: no such text encoding") from None


def _row_times(header, described, columns, start_time, n_rows):
    """Each row's time: Scan.start_time plus an elapsed_time column, else Scan.start_time."""
    for (name, unit, _), column in zip(described, columns):
        if name == ELAPSED_TIME_COLUMN and unit in (None, "s", "sec", "seconds") and start_time is not None:
            return (start_time + column.astype(np.float64)).tolist()
    return [start_time] * n_rows


def ingest_xdi(filename, *, encoding="utf-8", storage_options=None):
    """Wrap one XDI file (one XAS scan) in the event model.

    Parameters
    ----------
    filename : str or SourceFile
        Path or fsspec URL of one ``.xdi`` file.
    encoding : str, optional
        The file's text encoding (UTF-8 by the specification; a byte-order mark is skipped).
    storage_options : dict, optional
        Passed to fsspec.

    Yields
    ------
    name, doc : str, dict
        start (header fields under ``xdi``, nested by namespace; user comments in
        ``comments``; ``Scan.start_time`` as ``time``), descriptor ``primary`` (a data key
        per column, with units), one event page of every row, stop (``Scan.end_time``).

    Raises
    ------
    IngestError
        If the name matches no file or several, or the file is not XDI; after the RunStart,
        a ragged row or a value that is not a number, naming the line.

    Examples
    --------
    >>> documents = list(ingest_xdi("cu_metal_rt.xdi"))  # doctest: +SKIP
    """
    sources = expand(filename, storage_options)
    if len(sources) != 1:
        raise IngestError(str(filename), f"matches {len(sources)} files; an XDI run is one file")
    (source,) = sources
    (mtime,) = timestamps(sources)
    label = source_label(filename)
    lines = _decode(source, read_bytes(source), encoding).splitlines()
    header = read_xdi_header(lines, source.url)
    if header.ignored:
        number, text = header.ignored[0]
        warnings.warn(
            f"{source.url}: {len(header.ignored)} header lines are neither fields, comments nor labels "
            f"and are not read (the first, line {number}: {text[:60]!r})",
            IngestWarning,
            stacklevel=2,
        )
    start_time = _iso_time(header, "start_time", source.url)
    end_time = _iso_time(header, "end_time", source.url)
    n_points = 0 if header.data_start is None else sum(
        1 for line in lines[header.data_start :] if line.strip() and not line.lstrip().startswith("#")
    )
    run_bundle = compose_run(
        uid=deterministic_uid([source.identity]),
        time=start_time if start_time is not None else mtime,
        metadata=_start_metadata(label, header, n_points),
    )
    yield "start", run_bundle.start_doc
    run_time = run_bundle.start_doc["time"]

    columns, numbers = read_xdi_rows(lines, header, source.url)
    if not numbers:
        warnings.warn(f"{source.url}: holds no data rows; the run has no events", IngestWarning, stacklevel=2)
        yield "stop", run_bundle.compose_stop(time=end_time if end_time is not None else run_time)
        return
    described = _column_names_and_units(header, len(columns))
    data_keys = {}
    for name, unit, pv in described:
        data_key = {"dtype": "number", "shape": [], "source": f"PV:{pv}" if pv else label}
        if unit is not None:
            data_key["units"] = unit
        data_keys[name] = data_key
    for (name, _, _), column in zip(described, columns):
        data_keys[name]["dtype_numpy"] = column.dtype.str
        column.flags.writeable = False  # documents are records
    stream_bundle = run_bundle.compose_descriptor(data_keys=data_keys, name="primary", time=run_time)
    yield "descriptor", stream_bundle.descriptor_doc
    times = _row_times(header, described, columns, run_time, len(numbers))
    names = [name for name, _, _ in described]
    yield "event_page", stream_bundle.compose_event_page(
        data=dict(zip(names, columns)),
        timestamps={name: times for name in names},
        time=times,
        seq_num=list(range(1, len(numbers) + 1)),
    )
    yield "stop", run_bundle.compose_stop(time=end_time if end_time is not None else times[-1])


# ---------------------------------------------------------------------------- detection


def sniff_xdi(head, source):
    """Confidence that a file is XDI: 0.95 if its first line is ``# XDI/<version>``, else 0."""
    first = head.removeprefix(b"\xef\xbb\xbf").split(b"\n", 1)[0].strip()
    try:
        text = first.decode("ascii")
    except UnicodeDecodeError:
        return 0.0
    return XDI_CONFIDENCE if _VERSION_LINE.match(text) else 0.0


XDI = IngestorSpec(
    name=NAME,
    ingest=ingest_xdi,
    software=(
        "XAS Data Interchange (XDI 1.0) writers: beamline data collection (GSE, EDC, Larch's "
        "EPICS step scans), Athena and Larch exports"
    ),
    # XDI files are also saved as .dat or .txt: the sniffer, not the name, decides.
    patterns=("*.xdi", "*.dat", "*.txt"),
    mimetypes=("text/plain",),
    sniff=sniff_xdi,
    grouping="file",
    description="one XDI file (one XAS scan), one event per data row",
)
