"""Rows as plain-text tables, in the order people read them (shared by the command line and the GUI).

No panel, no catalog: plain Python over dicts, so both front ends show the same order.
"""

import datetime

from ..natural_order import natural_key

__all__ = [
    "START_COLUMNS",
    "iso_time",
    "natural_key",
    "plan_order",
    "present_columns",
    "run_order",
    "run_row",
    "text_table",
]

#: RunStart fields people search by, shown as columns where some run has them.
START_COLUMNS = ("plan_name", "scan_id", "num_points", "sample", "source")


def plan_order(rows):
    """Plan rows (or ingest results) as the tables show them: files holding one run first.

    A file holding many runs (a SPEC file's scans) would otherwise fill the first pages
    and hide the TIFF series and stacks beside it. Rows are sorted by first file within
    each part, and a file's runs by their arguments in natural order (``scan=2.1`` before
    ``scan=10.1``). Each row needs ``first`` (the first file) and ``kwargs`` (text); a
    ``group`` or ``run`` number keeps equal rows in the plan's order.
    """
    runs_per_file = {}
    for row in rows:
        runs_per_file[row["first"]] = runs_per_file.get(row["first"], 0) + 1

    def order(row):
        return (
            runs_per_file[row["first"]] > 1,
            row["first"],
            natural_key(row["kwargs"]),
            row.get("group", row.get("run", 0)),
        )

    return sorted(rows, key=order)


def _text(value):
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return f"{value:g}"
    return str(value)


def text_table(rows, columns, right=()):
    """Rows (dicts) as aligned text: a header line, then one line per row.

    Parameters
    ----------
    rows : list of dict
    columns : list of str
        The keys to show, in order; a missing value is blank.
    right : collection of str
        Columns aligned right (numbers).

    Returns
    -------
    list of str
        The lines, without trailing blanks.
    """
    cells = [[_text(row.get(column)) for column in columns] for row in rows]
    widths = [max([len(column), *(len(line[i]) for line in cells)]) for i, column in enumerate(columns)]
    lines = []
    for line in [list(columns), *cells]:
        padded = [
            cell.rjust(width) if column in right else cell.ljust(width)
            for cell, width, column in zip(line, widths, columns)
        ]
        lines.append("  ".join(padded).rstrip())
    return lines


def iso_time(timestamp):
    """A POSIX time as ISO 8601 in UTC, to the second; blank for None."""
    if timestamp is None:
        return ""
    return datetime.datetime.fromtimestamp(timestamp, tz=datetime.timezone.utc).isoformat(timespec="seconds")


def start_value(start, field):
    """A RunStart field, dotted names reaching into dicts (``sample.name``); None where absent."""
    value = start
    for part in field.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def cell(value):
    """A RunStart value as a table cell: a list as its first item (and how many more), a
    dict with a ``name`` (a sample) as that name, other non-scalars as text."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        if not value:
            return ""
        more = f" (+{len(value) - 1} more)" if len(value) > 1 else ""
        return f"{cell(value[0])}{more}"
    if isinstance(value, dict) and isinstance(value.get("name"), str):
        return value["name"]
    if isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def run_row(path, run, fields=START_COLUMNS):
    """One run as a row: uid, time (ISO, UTC), ingestor, the RunStart ``fields``, entry (where it is)."""
    start = run.start
    row = {"uid": start["uid"], "time": iso_time(start.get("time")), "ingestor": start.get("ingestor", "")}
    for field in fields:
        row[field] = cell(start_value(start, field))
    row["entry"] = path
    return row


def present_columns(runs, fields=START_COLUMNS):
    """The ``fields`` some of the runs' RunStarts have, in order."""
    starts = [run.start for run in runs]
    return [field for field in fields if any(start_value(start, field) is not None for start in starts)]


def run_order(item):
    """Sort key of an ``(entry path, run)``: start time; runs that started together (the
    scans of a SPEC file written in one go) by source, then scan, in natural order."""
    path, run = item
    start = run.start
    source = start.get("source", "")
    return (
        start.get("time") or 0,
        natural_key(source if isinstance(source, str) else " ".join(map(str, source))),
        natural_key(start.get("scan_key", "")),
        path,
    )
