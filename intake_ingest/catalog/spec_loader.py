"""Reading and parsing a catalog spec as plain YAML, within limits.

The parser accepts only what a catalog needs: mappings, lists, strings, numbers,
booleans and null. Any other tag (``!!python/...``, ``!!set``, ``!!omap``, ``!!pairs``,
``!!binary``, ``!!timestamp``, a local ``!tag``) is refused, naming where it is in the
spec; so are documents that would take long to walk or that Python cannot recurse
through: more than :data:`MAX_ALIASES` aliases, more than :data:`MAX_NODES` values once
aliases are expanded (a "billion laughs" spec), nesting deeper than :data:`MAX_DEPTH`,
an alias inside the node it refers to, files over :data:`MAX_SPEC_BYTES`.
"""

import yaml
import yaml.composer
import yaml.constructor
import yaml.resolver

from .spec_errors import Problem, UnsafeCatalogError

__all__ = ["MAX_ALIASES", "MAX_DEPTH", "MAX_NODES", "MAX_SPEC_BYTES", "parse_spec", "read_spec_text"]

MAX_SPEC_BYTES = 1_000_000
MAX_DEPTH = 64
MAX_ALIASES = 100
MAX_NODES = 100_000

_CORE = "tag:yaml.org,2002:"
CORE_TAGS = frozenset(_CORE + name for name in ("str", "int", "float", "bool", "null", "seq", "map"))


class _SpecLimitError(Exception):
    """A limit of the parser was reached while composing; carries where in the text."""

    def __init__(self, reason, mark):
        where = f"catalog (line {mark.line + 1}, column {mark.column + 1})" if mark else "catalog"
        super().__init__(where, reason)
        self.problem = Problem(where, reason)


class _Limits:
    """Counts aliases and depth while PyYAML's (Python) composer builds nodes from events."""

    def _start_counting(self):
        self._depth = 0
        self._aliases = 0
        self._open_anchors = set()

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise _SpecLimitError(f"more than {MAX_ALIASES} aliases ('*name')", event.start_mark)
            if event.anchor in self._open_anchors:
                raise _SpecLimitError(f"alias '*{event.anchor}' is inside the value it refers to", event.start_mark)
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _SpecLimitError(f"values nested more than {MAX_DEPTH} deep", event.start_mark)
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            self._open_anchors.add(anchor)
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1
            self._open_anchors.discard(anchor)


# Unquoted dates and '<<' stay strings: timestamps and merge keys are not core types.
_CORE_RESOLVERS = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag in CORE_TAGS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

try:  # libyaml's event parser, about five times faster; nodes are still composed in Python
    from yaml._yaml import CParser
except ImportError:  # PyYAML built without libyaml
    CParser = None

if CParser is not None:

    class _SpecLoader(_Limits, yaml.composer.Composer, CParser, yaml.constructor.SafeConstructor,
                      yaml.resolver.Resolver):
        """libyaml's parser, PyYAML's composer (counted) and safe constructor."""

        yaml_implicit_resolvers = _CORE_RESOLVERS

        def __init__(self, text):
            CParser.__init__(self, text)
            yaml.composer.Composer.__init__(self)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)
            self._start_counting()

else:

    class _SpecLoader(_Limits, yaml.SafeLoader):
        """PyYAML's safe loader, composing with counts."""

        yaml_implicit_resolvers = _CORE_RESOLVERS

        def __init__(self, text):
            super().__init__(text)
            self._start_counting()


def _expanded_size(node, sizes):
    """How many values ``node`` stands for once every alias is expanded (memoised by node)."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    size = 1
    if isinstance(node, yaml.SequenceNode):
        size += sum(_expanded_size(item, sizes) for item in node.value)
    elif isinstance(node, yaml.MappingNode):
        size += sum(_expanded_size(key, sizes) + _expanded_size(value, sizes) for key, value in node.value)
    sizes[id(node)] = size
    return size


def _node_problems(node, where):
    """Non-core tags and non-scalar keys, each named by its path in the spec."""
    if node.tag not in CORE_TAGS:
        return [Problem(where, f"YAML tag {node.tag!r} is not plain YAML (strings, numbers, booleans, "
                               "null, lists and mappings only)")]
    problems = []
    if isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            problems += _node_problems(item, f"{where}[{index}]")
    elif isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode) or key.tag != _CORE + "str":
                problems.append(Problem(f"{where} (key at line {key.start_mark.line + 1})",
                                        "mapping keys must be plain strings"))
                continue
            problems += _node_problems(value, f"{where}.{key.value}" if where != "catalog" else key.value)
    return problems


def parse_spec(text, url):
    """The spec as plain Python values, or refused.

    Parameters
    ----------
    text : str
        The YAML text.
    url : str
        The file, named by the error.

    Returns
    -------
    dict or list or str or int or float or bool or None
        Whatever the single YAML document holds; :mod:`.spec_schema` checks its shape.

    Raises
    ------
    UnsafeCatalogError
        For YAML errors, non-core tags and exceeded limits.
    """
    loader = _SpecLoader(text)
    try:
        try:
            node = loader.get_single_node()
        except _SpecLimitError as error:
            raise UnsafeCatalogError(url, [error.problem]) from None
        except yaml.YAMLError as error:
            detail = " ".join(str(error).replace('in "<unicode string>", ', "at ").split())
            reason = f"is not valid YAML ({detail})"
            raise UnsafeCatalogError(url, [Problem("catalog", reason)]) from None
        if node is None:
            raise UnsafeCatalogError(url, [Problem("catalog", "is empty; a catalog has 'sources:'")])
        if _expanded_size(node, {}) > MAX_NODES:
            reason = f"holds more than {MAX_NODES} values once its aliases are expanded"
            raise UnsafeCatalogError(url, [Problem("catalog", reason)])
        problems = _node_problems(node, "catalog")
        if problems:
            raise UnsafeCatalogError(url, problems)
        return loader.construct_document(node)
    finally:
        getattr(loader, "dispose", lambda: None)()


def read_spec_text(fs, path, url):
    """The text of a spec file, refusing files over :data:`MAX_SPEC_BYTES` or not UTF-8.

    Parameters
    ----------
    fs : fsspec.AbstractFileSystem
    path : str
        The file's path on ``fs``.
    url : str
        The file as the user named it, for the error.

    Raises
    ------
    UnsafeCatalogError
        When the file cannot be read, is too large or is not text.
    """
    try:
        with fs.open(path, "rb") as file:
            data = file.read(MAX_SPEC_BYTES + 1)
    except (OSError, ValueError) as error:
        raise UnsafeCatalogError(url, [Problem("catalog", f"cannot be read ({error})")]) from None
    if len(data) > MAX_SPEC_BYTES:
        raise UnsafeCatalogError(url, [Problem("catalog", f"is larger than {MAX_SPEC_BYTES} bytes")])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UnsafeCatalogError(url, [Problem("catalog", f"is not UTF-8 text ({error})")]) from None
