"""Making the runs of a plan: into an in-memory catalog, or straight to msgpack files."""

import sys

from fsspec.core import url_to_fs

from ..catalog import BlueskyInMemoryCatalog
from ..msgpack import export
from ..registry import get_ingestor
from ..run import RunDocuments

__all__ = ["ingest"]


def _progress(total, progress, description):
    from tqdm.auto import tqdm

    if progress is None:
        progress = sys.stderr.isatty()
    return tqdm(total=total, disable=not progress, desc=description, unit="run", leave=False)


def ingest(plan, *, to=None, overwrite=False, storage_options=None, progress=None):
    """Make the runs a :func:`~intake_ingest.detect.detect` plan lists.

    Parameters
    ----------
    plan : Plan
    to : str, optional
        A folder or fsspec URL: write each run to ``<uid>.msgpack`` there. Without it,
        the runs go into an in-memory catalog, lazily (only RunStarts are read now).
    overwrite : bool
        With ``to``: write runs whose file exists again; by default they are skipped,
        so ingesting the same files twice writes nothing new.
    storage_options : dict, optional
        For ``to``.
    progress : bool, optional
        Show a tqdm progress bar; default: when stderr is a terminal.

    Returns
    -------
    BlueskyInMemoryCatalog or dict
        The catalog; or, with ``to``, ``{'written': [paths], 'skipped': [uids]}``.
    """
    if to is None:
        catalog = BlueskyInMemoryCatalog()
        with _progress(len(plan.runs), progress, "listing runs") as bar:
            for run in plan.runs:
                catalog.upsert(get_ingestor(run.ingestor), (run.argument,), run.kwargs)
                bar.update()
        return catalog

    fs, root = url_to_fs(str(to), **(storage_options or {}))
    written, skipped = [], []
    with _progress(len(plan.runs), progress, "ingesting") as bar:
        for run in plan.runs:
            documents = RunDocuments(
                get_ingestor(run.ingestor)(run.argument, **run.kwargs), label=run.files[0].url
            )
            uid = documents.uid
            if not overwrite and fs.exists(f"{root.rstrip('/')}/{uid}.msgpack"):
                skipped.append(uid)
            else:
                written.extend(export(documents, str(to), storage_options=storage_options, overwrite=overwrite))
            bar.update()
    return {"written": written, "skipped": skipped}
