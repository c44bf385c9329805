"""Making the runs of a selected plan, one at a time, each failure reported and passed over.

:class:`IngestModel` is plain Python (no panel): the app's Ingest tab drives it. The
work itself is :func:`intake_ingest.detect.ingest`, the same as the command line's.
"""

from ..detect.ingesting import TARGETS, RunResult, ingest

__all__ = ["IngestModel", "RunResult", "TARGETS"]


class IngestModel:
    """Ingest a plan run by run into an in-memory catalog or msgpack files.

    Each run is made on its own: an :class:`~intake_ingest.IngestError` (or any other
    exception) in one run is recorded in its :class:`RunResult`, naming the file, and
    the next run is made.

    Parameters
    ----------
    catalog : BlueskyInMemoryCatalog, optional
        Where in-memory runs go; by default one is created on first use and kept, so
        several ingests add to the same catalog.
    """

    def __init__(self, catalog=None):
        self.catalog = catalog
        self.results = []
        self.last = None  # the IngestResult of the last ingest
        self.target = "memory"
        self.folder = None

    def ingest(
        self,
        plan,
        *,
        to="memory",
        folder=None,
        overwrite=False,
        check=True,
        storage_options=None,
        progress=None,
        isolate=True,
    ):
        """Make every run of ``plan``.

        Parameters
        ----------
        plan : Plan
            e.g. :meth:`SelectionModel.selected_plan`.
        to : {'memory', 'msgpack'}
        folder : str
            With ``to='msgpack'``: folder or fsspec URL for ``<uid>.msgpack`` files.
        overwrite : bool
            With msgpack: write runs whose file exists again (default: skip them).
        check : bool
            In memory: read each run up to its first event now, so that a run its
            ingestor cannot read is reported now rather than when it is browsed (only
            the RunStart is read otherwise).
        storage_options : dict, optional
            For ``folder``.
        progress : callable, optional
            Called with the fraction done (0 to 1), before the first run and after each.
        isolate : bool
            Read (and check) each run in a worker process, so a reader that crashes costs
            only its run, named in its result, not the app.

        Returns
        -------
        list of RunResult
            Also kept as :attr:`results`.
        """
        if to not in TARGETS:
            raise ValueError(f"to must be one of {TARGETS}, not {to!r}")
        if to == "msgpack" and not folder:
            raise ValueError("give the folder to write msgpack files to")
        if to == "memory" and self.catalog is None:
            from ..catalog import BlueskyInMemoryCatalog

            self.catalog = BlueskyInMemoryCatalog(name="gui")
        self.target, self.folder = to, folder
        self.last = ingest(
            plan,
            to=folder if to == "msgpack" else None,
            catalog=self.catalog,
            overwrite=overwrite,
            check=check,
            storage_options=storage_options,
            progress=progress if progress is not None else False,
            isolate=isolate,
        )
        self.results = self.last.results
        return self.results

    def rows(self):
        """One dict per run of the last ingest: run, status, ingestor, first, kwargs, uid, message."""
        return [result.to_dict() for result in self.results]

    def summary(self):
        """One line: how many runs went where, and how many failed (the table names them)."""
        if self.last is None:
            return "nothing ingested yet"
        return self.last.summary().splitlines()[0]

    def browse_target(self):
        """What to browse after the last ingest: the in-memory catalog, or the msgpack folder."""
        return self.catalog if self.target == "memory" else self.folder
