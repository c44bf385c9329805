"""``intake-ingest demo``: the main job on built-in demo data."""

import datetime
import sys
import tempfile

__all__ = ["demo", "describe_catalog"]


def describe_catalog(catalog, out):
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
    from .. import BlueskyInMemoryCatalog, BlueskyMsgpackCatalog, ingest_tiff_series, ingest_tiff_stack

    out = out or sys.stdout
    from ..demo import write_demo_files
    from ..msgpack import export

    with tempfile.TemporaryDirectory() as scratch:
        directory = directory or scratch
        series, stack = write_demo_files(directory)
        print(f"Demo TIFF files written in {directory}\n", file=out)

        catalog = BlueskyInMemoryCatalog()
        catalog.upsert(ingest_tiff_series, (series,), {})
        catalog.upsert(ingest_tiff_stack, (stack,), {})
        print(f"In-memory catalog, {len(catalog)} runs:", file=out)
        describe_catalog(catalog, out)

        native = f"{directory}/native_copies"
        for uid in catalog:
            export(catalog[uid].canonical(fill="yes"), native, overwrite=True)
        reopened = BlueskyMsgpackCatalog(f"{native}/*.msgpack")
        print(f"\nExported to {native}; msgpack catalog, {len(reopened)} runs:", file=out)
        describe_catalog(reopened, out)

        same = all(
            reopened[uid].primary.read().identical(catalog[uid].primary.read()) for uid in catalog
        ) and set(reopened) == set(catalog)
        print(f"\nReopened runs identical to the ingested ones: {same}", file=out)
        return 0 if same else 1
