"""What people type to search runs: field filters (``scan_id>=10 sample~^Si``) or a MongoDB query in JSON.

The command line (``intake-ingest search``, ``show``) and the GUI's search box read the
same text the same way; the result is a MongoDB query over RunStart documents for
:class:`~intake_ingest.catalog.base.RunStartQuery`.
"""

import json
import re
import shlex

__all__ = ["filters_to_query", "looks_like_filters", "parse_query"]

_OPERATORS = {"!=": "$ne", ">=": "$gte", "<=": "$lte", "=": None, ">": "$gt", "<": "$lt", "~": "$regex"}
_FILTER = re.compile(r"^([^=!<>~]+?)\s*(!=|>=|<=|=|>|<|~)(.*)$", re.S)


def _value(text):
    """A typed filter value: JSON where it parses (numbers, true, null, lists), else the text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def filters_to_query(text):
    """Simple field filters as a MongoDB query.

    ``plan_name=ascan scan_id>=10 source~dark_`` gives
    ``{'plan_name': 'ascan', 'scan_id': {'$gte': 10}, 'source': {'$regex': 'dark_'}}``.
    Pairs are separated by spaces or commas (quote a value holding either:
    ``sample="Si wafer"``); operators are ``=``, ``!=``, ``>``, ``>=``, ``<``, ``<=``
    and ``~`` (regular expression); values are numbers, ``true``/``false``/``null`` or
    text. Dotted fields reach into dicts (``sample.name=Si``).
    """
    query = {}
    lexer = shlex.shlex(text, posix=True)
    lexer.whitespace += ","
    lexer.whitespace_split = True
    for item in lexer:
        match = _FILTER.match(item)
        if match is None:
            raise ValueError(f"{item!r} is not a filter such as field=value, field>number or field~regex")
        field, operator, value = match.group(1).strip(), _OPERATORS[match.group(2)], match.group(3)
        value = value if operator == "$regex" else _value(value)
        if operator is None:
            condition = value
        else:
            condition = {operator: value}
        if field in query and isinstance(query[field], dict) and isinstance(condition, dict):
            query[field].update(condition)  # scan_id>=10 scan_id<20
        else:
            query[field] = condition
    return query


def parse_query(text):
    """What the user typed in the search box as a MongoDB query.

    Text starting with ``{`` (or ``[``) is a query in JSON; anything else is :func:`filters_to_query`;
    blank text is the empty query (every run).
    """
    text = (text or "").strip()
    if not text:
        return {}
    if text.startswith(("{", "[")):
        try:
            return json.loads(text)  # the query's checks say what is wrong with one that is not an object
        except json.JSONDecodeError as error:
            raise ValueError(f"the query is not JSON ({error}): {text}") from None
    return filters_to_query(text)


def looks_like_filters(text):
    """True when ``text`` is a query rather than a name: JSON, or holds a filter operator."""
    text = (text or "").strip()
    return text.startswith(("{", "[")) or any(_FILTER.match(item) for item in text.split())
