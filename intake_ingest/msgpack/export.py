"""Write runs to Bluesky msgpack files, one ``<start uid>.msgpack`` per run."""

import event_model
from fsspec.core import url_to_fs

from ..files import display_path
from .codec import pack

__all__ = ["export"]


def export(documents, directory, *, file_prefix="{start[uid]}", storage_options=None, overwrite=False):
    """Write each run in a stream of documents to its own msgpack file.

    Events are written as single-row event pages and datums as datum pages, as
    ``suitcase.msgpack.export`` does, so the files are byte-identical to its output.
    Lazy (dask) arrays are computed as they are written.

    Parameters
    ----------
    documents : iterable of (str, dict)
        e.g. ``run.canonical()``; may hold several runs one after the other.
    directory : str
        Folder path or fsspec URL; created if missing.
    file_prefix : str, optional
        File name without extension, formatted with the RunStart as ``start``.
    storage_options : dict, optional
        Passed to fsspec.
    overwrite : bool, optional
        Replace existing files instead of refusing.

    Returns
    -------
    list of str
        The files written. A run without a RunStop is written as the partial run it is;
        a file whose writing fails part-way is removed.
    """
    fs, root = url_to_fs(str(directory), **(storage_options or {}))
    fs.makedirs(root, exist_ok=True)
    written = []
    file = path = None
    try:
        for name, doc in documents:
            if name == "start":
                if file is not None:
                    file.close()
                path = f"{root.rstrip('/')}/{file_prefix.format(start=doc)}.msgpack"
                if not overwrite and fs.exists(path):
                    raise FileExistsError(f"{display_path(fs, path)}: already exists (pass overwrite=True)")
                file = fs.open(path, "wb")
                written.append(display_path(fs, path))
            elif file is None:
                raise ValueError(f"a {name!r} document came before any RunStart")
            if name == "event":
                name, doc = "event_page", event_model.pack_event_page(doc)
            elif name == "datum":
                name, doc = "datum_page", event_model.pack_datum_page(doc)
            file.write(pack(name, doc))
            if name == "stop":
                file.close()
                file = None
    except BaseException:
        # A file this call could not finish is removed, so a retry is not refused as
        # "already exists"; runs finished before the failure stay.
        if file is not None:
            file.close()
            fs.rm(path)
            written.pop()
        raise
    if file is not None:  # the documents ended without a RunStop: a partial run
        file.close()
    return written
