"""The ``intake-ingest`` command line."""

import argparse
import datetime
import sys
import tempfile

__all__ = ["main"]


def _describe_catalog(catalog, out):
    """Print one line per run and stream: uid, start time, stream, shapes."""
    print(f"{'uid':46}  {'start (UTC)':19}  {'stream':8}  variables", file=out)
    for uid in catalog:
        run = catalog[uid]
        when = datetime.datetime.fromtimestamp(run.start["time"], tz=datetime.timezone.utc)
        for stream_name in run:
            dataset = run[stream_name].to_dask()
            shapes = ", ".join(
                f"{name} {tuple(var.shape)} {var.dtype}" for name, var in dataset.data_vars.items()
            )
            print(f"{uid:46}  {when:%Y-%m-%d %H:%M:%S}  {stream_name:8}  {shapes}", file=out)


def demo(directory=None, out=None):
    """Ingest a generated TIFF series and stack, export them to msgpack, reopen them.

    Returns
    -------
    int
        0 when the reopened runs equal the ingested ones.
    """
    from . import BlueskyInMemoryCatalog, BlueskyMsgpackCatalog, ingest_tiff_series, ingest_tiff_stack

    out = out or sys.stdout
    from .demo import write_demo_files
    from .msgpack import export

    with tempfile.TemporaryDirectory() as scratch:
        directory = directory or scratch
        series, stack = write_demo_files(directory)
        print(f"Demo TIFF files written in {directory}\n", file=out)

        catalog = BlueskyInMemoryCatalog()
        catalog.upsert(ingest_tiff_series, (series,), {})
        catalog.upsert(ingest_tiff_stack, (stack,), {})
        print(f"In-memory catalog, {len(catalog)} runs:", file=out)
        _describe_catalog(catalog, out)

        native = f"{directory}/native_copies"
        for uid in catalog:
            export(catalog[uid].canonical(fill="yes"), native, overwrite=True)
        reopened = BlueskyMsgpackCatalog(f"{native}/*.msgpack")
        print(f"\nExported to {native}; msgpack catalog, {len(reopened)} runs:", file=out)
        _describe_catalog(reopened, out)

        same = all(
            reopened[uid].primary.read().identical(catalog[uid].primary.read()) for uid in catalog
        ) and set(reopened) == set(catalog)
        print(f"\nReopened runs identical to the ingested ones: {same}", file=out)
        return 0 if same else 1


def check_catalog_command(url, out=None):
    """Report whether a YAML catalog spec (and those it nests) is safe to open.

    Returns
    -------
    int
        0 when safe, 1 when any entry could run code or the file cannot be read.
    """
    from .catalog import check_catalog

    out = out or sys.stdout
    problems = check_catalog(url)
    if not problems:
        print(f"{url}: OK, no entry can run code", file=out)
        return 0
    print(f"{url}: refused, this catalog spec could run code:", file=out)
    for problem in problems:
        print(f"  - {problem}", file=out)
    return 1


def list_ingestors(out=None):
    """Print each registered ingestor: name, intake driver, producing software, file patterns."""
    from .registry import driver_name, get_spec, ingestor_names

    out = out or sys.stdout
    rows = []
    for name in ingestor_names():
        try:
            spec = get_spec(name)
        except Exception as error:  # a broken third-party plugin must not hide the others
            rows.append((name, driver_name(name), f"(cannot be loaded: {error})", ""))
            continue
        rows.append((name, driver_name(name), spec.software or spec.description, " ".join(spec.patterns)))
    widths = [max(len(row[i]) for row in rows + [("ingestor", "intake driver", "software", "")]) for i in range(3)]
    header = ("ingestor", "intake driver", "software", "files")
    for row in [header, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths)) + "  " + row[3], file=out)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="intake-ingest",
        description="Ingest instrument files into the Bluesky event model and intake catalogs.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo_parser = commands.add_parser(
        "demo", help="ingest built-in demo TIFF data, export it to msgpack and reopen it"
    )
    demo_parser.add_argument(
        "--directory", help="write the demo files here (default: a temporary folder, removed after)"
    )
    commands.add_parser("ingestors", help="list the registered ingestors and their intake drivers")
    catalog_parser = commands.add_parser("catalog", help="work with YAML catalog specs")
    catalog_commands = catalog_parser.add_subparsers(dest="catalog_command", required=True)
    check_parser = catalog_commands.add_parser(
        "check", help="refuse a spec (and the specs it nests) if any entry could run code"
    )
    check_parser.add_argument("url", metavar="FILE_OR_URL")
    args = parser.parse_args(argv)
    if args.command == "demo":
        return demo(args.directory)
    if args.command == "ingestors":
        return list_ingestors()
    if args.command == "catalog" and args.catalog_command == "check":
        return check_catalog_command(args.url)
    return 2


if __name__ == "__main__":
    sys.exit(main())
