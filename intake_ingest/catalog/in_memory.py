"""A catalog of runs produced by ingestor generators, held in this process."""

from ..registry import get_ingestor
from ..run import RunDocuments
from .base import BlueskyCatalog, RunEntry

__all__ = ["BlueskyInMemoryCatalog"]


class BlueskyInMemoryCatalog(BlueskyCatalog):
    """Runs added by :meth:`upsert` from ingestors; searchable by their RunStart.

    Parameters
    ----------
    runs : list of dict, optional
        Runs to add now, each ``{'ingestor': name, 'args': [...], 'kwargs': {...}}``
        naming a registered ingestor: the form a YAML catalog uses.
    **kwargs
        Passed to :class:`intake.catalog.Catalog` (``name``, ``metadata``, ...).

    Examples
    --------
    In a YAML catalog:

    .. code-block:: yaml

        sources:
          tiff_runs:
            driver: bluesky-in-memory-catalog
            args:
              runs:
                - ingestor: tiff_series
                  args: ["{{ CATALOG_DIR }}/data/scan_0001/*.tiff"]
                - ingestor: tiff_stack
                  args: ["{{ CATALOG_DIR }}/data/stack/stack.tiff"]

    In Python:

    >>> catalog = BlueskyInMemoryCatalog()
    >>> uid = catalog.upsert(ingest_tiff_series, ("files/*.tiff",), {})  # doctest: +SKIP
    >>> catalog[uid].primary.read()  # doctest: +SKIP
    """

    name = "bluesky-in-memory-catalog"

    def __init__(self, runs=None, **kwargs):
        kwargs.setdefault("ttl", None)  # nothing to reload: entries only change by upsert
        super().__init__(**kwargs)
        for run in runs or ():
            run_kwargs = dict(run.get("kwargs") or {})
            if self.storage_options:
                # intake passes the catalog file's storage options (an archive's, say)
                # to entries whose paths use CATALOG_DIR; the runs' files are there too.
                run_kwargs.setdefault("storage_options", self.storage_options)
            self.upsert_by_name(run["ingestor"], run.get("args", ()), run_kwargs)

    def upsert_by_name(self, ingestor, args=(), kwargs=None):
        """:meth:`upsert` a run from a registered ingestor, named as in a YAML catalog.

        Parameters
        ----------
        ingestor : str
            Name of a registered ingestor, e.g. ``'tiff_series'``.
        args : list
            Positional arguments for the ingestor.
        kwargs : dict, optional
            Keyword arguments for the ingestor.

        Returns
        -------
        uid : str
        """
        if isinstance(args, (str, bytes)):
            args = [args]
        return self.upsert(get_ingestor(ingestor), tuple(args), kwargs or {})

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
