"""The ``intake-ingest`` command line (argparse, from the standard library).

Exit status: 0 when all went well, 1 for bad input (with a one-line message naming what
is wrong, never a traceback) or, for ``ingest``, when any run failed (each named in the
summary; every other run is written), 2 for a command line argparse cannot parse.
"""

import argparse
import os
import sys
import warnings

from .catalogs import UserError, check_catalog_command, list_runs, search_runs, show_run
from .demo import demo
from .detection import detect_command, ingest_command, list_ingestors, write_catalog_command
from .serve import add_parser as add_serve_parser
from .serve import serve_command

__all__ = ["check_catalog_command", "demo", "list_ingestors", "main"]


def _parser():
    from .._version import __version__

    parser = argparse.ArgumentParser(
        prog="intake-ingest",
        description="Ingest instrument files into the Bluesky event model and intake catalogs.",
        epilog="Start with 'intake-ingest demo', then 'intake-ingest detect FOLDER' on your data. "
        "'intake-ingest COMMAND --help' says more about each command.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo_parser = commands.add_parser(
        "demo",
        help="ingest built-in demo TIFF data, export it to msgpack and reopen it",
        description="Write a demo TIFF series and stack, ingest them, export the runs to msgpack and reopen them.",
    )
    demo_parser.add_argument(
        "--directory", metavar="DIR", help="an existing folder to write the demo files in, kept afterwards "
        "(default: a temporary folder, removed at the end)"
    )

    commands.add_parser(
        "ingestors", help="list the registered ingestors and their intake drivers",
        description="List the registered ingestors: intake driver, producing software, file patterns.",
    )

    def selection(sub):
        sub.add_argument("paths", nargs="+", metavar="PATH", help="files, globs, folders or fsspec URLs")
        sub.add_argument("--ingestor", metavar="NAME", help="use this ingestor for every file instead of detecting "
                         "('intake-ingest ingestors' lists them)")
        sub.add_argument("--quiet", action="store_true", help="no progress bar")
        sub.add_argument(
            "--no-isolate",
            action="store_true",
            help="read files in this process (default: a worker process, so a reader's crash costs only its file)",
        )
        sub.add_argument(
            "--timeout",
            type=float,
            metavar="SECONDS",
            help="stop a reader that makes no progress for this long and report its file (default: 60 s to sniff "
            "a file, 120 s for each document of a run; 0: no limit; not applied with --no-isolate)",
        )

    detect_parser = commands.add_parser(
        "detect", help="show which ingestor reads which files, grouped into runs",
        description="Show which ingestor reads which files, grouped into runs: a line per file (a file of many "
        "scans is one line), the files left out and why, and a totals line. Nothing is written.",
    )
    selection(detect_parser)
    detect_parser.add_argument("--json", action="store_true", help="print the plan as JSON (every run)")
    detect_parser.add_argument("--all", action="store_true", help="a line per run, not per file")

    ingest_parser = commands.add_parser(
        "ingest", help="detect, then write each run to DIR/<uid>.msgpack",
        description="Detect, then write each run to DIR/<uid>.msgpack; runs already there are skipped. "
        "Every run is attempted: failures are listed by file and reason (exit status 1).",
    )
    selection(ingest_parser)
    ingest_parser.add_argument("--to", required=True, metavar="DIR", help="folder or fsspec URL for the msgpack files")
    ingest_parser.add_argument("--overwrite", action="store_true", help="write runs whose file exists again")
    ingest_parser.add_argument(
        "--fail-fast", action="store_true", help="stop at the first run that fails (default: report it, go on)"
    )
    ingest_parser.add_argument(
        "--watch", action="store_true", help="keep watching PATHS until Ctrl-C: files that appear (once they stop "
        "changing) become runs, a growing series an updated run; a line per run"
    )

    catalog_parser = commands.add_parser(
        "catalog",
        help="'catalog PATHS -o beamline.yml' writes a YAML catalog of the detected runs; "
        "'catalog check FILE_OR_URL' refuses a spec that could run code",
        usage="%(prog)s PATH [PATH ...] -o YAML [options]\n       %(prog)s check FILE_OR_URL",
        description="'catalog PATHS -o beamline.yml' writes a YAML catalog spec of the runs detected in PATHS "
        "(open it with 'intake-ingest ls', the GUI or intake). 'catalog check FILE_OR_URL' checks that a spec "
        "opens safely (allow-listed keys and drivers, paths inside its folder) without reading any data.",
    )
    selection(catalog_parser)
    catalog_parser.add_argument("-o", "--output", metavar="YAML", help="the catalog spec to write")

    def runs_table(sub):
        sub.add_argument("catalog", metavar="CATALOG", help="a YAML catalog spec, a folder of .msgpack files or a glob")
        sub.add_argument(
            "--columns", metavar="A,B,...", help="the columns to show, comma-separated: uid, time, ingestor, entry or "
            "any RunStart field (dotted: sample.name) (default: #, uid, time, ingestor and the fields people "
            "search by that some run has: plan_name, scan_id, num_points, sample, source)"
        )
        sub.add_argument("--json", action="store_true", help="print the rows as a JSON list, for scripts")

    ls_parser = commands.add_parser(
        "ls", help="list the runs of a catalog (YAML spec, msgpack folder or glob)",
        description="List the runs of a catalog, one numbered row each ('intake-ingest show CATALOG ROW' shows one).",
    )
    runs_table(ls_parser)
    search_parser = commands.add_parser(
        "search", help="the runs whose RunStart matches filters (scan_id>=10 plan_name=ascan) or a MongoDB query",
        description="The runs whose RunStart matches QUERY, numbered as in 'ls'.",
    )
    runs_table(search_parser)
    search_parser.add_argument(
        "query", metavar="QUERY", help="filters as in the GUI's search box: field=value, field!=value, field>number "
        "(>=, <, <=), field~regex, several separated by spaces ('plan_name=ascan scan_id>=10 sample~^Si'); "
        'or a MongoDB query in JSON (\'{"scan_id": {"$in": [1, 3]}}\')'
    )
    show_parser = commands.add_parser(
        "show", help="one run: its RunStart and each stream's variables",
        description="One run: its RunStart and each stream's variables (no data are read).",
    )
    show_parser.add_argument("catalog", metavar="CATALOG", help="a YAML catalog spec, a folder of .msgpack files or a glob")
    show_parser.add_argument(
        "run", metavar="RUN", nargs="+", help="a scan_id, a row number from 'ls' ('#3' in quotes, or 3 where no "
        "run has scan_id 3), a uid or its first characters (one starting with '-' too), or filters matching one "
        "run (scan_id=3 spec_file=fourc)"
    )

    add_serve_parser(commands)
    gui_parser = commands.add_parser(
        "gui", help="the web app (panel) on 127.0.0.1: select files, ingest, browse",
        description="Serve the web app on 127.0.0.1 (only this computer can connect). Needs the gui extra: "
        "pip install '.[gui]' in a checkout.",
    )
    gui_parser.add_argument("path_or_catalog", nargs="?", metavar="PATH_OR_CATALOG",
                            help="files or a folder to select, or a catalog (YAML, msgpack folder) to browse")
    gui_parser.add_argument("--port", type=int, default=5006, help="0 picks a free port (default 5006)")
    gui_parser.add_argument("--no-browser", action="store_true", help="do not open a browser tab")
    return parser


def _run(args):
    if args.command == "demo":
        return demo(args.directory)
    if args.command == "ingestors":
        return list_ingestors()
    if args.command == "detect":
        return detect_command(
            args.paths, args.ingestor, args.json, args.quiet, isolate=not args.no_isolate, timeout=args.timeout,
            every_run=args.all,
        )
    if args.command == "ingest":
        return ingest_command(
            args.paths, args.to, args.ingestor, args.overwrite, args.quiet, args.fail_fast, isolate=not args.no_isolate, timeout=args.timeout,
            watch=args.watch,
        )
    if args.command == "catalog":
        if args.paths[0] == "check" and args.output is None:
            if len(args.paths) != 2:
                raise UserError("usage: intake-ingest catalog check FILE_OR_URL")
            return check_catalog_command(args.paths[1])
        if args.output is None:
            raise UserError("give the catalog file to write with -o (or use 'catalog check FILE')")
        return write_catalog_command(args.paths, args.output, args.ingestor, args.quiet, isolate=not args.no_isolate, timeout=args.timeout)
    if args.command == "ls":
        return list_runs(args.catalog, columns=_columns(args.columns), as_json=args.json)
    if args.command == "search":
        return search_runs(args.catalog, args.query, columns=_columns(args.columns), as_json=args.json)
    if args.command == "show":
        return show_run(args.catalog, " ".join(args.run))
    if args.command == "serve":
        _require_tiled()
        return serve_command(args.paths, args.catalog, args.port, args.watch, args.ingestor, args.quiet)
    if args.command == "gui":
        from ..gui import serve_app

        return serve_app(args.path_or_catalog, port=args.port, show=not args.no_browser)
    raise UserError(f"unknown command {args.command!r}")


def _require_tiled():
    """A one-line hint when the tiled extra is missing, before any server is made."""
    try:
        import bluesky.callbacks.tiled_writer  # noqa: F401
        import bluesky_tiled_plugins  # noqa: F401
        import tiled.catalog  # noqa: F401
        import tiled.server  # noqa: F401
    except ImportError as error:
        raise UserError(
            f"serve needs tiled, bluesky and bluesky-tiled-plugins ({error}); in a checkout of intake-ingest: "
            "pip install '.[tiled]'"
        ) from None


def _print_any_name():
    """Let stdout and stderr print any file name instead of raising.

    A name that is not UTF-8 is held as lone surrogates (``os.fsdecode``), which a strict
    UTF-8 stream (any UTF-8 locale but C) refuses; printed escaped (``\\udcff``), it is
    still named. A stream that already copes (``surrogateescape`` in the C locale) is
    left as it is.
    """
    for stream in (sys.stdout, sys.stderr):
        if getattr(stream, "errors", None) == "strict" and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")


def _columns(text):
    """``--columns uid,scan_id`` as a list; None for the default columns."""
    if text is None:
        return None
    columns = [column.strip() for column in text.split(",") if column.strip()]
    if not columns:
        raise UserError("--columns takes column names separated by commas, e.g. --columns scan_id,plan_name,uid")
    return columns


def _run_argument_first(argv):
    """``show CATALOG -abc=``: a uid may start with '-' (base64url); argparse would take it for an option.

    The command's positional arguments that start with '-' (other than -h/--help) are
    put after ``--``, where argparse reads them as arguments.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((position for position, item in enumerate(argv) if not item.startswith("-")), None)
    if command is None or argv[command] != "show" or "--" in argv:
        return argv
    at = command + 1
    rest = argv[at:]
    if any(item in ("-h", "--help") for item in rest):
        return argv
    options = [item for item in rest if item.startswith("-")]
    plain = [item for item in rest if not item.startswith("-")]
    return argv[:at] + plain + (["--", *options] if options else [])


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    """A warning as one line on stderr: what it says (our warnings name the file), no Python source."""
    from ..errors import IngestWarning

    kind = "" if issubclass(category, IngestWarning) else f" ({category.__name__})"
    print(f"intake-ingest: warning: {message}{kind}", file=file or sys.stderr)


def _quiet_broken_pipe():
    """``intake-ingest ls ... | head``: the reader stopped; say nothing more, print nothing more."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # Python's last flush at exit then writes nowhere
    except (AttributeError, OSError, ValueError):  # stdout is not a file (tests)
        pass


def main(argv=None):
    """Run the command line; returns the exit status."""
    from ..catalog import UnsafeCatalogError
    from ..detect.isolation import WorkerStartError
    from ..errors import IngestError
    from ..registry import UnknownIngestorError
    from ..tiled.writing import TiledConnectionError

    args = _parser().parse_args(_run_argument_first(argv))
    _print_any_name()
    with warnings.catch_warnings():
        warnings.showwarning = _one_line_warning
        try:
            status = _run(args)
            sys.stdout.flush()
            return status
        except BrokenPipeError:
            _quiet_broken_pipe()
            return 0
        except (
            UserError, IngestError, UnsafeCatalogError, UnknownIngestorError, WorkerStartError,
            TiledConnectionError,  # an unreachable tiled server or a key it refuses
            OSError,  # a file or folder that is missing, unreadable or unwritable: its message names it
        ) as error:
            print(f"intake-ingest: error: {error}", file=sys.stderr)
            return 1
