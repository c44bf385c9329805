"""What every catalog of runs shares: runs listed by uid, searched with MongoDB queries."""

from functools import partial

from intake.catalog import Catalog
from mongoquery import Query

from .._version import __version__
from ..run import BlueskyRun
from ..run.entry import LazyEntry

__all__ = ["BlueskyCatalog", "RunEntry"]


class RunStartQuery(Query):
    """mongoquery, with MongoDB's rule that ``$regex`` on an array matches any of its strings.

    A run made from a list of files records the list as its ``source``.
    """

    @staticmethod
    def _regex(condition, entry):
        if isinstance(entry, (list, tuple)):
            return any(Query._regex(condition, item) for item in entry)
        return Query._regex(condition, entry)


class RunEntry(LazyEntry):
    """A run in a catalog: its RunStart, and how to get the rest of its documents.

    Parameters
    ----------
    start : dict
        The RunStart document; search looks only at this.
    open_documents : callable
        Returns the run's :class:`~intake_ingest.run.RunDocuments`.
    """

    def __init__(self, start, open_documents):
        self.start = start
        super().__init__(
            start["uid"],
            partial(_make_run, open_documents),
            container="bluesky-run",
            metadata={"start": start},
        )


def _make_run(open_documents, **kwargs):
    return BlueskyRun(open_documents(), **kwargs)


class BlueskyCatalog(Catalog):
    """Runs by uid, in the order they were added; ``search`` takes MongoDB queries.

    ``catalog[uid]`` and ``catalog[-1]`` (by position) give a :class:`BlueskyRun`.
    """

    name = "bluesky-catalog"
    version = __version__

    def __init__(self, entries=None, **kwargs):
        kwargs.setdefault("name", type(self).name)
        super().__init__(entries=entries, **kwargs)

    def __repr__(self):
        return f"<{type(self).__name__} {self.name!r}: {len(self)} runs>"

    def _get_entry(self, name):
        # intake's version stores the catalog on the entry (``entry._catalog = self``): a
        # reference cycle that keeps every run's arrays alive until the garbage collector
        # runs. Our entries need nothing from their catalog.
        return self._entries[name]()

    def __getitem__(self, key):
        if isinstance(key, int) and not isinstance(key, bool):
            uids = list(self)
            try:
                key = uids[key]
            except IndexError:
                raise IndexError(f"catalog has {len(uids)} runs; no run at index {key}") from None
        return super().__getitem__(key)

    def search(self, query):
        """Runs whose RunStart matches a MongoDB query.

        Parameters
        ----------
        query : dict
            e.g. ``{'time': {'$lt': 1558887100}}``, ``{'sample.name': {'$regex': '^Si'}}``.

        Returns
        -------
        BlueskyCatalog
            The matching runs in the same order; it can be searched again.
        """
        matcher = RunStartQuery(query)
        matched = {
            uid: entry for uid, entry in self._get_entries().items() if matcher.match(entry.start)
        }
        return BlueskyCatalog(
            entries=matched,
            name=f"{self.name}_search",
            metadata={"search": query, "upstream": self.name},
            ttl=None,
        )
