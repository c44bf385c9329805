"""``intake-ingest demo``: the main job on built-in demo data."""

import datetime
import os
import sys
import tempfile

__all__ = ["demo", "describe_catalog"]


def describe_catalog(catalog, out, labels=None):
    """Print one line per run and stream: what the run is, uid, start time, stream, shapes.

    ``labels`` maps uids to what the runs are (``series``, ``stack``); without it the
    column holds the ingestor that made the run.
    """
    labels = labels or {}
    print(f"{'run':8}  {'uid':44}  {'start (UTC)':19}  {'stream':8}  variables", file=out)
    for uid in catalog:
        run = catalog[uid]
        when = datetime.datetime.fromtimestamp(run.start["time"], tz=datetime.timezone.utc)
        label = labels.get(uid, run.start.get("ingestor", ""))
        for stream_name in run:
            dataset = run[stream_name].to_dask()
            shapes = ", ".join(
                f"{name} {tuple(var.shape)} {var.dtype}" for name, var in dataset.data_vars.items()
            )
            print(f"{label:8}  {uid:44}  {when:%Y-%m-%d %H:%M:%S}  {stream_name:8}  {shapes}", file=out)


def demo(directory=None, out=None):
    """Ingest a generated TIFF series and stack, export them to msgpack, reopen them.

    Says what each run is, where the files are (kept in ``directory``; in a temporary
    folder removed at the end otherwise) and which commands to try next.

    Returns
    -------
    int
        0 when the reopened runs equal the ingested ones.
    """
    from .. import BlueskyInMemoryCatalog, BlueskyMsgpackCatalog, ingest_tiff_series, ingest_tiff_stack
    from ..demo import write_demo_files
    from ..msgpack import export
    from .catalogs import UserError

    out = out or sys.stdout
    if directory is not None and not os.path.isdir(directory):
        raise UserError(f"{directory}: no such folder; create it first (mkdir {directory}) or leave out --directory")
    with tempfile.TemporaryDirectory() as scratch:
        kept = directory is not None
        directory = directory or scratch
        series, stack = write_demo_files(directory)
        where = "kept" if kept else "a temporary folder, removed when the demo ends"
        print(f"Demo TIFF files written in {directory} ({where}):", file=out)
        print(f"  series: {series}  (10 files, one 512 x 512 image each: one run of 10 events)", file=out)
        print(f"  stack:  {stack}  (one file, the same 10 images as pages: one run of 10 events)\n", file=out)

        catalog = BlueskyInMemoryCatalog()
        labels = {
            catalog.upsert(ingest_tiff_series, (series,), {}): "series",
            catalog.upsert(ingest_tiff_stack, (stack,), {}): "stack",
        }
        print(f"In-memory catalog, {len(catalog)} runs (uids hash the files' paths):", file=out)
        describe_catalog(catalog, out, labels)

        native = os.path.join(directory, "native_copies")
        for uid in catalog:
            export(catalog[uid].canonical(fill="yes"), native, overwrite=True)
        reopened = BlueskyMsgpackCatalog(f"{native}/*.msgpack")
        print(f"\nExported to {native}; msgpack catalog, {len(reopened)} runs:", file=out)
        describe_catalog(reopened, out, labels)

        same = all(
            reopened[uid].primary.read().identical(catalog[uid].primary.read()) for uid in catalog
        ) and set(reopened) == set(catalog)
        print(f"\nReopened runs identical to the ingested ones: {same}", file=out)
        _next_steps(directory if kept else None, native if kept else None, out)
        return 0 if same else 1


def _next_steps(directory, native, out):
    folder = directory or "demo_files"
    copies = native or os.path.join(folder, "native_copies")
    steps = []
    if directory is None:
        steps.append((f"mkdir {folder} && intake-ingest demo --directory {folder}", "keep the demo files"))
    steps += [
        (f"intake-ingest detect {folder}", "which ingestor reads which files (try your own folder)"),
        (f"intake-ingest ls {copies}", "the runs in the msgpack copies"),
        (f"intake-ingest gui {copies}", "browse them in the web app (pip install '.[gui]' first)"),
    ]
    width = max(len(command) for command, _ in steps)
    print("\nNext, try:", file=out)
    for command, what in steps:
        print(f"  {command:{width}}   {what}", file=out)
