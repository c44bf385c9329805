"""Opening catalog specs written by others: parsed, checked against an allow-list, then built.

:func:`open_catalog` (and the ``bluesky-yaml-catalog`` driver, also through
``intake.open_catalog(url, driver="bluesky-yaml-catalog")``) never hands a spec to
intake's YAML and Jinja machinery. Each time the file is read (also on reload):

1. it is parsed as plain YAML within limits (:mod:`.spec_loader`);
2. templates other than ``{{ CATALOG_DIR }}`` in args are refused (:mod:`.templates`),
   and
3. it is checked against the allow-list of keys, drivers, argument types, paths and
   storage options (:mod:`.spec_schema`, :mod:`.spec_paths`, :mod:`.spec_storage`);
4. its entries are made by this package's classes from the checked values
   (:mod:`.spec_entries`); nested catalogs go through the same steps, with cycle
   detection and a depth limit (:data:`MAX_NESTING`).

:func:`check_catalog` is the same code: it opens the catalog and every catalog it
nests, without reading any data file, and reports what was refused.
"""

import posixpath

from fsspec.core import url_to_fs
from intake.catalog import Catalog

from .._version import __version__
from .spec_entries import make_entry
from .spec_errors import Problem, UnsafeCatalogError
from .spec_loader import parse_spec, read_spec_text
from .spec_paths import PathPolicy
from .spec_schema import allowed_drivers, validate_spec
from .templates import template_problems

__all__ = ["MAX_CHECKED_CATALOGS", "MAX_NESTING", "Problem", "SafeYAMLFileCatalog", "UnsafeCatalogError", "check_catalog", "open_catalog"]

#: How many catalogs deep a spec may nest others (the outermost is 1).
MAX_NESTING = 16
#: How many nested specs :func:`check_catalog` opens at most (each file once).
MAX_CHECKED_CATALOGS = 256


class SafeYAMLFileCatalog(Catalog):
    """A YAML catalog spec from anyone, opened only if it passes the allow-list.

    Parameters
    ----------
    path : str
        Path or fsspec URL of the spec; chained URLs (``zip://c.yml::file://x.zip``) too.
    storage_options : dict, optional
        The user's fsspec options for the spec; entries reading inside the spec's folder
        get them too.
    data_roots : sequence of str, optional
        Folders or URLs outside the spec's folder that its entries may read.
    **kwargs
        Passed to :class:`intake.catalog.Catalog` (``ttl``, ``name``, ...).

    Raises
    ------
    UnsafeCatalogError
        When the spec (now, or when reloaded after a change) is refused; each problem
        names its path in the spec.

    Examples
    --------
    .. code-block:: yaml

        sources:
          detectors:
            driver: bluesky-yaml-catalog
            args:
              path: "{{ CATALOG_DIR }}/detectors.yml"
    """

    name = "bluesky-yaml-catalog"
    version = __version__
    container = "catalog"

    def __init__(self, path, storage_options=None, data_roots=(), _ancestors=(), **kwargs):
        # Set by intake when this class is an entry of intake's own YAML catalog.
        kwargs.pop("fs", None)
        kwargs.pop("autoreload", None)
        self._entry_metadata = kwargs.pop("metadata", None) or {}
        self.path = str(path)
        if "::" in self.path:
            # Chained URLs work here, also through intake.open_catalog(url, driver=...).
            self.path, storage_options = _inner_url(self.path, storage_options)
        self.data_roots = tuple(str(root) for root in data_roots)
        self._ancestors = tuple(_ancestors)
        self.policy = None
        self.lineage = self._ancestors
        self._text = None  # the text last accepted
        super().__init__(storage_options=storage_options, **kwargs)

    def _load(self):
        fs, path = _filesystem(self.path, self.storage_options)
        here = _identity(fs, path)
        if here in self._ancestors:
            chain = " -> ".join([*self._ancestors[self._ancestors.index(here):], here])
            raise UnsafeCatalogError(self.path, [Problem("catalog", f"nests itself ({chain})")])
        if len(self._ancestors) >= MAX_NESTING:
            reason = f"is nested {len(self._ancestors) + 1} catalogs deep; at most {MAX_NESTING} are opened"
            raise UnsafeCatalogError(self.path, [Problem("catalog", reason)])
        text = read_spec_text(fs, path, self.path)
        if text == self._text:
            return  # unchanged since it was checked: keep the entries and the sources made
        spec = parse_spec(text, self.path)
        try:
            policy = PathPolicy(_catalog_dir(self.path, fs, path), self.data_roots)
        except (ImportError, ValueError) as error:  # a data root of an unknown protocol
            raise UnsafeCatalogError(self.path, [Problem("data roots", f"cannot be used ({error})")]) from None
        templates = template_problems(spec)
        # Substituting {{ CATALOG_DIR }} is plain text, so the schema can be checked
        # beside the templates: every problem is reported at once, one per path.
        plan, problems = validate_spec(spec, policy)
        templated = {problem.where for problem in templates}
        problems = templates + [problem for problem in problems if problem.where not in templated]
        if problems:
            raise UnsafeCatalogError(self.path, problems)
        self.policy = policy
        self.lineage = (*self._ancestors, here)
        self._text = text
        drivers = allowed_drivers()
        self._entries = {entry.name: make_entry(entry, self, drivers.get(entry.driver)) for entry in plan.entries}
        self.metadata = {**self._entry_metadata, **plan.metadata}
        self.description = self.description or plan.description
        if self.name is None:
            self.name = plan.name or path.rstrip("/").rsplit("/", 1)[-1].rsplit(".", 1)[0]

    def nested_catalogs(self):
        """Names of the entries that are catalog specs nested in this one."""
        return [name for name, entry in self._entries.items() if entry.plan.driver == "bluesky-yaml-catalog"]


def _identity(fs, path):
    """The spec file as one string, the same for ``a/./b.yml``, ``a//b.yml`` and ``a/b.yml``."""
    return fs.unstrip_protocol(path if "://" in path else posixpath.normpath(path))


def _filesystem(url, storage_options):
    try:
        return url_to_fs(url, **(storage_options or {}))
    except (ImportError, OSError, ValueError, TypeError) as error:
        raise UnsafeCatalogError(url, [Problem("catalog", f"cannot be read ({error})")]) from None


def _catalog_dir(url, fs, path):
    """``{{ CATALOG_DIR }}``: the spec's folder, a URL if the spec was given as one."""
    parent = fs._parent(path)
    return fs.unstrip_protocol(parent).rstrip("/") if "://" in url else parent.rstrip("/") or "/"


def _inner_url(url, storage_options):
    """A chained URL (``zip://c.yml::file://x.zip``) as an URL plus storage options.

    ``CATALOG_DIR`` derived from the whole chain would break it; the archive is carried
    in ``storage_options`` instead, which entries reading inside the spec's folder get.
    """
    fs, path = _filesystem(url, storage_options)
    return fs.unstrip_protocol(path), dict(fs.storage_options)


def open_catalog(url, storage_options=None, data_roots=(), **kwargs):
    """Open a YAML catalog spec from anyone: refused unless it passes the allow-list.

    Parameters
    ----------
    url : str or path
        Local path or fsspec URL (``file://``, ``memory://``, ``http://``, and chained
        URLs into archives such as ``zip://catalogs/beamline.yml::file://shared.zip``).
    storage_options : dict, optional
        Your fsspec options for the spec (the spec cannot set these itself).
    data_roots : sequence of str, optional
        Folders or URLs outside the spec's folder that its entries may read.
    **kwargs
        Passed to the catalog (``ttl``, ``name``, ...).

    Returns
    -------
    SafeYAMLFileCatalog

    Raises
    ------
    UnsafeCatalogError
        Naming the file and each refused path in the spec.
    IsADirectoryError
        For a folder: naming the YAML files in it, and how to open msgpack files.
    """
    _refuse_folder(str(url), storage_options)
    return SafeYAMLFileCatalog(str(url), storage_options=storage_options, data_roots=data_roots, **kwargs)


def _refuse_folder(url, storage_options):
    """A folder given for a spec: say which spec files it holds, and how to open its msgpack files."""
    try:
        fs, path = url_to_fs(url, **(storage_options or {}))
        if not fs.isdir(path):
            return
        names = sorted(posixpath.basename(name) for name in fs.ls(path, detail=False))
    except Exception:  # the spec reader names whatever is wrong with the url itself
        return
    specs = [name for name in names if name.endswith((".yml", ".yaml"))]
    hint = f"give one of its specs ({', '.join(specs[:5])})" if specs else "give a YAML catalog spec file"
    if any(name.endswith(".msgpack") for name in names):
        hint += f"; its msgpack runs open with BlueskyMsgpackCatalog('{url.rstrip('/')}/*.msgpack')"
    raise IsADirectoryError(f"{url}: is a folder, not a YAML catalog spec; {hint}")


def check_catalog(url, storage_options=None, data_roots=()):
    """What :func:`open_catalog` refuses in a spec and in every catalog it nests.

    The same code as opening: the spec and each nested spec are opened; no data file is read.

    Parameters
    ----------
    url : str
    storage_options : dict, optional
    data_roots : sequence of str, optional

    Returns
    -------
    list of Problem
        Empty when everything opens. Problems of nested specs name the nested file.
    """
    try:
        catalog = open_catalog(url, storage_options, data_roots)
    except UnsafeCatalogError as error:
        return error.problems
    return _nested_problems(catalog, {catalog.lineage[-1]})


def _nested_problems(catalog, seen):
    """Problems of the specs ``catalog`` nests, each file opened once (``seen``)."""
    problems = []
    for name in catalog.nested_catalogs():
        if len(seen) >= MAX_CHECKED_CATALOGS:
            reason = f"nests more than {MAX_CHECKED_CATALOGS} catalog specs in all; the rest were not checked"
            return problems + [Problem(f"sources.{name}", reason)]
        try:
            nested = catalog._entries[name].get()
        except UnsafeCatalogError as error:
            problems += [Problem(f"{error.url} {problem.where}", problem.reason) for problem in error.problems]
            continue
        if nested.lineage[-1] not in seen:
            seen.add(nested.lineage[-1])
            problems += _nested_problems(nested, seen)
    return problems
