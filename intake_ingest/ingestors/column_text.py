"""Ingestor for column text files: CSV, tab- and whitespace-separated ``.xy``/``.dat``/``.txt``.

Diffractometer exports, integration programs (pyFAI, GSAS-II, fit2d) and lab scripts
write a table of numbers, one row per point, after a few header lines. This ingestor
makes one run per file, with one event page of a row per data row (one event per row
once unpacked); what the header says goes to the RunStart:

- comment lines (``#``, ``%``, ``;`` or ``!``, and Topas' ``/* ... */`` blocks) that read
  ``key: value`` or ``key = value`` become RunStart metadata (keys in snake case, values
  as numbers where they are, a trailing unit in ``units``); the others are kept in order
  in ``comments``;
- the column names come from a header row (a text row just before the data, as CSV files
  have) or else from the comment line just before the data, with units parsed from
  ``name (unit)``, ``name [unit]`` or ``name/unit``; without names, columns are
  ``col_0``, ``col_1``, ...;
- fit2d's ``.chi`` layout (title, x label, y label, number of points; Dioptas leaves the
  y label blank) is recognised by its four header lines;
- columns are numbers where every value is one, else text (``'string'`` data keys): a
  CSV of sample names and status words is a table of events too.

The RunStart is made from the header alone: the file is read up to its first data line
before the RunStart is yielded, and in full only after it. The parsing is in
:mod:`intake_ingest.ingestors._column_table`; this module maps its table onto the event
model, and sniffs. See ``docs/formats/column_text.md``.
"""

import codecs
import contextlib
import warnings


from ..errors import IngestError, IngestWarning, MissingFileError
from ..files import deterministic_uid, expand, timestamps
from ..registry import HEAD_BYTES, IngestorSpec
from ._column_table import (
    SNIFF_ROWS,
    ColumnTable,
    FieldTooLongError,
    TextHeader,
    data_key_name,
    is_comment,
    read_column_text,
    row_times,
    scan_header,
    sniff_delimiter,
    split_fields,
    split_lines,
)
from ._common import labelled, source_label
from ._compose import compose_run

__all__ = [
    "COLUMN_TEXT",
    "ColumnTable",
    "TextHeader",
    "data_key_name",
    "ingest_column_text",
    "read_column_text",
    "row_times",
    "scan_header",
    "sniff_column_text",
    "sniff_delimiter",
]

NAME = "column_text"

#: The RunStart is made from at most this much of the file (a header longer than this is cut).
HEADER_SCAN_BYTES = 2**20

#: A head without data rows may be a long header only if this share of its lines are comments.
LONG_HEADER_COMMENT_FRACTION = 0.9


# ---------------------------------------------------------------------------- documents


def _head_lines(source, encoding):
    """The file's lines, decoded leniently, read a block at a time up to HEADER_SCAN_BYTES.

    Used for the RunStart only: errors in the content are reported when the whole file is
    read, after the RunStart, so that listing a folder never fails on one bad file.
    """
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    pending, read = "", 0
    try:
        with source.fs.open(source.path, "rb") as file:
            while read < HEADER_SCAN_BYTES:
                block = file.read(64 * 2**10)
                binary = block.find(b"\0")
                if binary >= 0:
                    block = block[:binary]  # the lines before binary content; the error comes later
                read += len(block)
                pending += decoder.decode(block, final=not block)
                # Lines end in LF, CR LF or a lone CR (classic Mac OS); a CR ending a block
                # waits for the next, which may start with its LF.
                held = "\r" if block and pending.endswith("\r") else ""
                *complete, pending = split_lines(pending.removesuffix("\r") if held else pending)
                pending += held
                yield from (line.removeprefix("\ufeff") for line in complete)
                if binary >= 0:
                    return
                if not block:
                    if pending:
                        yield pending.removesuffix("\r")
                    return
    except FileNotFoundError:
        raise MissingFileError(source.url) from None
    except OSError as error:
        raise IngestError(source.url, f"cannot be read ({error})") from None


def _start_metadata(path, header):
    metadata = {"ingestor": NAME, "source": source_label(path)}
    if header.title is not None:
        metadata["title"] = header.title
    if header.declared_points is not None:
        metadata["num_points"] = header.declared_points
    metadata.update(header.metadata)
    if header.units:
        metadata["units"] = dict(header.units)
    if header.comments:
        metadata["comments"] = list(header.comments)
    return metadata


def _data_keys(table, label):
    data_keys = {}
    for name, unit, column, text in zip(table.names, table.units, table.columns, table.labels or table.names):
        data_key = labelled({
            "dtype": "string" if column.dtype.kind == "U" else "number",
            "dtype_numpy": column.dtype.str,
            "shape": [],
            "source": label,
        }, name, text)  # fmt: skip
        if unit is not None:
            data_key["units"] = unit
        data_keys[name] = data_key
    return data_keys


def _warn_about_rows(source, table):
    header = table.header
    n_rows = len(table.line_numbers)
    if n_rows == 0:
        warnings.warn(f"{source.url}: holds no data rows; the run has no events", IngestWarning, stacklevel=3)
    elif header.declared_points is not None and header.declared_points != n_rows:
        warnings.warn(
            f"{source.url}: the header declares {header.declared_points} points but the file "
            f"holds {n_rows} rows; all {n_rows} rows are read",
            IngestWarning,
            stacklevel=3,
        )


def _check_options(filename, delimiter, encoding):
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise IngestError(str(filename), f"cannot be read as {encoding!r}: no such text encoding") from None
    if delimiter is not None and (not isinstance(delimiter, str) or len(delimiter) != 1):
        raise IngestError(
            str(filename), f"delimiter must be one character, or ' ' for whitespace, not {delimiter!r}"
        )


def ingest_column_text(filename, *, delimiter=None, encoding="utf-8", storage_options=None):
    """Wrap one column text file (CSV, ``.xy``, ``.xye``, ``.dat``, ``.chi``...) in the event model.

    Parameters
    ----------
    filename : str or SourceFile
        Path or fsspec URL of one file.
    delimiter : str, optional
        ``','``, ``';'``, ``'\\t'``, or ``' '`` for runs of whitespace; sniffed from the
        data rows if not given.
    encoding : str, optional
        The file's text encoding (default UTF-8; a byte-order mark is skipped).
    storage_options : dict, optional
        Passed to fsspec.

    Yields
    ------
    name, doc : str, dict
        start (with the header's metadata), descriptor ``primary`` (one data key per
        column), one event page holding every data row (``seq_num`` 1..N; unpacked, one
        event per row), stop. A file without data rows gives no event page.

    Raises
    ------
    IngestError
        If the name matches no file or several; after the RunStart, if the file is binary,
        not in ``encoding``, or has a row with another number of columns (naming the line).

    Examples
    --------
    >>> documents = list(ingest_column_text("pattern.xy"))  # doctest: +SKIP
    """
    _check_options(filename, delimiter, encoding)
    sources = expand(filename, storage_options)
    if len(sources) != 1:
        raise IngestError(str(filename), f"matches {len(sources)} files; a column text run is one file")
    (source,) = sources
    (mtime,) = timestamps(sources)
    label = source_label(filename)
    try:
        with contextlib.closing(_head_lines(source, encoding)) as head_lines:
            header = scan_header(head_lines, delimiter)
    except FieldTooLongError:
        header = scan_header([], delimiter)  # the full read below reports it, naming the line
    run_bundle = compose_run(
        uid=deterministic_uid([source.identity]), time=mtime, metadata=_start_metadata(filename, header)
    )
    yield "start", run_bundle.start_doc

    table = read_column_text(source, delimiter=delimiter, encoding=encoding)
    _warn_about_rows(source, table)
    n_rows = len(table.line_numbers)
    times, _ = row_times(table.names, table.columns)
    times = [mtime] * n_rows if times is None else times.tolist()
    if table.names:
        stream_bundle = run_bundle.compose_descriptor(
            data_keys=_data_keys(table, label), name="primary", time=mtime
        )
        yield "descriptor", stream_bundle.descriptor_doc
    if n_rows:
        # The table is read at once, so it is one page (a row per event, seq_num 1..N); its
        # columns stay typed arrays, which the xarray view uses as they are.
        yield "event_page", stream_bundle.compose_event_page(
            data=dict(zip(table.names, table.columns)),
            timestamps={name: times for name in table.names},
            time=times,
            seq_num=list(range(1, n_rows + 1)),
        )
    yield "stop", run_bundle.compose_stop(time=times[-1] if n_rows else mtime)


# ---------------------------------------------------------------------------- detection


def _head_text(head):
    """The head as text, or None if it is not UTF-8 (a character cut at the end is allowed)."""
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start >= len(head) - 3 and error.reason == "unexpected end of data":
            return head[: error.start].decode("utf-8", errors="strict")
        return None


def _printable_fraction(text):
    return sum(char.isprintable() or char in "\t\r\n" for char in text) / max(len(text), 1)


def sniff_column_text(head, source):
    """Confidence that a file is column text, from its first bytes.

    0.5 for UTF-8 text whose first data rows have the same number of fields (generic:
    ingestors for a particular program should score higher); 0.2 for a head that is all
    header comments (a long header); 0.1 for SPEC files (``#F``, ``#S``), so the SPEC
    ingestor wins; 0 for binary files, other text, and files with no rows in their head.
    """
    if head.startswith((b"#F ", b"#S ")) or b"\n#S " in head:
        return 0.1
    if not head or b"\x00" in head:
        return 0.0
    text = _head_text(head)
    if text is None or _printable_fraction(text) < 0.95:
        return 0.0
    lines = split_lines(text)
    if len(head) >= HEAD_BYTES:
        lines = lines[:-1]  # the last line may be cut
    header = scan_header(lines)
    if header.data_start is None:
        # Comments filling the whole head: a long header, the rows may come after it. Prose
        # (a README, a licence) fills it too, with lines that are not comments: not that.
        nonblank = [line.strip() for line in lines if line.strip()]
        commented = sum(is_comment(line) or line.startswith(("/*", "*")) for line in nonblank)
        long_header = (
            len(head) >= HEAD_BYTES
            and (header.metadata or header.comments)
            and commented >= LONG_HEADER_COMMENT_FRACTION * len(nonblank)
        )
        return 0.2 if long_header else 0.0
    rows = [
        line
        for line in lines[header.data_start :][:SNIFF_ROWS]
        if line.strip() and not is_comment(line.strip())
    ]
    delimiter = sniff_delimiter(rows)
    counts = {len(split_fields(row, delimiter)) for row in rows}
    return 0.5 if len(counts) == 1 else 0.0


COLUMN_TEXT = IngestorSpec(
    name=NAME,
    ingest=ingest_column_text,
    software=(
        "any program writing columns of numbers as text: diffractometer and pyFAI .xy/.dat "
        "exports, GSAS-II/Topas .xye, fit2d .chi, lab scripts' CSV (generic)"
    ),
    patterns=("*.csv", "*.tsv", "*.txt", "*.dat", "*.xy", "*.xye", "*.chi"),
    mimetypes=("text/csv", "text/tab-separated-values", "text/plain"),
    sniff=sniff_column_text,
    grouping="file",
    description="one text table file, one event per data row",
)
