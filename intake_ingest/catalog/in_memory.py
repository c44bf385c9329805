"""A catalog of runs produced by ingestor generators, held in this process."""

from ..run import RunDocuments
from .base import BlueskyCatalog, RunEntry

__all__ = ["BlueskyInMemoryCatalog"]


class BlueskyInMemoryCatalog(BlueskyCatalog):
    """Runs added by :meth:`upsert` from ingestors; searchable by their RunStart.

    Examples
    --------
    >>> catalog = BlueskyInMemoryCatalog()
    >>> uid = catalog.upsert(ingest_tiff_series, ("files/*.tiff",), {})  # doctest: +SKIP
    >>> catalog[uid].primary.read()  # doctest: +SKIP
    """

    name = "bluesky-in-memory-catalog"

    def __init__(self, **kwargs):
        kwargs.setdefault("ttl", None)  # nothing to reload: entries only change by upsert
        super().__init__(**kwargs)

    def upsert(self, gen_func, gen_args=(), gen_kwargs=None):
        """Add a run from an ingestor, or replace the run with the same uid in place.

        Only the RunStart is pulled now; the rest of the generator (and the files it
        reads) waits until the run is read.

        Parameters
        ----------
        gen_func : callable
            Returns an iterator of ``(name, doc)`` that yields the RunStart first.
        gen_args : tuple
            Positional arguments for ``gen_func``.
        gen_kwargs : dict
            Keyword arguments for ``gen_func``.

        Returns
        -------
        uid : str
            The run's uid.
        """
        generator = gen_func(*gen_args, **(gen_kwargs or {}))
        label = f"{getattr(gen_func, '__name__', gen_func)}{tuple(gen_args)!r}"
        documents = RunDocuments(generator, label=label)
        start = documents.start
        # Assigning to an existing key keeps its position: a replaced run stays in place.
        self._entries[start["uid"]] = RunEntry(start, lambda: documents)
        return start["uid"]
