"""Grouping matched files into runs: each file alone, a folder, or a numbered-file prefix."""

import posixpath
import re

__all__ = ["GROUPINGS", "group_files", "numbered_name", "numbered_order", "series_key"]

GROUPINGS = ("file", "directory", "prefix")

# areaDetector's FileTemplate "%s%s_%3.3d.tif" and most counters: a prefix, digits, extension.
# The extension (".tiff", ".h5", ".edf.gz": each part starts with a letter) is split off
# first, so that the digit of ".h5" is never read as a file number.
_EXTENSION = re.compile(r"(\.[^\W\d]\w*)*$")
_NUMBERED_STEM = re.compile(r"^(?P<prefix>.*?)(?P<number>\d+)$")


def numbered_name(name):
    """Split ``scan_0012.tiff`` into ``('scan_', 12, '.tiff')``; None if it has no number.

    ``single.h5`` has none; ``scan.003`` (a number as extension) is ``('scan.', 3, '')``.
    """
    suffix_start = _EXTENSION.search(name).start()
    match = _NUMBERED_STEM.match(name[:suffix_start])
    if match is None:
        return None
    return match["prefix"], int(match["number"]), name[suffix_start:]


def series_key(source):
    """(folder, prefix, extension, number) of a numbered file; an unnumbered file stands alone."""
    name = posixpath.basename(source.path)
    parts = numbered_name(name)
    if parts is None:
        return posixpath.dirname(source.path), name, "", None
    prefix, number, suffix = parts
    return posixpath.dirname(source.path), prefix, suffix, number


def numbered_order(sources):
    """Files by folder, prefix and extension, then in numeric order (``x_9`` before ``x_10``)."""
    keys = {source.identity: series_key(source) for source in sources}
    return sorted(
        sources,
        key=lambda source: (keys[source.identity][:3], keys[source.identity][3] or 0, source.identity),
    )


def _directory(source):
    return posixpath.dirname(source.path)


def _prefix_group(source):
    """(group key, number) of a file: numbered files sharing folder, prefix and extension
    share a key; a file without a number is a group of its own (number None; its key
    cannot be a series' key, so ``a.tif`` never joins ``a5.tif``... nor ``a`` ``a5``)."""
    folder, _, name = source.path.rpartition("/")  # a third of posixpath.split's time
    parts = numbered_name(name)
    if parts is None:
        return (folder, name, None), None
    prefix, number, suffix = parts
    return (folder, prefix, suffix), number


def _split_at_gaps(numbered):
    """A numerically sorted series cut where a number is missing: 1,2,3,7,8 -> 1-3, 7-8.

    ``numbered`` holds ``(number, source)`` pairs.
    """
    runs, previous = [], None
    for number, source in numbered:
        if previous is None or number != previous + 1:
            runs.append([])
        runs[-1].append(source)
        previous = number
    return runs


def group_files(sources, by="file", split_gaps=False):
    """Files in groups, one group per run, in the order of their first file.

    Parameters
    ----------
    sources : list of SourceFile
        Sorted, as :func:`intake_ingest.files.expand` returns them.
    by : {'file', 'directory', 'prefix'}
        'file': each file is a run; 'directory': the files of each folder are one run;
        'prefix': numbered files sharing folder, prefix and extension are one run
        (``scan_001.tif``, ``scan_002.tif`` | ``dark_001.tif``).
    split_gaps : bool
        With 'prefix': a series with missing numbers is several runs, one per unbroken
        range (files numbered on from an earlier acquisition, or deleted files).

    Returns
    -------
    list of list of SourceFile
    """
    if by == "file":
        return [[source] for source in sources]
    if by == "directory":
        groups = {}
        for source in sources:
            groups.setdefault(_directory(source), []).append(source)
        result = list(groups.values())
    elif by == "prefix":
        # Each name is parsed once (detection groups hundreds of thousands of files).
        numbered = {}
        for source in sources:
            key, number = _prefix_group(source)
            numbered.setdefault(key, []).append((number, source))
        result = []
        for members in numbered.values():
            if members[0][0] is None:  # not numbered: a run of its own
                result.append([source for _, source in members])
                continue
            # Numeric order, so scan_9 comes before scan_10 however the names are padded
            # (a stable sort: files of one number keep their given order).
            members.sort(key=lambda member: member[0])
            result.extend(_split_at_gaps(members) if split_gaps else [[source for _, source in members]])
    else:
        raise ValueError(f"group_by must be one of {GROUPINGS}, not {by!r}")
    return sorted(result, key=lambda members: min(source.identity for source in members))
