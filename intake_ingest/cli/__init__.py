"""The ``intake-ingest`` command line (argparse, from the standard library).

Exit status: 0 when all went well, 1 for bad input (with a one-line message naming what
is wrong, never a traceback) or, for ``ingest``, when any run failed (each named in the
summary; every other run is written), 2 for a command line argparse cannot parse.
"""

import argparse
import sys

from .catalogs import UserError, check_catalog_command, list_runs, search_runs, show_run
from .demo import demo
from .detection import detect_command, ingest_command, list_ingestors, write_catalog_command

__all__ = ["check_catalog_command", "demo", "list_ingestors", "main"]


def _parser():
    parser = argparse.ArgumentParser(
        prog="intake-ingest",
        description="Ingest instrument files into the Bluesky event model and intake catalogs.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    demo_parser = commands.add_parser("demo", help="ingest built-in demo TIFF data, export it to msgpack and reopen it")
    demo_parser.add_argument("--directory", help="write the demo files here (default: a temporary folder)")

    commands.add_parser("ingestors", help="list the registered ingestors and their intake drivers")

    def selection(sub):
        sub.add_argument("paths", nargs="+", metavar="PATH", help="files, globs, folders or fsspec URLs")
        sub.add_argument("--ingestor", help="use this ingestor for every file instead of detecting")
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

    detect_parser = commands.add_parser("detect", help="show which ingestor reads which files, grouped into runs")
    selection(detect_parser)
    detect_parser.add_argument("--json", action="store_true", help="print the plan as JSON")

    ingest_parser = commands.add_parser("ingest", help="detect, then write each run to DIR/<uid>.msgpack")
    selection(ingest_parser)
    ingest_parser.add_argument("--to", required=True, metavar="DIR", help="folder or fsspec URL for the msgpack files")
    ingest_parser.add_argument("--overwrite", action="store_true", help="write runs whose file exists again")
    ingest_parser.add_argument(
        "--fail-fast", action="store_true", help="stop at the first run that fails (default: report it, go on)"
    )

    catalog_parser = commands.add_parser(
        "catalog",
        help="'catalog PATHS -o beamline.yml' writes a YAML catalog of the detected runs; "
        "'catalog check FILE_OR_URL' refuses a spec that could run code",
    )
    selection(catalog_parser)
    catalog_parser.add_argument("-o", "--output", metavar="YAML", help="the catalog spec to write")

    ls_parser = commands.add_parser("ls", help="list the runs of a catalog (YAML spec, msgpack folder or glob)")
    ls_parser.add_argument("catalog")
    search_parser = commands.add_parser("search", help="runs whose RunStart matches a MongoDB query (JSON)")
    search_parser.add_argument("catalog")
    search_parser.add_argument("query", help='e.g. \'{"plan_name": "ascan", "scan_id": {"$gt": 10}}\'')
    show_parser = commands.add_parser("show", help="summary of one run (uid or its first characters)")
    show_parser.add_argument("catalog")
    show_parser.add_argument("uid")

    gui_parser = commands.add_parser("gui", help="the web app (panel) on 127.0.0.1: select files, ingest, browse")
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
        return detect_command(args.paths, args.ingestor, args.json, args.quiet, isolate=not args.no_isolate, timeout=args.timeout)
    if args.command == "ingest":
        return ingest_command(
            args.paths, args.to, args.ingestor, args.overwrite, args.quiet, args.fail_fast, isolate=not args.no_isolate, timeout=args.timeout
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
        return list_runs(args.catalog)
    if args.command == "search":
        return search_runs(args.catalog, args.query)
    if args.command == "show":
        return show_run(args.catalog, args.uid)
    if args.command == "gui":
        from ..gui import serve_app

        return serve_app(args.path_or_catalog, port=args.port, show=not args.no_browser)
    raise UserError(f"unknown command {args.command!r}")


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


def main(argv=None):
    """Run the command line; returns the exit status."""
    from ..catalog import UnsafeCatalogError
    from ..detect.isolation import WorkerStartError
    from ..errors import IngestError
    from ..registry import UnknownIngestorError

    args = _parser().parse_args(argv)
    _print_any_name()
    try:
        return _run(args)
    except (
        UserError, IngestError, UnsafeCatalogError, UnknownIngestorError, WorkerStartError,
        OSError,  # a file or folder that is missing, unreadable or unwritable: its message names it
    ) as error:
        print(f"intake-ingest: error: {error}", file=sys.stderr)
        return 1
