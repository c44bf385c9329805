"""Sources made from entries that passed the allow-list, without intake's YAML machinery.

Each :class:`~.spec_schema.EntryPlan` becomes a :class:`SpecEntry` whose source is made
on first access, by this package's classes, from the checked and rendered arguments:
no string of the spec reaches Jinja, ``remake_instance`` or intake's driver lookup.
"""

from functools import lru_cache

from ..run.entry import LazyEntry

__all__ = ["SpecEntry", "inherited_storage_options", "make_entry"]


class SpecEntry(LazyEntry):
    """An entry of a shared spec: made once, on first access; ``describe()`` shows its driver and args.

    Parameters
    ----------
    plan : EntryPlan
    make_source : callable
        Called once, with no arguments.
    container : str
    """

    def __init__(self, plan, make_source, container):
        self.plan = plan
        self._source = None
        super().__init__(plan.name, self._make_once, container, plan.description, plan.metadata)
        self._build = make_source

    def _make_once(self, **user_parameters):
        if user_parameters:
            raise TypeError(f"entry {self.plan.name!r} of a shared spec takes no parameters, "
                            f"got {sorted(user_parameters)}")
        if self._source is None:
            self._source = self._build()
        return self._source

    def describe(self):
        return {**super().describe(), "driver": [self.plan.driver], "plugin": [self.plan.driver],
                "args": self.plan.args}


@lru_cache(maxsize=None)
def _run_class(ingestor):
    """The run driver of an ingestor: this package's :class:`~intake_ingest.drivers.IngestedRun`."""
    from ..drivers.base import IngestedRun

    return type(f"IngestedRun[{ingestor}]", (IngestedRun,), {"ingestor_name": ingestor})


def _with_options(kwargs, inherited):
    """Keyword arguments with the catalog's storage options under the spec's own."""
    options = {**inherited, **(kwargs.get("storage_options") or {})}
    return {**kwargs, "storage_options": options or None}


def inherited_storage_options(plan, catalog):
    """The user's storage options for the spec, if the entry reads only inside the spec's folder.

    They are for the spec's filesystem (an archive, credentials for a server); an entry
    reading in a data root gets none of them.
    """
    if all(map(catalog.policy.under_catalog_dir, plan.paths)):
        return dict(catalog.storage_options or {})
    return {}


def make_entry(plan, catalog, ingestor):
    """The :class:`SpecEntry` of a checked entry of ``catalog``.

    Parameters
    ----------
    plan : EntryPlan
    catalog : SafeYAMLFileCatalog
        Gives the user's storage options (inherited by entries reading inside the spec's
        folder), data roots and the chain of catalogs above it.
    ingestor : str or None
        The ingestor of a run driver; None for catalog drivers.
    """
    inherited = inherited_storage_options(plan, catalog)
    args = plan.args
    common = {"name": plan.name, "metadata": plan.metadata, "description": plan.description}
    if ingestor is not None:
        from .spec_schema import ingestor_arguments

        def make():
            run_args = _with_options(args, inherited)
            path = run_args.pop(ingestor_arguments(ingestor)[0])
            return _run_class(ingestor)(path, metadata=plan.metadata, **run_args)

        return SpecEntry(plan, make, "bluesky-run")
    if plan.driver == "bluesky-ingest-catalog":
        from .ingest import BlueskyIngestCatalog

        return SpecEntry(plan, lambda: BlueskyIngestCatalog(**_with_options(args, inherited), **common), "catalog")
    if plan.driver == "bluesky-msgpack-catalog":
        from ..msgpack import BlueskyMsgpackCatalog

        return SpecEntry(plan, lambda: BlueskyMsgpackCatalog(**_with_options(args, inherited), **common), "catalog")
    if plan.driver == "bluesky-in-memory-catalog":
        from .in_memory import BlueskyInMemoryCatalog

        runs = [{**run, "kwargs": _with_options(run.get("kwargs") or {}, inherited)} for run in args.get("runs") or []]
        return SpecEntry(plan, lambda: BlueskyInMemoryCatalog(runs=runs, **common), "catalog")
    from .safe_yaml import SafeYAMLFileCatalog  # bluesky-yaml-catalog

    def make_nested():
        return SafeYAMLFileCatalog(
            args["path"],
            **{k: v for k, v in _with_options(args, inherited).items() if k != "path"},
            data_roots=catalog.policy.data_roots,
            _ancestors=catalog.lineage,
            name=plan.name,
        )

    return SpecEntry(plan, make_nested, "catalog")

