"""``intake-ingest catalog check | ls | search | show``: YAML specs and catalogs of runs."""

import datetime
import json
import os
import sys

__all__ = [
    "DATA_ROOTS_VARIABLE",
    "check_catalog_command",
    "data_roots_from_environment",
    "list_runs",
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
        return BlueskyMsgpackCatalog(argument.rstrip("/") + "/*.msgpack")
    return BlueskyMsgpackCatalog(argument)


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


def list_runs(argument, out=None):
    """``ls CATALOG``: one line per run: uid, start time (UTC), ingestor, where it is."""
    out = out or sys.stdout
    for path, run in iter_runs(open_catalog_argument(argument)):
        print(_run_line(path, run), file=out)
    return 0


def search_runs(argument, query, out=None):
    """``search CATALOG QUERY``: the runs whose RunStart matches a MongoDB query (JSON)."""
    from ..catalog.base import InvalidQueryError, RunStartQuery

    out = out or sys.stdout
    try:
        matcher = RunStartQuery(json.loads(query))
    except json.JSONDecodeError as error:
        raise UserError(f"the query is not JSON ({error}): {query}") from None
    except InvalidQueryError as error:  # checked before any catalog is opened
        raise UserError(f"the query cannot be used: {error}") from None
    for path, run in iter_runs(open_catalog_argument(argument)):
        try:
            matched = matcher.match(run.start)
        except InvalidQueryError as error:
            raise UserError(f"the query cannot be used: {error}") from None
        if matched:
            print(_run_line(path, run), file=out)
    return 0


def show_run(argument, uid, out=None):
    """``show CATALOG UID``: a run's RunStart and its streams' variables (nothing computed)."""
    out = out or sys.stdout
    found = [(path, run) for path, run in iter_runs(open_catalog_argument(argument)) if run.uid.startswith(uid)]
    if not found:
        raise UserError(f"no run whose uid starts with {uid!r} in {argument}")
    if len({run.uid for _, run in found}) > 1:
        raise UserError(f"{len(found)} runs have uids starting with {uid!r}; give more of the uid")
    path, run = found[0]
    print(_run_line(path, run), file=out)
    for key, value in sorted(run.start.items()):
        print(f"  start.{key}: {value}", file=out)
    for stream_name in run:
        dataset = run[stream_name].to_dask()
        print(f"  stream {stream_name}: {dataset.sizes.get('time', 0)} events", file=out)
        for name, variable in dataset.data_vars.items():
            print(f"    {name:16} {str(variable.dtype):8} {tuple(variable.shape)}", file=out)
    return 0
