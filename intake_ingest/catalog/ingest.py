"""A catalog whose runs are made by an ingestor from the files a glob matches."""

from ..files import expand
from ..grouping import GROUPINGS, group_files
from ..registry import get_spec
from ..run import RunDocuments
from .base import BlueskyCatalog, RunEntry

__all__ = ["BlueskyIngestCatalog"]


class BlueskyIngestCatalog(BlueskyCatalog):
    """One run per matched file, folder or numbered-file prefix, made by a registered ingestor.

    Listing and searching pull only each run's RunStart; the files are read when a run
    is read. The pattern is matched again by :meth:`force_reload` (and on access once
    ``ttl`` seconds have passed): new files appear, runs of unchanged files are kept.

    Parameters
    ----------
    pattern : str or list of str
        Glob, path or fsspec URL of the files.
    ingestor : str
        Name of a registered ingestor (see ``intake-ingest ingestors``).
    group_by : {'file', 'directory', 'prefix'}
        What makes one run: each file, each folder, or each numbered-file prefix.
    split_gaps : bool
        With ``group_by='prefix'``: one run per unbroken range of numbers.
    ingestor_kwargs : dict, optional
        Passed to the ingestor for every run.
    storage_options : dict, optional
        Passed to fsspec.
    **kwargs
        Passed to :class:`intake.catalog.Catalog` (``name``, ``ttl``, ``metadata``).

    Examples
    --------
    .. code-block:: yaml

        sources:
          scans:
            driver: bluesky-ingest-catalog
            args:
              pattern: "{{ CATALOG_DIR }}/data/scans/*/*.tiff"
              ingestor: tiff_series
              group_by: directory
    """

    name = "bluesky-ingest-catalog"

    def __init__(
        self,
        pattern,
        ingestor,
        group_by="file",
        ingestor_kwargs=None,
        storage_options=None,
        split_gaps=False,
        **kwargs,
    ):
        if group_by not in GROUPINGS:
            raise ValueError(f"group_by must be one of {GROUPINGS}, not {group_by!r}")
        self._pattern = pattern
        self._ingestor_name = ingestor
        self._spec = get_spec(ingestor)
        self._group_by = group_by
        self._split_gaps = split_gaps
        self._ingestor_kwargs = dict(ingestor_kwargs or {})
        self._storage_options = storage_options or {}
        self._runs_by_files = {}  # the files' (identity, mtime, size) -> RunEntry
        super().__init__(**kwargs)

    def _load(self):
        sources = expand(self._pattern, self._storage_options, allow_empty=True)
        entries, runs_by_files = {}, {}
        for group in group_files(sources, self._group_by, split_gaps=self._split_gaps):
            files = tuple((source.identity, source.mtime, source.size) for source in group)
            run_entries = self._runs_by_files.get(files) or self._run_entries(group)
            runs_by_files[files] = run_entries
            for entry in run_entries:
                entries[entry.start["uid"]] = entry
        self._runs_by_files = runs_by_files
        self._entries = entries

    def _run_entries(self, group):
        """The runs of one group of files: one, or one per run a multi-run file holds."""
        argument = group[0] if len(group) == 1 else group
        if self._spec.runs_in is not None and len(group) == 1:
            per_run = [{**self._ingestor_kwargs, **kwargs} for kwargs in self._spec.runs_in(group[0])]
        else:
            per_run = [self._ingestor_kwargs]
        entries = []
        for kwargs in per_run:
            generator = self._spec.ingest(argument, storage_options=self._storage_options, **kwargs)
            documents = RunDocuments(generator, label=group[0].url)
            entries.append(RunEntry(documents.start, lambda documents=documents: documents))
        return entries
