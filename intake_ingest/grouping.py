"""Grouping matched files into runs: each file alone, a folder, or a numbered-file prefix."""

import posixpath
import re
from operator import attrgetter
from sys import intern

__all__ = ["GROUPINGS", "group_files", "name_parts", "numbered_name", "numbered_order", "series_key"]

GROUPINGS = ("file", "directory", "prefix")

# areaDetector's FileTemplate "%s%s_%3.3d.tif" and most counters: a prefix, digits, extension.
# The extension (".tiff", ".h5", ".edf.gz": each part starts with a letter) is split off
# first, so that the digit of ".h5" is never read as a file number. Both are matched on
# the reversed name, from its start: the longest extension is then a greedy match that
# never backtracks (searching the name for where its extension starts tries every
# position), and the number is the digits right before it.
_REVERSED_EXTENSION = re.compile(r"(?:\w*[^\W\d]\.)*")
_DIGITS = re.compile(r"\d+")


def numbered_name(name):
    """Split ``scan_0012.tiff`` into ``('scan_', 12, '.tiff')``; None if it has no number.

    ``single.h5`` has none; ``scan.003`` (a number as extension) is ``('scan.', 3, '')``.
    """
    found = _number_in(name)
    if found is None:
        return None
    start, number, end = found
    return name[:start], number, name[end:]


def name_parts(path):
    """``(folder, prefix, number, extension)`` of a POSIX path, its name parsed once.

    ``/data/scan_0012.tiff`` is ``('/data', 'scan_', 12, '.tiff')``; a name without a
    number is ``(folder, name, None, '')``. The folder is what precedes the last ``/``.
    """
    slash = path.rfind("/")
    # Interned: the files of a folder, or of a series, share one string each (kept per
    # file for up to millions of files, a third of a listed file's memory otherwise).
    folder = intern(path[:slash]) if slash >= 0 else ""
    found = _number_in(path)  # neither an extension nor a number reaches across a "/"
    if found is None:
        return folder, path[slash + 1 :], None, ""
    start, number, end = found
    return folder, intern(path[slash + 1 : start]), number, intern(path[end:])


def _number_in(text):
    """``(start, number, end)`` of the file number that ends ``text`` before its extension."""
    reversed_text = text[::-1]
    extension_length = _REVERSED_EXTENSION.match(reversed_text).end()
    digits = _DIGITS.match(reversed_text, extension_length)
    if digits is None:
        return None
    end = len(text) - extension_length
    start = len(text) - digits.end()
    return start, int(text[start:end]), end


def series_key(source):
    """(folder, prefix, extension, number) of a numbered file; an unnumbered file stands alone."""
    _, prefix, number, suffix = source.name_parts
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
    folder, prefix, number, suffix = source.name_parts
    if number is None:
        return (folder, prefix, None), None
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
    return sorted(result, key=lambda members: min(map(_identity, members)))


_identity = attrgetter("identity")
