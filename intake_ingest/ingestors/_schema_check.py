"""Event-model schema validation compiled once, with event-model's own validator as the judge.

event_model validates each document with ``jsonschema``, which interprets the schema anew
for every document: about 0.2 ms for an event and 50-100 ms for the descriptor of a SPEC
scan with 60 motors (the descriptor schema walks every nested key of the document through
a recursive ``$ref``). An ingestor composing thousands of events and hundreds of
descriptors spent most of its time there.

This module compiles each of event_model's schemas, once, into nested Python closures that
apply the same keywords with the same rules: the type checks are event_model's own type
checker (which also takes tuples and numpy arrays as arrays), ``enum``/``const`` use
jsonschema's own ``equal``, patterns are searched with :func:`re.search` as jsonschema
does, and ``unevaluatedProperties`` follows jsonschema's rule for which keys a schema
evaluates. A schema using any keyword not listed in :data:`_KEYWORDS` is not compiled.

The compiled check only ever *accepts*: :func:`validate` returns at once when it says a
document is valid; in every other case (it says invalid, it meets something it was not
written for and raises, or the schema was not compiled) event_model's validator decides
and raises its own error. ``tests/ingestors/test_schema_check.py`` checks, on documents
mutated at random by hypothesis, that both give the same verdict.

The maps of data keys (a descriptor's ``data_keys`` and those of its ``configuration``)
repeat from run to run: the 430 scans of a SPEC file describe the same 60 motors and 30
columns each. Their verdicts are kept, by content (see :func:`_kept_verdicts`).
"""

import io
import itertools
import pickle
import re
import sys
import weakref

import event_model
import jsonschema._types
import numpy as np

try:  # jsonschema's own equality of JSON values (True is not 1, [1] is (1,)), for enum and const
    from jsonschema._utils import equal
except ImportError:  # a jsonschema without it: nothing is compiled, event_model checks all
    equal = None

__all__ = ["is_valid", "validate"]

#: Keywords that only annotate: they never change a verdict.
_ANNOTATIONS = frozenset({"title", "description", "default", "$defs", "$comment", "examples"})

_TYPE_CHECKER = event_model.schema_validators[event_model.DocumentNames.start].TYPE_CHECKER


def _checker_function(name):
    """The function event_model's type checker runs for a JSON type, or None if not to be had."""
    try:
        return _TYPE_CHECKER._type_checkers.get(name)
    except AttributeError:  # another jsonschema's TypeChecker
        return None


def _type_function(name):
    """event_model's own check of a JSON type (tuples and numpy arrays are arrays).

    The check's ``by_type(kind)`` says whether its verdict is the same for every instance
    of the exact type ``kind`` (then one item of a list of such items decides for all).
    """
    if _checker_function(name) is _STANDARD_TYPES.get(name):
        return _DIRECT_TYPES[name]  # the same test, without the checker's indirection
    checker_is_type = _TYPE_CHECKER.is_type
    checker_is_type(None, name)  # an unknown type raises now, when the schema is compiled
    verdicts = {}  # builtin type -> the checker's verdict, for every instance of that type

    def is_type(instance):
        kind = type(instance)
        verdict = verdicts.get(kind)
        if verdict is None:
            verdict = bool(checker_is_type(instance, name))
            if kind in _TYPE_DECIDES and not (kind is float and name == "integer"):
                verdicts[kind] = verdict
        return verdict

    is_type.by_type = lambda kind: kind in _TYPE_DECIDES and not (kind is float and name == "integer")
    return is_type


#: Builtin types whose instances a JSON type check tells apart by their type alone (they
#: have no attributes of their own), except a float for 'integer' (1.0 is one, 1.5 not).
_TYPE_DECIDES = frozenset({dict, list, tuple, str, int, float, bool, type(None)})


# jsonschema's own functions for these types, and what each of them tests, written directly.
_STANDARD_TYPES = {
    "object": jsonschema._types.is_object,
    "string": jsonschema._types.is_string,
    "null": jsonschema._types.is_null,
    "boolean": jsonschema._types.is_bool,
}
_DIRECT_TYPES = {
    "object": lambda instance: isinstance(instance, dict),
    "string": lambda instance: isinstance(instance, str),
    "null": lambda instance: instance is None,
    "boolean": lambda instance: isinstance(instance, bool),
}
for _check in _DIRECT_TYPES.values():
    _check.by_type = _TYPE_DECIDES.__contains__  # an isinstance test: the exact type decides

_is_array = _type_function("array")
_is_string = _type_function("string")


class _Unsupported(Exception):
    """The schema uses something this compiler does not implement."""


def _always(instance):
    return True


def _never(instance):
    return False


class _Compiler:
    """Compiles one root schema; ``$ref``s point into its ``$defs`` (compiled once each)."""

    def __init__(self, root):
        self.root = root
        self.refs = {}
        self.evaluating = set()  # ids of schemas whose evaluated keys are being compiled

    def ref(self, ref):
        """The check of the schema a ``$ref`` names, compiled once (references may recurse)."""
        if ref not in self.refs:
            self.refs[ref] = None  # a recursive reference finds the slot filled below
            self.refs[ref] = self.compile(self.resolved(ref))
        if self.refs[ref] is not None:
            return self.refs[ref]
        refs = self.refs  # a reference to a schema being compiled: looked up when called
        return lambda instance: refs[ref](instance)

    def resolved(self, ref):
        """The schema a ``$ref`` names: only plain pointers into this schema (``#/$defs/Name``)."""
        if not re.fullmatch(r"#(/[A-Za-z0-9_$]+)+", ref):
            raise _Unsupported(f"$ref {ref!r}")
        target = self.root
        for part in ref[2:].split("/"):
            target = target[part]
        return target

    def compile(self, schema):
        if schema is True:
            return _always
        if schema is False:
            return _never
        if not isinstance(schema, dict):
            raise _Unsupported(f"schema {schema!r}")
        tree = self.key_pattern_tree(schema)
        if tree is not None:
            return tree
        if _is_map_of_kept(schema):
            return _kept_verdicts(self.compile_keywords(schema))
        return self.compile_keywords(schema)

    def compile_keywords(self, schema):
        checks = []
        if any(keyword in schema for keyword in _OBJECT_KEYWORDS):
            checks.append(_object_keywords(self, schema))
        for keyword, value in schema.items():
            if keyword in _ANNOTATIONS or keyword in _OBJECT_KEYWORDS:
                continue
            build = _KEYWORDS.get(keyword)
            if build is None:
                raise _Unsupported(f"keyword {keyword!r}")
            checks.append(build(self, value, schema))
        return _all(checks)

    def key_pattern_tree(self, schema):
        """The check of a schema saying "every key, at every depth of nested objects, matches P".

        That is ``{"patternProperties": {P: {"$ref": <this schema>}}, "additionalProperties":
        false}`` (event_model's ``DataType``, applied to every field of a descriptor): an
        object is valid if each of its keys matches P and each of its values is valid, and
        anything but an object is valid. jsonschema follows that recursion key by key; here
        it is a walk over the nested objects, each distinct key searched once. None for any
        other schema.
        """
        keywords = {keyword: value for keyword, value in schema.items() if keyword not in _ANNOTATIONS}
        if set(keywords) != {"patternProperties", "additionalProperties"} or keywords["additionalProperties"] is not False:
            return None
        if len(keywords["patternProperties"]) != 1:
            return None
        ((pattern, subschema),) = keywords["patternProperties"].items()
        sub_keywords = {keyword for keyword in subschema if keyword not in _ANNOTATIONS} if isinstance(subschema, dict) else None
        if sub_keywords != {"$ref"} or self.resolved(subschema["$ref"]) is not schema:
            return None
        return _key_pattern_tree(re.compile(pattern).search)

    # -- which keys a schema evaluates (jsonschema's find_evaluated_property_keys_by_schema)

    def evaluated_keys(self, schema):
        """A function of an object giving the keys ``schema`` evaluates in it."""
        if not isinstance(schema, dict):
            return lambda instance: set()
        for keyword in ("$dynamicRef", "dependentSchemas", "if", "then", "else"):
            if keyword in schema:
                raise _Unsupported(f"{keyword} under unevaluatedProperties")
        if id(schema) in self.evaluating:
            raise _Unsupported("a cycle of $refs under unevaluatedProperties")
        self.evaluating.add(id(schema))
        parts = []
        if "$ref" in schema:
            parts.append(self.evaluated_keys(self.resolved(schema["$ref"])))
        properties = schema.get("properties")
        if isinstance(properties, dict):
            names = properties.keys()
            parts.append(lambda instance: names & instance.keys())
        for keyword in ("additionalProperties", "unevaluatedProperties"):
            if keyword in schema and schema[keyword] is not None:
                check = self.compile(schema[keyword])
                parts.append(lambda instance, check=check: {k for k, v in instance.items() if check(v)})
        if "patternProperties" in schema:
            searches = [re.compile(pattern).search for pattern in schema["patternProperties"]]
            parts.append(lambda instance: {k for k in instance if any(search(k) for search in searches)})
        for keyword in ("allOf", "oneOf", "anyOf"):
            for subschema in schema.get(keyword, []):
                check, keys = self.compile(subschema), self.evaluated_keys(subschema)
                parts.append(lambda instance, check=check, keys=keys: keys(instance) if check(instance) else set())
        self.evaluating.discard(id(schema))

        def evaluated(instance):
            keys = set()
            for part in parts:
                keys.update(part(instance))
            return keys

        return evaluated


# -- verdicts kept by content ------------------------------------------------------------------

#: Schemas whose maps (``{"type": "object", "additionalProperties": {"$ref": ...}}``) have
#: their verdicts kept: data keys, which repeat from run to run.
_KEPT_REFS = frozenset({"#/$defs/DataKey"})

#: How many accepted maps each kept check remembers, and the largest (as a snapshot, in
#: bytes) it remembers: at most 64 x 64 KiB per check.
_KEPT_COUNT = 64
_KEPT_BYTES = 64 * 1024


def _is_map_of_kept(schema):
    keywords = {keyword: value for keyword, value in schema.items() if keyword not in _ANNOTATIONS}
    additional = keywords.get("additionalProperties")
    return (
        set(keywords) == {"type", "additionalProperties"}
        and keywords["type"] == "object"
        and isinstance(additional, dict)
        and {keyword for keyword in additional if keyword not in _ANNOTATIONS} == {"$ref"}
        and additional["$ref"] in _KEPT_REFS
    )


class _NotBuiltin(Exception):
    """A value that is not an exact dict, list, tuple, str, int, float, bool, None, bytes..."""


class _BuiltinsOnlyPickler(pickle.Pickler):
    """Pickles exact builtin values only: anything else (a subclass, a numpy value, an
    object) reaches :meth:`reducer_override`, which refuses it."""

    def reducer_override(self, obj):
        raise _NotBuiltin(type(obj))


def _snapshot(instance):
    """The content of ``instance`` as bytes, or None if it holds anything but exact builtins.

    A pickle of exact builtins only is decoded into the same values, of the same types, in
    the same order: two instances with equal snapshots are the same JSON-like value, and a
    schema gives them the same verdict. Any other object (whose behaviour its pickle need
    not capture) gives None.
    """
    buffer = io.BytesIO()
    try:
        _BuiltinsOnlyPickler(buffer, protocol=5).dump(instance)
    except Exception:  # _NotBuiltin, a cycle too deep, ...: no snapshot, the check decides
        return None
    return buffer.getvalue()


def _kept_verdicts(check):
    """``check``, with the instances it accepted remembered by content (:func:`_snapshot`).

    Only acceptances are remembered, as immutable snapshots: an instance changed since it
    was accepted has another snapshot and is checked anew. Bounded by :data:`_KEPT_COUNT`
    and :data:`_KEPT_BYTES`.
    """
    accepted = set()

    def kept(instance):
        if type(instance) is not dict:
            return check(instance)
        snapshot = _snapshot(instance)
        if snapshot is not None and snapshot in accepted:
            return True
        verdict = check(instance)
        if verdict and snapshot is not None and len(snapshot) <= _KEPT_BYTES:
            if len(accepted) >= _KEPT_COUNT:
                accepted.clear()
            accepted.add(snapshot)
        return verdict

    kept.accepted = accepted  # for the tests
    kept.unkept = check
    _KEPT_CHECKS.add(kept)
    return kept


_KEPT_CHECKS = weakref.WeakSet()  # every kept check made (the tests look at their verdicts)


# -- one builder per keyword: (compiler, value, schema) -> check(instance) -> bool -------------


def _type(compiler, types, schema):
    checks = [_type_function(name) for name in ([types] if isinstance(types, str) else types)]
    if len(checks) == 1:
        return checks[0]
    return _by_type_if_all(lambda instance: any(check(instance) for check in checks), checks)


def _by_type_if_all(combined, checks):
    """``combined`` (any or all of ``checks``), whose verdict the exact type of an instance
    decides where it decides each of ``checks``'."""
    deciders = [getattr(check, "by_type", None) for check in checks]
    if None not in deciders:
        combined.by_type = lambda kind: all(decides(kind) for decides in deciders)
    return combined


#: Nested objects deeper than this are left to jsonschema (whose recursion may give up on them).
_MAX_DEPTH = 32


#: A level of nested objects wider than this is left to jsonschema (a dict holding itself
#: twice doubles each level).
_MAX_LEVEL = 100_000


def _key_pattern_tree(search):
    """See :meth:`_Compiler.key_pattern_tree`.

    The nested objects are walked a level at a time (the verdict is the same in any
    order): all keys of a level, and the types of all its values, are looked at in C, so
    a descriptor's map of 60 data keys costs a few calls, not a loop over every item.
    """
    found = set()  # str keys the pattern finds: re.search of a str depends on the str alone

    def key_valid(key):
        if type(key) is not str:  # nor a key of another type equal to a found str
            return False
        if key not in found:
            if not search(key):
                return False
            if len(found) > 100_000:
                found.clear()
            found.add(key)
        return True

    def valid(instance):
        if not isinstance(instance, dict):
            return True
        level, depth = [instance], 0
        while level:
            if depth > _MAX_DEPTH or len(level) > _MAX_LEVEL:
                return False
            if len(level) == 1 and type(level[0]) is dict:  # the top: no lists to build
                keys, values = level[0], level[0].values()
            elif set(map(type, level)) <= _DICT_ONLY:
                keys = list(itertools.chain.from_iterable(level))
                values = list(itertools.chain.from_iterable(map(dict.values, level)))
            else:  # a dict subclass: its own items(), as jsonschema takes them
                items = [item for node in level for item in node.items()]
                keys, values = [key for key, _ in items], [value for _, value in items]
            if not (set(map(type, keys)) <= _STR_ONLY and found.issuperset(keys)):
                if not all(map(key_valid, keys)):
                    return False
            if any(issubclass(kind, dict) for kind in set(map(type, values))):
                level = [value for value in values if isinstance(value, dict)]
            else:
                level = []
            depth += 1
        return True

    return valid


_STR_ONLY = frozenset({str})
_DICT_ONLY = frozenset({dict})


def _all(checks):
    """One check passing where all of ``checks`` pass (a schema's keywords are a conjunction)."""
    checks = [check for check in checks if check is not _always]
    if not checks:
        return _always
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return _by_type_if_all(lambda instance: first(instance) and second(instance), checks)
    return _by_type_if_all(lambda instance: all(check(instance) for check in checks), checks)


#: Keywords about an object's properties, checked together in one pass over its items.
_OBJECT_KEYWORDS = ("properties", "patternProperties", "additionalProperties", "required")


def _object_keywords(compiler, schema):
    """``properties``, ``patternProperties``, ``additionalProperties`` and ``required``.

    Each applies only to objects (``isinstance(instance, dict)``, the type check of every
    event_model validator) and they are a conjunction, so one pass can check them all:
    - ``required``: every name is a key;
    - ``properties``: the value of each named key present is valid under its schema;
    - ``patternProperties``: the value of each key some pattern finds (:func:`re.search`)
      is valid under that pattern's schema;
    - ``additionalProperties``: each key neither named by ``properties`` nor found by the
      patterns joined with ``|`` (as jsonschema joins them) is valid under it (``false``:
      there is no such key).

    Which patterns find a named key is known here: a named key (a str) has the checks of
    those patterns joined to its own, and the pass over the patterns leaves it out. Where
    its own check keeps its verdicts (a map of data keys), the joined check keeps them.
    """
    required = tuple(schema.get("required", ()))
    names = schema.get("properties", {})
    pattern_schemas = schema.get("patternProperties", {})
    patterns = tuple((re.compile(pattern).search, compiler.compile(sub)) for pattern, sub in pattern_schemas.items())
    properties = []
    for name, sub in names.items():
        own, found_by = compiler.compile(sub), [check for search, check in patterns if search(name)]
        if found_by and getattr(own, "unkept", None) is not None:
            properties.append((name, _kept_verdicts(_all([own.unkept, *found_by]))))
        else:
            properties.append((name, _all([own, *found_by])))
    properties = tuple((name, check) for name, check in properties if check is not _always)
    property_checks = dict(properties)
    joined_names = frozenset(names) if patterns else frozenset()  # their patterns' checks joined
    joined = re.compile("|".join(pattern_schemas)).search if pattern_schemas else None
    additional = schema.get("additionalProperties", True)
    if isinstance(additional, dict):
        additional_check = compiler.compile(additional)
        additional = True if additional_check is _always else additional_check
    elif additional is False:
        additional_check = _never
    elif additional is not True:
        raise _Unsupported(f"additionalProperties {additional!r}")
    single_pattern = len(patterns) == 1  # then "found by the joined patterns" is "found by it"
    if not (required or properties or patterns or additional is not True):
        return _always
    # A map (no named or patterned keys): values all of one exact type that decides the
    # additional check's verdict (an event page's columns, all lists) are checked once.
    additional_by_type = None
    if not names and not patterns and additional is not True:
        additional_by_type = getattr(additional_check, "by_type", None)

    def object_valid(instance):
        if not isinstance(instance, dict):
            return True
        for name in required:
            if name not in instance:
                return False
        if len(instance) < len(properties):  # the fewer lookups: each named key present is checked once
            for key, value in instance.items():
                check = property_checks.get(key)
                if check is not None and not check(value):
                    return False
        else:
            for name, check in properties:
                if name in instance and not check(instance[name]):
                    return False
        if not patterns and additional is True:
            return True
        if additional_by_type is not None and instance:
            kinds = set(map(type, instance.values()))
            if len(kinds) == 1 and additional_by_type(next(iter(kinds))):
                return additional_check(next(iter(instance.values())))
        for key, value in instance.items():
            if type(key) is str and key in joined_names:
                continue  # checked above under its patterns too; additionalProperties is not its
            found = False
            for search, check in patterns:
                if search(key):
                    found = True
                    if not check(value):
                        return False
            if additional is not True and key not in names:
                if not single_pattern:
                    found = bool(joined and joined(key))
                if not found and not additional_check(value):
                    return False
        return True

    return object_valid


def _items(compiler, items, schema):
    prefix = len(schema.get("prefixItems", []))
    if items is False:
        return lambda instance: not _is_array(instance) or len(instance) <= prefix
    check = compiler.compile(items)
    by_type = getattr(check, "by_type", None)
    if check is _always:
        # Any list or tuple passes, whatever it holds; anything else is not an array.
        items_valid_by_type = _TYPE_DECIDES.__contains__
    else:
        items_valid_by_type = None

    def items_valid(instance):
        if not _is_array(instance):
            return True
        if len(instance) <= prefix:
            return True  # no item beyond prefixItems: jsonschema checks none
        if by_type is not None and type(instance) in (list, tuple):
            # Items all of one exact type that decides the verdict (a page's times, uids,
            # sequence numbers): the first item's verdict is every item's.
            items = instance if prefix == 0 else instance[prefix:]
            kinds = set(map(type, items))
            if len(kinds) == 1 and by_type(next(iter(kinds))):
                return check(items[0])
        if check is _always and (
            type(instance) in (list, tuple)
            or (type(instance) is np.ndarray and instance.ndim > 0)
            or _is_sized_dask_array(instance)
        ):
            # jsonschema would index every item (which cannot fail) and accept each; a dask
            # array's items are new dask arrays, a millisecond each for a page of frames.
            return True
        return all(check(instance[index]) for index in range(prefix, len(instance)))

    if items_valid_by_type is not None:
        items_valid.by_type = items_valid_by_type
    return items_valid


def _is_sized_dask_array(instance):
    """True for a dask array of a known length (its ``len`` is known, so each index in range
    gives an item); dask is not imported for this."""
    dask_array = sys.modules.get("dask.array")
    if dask_array is None or not isinstance(instance, dask_array.Array) or instance.ndim == 0:
        return False
    length = instance.shape[0]
    return isinstance(length, int)


def _prefix_items(compiler, prefix_items, schema):
    checks = [compiler.compile(sub) for sub in prefix_items]
    return lambda instance: not _is_array(instance) or all(
        check(item) for check, item in zip(checks, instance)
    )


def _min_items(compiler, limit, schema):
    return lambda instance: not _is_array(instance) or len(instance) >= limit


def _max_items(compiler, limit, schema):
    return lambda instance: not _is_array(instance) or len(instance) <= limit


def _const(compiler, value, schema):
    if type(value) is str:
        return lambda instance: instance == value if type(instance) is str else equal(instance, value)
    return lambda instance: equal(instance, value)


def _enum(compiler, values, schema):
    """``equal`` to one of ``values``; a plain str against strings is a set lookup.

    jsonschema's ``equal`` compares two things of which one is a str with ``==``, so for
    an instance of type str and values that are all strings, "equal to one of them" is
    "in the set of them".
    """
    if all(type(value) is str for value in values):
        strings = frozenset(values)

        def enum_valid(instance):
            if type(instance) is str:
                return instance in strings
            return any(equal(each, instance) for each in values)

        return enum_valid
    return lambda instance: any(equal(each, instance) for each in values)


def _pattern(compiler, pattern, schema):
    search = re.compile(pattern).search
    found = {}  # str -> whether the pattern is found in it (a pure function of the str)

    def pattern_valid(instance):
        if type(instance) is str:
            verdict = found.get(instance)
            if verdict is None:
                verdict = bool(search(instance))
                if len(found) > 10_000:
                    found.clear()
                found[instance] = verdict
            return verdict
        return not _is_string(instance) or bool(search(instance))

    return pattern_valid


def _all_of(compiler, subschemas, schema):
    return _all([compiler.compile(sub) for sub in subschemas])


def _any_of(compiler, subschemas, schema):
    checks = [compiler.compile(sub) for sub in subschemas]
    if len(checks) == 2:
        first, second = checks
        return _by_type_if_all(lambda instance: first(instance) or second(instance), checks)
    return _by_type_if_all(lambda instance: any(check(instance) for check in checks), checks)


def _ref(compiler, ref, schema):
    return compiler.ref(ref)


def _unevaluated_properties(compiler, unevaluated, schema):
    evaluated = compiler.evaluated_keys(schema)
    check = compiler.compile(unevaluated)
    if check is _always:
        return _always

    def unevaluated_valid(instance):
        if not isinstance(instance, dict):
            return True
        keys = evaluated(instance)
        return all(check(value) for key, value in instance.items() if key not in keys)

    return unevaluated_valid


_KEYWORDS = {
    "type": _type,
    "items": _items,
    "prefixItems": _prefix_items,
    "minItems": _min_items,
    "maxItems": _max_items,
    "const": _const,
    "enum": _enum,
    "pattern": _pattern,
    "allOf": _all_of,
    "anyOf": _any_of,
    "$ref": _ref,
    "unevaluatedProperties": _unevaluated_properties,
}


def _compile_all():
    checks = {}
    if equal is None or _checker_function("object") is not jsonschema._types.is_object:
        return checks  # the object keywords above test isinstance(instance, dict)
    for name, validator in event_model.schema_validators.items():
        if type(validator).TYPE_CHECKER is not _TYPE_CHECKER:
            continue  # a validator with other type rules: left to event_model
        try:
            checks[name] = _Compiler(validator.schema).compile(validator.schema)
        except Exception:  # a keyword or type this module does not know: event_model decides
            pass
    return checks


_CHECKS = _compile_all()


def _document_name(name):
    return name if isinstance(name, event_model.DocumentNames) else event_model.DocumentNames[name]


def is_valid(name, doc):
    """True if the compiled schema accepts ``doc``; False if it rejects it or cannot tell.

    Parameters
    ----------
    name : str or event_model.DocumentNames
        The document's name ('start', 'descriptor', 'event', 'event_page', ...).
    doc : dict
    """
    check = _CHECKS.get(_document_name(name))
    if check is None:
        return False
    try:
        return bool(check(doc))
    except Exception:  # something the compiled check was not written for: event_model decides
        return False


def validate(name, doc):
    """Raise event_model's own ``ValidationError`` if ``doc`` is not a valid ``name`` document.

    The compiled check accepts at once; anything it does not accept goes to event_model's
    validator, whose verdict (and error message) stands.
    """
    if not is_valid(name, doc):
        event_model.schema_validators[_document_name(name)].validate(doc)
