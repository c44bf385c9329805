"""Opening YAML catalog specs from other people without letting them run code.

An intake YAML spec can run code in several ways, all refused here:

- ``driver: some.module.Class`` (or a ``class:`` in a driver mapping): intake imports
  that module and calls that object, so any importable callable can be run;
- ``plugins: {source: [{module: ...}]}``: imports Python modules;
- ``shell(...)`` / ``client_shell(...)``, inside ``{{ }}`` or as a parameter default:
  runs a command when shell expansion is on;
- any other Jinja template: intake renders strings with a plain (unsandboxed) Jinja
  environment, where an expression such as ``{{ ''.__class__.__mro__ }}`` reaches into
  Python. Only a bare name (``{{ CATALOG_DIR }}``, a parameter) and ``env("NAME")`` are
  accepted; ``env`` reads an environment variable, which shares no code but can reveal
  a value, so a spec from elsewhere using it is allowed and worth a look.

Drivers must be names registered with intake (entry points such as
``bluesky-tiff-series``, or intake's own), never import paths.
:class:`SafeYAMLFileCatalog` checks the text it parses every time it reads it (also on
reload) and opens nested catalogs the same way, so a check cannot be outrun by a file
changing after it was checked.
"""

import re
from dataclasses import dataclass

import yaml
from fsspec.core import url_to_fs
from intake.catalog.local import YAMLFileCatalog

from .._version import __version__

__all__ = ["Problem", "SafeYAMLFileCatalog", "UnsafeCatalogError", "check_catalog", "check_spec", "open_catalog"]

NESTED_CATALOG_DRIVERS = {"yaml_file_cat", "bluesky-yaml-catalog"}
_TEMPLATE = re.compile(r"{{(.*?)}}|{%(.*?)%}", re.S)
# A variable (CATALOG_DIR, a user parameter) or env("NAME") / client_env(NAME).
_SAFE_EXPRESSION = re.compile(r"""^\s*(?:[A-Za-z_]\w*|(?:client_)?env\(\s*(['"]?)[\w.-]+\1\s*\))\s*$""")
_SHELL = re.compile(r"\b(?:client_)?shell\s*\(")


@dataclass(frozen=True)
class Problem:
    """Why one part of a spec is refused: ``where`` names the entry or key."""

    where: str
    reason: str

    def __str__(self):
        return f"{self.where}: {self.reason}"


class UnsafeCatalogError(ValueError):
    """A catalog spec could run code when opened or read; nothing of it was used."""

    def __init__(self, url, problems):
        self.url = url
        self.problems = list(problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"{url}: refused, this catalog spec could run code:\n{lines}")


def _registered_drivers():
    import intake

    return set(intake.registry)


def _strings(value, where):
    """Every string in a parsed YAML value, with where it is."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key, f"{where} (key)") if isinstance(key, str) else ()
            yield from _strings(item, f"{where}.{key}")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _strings(item, f"{where}[{index}]")


def _template_problems(where, text):
    if _SHELL.search(text):
        return [Problem(where, f"runs a shell command ({text!r})")]
    problems = []
    for match in _TEMPLATE.finditer(text):
        expression, statement = match.groups()
        if statement is not None:
            problems.append(Problem(where, f"has a Jinja statement {match.group(0)!r}"))
        elif not _SAFE_EXPRESSION.match(expression):
            problems.append(
                Problem(where, f"template {match.group(0)!r} is more than a name or env(NAME)")
            )
    return problems


def _driver_names(driver):
    """The driver names (or import paths) an entry's ``driver`` value refers to."""
    if isinstance(driver, str):
        return [driver]
    if isinstance(driver, list):
        return [item for item in driver if isinstance(item, str)] + [
            repr(item) for item in driver if not isinstance(item, str)
        ]
    if isinstance(driver, dict):
        names = []
        for name, spec in driver.items():
            names.append(spec.get("class", name) if isinstance(spec, dict) else name)
        return names
    return [repr(driver)]


def check_spec(spec, allowed_drivers=None):
    """Problems that would let a parsed catalog spec run code; empty if it is safe.

    Parameters
    ----------
    spec : dict
        The YAML document, parsed with ``yaml.safe_load``.
    allowed_drivers : set of str, optional
        Driver names accepted; default: every driver registered with intake.

    Returns
    -------
    list of Problem
    """
    allowed = _registered_drivers() if allowed_drivers is None else set(allowed_drivers)
    if not isinstance(spec, dict):
        return [Problem("catalog", "is not a YAML mapping with 'sources'")]
    problems = []
    if "plugins" in spec:
        problems.append(Problem("plugins", "a 'plugins:' section imports Python modules"))
    for where, text in _strings(spec, "catalog"):
        problems.extend(_template_problems(where, text))
    sources = spec.get("sources") or {}
    if not isinstance(sources, dict):
        return problems + [Problem("sources", "is not a mapping of entries")]
    for name, entry in sources.items():
        if not isinstance(entry, dict):
            problems.append(Problem(f"sources.{name}", "is not a mapping"))
            continue
        for driver in _driver_names(entry.get("driver")):
            if driver == "yaml_files_cat":
                problems.append(
                    Problem(
                        f"sources.{name}",
                        "driver 'yaml_files_cat' opens catalog files that cannot be checked "
                        "beforehand; nest each file with 'bluesky-yaml-catalog' instead",
                    )
                )
            elif driver not in allowed:
                kind = "an import path" if "." in driver else "not a registered intake driver"
                problems.append(
                    Problem(
                        f"sources.{name}",
                        f"driver {driver!r} is {kind}; only registered drivers are accepted "
                        "(an import path would let the spec call any Python object)",
                    )
                )
    return problems


def _read_spec(url, storage_options):
    fs, path = url_to_fs(url, **(storage_options or {}))
    with fs.open(path, "rb") as file:
        text = file.read().decode()
    return fs, path, text


def check_catalog(url, storage_options=None, allowed_drivers=None, _seen=None):
    """Check a catalog file and the catalogs it nests, without opening any of them with intake.

    Parameters
    ----------
    url : str
        Path or fsspec URL of the YAML file.
    storage_options : dict, optional
    allowed_drivers : set of str, optional

    Returns
    -------
    list of Problem
        Each names the file (for nested catalogs) and the entry.
    """
    seen = set() if _seen is None else _seen
    if url in seen:
        return []
    seen.add(url)
    try:
        fs, path, text = _read_spec(url, storage_options)
        spec = yaml.safe_load(text)
    except yaml.YAMLError as error:
        return [Problem("catalog", f"is not plain YAML ({error.__class__.__name__}: {error})")]
    except (OSError, ValueError) as error:
        return [Problem("catalog", f"cannot be read ({error})")]
    problems = check_spec(spec, allowed_drivers)
    if problems:
        return problems
    catalog_dir = fs.unstrip_protocol(fs._parent(path)) if "://" in url else fs._parent(path)
    for name, entry in (spec.get("sources") or {}).items():
        if entry.get("driver") not in NESTED_CATALOG_DRIVERS:
            continue
        nested = str((entry.get("args") or {}).get("path", ""))
        nested = re.sub(r"{{\s*CATALOG_DIR\s*}}", catalog_dir, nested)
        if _TEMPLATE.search(nested):
            problems.append(Problem(f"sources.{name}", "nested catalog path depends on parameters; cannot check it"))
            continue
        nested_options = fs.storage_options if "CATALOG_DIR" in str(entry.get("args")) else None
        problems.extend(
            Problem(f"{nested} {problem.where}", problem.reason)
            for problem in check_catalog(nested, nested_options, allowed_drivers, seen)
        )
    return problems


class SafeYAMLFileCatalog(YAMLFileCatalog):
    """intake's YAML file catalog, refusing any spec that could run code.

    The spec is checked each time its text is parsed, before intake sees it; nested
    ``yaml_file_cat`` catalogs are opened with this class too.

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

    def __init__(self, path, storage_options=None, **kwargs):
        if isinstance(path, str):
            # Chained URLs (zip://c.yml::file://x.zip) work here, also through
            # intake.open_catalog(url, driver="bluesky-yaml-catalog").
            path, storage_options = _inner_url(path, storage_options)
        super().__init__(path, storage_options=storage_options, **kwargs)

    def parse(self, text):
        try:
            spec = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise UnsafeCatalogError(self.path, [Problem("catalog", f"is not plain YAML ({error})")]) from None
        problems = check_spec(spec)
        if problems:
            raise UnsafeCatalogError(self.path, problems)
        super().parse(text)
        for entry in self._entries.values():
            # Nested catalogs are read by the same safe class, whoever wrote the spec.
            if getattr(entry, "_driver", None) in NESTED_CATALOG_DRIVERS:
                entry._plugin = [SafeYAMLFileCatalog]


def _inner_url(url, storage_options):
    """A chained URL (``zip://c.yml::file://x.zip``) as an URL plus storage options.

    intake derives ``CATALOG_DIR`` from the URL by dropping its last part, which breaks
    a chain; the archive is carried in ``storage_options`` instead, which intake hands to
    every entry that uses ``CATALOG_DIR``.
    """
    if "::" not in url:
        return url, storage_options
    fs, path = url_to_fs(url, **(storage_options or {}))
    return fs.unstrip_protocol(path), dict(fs.storage_options)


def open_catalog(url, storage_options=None, **kwargs):
    """Open a YAML catalog spec safely: like ``intake.open_catalog``, refusing specs that run code.

    Parameters
    ----------
    url : str
        Local path or fsspec URL (``file://``, ``memory://``, ``http://``, and chained
        URLs into archives such as ``zip://catalogs/beamline.yml::file://shared.zip``).
    storage_options : dict, optional
        Passed to fsspec.
    **kwargs
        Passed to the catalog (``ttl``, ``name``, ...).

    Returns
    -------
    SafeYAMLFileCatalog

    Raises
    ------
    UnsafeCatalogError
        Naming each entry that could run code.
    """
    kwargs.setdefault("getshell", False)
    return SafeYAMLFileCatalog(str(url), storage_options=storage_options, **kwargs)
