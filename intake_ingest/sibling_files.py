"""The other files of a selection, looked up by name instead of scanned.

An ingestor whose main file reads others (an Eiger master its data files, a NeXus file
the files it links to) is asked, for each main file, which of the other files of the
selection are its companions (``IngestorSpec.companions``). Scanning every other file
for every main file made a folder of N masters cost N x N; here the selection is
indexed once (by identity, by folder, by name within a folder) and each main file
looks up the few names it expects.
"""

import bisect
import posixpath
from collections.abc import Sequence

__all__ = ["Selection", "Siblings", "as_siblings"]


class Selection:
    """The files of a selection (SourceFiles, each identity once), indexed on first lookup.

    Pickled as its list of files only (what an isolated worker is sent): the tables are
    built again, once, where they are used.
    """

    def __init__(self, sources):
        self.sources = list(sources)
        self._position = None  # identity -> position in sources
        self._folders = None  # (chain, folder) -> ([names, sorted], [their positions])
        self._subfolders = None  # (chain, folder) -> [folders directly inside it that hold files]

    def __getstate__(self):
        return {"sources": self.sources}

    def __setstate__(self, state):
        self.__init__(state["sources"])

    def siblings(self, position):
        """The files other than ``sources[position]`` (None: all of them), as :class:`Siblings`."""
        return Siblings(self, position)

    def position(self, identity):
        """Where the file of this identity is in ``sources``, or None."""
        self._index()
        return self._position.get(identity)

    def in_folder(self, chain, folder, prefix=""):
        """Positions of the files directly in ``folder`` whose name starts with ``prefix``."""
        self._index()
        found = self._folders.get((chain, folder))
        if found is None:
            return []
        names, positions = found
        start = bisect.bisect_left(names, prefix)
        end = start
        while end < len(names) and names[end].startswith(prefix):
            end += 1
        return positions[start:end]

    def subfolders(self, chain, folder):
        """The folders directly inside ``folder`` that hold files of the selection."""
        self._index()
        return self._subfolders.get((chain, folder), [])

    def _index(self):
        if self._position is not None:
            return
        position, by_folder = {}, {}
        for index, source in enumerate(self.sources):
            position[source.identity] = index
            # dirname and basename, as the ingestors' rules compare them
            folder, name = posixpath.split(source.path)
            by_folder.setdefault((source.chain, folder), []).append((name, index))
        folders, subfolders = {}, {}
        for (chain, folder), entries in by_folder.items():
            entries.sort()
            folders[chain, folder] = ([name for name, _ in entries], [index for _, index in entries])
            subfolders.setdefault((chain, posixpath.dirname(folder)), []).append(folder)
        self._position, self._folders, self._subfolders = position, folders, subfolders


class Siblings(Sequence):
    """The files of a selection but one, the candidate companions of that one.

    A sequence of SourceFiles in selection order (what a ``companions`` function that
    scans gets), with lookups for one that knows the names it expects: by identity, by
    folder and name prefix, by subfolder; each answer in selection order and never the
    file left out.
    """

    def __init__(self, selection, excluded=None):
        self._selection = selection
        self._excluded = excluded

    def __len__(self):
        return len(self._selection.sources) - (self._excluded is not None)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        if self._excluded is not None and index >= self._excluded:
            index += 1
        return self._selection.sources[index]

    def __iter__(self):
        sources, excluded = self._selection.sources, self._excluded
        if excluded is None:
            return iter(sources)
        return (source for index, source in enumerate(sources) if index != excluded)

    def get(self, identity):
        """The file of this identity, or None."""
        position = self._selection.position(identity)
        if position is None or position == self._excluded:
            return None
        return self._selection.sources[position]

    def in_folder(self, chain, folder, prefix=""):
        """The files directly in ``folder`` (of a chained URL's ``chain``) whose name starts with ``prefix``."""
        return self._files(self._selection.in_folder(chain, folder, prefix))

    def subfolders(self, chain, folder):
        """The folders directly inside ``folder`` that hold files (paths, as in SourceFile.path)."""
        return list(self._selection.subfolders(chain, folder))

    def in_order(self, files):
        """``files`` in selection order, each once; those not among these files left out."""
        positions = {self._selection.position(source.identity) for source in files}
        positions.discard(None)
        return self._files(positions)

    def _files(self, positions):
        sources = self._selection.sources
        return [sources[position] for position in sorted(positions) if position != self._excluded]


def as_siblings(candidates):
    """``candidates`` as :class:`Siblings`: indexed once here if given as a plain list of SourceFiles."""
    if isinstance(candidates, Siblings):
        return candidates
    return Selection(candidates).siblings(None)
