"""``intake-ingest serve PATHS [--catalog DB] [--port N] [--watch]``: runs into tiled, served on loopback.

The files are detected and each run is written into a tiled catalog (an SQLite catalog
in a folder by default, or a PostgreSQL URI shared by several servers) through bluesky's
TiledWriter, frames left in their files; the catalog is then served on 127.0.0.1 with
tiled's single-user API key: the one in ``TILED_SINGLE_USER_API_KEY`` if set, else a new
one, printed. With ``--watch``, files that appear later become runs within seconds
(:class:`~intake_ingest.detect.watching.Watcher`, through a
:class:`~intake_ingest.tiled.sink.TiledSink`). Ctrl-C and SIGTERM stop it cleanly
(:func:`~intake_ingest.cli.signals.stopped_by_signals`). Given an existing catalog instead (a YAML
spec, msgpack files), its runs are written (:func:`~intake_ingest.tiled.writing.write_catalog`).

:func:`add_parser` adds the subcommand to the command line's parser; :func:`serve_command`
runs it. ``python -m intake_ingest.cli.serve PATHS ...`` runs it alone.
"""

import argparse
import glob
import os
import sys
import threading

__all__ = ["StopRequest", "add_parser", "catalog_argument", "main", "readable_folders", "serve_command"]

DEFAULT_CATALOG = "tiled-catalog"


def add_parser(commands):
    """Add ``serve`` to a command line's subparsers; its parser."""
    parser = commands.add_parser(
        "serve",
        help="write the detected runs into a tiled catalog and serve it on 127.0.0.1",
        description="Detect the runs in PATHS, write them into a tiled catalog through bluesky's TiledWriter "
        "(frames stay in their files) and serve it on 127.0.0.1 for tiled clients (databroker 2, "
        "bluesky-tiled-plugins). The API key is TILED_SINGLE_USER_API_KEY if set, else a new one, printed.",
    )
    parser.add_argument(
        "paths", nargs="+", metavar="PATH_OR_CATALOG",
        help="files, folders or globs to ingest; or a catalog whose runs are served: a YAML spec, msgpack files "
        "or a folder of them",
    )
    parser.add_argument(
        "--catalog", default=DEFAULT_CATALOG, metavar="DB",
        help=f"a folder for an SQLite catalog (made if missing; default: ./{DEFAULT_CATALOG}) or a "
        "postgresql://user@host/db URI for a catalog several servers share",
    )
    parser.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (default: 8000; 0: any free port)")
    parser.add_argument("--watch", action="store_true", help="keep watching PATHS: new files become runs")
    parser.add_argument("--ingestor", metavar="NAME", help="use this ingestor for every file instead of sniffing")
    parser.add_argument("--quiet", action="store_true", help="print only the address and failures")
    return parser


def readable_folders(paths):
    """The folders tiled may read frames from: each folder given, or the folder of each file."""
    folders = []
    for path in paths:
        path = os.path.abspath(os.path.expanduser(path))
        while path and not os.path.isdir(path):  # a file or a glob: its folder
            path = os.path.dirname(path)
        if path and path not in folders:
            folders.append(path)
    return folders


def catalog_argument(paths):
    """The catalog ``paths`` name, or None for data files to detect.

    One YAML spec (``.yml``, ``.yaml``: opened safely, as ``intake-ingest ls`` does), one
    ``.msgpack`` file or glob, or a folder holding ``*.msgpack`` runs is a catalog; its
    runs are written as they are.
    """
    if len(paths) != 1:
        return None
    path = str(paths[0])
    folder = os.path.expanduser(path)
    if not (path.endswith((".yml", ".yaml", ".msgpack")) or (os.path.isdir(folder) and glob.glob(os.path.join(glob.escape(folder), "*.msgpack")))):
        return None
    from .catalogs import open_catalog_argument

    return open_catalog_argument(path)


class StopRequest:
    """Until when :func:`serve_command` serves: ``stop`` (an Event, set by another thread) or a signal.

    A signal handler only sets :attr:`requested`, a plain attribute: setting the Event
    itself from a handler could deadlock, the main thread being interrupted while it
    holds the Event's lock inside :meth:`threading.Event.wait`.
    """

    #: Seconds between looks at :attr:`requested`.
    POLL = 0.2

    def __init__(self, event):
        self.event = event
        self.requested = False

    def stop(self):
        """What :func:`~intake_ingest.cli.signals.stopped_by_signals` calls from its handler."""
        self.requested = True

    def wait(self):
        """Return once :meth:`stop` was called or the event is set."""
        while not self.requested and not self.event.wait(self.POLL):
            pass


def serve_command(paths, catalog=DEFAULT_CATALOG, port=8000, watch=False, ingestor=None, quiet=False, out=None, stop=None, interval=1.0,
                  settle=0.0):
    """Ingest ``paths`` into a tiled catalog and serve it until interrupted (or ``stop`` is set).

    With ``watch``, a :class:`~intake_ingest.detect.watching.Watcher` (every ``interval``
    seconds; ``settle``: seconds a file must stay unchanged, for NFS) writes the runs of
    files that appear into the same server (:class:`~intake_ingest.tiled.sink.TiledSink`),
    a line per run made, grown or failed. Ctrl-C or SIGTERM ends the watcher's pass under
    way, then the server, with a line saying which signal stopped it.

    Returns the exit status: 0, or 1 if a run failed (the server still serves the others).
    """
    from ..detect import detect
    from ..tiled.server import ServerThread, api_key, catalog_tree
    from ..detect.watching import Watcher
    from ..tiled.sink import TiledSink
    from ..tiled.writing import connect, source_folders, write_catalog, write_plan
    from .signals import stopped_by_signals

    out = out or sys.stdout
    stop = stop or threading.Event()
    source = catalog_argument(paths)
    if source is not None and watch:
        raise ValueError(f"{paths[0]}: is a catalog; --watch watches folders of data files")
    key, from_environment = api_key()
    readable = readable_folders(paths) if source is None else source_folders(source)
    tree = catalog_tree(catalog, readable=readable)
    server = ServerThread(tree, key, port=port).start()
    try:
        shown = "(the key in TILED_SINGLE_USER_API_KEY)" if from_environment else f"?api_key={key}"
        print(f"tiled server: {server.uri} {shown}", file=out, flush=True)
        client = connect(server.uri, key)
        if source is None:
            plan = detect(paths, ingestor=ingestor, progress=False if quiet else None)
            result = write_plan(plan, client)
        else:
            result = write_catalog(source, client)
        if not quiet or result.errors:
            print(result.summary(), file=out)
        request = StopRequest(stop)
        with stopped_by_signals(request) as received:  # Ctrl-C, SIGTERM: the watcher's pass ends, then the server
            print(f"serving {len(client)} run(s){'; watching for new files' if watch else ''} (Ctrl-C stops)", file=out, flush=True)
            if watch:
                # The runs just written are the watcher's: their files are not read again, and a
                # series among them that grows replaces its run.
                watcher = Watcher(paths, TiledSink(client), ingestor=ingestor, interval=interval, settle=settle,
                                  on_update=lambda update: print(update.line(), file=out, flush=True))
                watcher.adopt(plan, result)
                watcher.start()
                try:
                    request.wait()
                finally:
                    watcher.close()
            else:
                request.wait()
        if received:
            print(f"stopped by {received.name}", file=out, flush=True)
        return 0 if result.ok else 1
    except KeyboardInterrupt:
        return 0
    finally:
        server.stop()


def main(argv=None):
    """``python -m intake_ingest.cli.serve``: the subcommand alone; the exit status."""
    from ..errors import IngestError
    from ..tiled.writing import TiledConnectionError

    parser = argparse.ArgumentParser(prog="intake-ingest")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return serve_command(args.paths, args.catalog, args.port, args.watch, args.ingestor, args.quiet)
    except (IngestError, TiledConnectionError, OSError, ValueError) as error:
        print(f"intake-ingest: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
