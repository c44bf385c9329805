"""What a shared catalog spec may contain: an allow-list, checked before anything is made.

Top level: ``sources`` (required), ``metadata``, ``description``, ``name``.
Each entry of ``sources``: ``driver`` (required), ``args``, ``description``, ``metadata``.
Drivers: one run driver per ingestor in this package's registry (``bluesky-`` + its name
with dashes; ``intake-ingest ingestors`` lists them), this package's catalog drivers
(:data:`CATALOG_DRIVERS`), and intake's ``yaml_file_cat``, opened as
``bluesky-yaml-catalog`` (:data:`DRIVER_ALIASES`). Each driver's ``args`` are checked by
name and type: paths by :class:`.spec_paths.PathPolicy`, storage options by
:mod:`.spec_storage`, every other value a plain string, number, boolean or null.
Anything else is refused, naming its path in the spec.
"""

import inspect
from dataclasses import dataclass, field

from ..grouping import GROUPINGS
from ..registry import driver_name, get_spec, ingestor_names
from .spec_errors import Problem
from .spec_paths import location
from .spec_storage import storage_option_problems
from .templates import render

__all__ = [
    "CATALOG_DRIVERS",
    "DRIVER_ALIASES",
    "ENTRY_KEYS",
    "TOP_LEVEL_KEYS",
    "CatalogPlan",
    "EntryPlan",
    "allowed_drivers",
    "ingestor_arguments",
    "validate_spec",
]

TOP_LEVEL_KEYS = ("sources", "metadata", "description", "name")
ENTRY_KEYS = ("driver", "args", "description", "metadata")
CATALOG_DRIVERS = ("bluesky-ingest-catalog", "bluesky-in-memory-catalog", "bluesky-msgpack-catalog",
                   "bluesky-yaml-catalog")
#: Drivers of other packages accepted, and the driver of this package that opens them.
DRIVER_ALIASES = {"yaml_file_cat": "bluesky-yaml-catalog"}

# Keys intake itself interprets, and why a shared spec may not use them.
_INTAKE_KEYS = {
    "cls": "intake imports and calls the class it names (intake.utils.remake_instance)",
    "parameters": "user parameters are not supported in shared specs (intake expands shell() "
                  "and env() in their defaults and renders them with Jinja)",
    "plugins": "a 'plugins:' section imports Python modules",
    "cache": "intake's cache writes copies of the data to disk",
    "remote": "remote entries are not supported",
    "direct_access": "only meaningful for intake servers",
    "version": "intake opens specs of another version with another, unchecked loader",
}


@dataclass
class EntryPlan:
    """An entry that passed the allow-list, with its args rendered.

    Attributes
    ----------
    name, driver, description : str
        ``driver`` is this package's name for it (aliases resolved).
    args : dict
        Rendered and checked.
    metadata : dict
    paths : list of str
        Every path the entry reads (to decide which storage options it inherits).
    """

    name: str
    driver: str
    args: dict
    description: str = ""
    metadata: dict = field(default_factory=dict)
    paths: list = field(default_factory=list)


@dataclass
class CatalogPlan:
    """A spec that passed the allow-list: its metadata and its entries, in order."""

    entries: list
    metadata: dict = field(default_factory=dict)
    description: str = ""
    name: str = ""


def allowed_drivers():
    """``{driver name: ingestor name or None}`` for every driver a shared spec may use."""
    drivers = {driver_name(name): name for name in ingestor_names()}
    drivers.update({name: None for name in CATALOG_DRIVERS})
    drivers.update({alias: None for alias in DRIVER_ALIASES})
    return drivers


def ingestor_arguments(ingestor):
    """``(path argument name, other keyword names)`` of a registered ingestor.

    The first argument of every ingestor is its file, glob or list of files.
    """
    parameters = list(inspect.signature(get_spec(ingestor).ingest).parameters.values())
    named = [p for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    return named[0].name, {p.name: p.default for p in named[1:] if p.name != "storage_options"}


class _Checker:
    """Collects the problems of one spec while checking it; one per offending path."""

    def __init__(self, policy):
        self.policy = policy
        self.problems = []

    def refuse(self, where, reason):
        self.problems.append(Problem(where, reason))

    def mapping(self, where, value, required=False):
        if value is None and not required:
            return {}
        if not isinstance(value, dict):
            self.refuse(where, f"must be a mapping, not {_kind(value)}")
            return None
        return value

    def keys(self, where, value, allowed, required=()):
        for key in value:
            if key not in allowed:
                why = _INTAKE_KEYS.get(key, f"accepted here: {', '.join(allowed)}")
                self.refuse(key if where == "catalog" else f"{where}.{key}", f"key {key!r} is not allowed ({why})")
        for key in required:
            if key not in value:
                self.refuse(where, f"needs {key!r}")

    def option(self, where, value, default):
        """An ingestor's keyword argument: a boolean where its default is one, else a plain value."""
        if isinstance(default, bool):
            self.typed(where, value, (bool,), "true or false")
        else:
            self.scalar(where, value)

    def scalar(self, where, value):
        if value is not None and not isinstance(value, (str, int, float, bool)):
            self.refuse(where, f"must be a string, number, boolean or null, not {_kind(value)}")

    def typed(self, where, value, types, what):
        if not isinstance(value, types) or (bool not in types and isinstance(value, bool)):
            self.refuse(where, f"must be {what}, not {value!r}")

    def plain(self, where, value):
        """Free-form metadata: plain values, mappings with string keys, lists."""
        if isinstance(value, dict):
            for key, item in value.items():
                self.plain(f"{where}.{key}", item)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                self.plain(f"{where}[{index}]", item)
        else:
            self.scalar(where, value)

    def paths(self, where, value, single=False):
        """Accepted paths of a path-or-list-of-paths argument."""
        items = value if isinstance(value, list) and not single else [value]
        if isinstance(value, list) and (single or not value):
            self.refuse(where, "must be one path" if single else "must not be an empty list")
            return []
        accepted = []
        for index, item in enumerate(items):
            item_where = where if items is not value else f"{where}[{index}]"
            reason = self.policy.problem(item)
            if reason:
                self.refuse(item_where, reason)
            else:
                accepted.append(item)
        return accepted

    def ingestor(self, where, value):
        if not isinstance(value, str) or value not in ingestor_names():
            self.refuse(where, f"{value!r} is not a registered ingestor ({', '.join(ingestor_names())})")
            return None
        return value

    def ingestor_kwargs(self, where, kwargs, ingestor):
        kwargs = self.mapping(where, kwargs)
        if kwargs is None or ingestor is None:
            return
        _, options = ingestor_arguments(ingestor)
        self.keys(where, kwargs, tuple(options))
        for key, default in options.items():
            if key in kwargs:
                self.option(f"{where}.{key}", kwargs[key], default)

    def storage_options(self, where, args, paths):
        if "storage_options" in args:
            protocols = {location(path)[0] for path in paths}
            self.problems.extend(storage_option_problems(where + ".storage_options", args["storage_options"], protocols))

    def ttl(self, where, args):
        if args.get("ttl") is not None:
            self.typed(f"{where}.ttl", args["ttl"], (int, float), "a number of seconds or null")


def _kind(value):
    return {dict: "a mapping", list: "a list", str: "a string"}.get(type(value), repr(value))


def _check_run_args(check, where, args, ingestor):
    path_name, options = ingestor_arguments(ingestor)
    check.keys(where, args, (path_name, *options, "storage_options"), required=(path_name,))
    for key, default in options.items():
        if key in args:
            check.option(f"{where}.{key}", args[key], default)
    paths = check.paths(f"{where}.{path_name}", args[path_name]) if path_name in args else []
    check.storage_options(where, args, paths)
    return paths


def _check_in_memory_args(check, where, args):
    check.keys(where, args, ("runs",))
    runs = args.get("runs") or []
    if not isinstance(runs, list):
        check.refuse(f"{where}.runs", f"must be a list of runs, not {_kind(runs)}")
        return []
    paths = []
    for index, run in enumerate(runs):
        run_where = f"{where}.runs[{index}]"
        run = check.mapping(run_where, run, required=True)
        if run is None:
            continue
        check.keys(run_where, run, ("ingestor", "args", "kwargs"), required=("ingestor", "args"))
        ingestor = check.ingestor(f"{run_where}.ingestor", run.get("ingestor"))
        run_args = run.get("args")
        run_args = [run_args] if isinstance(run_args, str) else run_args
        if not isinstance(run_args, list) or len(run_args) != 1:
            check.refuse(f"{run_where}.args", "must be a list of one item: the path (or list of paths) to ingest")
        else:
            paths += check.paths(f"{run_where}.args[0]", run_args[0])
        kwargs = check.mapping(f"{run_where}.kwargs", run.get("kwargs"))
        if kwargs and ingestor:
            _, options = ingestor_arguments(ingestor)
            check.keys(f"{run_where}.kwargs", kwargs, (*options, "storage_options"))
            for key, default in options.items():
                if key in kwargs:
                    check.option(f"{run_where}.kwargs.{key}", kwargs[key], default)
            check.storage_options(f"{run_where}.kwargs", kwargs, paths)
    return paths


def _check_catalog_args(check, where, driver, args):
    if driver == "bluesky-in-memory-catalog":
        return _check_in_memory_args(check, where, args)
    if driver == "bluesky-ingest-catalog":
        check.keys(where, args, ("pattern", "ingestor", "group_by", "split_gaps", "ingestor_kwargs",
                                 "storage_options", "ttl"), required=("pattern", "ingestor"))
        ingestor = check.ingestor(f"{where}.ingestor", args.get("ingestor")) if "ingestor" in args else None
        if "group_by" in args and args["group_by"] not in GROUPINGS:
            check.refuse(f"{where}.group_by", f"must be one of {', '.join(GROUPINGS)}, not {args['group_by']!r}")
        if "split_gaps" in args:
            check.typed(f"{where}.split_gaps", args["split_gaps"], (bool,), "true or false")
        check.ingestor_kwargs(f"{where}.ingestor_kwargs", args.get("ingestor_kwargs"), ingestor)
        path_key = "pattern"
    elif driver == "bluesky-msgpack-catalog":
        check.keys(where, args, ("paths", "storage_options", "ttl"), required=("paths",))
        path_key = "paths"
    else:  # bluesky-yaml-catalog
        check.keys(where, args, ("path", "storage_options", "ttl"), required=("path",))
        path_key = "path"
    paths = check.paths(f"{where}.{path_key}", args[path_key], single=path_key == "path") if path_key in args else []
    check.storage_options(where, args, paths)
    check.ttl(where, args)
    return paths


def _check_entry(check, name, entry, drivers):
    where = f"sources.{name}"
    entry = check.mapping(where, entry, required=True)
    if entry is None:
        return None
    check.keys(where, entry, ENTRY_KEYS, required=("driver",))
    driver = entry.get("driver")
    if "driver" in entry and (not isinstance(driver, str) or driver not in drivers):
        kind = "an import path (intake would import and call it)" if isinstance(driver, str) and "." in driver \
            else "not one of the drivers a shared spec may use"
        check.refuse(f"{where}.driver", f"driver {driver!r} is {kind}; accepted: this package's drivers "
                                        "(intake-ingest ingestors lists them), "
                                        f"{', '.join(CATALOG_DRIVERS)}, {', '.join(DRIVER_ALIASES)}")
        driver = None
    if "description" in entry:
        check.typed(f"{where}.description", entry["description"], (str,), "a string")
    metadata = check.mapping(f"{where}.metadata", entry.get("metadata"))
    if metadata:
        check.plain(f"{where}.metadata", metadata)
    args = check.mapping(f"{where}.args", entry.get("args"))
    if driver is None or args is None:
        return None
    args = render(args, check.policy.catalog_dir)
    driver = DRIVER_ALIASES.get(driver, driver)
    if drivers[driver] is not None:
        paths = _check_run_args(check, f"{where}.args", args, drivers[driver])
    else:
        paths = _check_catalog_args(check, f"{where}.args", driver, args)
    return EntryPlan(name, driver, args, entry.get("description") or "", metadata or {}, paths)


def validate_spec(spec, policy):
    """Check a parsed spec against the allow-list.

    Parameters
    ----------
    spec : object
        From :func:`.spec_loader.parse_spec`.
    policy : PathPolicy
        Where the spec's entries may read; its ``catalog_dir`` renders ``{{ CATALOG_DIR }}``.

    Returns
    -------
    plan : CatalogPlan or None
        None when there are problems.
    problems : list of Problem
    """
    check = _Checker(policy)
    spec = check.mapping("catalog", spec, required=True)
    if spec is None:
        return None, check.problems
    check.keys("catalog", spec, TOP_LEVEL_KEYS, required=("sources",))
    for key in ("description", "name"):
        if key in spec:
            check.typed(key, spec[key], (str,), "a string")
    metadata = check.mapping("metadata", spec.get("metadata"))
    if metadata:
        check.plain("metadata", metadata)
    sources = check.mapping("sources", spec.get("sources"))
    drivers = allowed_drivers()
    entries = []
    for name, entry in (sources or {}).items():
        plan = _check_entry(check, name, entry, drivers)
        if plan is not None:
            entries.append(plan)
    if check.problems:
        return None, check.problems
    return CatalogPlan(entries, metadata or {}, spec.get("description") or "", spec.get("name") or ""), []
