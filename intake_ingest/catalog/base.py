"""What every catalog of runs shares: runs listed by uid, searched with MongoDB queries."""

import numbers
import re
from collections.abc import Mapping
from functools import partial

from intake.catalog import Catalog
from mongoquery import Query, QueryError

from .._version import __version__
from ..run import BlueskyRun
from ..run.entry import LazyEntry

__all__ = ["CODE_OPERATORS", "BlueskyCatalog", "InvalidQueryError", "RunEntry", "RunStartQuery", "check_query"]

#: MongoDB operators that run JavaScript on the server. A query here is data a user may
#: paste from anywhere, and a catalog may one day pass it to a MongoDB server: these are
#: refused by name, never passed on.
CODE_OPERATORS = ("$where", "$function", "$accumulator")

#: The operators a query may use (what mongoquery implements).
SUPPORTED_OPERATORS = (
    "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists", "$type",
    "$and", "$or", "$nor", "$not", "$regex", "$mod", "$all", "$elemMatch", "$size", "$comment",
)


class InvalidQueryError(ValueError):
    """A search query that cannot be used; the message says what in it is wrong."""


def check_query(query):
    """Refuse a query that could not be matched, or that asks to run code, before any run is read.

    Parameters
    ----------
    query : dict
        A MongoDB query on RunStart documents.

    Raises
    ------
    InvalidQueryError
        For a query that is not an object, an operator that runs code (``$where``,
        ``$function``, ``$accumulator``), an unknown operator, a ``$regex``
        that is not a regular expression, or an operator given the wrong kind of value.
    """
    if not isinstance(query, Mapping):
        raise InvalidQueryError(
            f'a query is an object of field conditions, such as {{"plan_name": "ascan"}}; got {query!r}'
        )
    _check_condition(query)


def _check_condition(condition):
    if isinstance(condition, (list, tuple)):
        for item in condition:
            _check_condition(item)
        return
    if not isinstance(condition, Mapping):
        return
    for key, value in condition.items():
        if isinstance(key, str) and key.startswith("$"):
            _check_operator(key, value)
        _check_condition(value)


def _check_operator(operator, value):
    if operator in CODE_OPERATORS:
        raise InvalidQueryError(
            f"{operator!r} is refused: in MongoDB it runs JavaScript code, and a search here only compares "
            f'fields (e.g. {{"scan_id": {{"$gt": 10}}}})'
        )
    if operator == "$options":
        raise InvalidQueryError(
            "'$options' is not supported: put the flags in the '$regex', e.g. '/^si/i' or '(?i)^si'"
        )
    if operator not in SUPPORTED_OPERATORS:
        raise InvalidQueryError(f"unknown operator {operator!r}; the operators are {', '.join(SUPPORTED_OPERATORS)}")
    if operator == "$regex":
        _check_regex(value)
    elif operator in ("$in", "$nin", "$all") and not isinstance(value, (list, tuple)):
        raise InvalidQueryError(f"{operator!r} takes a list of values, not {value!r}")
    elif operator in ("$and", "$or", "$nor") and (
        not isinstance(value, (list, tuple)) or not value or not all(isinstance(item, Mapping) for item in value)
    ):
        raise InvalidQueryError(f"{operator!r} takes a non-empty list of conditions (objects), not {value!r}")
    elif operator == "$elemMatch" and not isinstance(value, Mapping):
        raise InvalidQueryError(f"'$elemMatch' takes a condition (an object), not {value!r}")
    elif operator == "$not":
        if isinstance(value, str):
            _check_regex(value)
        elif not isinstance(value, Mapping):
            raise InvalidQueryError(f"'$not' takes a condition (an object) or a regular expression, not {value!r}")
    elif operator == "$mod" and not (
        isinstance(value, (list, tuple))
        and len(value) == 2
        and all(isinstance(item, numbers.Real) and not isinstance(item, bool) for item in value)
        and value[0] != 0
    ):
        raise InvalidQueryError(
            f"'$mod' takes [divisor, remainder], two numbers with a divisor other than 0, not {value!r}"
        )
    elif operator == "$size" and not (
        isinstance(value, Mapping) or (isinstance(value, int) and not isinstance(value, bool) and value >= 0)
    ):
        raise InvalidQueryError(f"'$size' takes a whole number of items, not {value!r}")


def _check_regex(pattern):
    """Compile a ``$regex`` as mongoquery will (``'/expression/flags'`` or a bare expression)."""
    if isinstance(pattern, re.Pattern):
        return
    if not isinstance(pattern, str):
        raise InvalidQueryError(f"'$regex' takes a regular expression as text, not {pattern!r}")
    delimited = re.match(r"\A/(.+)/([imsx]{,4})\Z", pattern, flags=re.DOTALL)
    expression, flags = pattern, 0
    if delimited:
        expression = delimited.group(1)
        for option in delimited.group(2):
            flags |= getattr(re, option.upper())
    try:
        re.compile(expression, flags)
    except re.error as error:
        raise InvalidQueryError(f"'$regex' {pattern!r} is not a regular expression ({error})") from None


class RunStartQuery(Query):
    """mongoquery, with MongoDB's rule that ``$regex`` on an array matches any of its strings.

    A run made from a list of files records the list as its ``source``. The query is
    checked when it is made (:func:`check_query`): a mistake in it is an
    :class:`InvalidQueryError` at once, not a traceback at the first run it meets, and
    ``$where`` (code, in MongoDB) is refused.
    """

    def __init__(self, definition):
        check_query(definition)
        super().__init__(definition)

    def match(self, entry):
        """Whether a RunStart matches; a query mongoquery cannot apply is an :class:`InvalidQueryError`."""
        try:
            return super().match(entry)
        except (QueryError, NotImplementedError) as error:  # e.g. an unknown '$type' number
            raise InvalidQueryError(f"the query cannot be applied ({error or type(error).__name__})") from None

    @staticmethod
    def _mod(condition, entry):
        # MongoDB: a value that is not a number does not match (mongoquery raises TypeError).
        if not isinstance(entry, numbers.Real) or isinstance(entry, bool):
            return False
        return entry % condition[0] == condition[1]

    @staticmethod
    def _regex(condition, entry):
        if isinstance(entry, (list, tuple)):
            return any(Query._regex(condition, item) for item in entry)
        return Query._regex(condition, entry)


class RunEntry(LazyEntry):
    """A run in a catalog: its RunStart, and how to get the rest of its documents.

    Parameters
    ----------
    start : dict
        The RunStart document; search looks only at this.
    open_documents : callable
        Returns the run's :class:`~intake_ingest.run.RunDocuments`.
    """

    def __init__(self, start, open_documents):
        self.start = start
        super().__init__(
            start["uid"],
            partial(_make_run, open_documents),
            container="bluesky-run",
            metadata={"start": start},
        )


def _make_run(open_documents, **kwargs):
    return BlueskyRun(open_documents(), **kwargs)


class BlueskyCatalog(Catalog):
    """Runs by uid, in the order they were added; ``search`` takes MongoDB queries.

    ``catalog[uid]`` and ``catalog[-1]`` (by position) give a :class:`BlueskyRun`.
    """

    name = "bluesky-catalog"
    version = __version__

    def __init__(self, entries=None, **kwargs):
        kwargs.setdefault("name", type(self).name)
        super().__init__(entries=entries, **kwargs)

    def __repr__(self):
        return f"<{type(self).__name__} {self.name!r}: {len(self)} runs>"

    def _get_entry(self, name):
        # intake's version stores the catalog on the entry (``entry._catalog = self``): a
        # reference cycle that keeps every run's arrays alive until the garbage collector
        # runs. Our entries need nothing from their catalog.
        return self._entries[name]()

    def __getitem__(self, key):
        if isinstance(key, int) and not isinstance(key, bool):
            uids = list(self)
            try:
                key = uids[key]
            except IndexError:
                raise IndexError(f"catalog has {len(uids)} runs; no run at index {key}") from None
        return super().__getitem__(key)

    def search(self, query):
        """Runs whose RunStart matches a MongoDB query.

        Parameters
        ----------
        query : dict
            e.g. ``{'time': {'$lt': 1558887100}}``, ``{'sample.name': {'$regex': '^Si'}}``.

        Returns
        -------
        BlueskyCatalog
            The matching runs in the same order; it can be searched again.
        """
        matcher = RunStartQuery(query)
        matched = {
            uid: entry for uid, entry in self._get_entries().items() if matcher.match(entry.start)
        }
        return BlueskyCatalog(
            entries=matched,
            name=f"{self.name}_search",
            metadata={"search": query, "upstream": self.name},
            ttl=None,
        )
