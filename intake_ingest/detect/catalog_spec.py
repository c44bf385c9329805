"""Writing a detection plan as a YAML catalog spec that intake opens.

Each group of runs becomes one ``bluesky-ingest-catalog`` source whose pattern is
written relative to ``{{ CATALOG_DIR }}``: a glob of a numbered family (``scan_*.tif``)
where it matches exactly the planned files (so files added later appear on refresh), the
list of files otherwise. Sources are named after what they hold (``dark``, ``fourc``).

A spec is text: a file whose name is not UTF-8 (bytes Python keeps as surrogate escapes)
cannot be written into it so that it is read back, so such a plan is refused, naming
the file, before anything is written.
"""

import posixpath
import re

import yaml

from ..errors import IngestError
from ..grouping import numbered_name
from ..registry import get_spec

__all__ = ["catalog_spec", "write_catalog_spec"]


def _relative(path, catalog_dir):
    if catalog_dir and (path == catalog_dir or path.startswith(catalog_dir.rstrip("/") + "/")):
        return "{{ CATALOG_DIR }}/" + posixpath.relpath(path, catalog_dir)
    return path  # outside the catalog's folder: kept as it is


def _slug(text):
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower() or "files"


def _group_key(run):
    """Runs that one source can make: same ingestor, folder and numbered family.

    The family is the glob of a numbered name (``dark_*.tif``); files without a number
    have none (None), so their source lists them: a glob such as ``*.spec`` would pick up
    any unrelated file of that extension written to the folder later.
    """
    first = run.files[0]
    folder, name = posixpath.split(first.path)
    spec = get_spec(run.ingestor)
    parts = numbered_name(name)
    family = f"{parts[0]}*{parts[2]}" if parts else None
    return (run.ingestor, folder, spec.grouping, family)


def _source_name(folder, family, planned):
    """What a source holds: the numbered family's prefix, the one file's stem, else the folder."""
    if family is not None:
        stem = family.split("*")[0]
    elif len(planned) == 1:
        stem = posixpath.splitext(posixpath.basename(next(iter(planned))))[0]
    else:
        stem = posixpath.basename(folder)
    return _slug(stem)


def catalog_spec(plan, catalog_path):
    """The plan as a YAML catalog spec (a dict), paths relative to the catalog file's folder.

    The plan's ``files`` (every file detection saw) decide where a glob can stand for
    the planned files: only where it matches nothing else.

    Parameters
    ----------
    plan : Plan
    catalog_path : str
        Where the spec will be written (local path).

    Raises
    ------
    IngestError
        Naming a planned file whose name is not UTF-8: the spec could not be read back.
    """
    _refuse_names_that_are_not_utf8(plan)
    catalog_dir = posixpath.dirname(posixpath.abspath(catalog_path))
    groups = {}
    for run in plan.runs:
        groups.setdefault(_group_key(run), []).append(run)
    seen_paths = {source.path for source in plan.files}
    sources = {}
    for (ingestor, folder, grouping, glob), runs in groups.items():
        planned = {source.path: source for run in runs for source in run.files}
        first = runs[0].files[0]
        matched = set()
        if glob is not None:
            matched = {path for path in seen_paths | set(planned) if posixpath.dirname(path) == folder}
            matched = {path for path in matched if _glob_match(posixpath.basename(path), glob)}
        if glob is not None and matched == set(planned):
            where = posixpath.join(folder, glob)
            pattern = _relative(where, catalog_dir) if first.is_local else first.fs.unstrip_protocol(where)
        else:
            pattern = sorted(
                _relative(path, catalog_dir) if source.is_local else source.url
                for path, source in planned.items()
            )
        name = _unique(sources, _source_name(folder, glob, planned))
        args = {"pattern": pattern, "ingestor": ingestor, "group_by": grouping}
        if grouping == "prefix":
            args["split_gaps"] = True
        sources[name] = {
            "description": f"{len(runs)} run(s) of {ingestor}, found by intake-ingest detect",
            "driver": "bluesky-ingest-catalog",
            "args": args,
        }
    return {"metadata": {"version": 1, "generated_by": "intake-ingest catalog"}, "sources": sources}


def _refuse_names_that_are_not_utf8(plan):
    """Raise an IngestError naming the first planned file whose name is not UTF-8 (and how many more)."""
    names = [source.url for run in plan.runs for source in run.files]
    bad = list(dict.fromkeys(name for name in names if not _is_utf8(name)))
    if not bad:
        return
    code = ord(next(character for character in bad[0] if not _is_utf8(character)))
    # Bytes that are not UTF-8 are kept as surrogate escapes U+DC80..U+DCFF (PEP 383).
    what = f"byte 0x{code - 0xDC00:02X}" if 0xDC80 <= code <= 0xDCFF else f"character U+{code:04X}"
    others = f" (and {len(bad) - 1} more file(s))" if len(bad) > 1 else ""
    raise IngestError(
        bad[0],
        f"its name is not UTF-8 ({what}){others}: a YAML catalog spec holds text and "
        "could not be read back with it; rename the file, select only files with UTF-8 names, or ingest the "
        "runs to msgpack (intake-ingest ingest --to DIR), whose catalogs keep such names",
    )


def _is_utf8(text):
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _glob_match(name, glob):
    import fnmatch

    return fnmatch.fnmatchcase(name, glob)


def _unique(existing, name):
    candidate, counter = name, 2
    while candidate in existing:
        candidate, counter = f"{name}_{counter}", counter + 1
    return candidate


def write_catalog_spec(plan, catalog_path):
    """Write :func:`catalog_spec` to a local YAML file; returns the spec.

    Raises
    ------
    IngestError
        Naming a planned file whose name is not UTF-8 (nothing is written).
    """
    spec = catalog_spec(plan, catalog_path)
    with open(catalog_path, "w") as file:
        yaml.safe_dump(spec, file, sort_keys=False)
    return spec
