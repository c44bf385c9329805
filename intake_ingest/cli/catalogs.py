"""``intake-ingest catalog check | ls | search | show``: YAML specs and catalogs of runs."""

import datetime
import json
import os
import posixpath
import sys

__all__ = [
    "DATA_ROOTS_VARIABLE",
    "check_catalog_command",
    "data_roots_from_environment",
    "find_run",
    "list_runs",
    "numbered_runs",
    "open_catalog_argument",
    "search_runs",
    "show_run",
]


#: Environment variable: folders or URLs (separated by ';') that specs opened by the
#: command line and the GUI may read outside their own folder.
DATA_ROOTS_VARIABLE = "INTAKE_INGEST_DATA_ROOTS"


def data_roots_from_environment():
    """The data roots the user set in :data:`DATA_ROOTS_VARIABLE`, in order."""
    return tuple(root.strip() for root in os.environ.get(DATA_ROOTS_VARIABLE, "").split(";") if root.strip())


def check_catalog_command(url, out=None):
    """Report whether a YAML catalog spec (and those it nests) opens safely.

    The check is :func:`~intake_ingest.open_catalog` itself, on the spec and every spec it
    nests; no data file is read.

    Returns
    -------
    int
        0 when it opens, 1 when anything is refused or the file cannot be read.
    """
    from ..catalog import check_catalog

    out = out or sys.stdout
    problems = check_catalog(url, data_roots=data_roots_from_environment())
    if not problems:
        print(f"{url}: OK, opens safely: every entry and nested catalog passed the allow-list", file=out)
        return 0
    print(f"{url}: refused, nothing of it was used:", file=out)
    for problem in problems:
        print(f"  - {problem}", file=out)
    return 1


class UserError(Exception):
    """Bad input on the command line: printed as one line, exit status 1."""


def open_catalog_argument(argument):
    """A catalog from what a user typed: a YAML spec (opened safely), or msgpack files.

    A YAML spec may read outside its folder only in the data roots of
    :data:`DATA_ROOTS_VARIABLE`.

    ``beamline.yml`` / a URL ending in .yml or .yaml: the YAML catalog; a folder: the
    ``*.msgpack`` files in it; anything else: a glob or path of msgpack files.
    """
    from fsspec.core import url_to_fs

    from ..catalog import open_catalog
    from ..msgpack import BlueskyMsgpackCatalog

    if argument.endswith((".yml", ".yaml")):
        return open_catalog(argument, data_roots=data_roots_from_environment())
    try:
        fs, path = url_to_fs(argument)
        is_folder = fs.isdir(path)
    except (OSError, ValueError):
        is_folder = False
    if is_folder:
        _refuse_raw_folder(fs, path, argument)
        return BlueskyMsgpackCatalog(argument.rstrip("/") + "/*.msgpack")
    return BlueskyMsgpackCatalog(argument)


def _refuse_raw_folder(fs, path, argument):
    """A folder of data files, not of runs: say how to see and catalog what it holds."""
    names = [posixpath.basename(name) for name in fs.ls(path, detail=False)]
    if not names or any(name.endswith(".msgpack") for name in names):
        return  # runs, or an empty folder runs are yet to be written to
    specs = sorted(name for name in names if name.endswith((".yml", ".yaml")))
    if specs:
        raise UserError(
            f"{argument}: holds no msgpack runs; give one of its catalog specs: {', '.join(specs[:5])}"
        )
    raise UserError(
        f"{argument}: holds no msgpack runs (no *.msgpack file), it is not a catalog. To see which runs its "
        f"files make: intake-ingest detect {argument}; to make a catalog of them: "
        f"intake-ingest catalog {argument} -o catalog.yml (or ingest {argument} --to copies)"
    )


def iter_runs(catalog, prefix="", _listed=None):
    """``(entry path, run)`` for every run in a catalog and in the catalogs it holds.

    A YAML spec nested more than once is listed once, under its first path: a spec
    nesting the same files many times over would otherwise be walked exponentially.
    """
    from intake.catalog import Catalog

    from ..run import BlueskyRun

    listed = set(getattr(catalog, "lineage", ())[-1:]) if _listed is None else _listed
    for name in catalog:
        item = catalog[name]
        if isinstance(item, BlueskyRun):
            yield f"{prefix}{name}", item
        elif isinstance(item, Catalog):
            spec_file = getattr(item, "lineage", ())[-1:]
            if spec_file and spec_file[0] in listed:
                continue
            listed.update(spec_file)
            yield from iter_runs(item, f"{prefix}{name}/", listed)


def _run_line(path, run):
    start = run.start
    when = datetime.datetime.fromtimestamp(start["time"], tz=datetime.timezone.utc)
    return f"{start['uid']:46}  {when:%Y-%m-%d %H:%M:%S}  {start.get('ingestor', '-'):18}  {path}"


#: The columns of ``ls`` and ``search`` before the RunStart fields.
FIRST_COLUMNS = ("#", "uid", "time", "ingestor")
_NUMBERS = {"#", "scan_id", "num_points"}


def numbered_runs(argument):
    """``(row number, entry path, run)`` for every run of a catalog, as ``ls`` numbers them.

    In start-time order; runs that started together (the scans of a SPEC file written in
    one go) by source, then scan, in natural order (``scan 2`` before ``scan 10``).
    """
    from .tables import run_order

    runs = sorted(iter_runs(open_catalog_argument(argument)), key=run_order)
    return [(number, path, run) for number, (path, run) in enumerate(runs, 1)]


def _rows(numbered_runs, columns):
    """``(row number, path, run)`` as rows of the chosen columns (None: the default ones)."""
    from .tables import START_COLUMNS, present_columns, run_row

    runs = [run for _, _, run in numbered_runs]
    if columns is None:
        fields = present_columns(runs, START_COLUMNS)
        entries_differ = any(path != run.uid for _, path, run in numbered_runs)
        # Where the run is, then its source last: a path's length varies, the columns before it stay aligned.
        last = [field for field in fields if field == "source"]
        fields = [field for field in fields if field != "source"]
        columns = [*FIRST_COLUMNS, *fields, *(["entry"] if entries_differ else []), *last]
    fields = [column for column in columns if column not in (*FIRST_COLUMNS, "entry")]
    rows = [{"#": number, **run_row(path, run, fields)} for number, path, run in numbered_runs]
    return rows, columns


def _print_rows(numbered_runs, columns, as_json, out, none="no runs"):
    rows, columns = _rows(numbered_runs, columns)
    if as_json:
        json.dump([{column: row.get(column) for column in columns} for row in rows], out, indent=1, default=str)
        print(file=out)
    elif rows:
        from .tables import text_table

        for line in text_table(rows, columns, right=_NUMBERS):
            print(line, file=out)
    if not rows:
        print(none, file=sys.stderr)


def list_runs(argument, out=None, columns=None, as_json=False):
    """``ls CATALOG``: a header, then a numbered row per run.

    Columns: ``#`` (the row number ``show`` takes), uid, start time (UTC), ingestor, the
    RunStart fields people search by that some run has (plan_name, scan_id,
    num_points, sample, source) and, for nested catalogs, where the run is; or the
    ``columns`` asked for. ``as_json``: a JSON list of the rows, for scripts.
    """
    out = out or sys.stdout
    _print_rows(numbered_runs(argument), columns, as_json, out, none=f"{argument}: no runs")
    return 0


def _matcher(query):
    """A RunStart matcher for what the user typed: filters (``scan_id>=10``) or JSON."""
    from ..catalog.base import InvalidQueryError, RunStartQuery
    from ..catalog.search_text import parse_query

    try:
        parsed = parse_query(query)
    except ValueError as error:  # neither JSON nor filters: the message says which and why
        raise UserError(str(error)) from None
    try:
        return RunStartQuery(parsed)
    except InvalidQueryError as error:
        raise UserError(f"the query cannot be used: {error}") from None


def _matching(numbered_runs, matcher):
    from ..catalog.base import InvalidQueryError

    try:
        return [(number, path, run) for number, path, run in numbered_runs if matcher.match(run.start)]
    except InvalidQueryError as error:
        raise UserError(f"the query cannot be used: {error}") from None


def search_runs(argument, query, out=None, columns=None, as_json=False):
    """``search CATALOG QUERY``: the runs whose RunStart matches, numbered as in ``ls``.

    ``query`` is what the GUI's search box takes: field filters
    (``plan_name=ascan scan_id>=10 sample~^Si``) or a MongoDB query in JSON. When none
    match, "no runs match" goes to stderr (and ``[]`` to stdout with ``as_json``).
    """
    out = out or sys.stdout
    matcher = _matcher(query)  # checked before any catalog is opened
    _print_rows(_matching(numbered_runs(argument), matcher), columns, as_json, out, none=f"no runs match {query}")
    return 0


def find_run(numbered_runs, which):
    """The ``(number, path, run)`` that ``which`` names; a UserError saying why not otherwise.

    ``which`` is, in this order: ``#N`` or a bare number (a ``scan_id`` if a run has it,
    else a row number of ``ls``); a uid or its first characters; or filters (or JSON)
    that match one run.
    """
    from ..catalog.search_text import looks_like_filters

    def one(found, what):
        if len({run.uid for _, _, run in found}) == 1:
            return found[0]
        listed = ", ".join(f"#{number} ({run.uid[:12]}...)" for number, _, run in found[:8])
        more = " ..." if len(found) > 8 else ""
        raise UserError(f"{len(found)} runs are {what}: {listed}{more}; give its row number (#N) or more of the uid")

    text = str(which).strip()
    number = text[1:] if text.startswith("#") else text
    if number.isdigit():  # a scan_id or a row number before any uid that starts with digits
        if not text.startswith("#"):
            by_scan = [item for item in numbered_runs if item[2].start.get("scan_id") == int(number)]
            if by_scan:
                return one(by_scan, f"scan_id {number}")
        by_row = [item for item in numbered_runs if item[0] == int(number)]
        if by_row:
            return by_row[0]
    by_uid = [item for item in numbered_runs if item[2].uid.startswith(text)] if text else []
    if by_uid:
        return one(by_uid, f"uids starting with {text!r}")
    if number.isdigit():
        raise UserError(f"no run with scan_id, row number or uid {text} ({len(numbered_runs)} runs; see 'ls')")
    if looks_like_filters(text):
        found = _matching(numbered_runs, _matcher(text))
        if found:
            return one(found, f"matching {text}")
        raise UserError(f"no run matches {text}")
    raise UserError(f"no run whose uid starts with {text!r}, and it is no scan_id, row number (#3) or filter")


def show_run(argument, which, out=None):
    """``show CATALOG RUN``: a run's RunStart and its streams' variables (nothing computed).

    ``RUN`` is a uid or its first characters, a ``scan_id``, a row number of ``ls``
    (``#3``, or 3 where no run has scan_id 3), or filters matching one run
    (:func:`find_run`).
    """
    out = out or sys.stdout
    number, path, run = find_run(numbered_runs(argument), which)
    print(f"#{number}  {_run_line(path, run)}", file=out)
    for key, value in sorted(run.start.items()):
        print(f"  start.{key}: {value}", file=out)
    for stream_name in run:
        dataset = run[stream_name].to_dask()
        print(f"  stream {stream_name}: {dataset.sizes.get('time', 0)} events", file=out)
        for name, variable in dataset.data_vars.items():
            print(f"    {name:16} {str(variable.dtype):8} {tuple(variable.shape)}", file=out)
    return 0
