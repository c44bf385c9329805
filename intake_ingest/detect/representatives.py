"""Which files to sniff: a numbered series of alike files is sniffed through two of them.

A detector writes thousands of files that differ only in their number and their
pixels (``scan_00001.tif`` ... ``scan_10000.tif``, all of one size). Sniffing each
costs a header parse per file, and says the same thing every time. So the files of a
series are clustered by folder, name prefix, extension, width of the number and size;
the first and the last file of a cluster (in numeric order) are sniffed, and when they
agree, every file between them that starts with the same bytes as both takes their
verdict without being sniffed. Any file that differs is sniffed on its own: another
size (a truncated frame), other leading bytes (another format, a zeroed header), a name
that an ingestor's file pattern tells apart from the representatives'. A file alike in
all that but damaged further in gets the series' verdict; reading its run at ingest
then fails naming it, as for any damage beyond a header.
"""

import fnmatch
import os
from dataclasses import dataclass, field

from ..files import read_starts

__all__ = ["MIN_SERIES", "SIGNATURE_BYTES", "Representatives", "Series", "choose_representatives"]

#: How many leading bytes of each file are compared with its representatives'.
SIGNATURE_BYTES = 16
#: The representatives must share this many leading bytes (a magic number), or be
#: identical files shorter than that, for their verdict to stand for other files.
MIN_SHARED_BYTES = 4
#: A cluster this small is sniffed file by file (two representatives are nearly all of it).
MIN_SERIES = 3


@dataclass
class Series:
    """A cluster of alike files of one numbered series: two sniffed, the rest following them.

    Attributes
    ----------
    first, last : int
        Positions (in the list of files given) of the representatives.
    followers : list of int
        Positions of the files that take the representatives' verdict if they agree.
    """

    first: int
    last: int
    followers: list = field(default_factory=list)


@dataclass
class Representatives:
    """What :func:`choose_representatives` decided.

    Attributes
    ----------
    sniff : list of int
        Positions of the files to sniff: representatives and files that stand alone.
    series : list of Series
        The clusters whose followers may share their representatives' verdict.
    """

    sniff: list
    series: list


def choose_representatives(sources, specs):
    """The files to sniff, and the numbered series whose other files can follow them.

    Parameters
    ----------
    sources : list of SourceFile
        Regular files (no FIFOs or devices), in any order.
    specs : list of IngestorSpec
        The ingestors detection asks: a file whose name one of them tells apart from
        the representatives' (a file pattern that looks at digits) is sniffed alone.

    Returns
    -------
    Representatives
    """
    clusters, alone = {}, []
    for position, source in enumerate(sources):
        key, number = _cluster_key(source)
        if key is None:
            alone.append(position)
        else:
            clusters.setdefault(key, []).append((number, position))
    candidates = []
    for key, numbered in clusters.items():
        if len(numbered) < MIN_SERIES:
            alone.extend(position for _, position in numbered)
        else:
            numbered.sort()
            candidates.append((key, [position for _, position in numbered]))
    if not candidates:
        return Representatives(sorted(alone), [])
    wanted = [position for _, members in candidates for position in members]
    starts = dict(zip(wanted, read_starts([sources[position] for position in wanted], SIGNATURE_BYTES)))
    telling = _NameTelling(specs)
    chosen = []
    for key, members in candidates:
        first, last = members[0], members[-1]
        shared = _shared_start(starts[first], starts[last], size=key[_SIZE])
        if shared is None:
            alone.extend(members)
            continue
        series = Series(first, last)
        names = telling.names_of(sources[first], key[_EXTENSION])
        for position in members[1:-1]:
            start = starts[position]
            if start is not None and start.startswith(shared) and (
                not names or telling.names_of(sources[position], key[_EXTENSION]) == names
            ):
                series.followers.append(position)
            else:
                alone.append(position)
        chosen.append(series)
    return Representatives(sorted(alone + [p for series in chosen for p in (series.first, series.last)]), chosen)


# A cluster's key: what its files share (a plain tuple: a NamedTuple costs a Python call
# per file). The filesystem is by id(): hashing an fsspec instance costs one too.
_FS, _CHAIN, _FOLDER, _PREFIX, _EXTENSION, _WIDTH, _SIZE = range(7)


def _cluster_key(source):
    """``(key, number)``: the key is (filesystem id, chain, folder, prefix, extension in
    lower case, digits of the number, size), None for a file that stands alone."""
    if source.size is None:
        return None, None  # no size to compare: sniffed on its own
    folder, prefix, number, suffix = source.name_parts
    if number is None:
        return None, None
    name_length = len(source.path) - len(folder) - ("/" in source.path)  # the "/" between them
    width = name_length - len(prefix) - len(suffix)
    return (id(source.fs), source.chain, folder, prefix, suffix.lower(), width, source.size), number


def _shared_start(first, last, size):
    """The leading bytes both representatives have, or None if too few to vouch for others."""
    if first is None or last is None:
        return None
    shared = os.path.commonprefix([first, last])
    if len(shared) >= min(MIN_SHARED_BYTES, size):
        return shared
    return None


class _NameTelling:
    """Which ingestors' file patterns accept a name, asked only of the patterns that could
    tell two files of one series apart (names that differ only in the digits of their number)."""

    def __init__(self, specs):
        self._specs = specs
        self._by_extension = {}

    def names_of(self, source, extension):
        """The tuple of answers of the telling ingestors' ``matches_name`` for this file."""
        telling = self._by_extension.get(extension)
        if telling is None:
            telling = self._by_extension[extension] = [
                spec for spec in self._specs if any(not _blind_to_number(p, extension) for p in spec.patterns)
            ]
        return tuple(spec.matches_name(source.path) for spec in telling)


def _blind_to_number(pattern, extension):
    """True if whether a name matches ``pattern`` cannot depend on the digits of its number.

    The names compared are ``prefix + digits + extension`` with the same prefix, extension
    and number of digits (lower case, as patterns are matched). A literal tail of the
    pattern that the extension ends with is matched by every such name alike (``*.h5``);
    one that needs a letter where the digits are is matched by none (``*_master.h5``).
    What is left must hold no digit and no character class that takes some digits but
    not all (``[0-9]`` and ``[!.]`` take all ten).
    """
    wild = max(pattern.rfind(char) for char in "*?]")
    tail = pattern[wild + 1 :]
    if extension.endswith(tail):  # every name ends so: the rest of the pattern decides
        return not _tells_digits(pattern[: len(pattern) - len(tail)])
    if tail.endswith(extension):  # the tail reaches into the number: a digit there tells
        return not tail[-len(extension) - 1].isdigit()
    return True  # the tail and the extension disagree: no name of the series matches


def _tells_digits(pattern):
    """True if a glob holds a literal digit or a [class] taking some digits but not all."""
    position = 0
    while position < len(pattern):
        char = pattern[position]
        if char == "[":
            end = position + 1
            if end < len(pattern) and pattern[end] == "!":
                end += 1
            if end < len(pattern) and pattern[end] == "]":
                end += 1
            end = pattern.find("]", end)
            if end >= 0:
                taken = sum(fnmatch.fnmatchcase(digit, pattern[position : end + 1]) for digit in "0123456789")
                if 0 < taken < 10:
                    return True
                position = end + 1
                continue
        elif char.isdigit():
            return True
        position += 1
    return False
