"""Checking the documents of a msgpack file before the run layer uses them.

A msgpack file can hold anything: a descriptor without ``data_keys``, an event page
whose columns have different lengths, a RunStart whose uid is a list. The run layer
trusts the event model, so such documents would fail deep inside it (a ``KeyError``
naming no file) or be dropped silently. Here each document is checked for what the run
layer relies on, cheaply (no schema validation of arrays): a document that breaks it
is an :class:`~intake_ingest.IngestError` naming the file and the document, and
events whose descriptor is unknown are left out with an
:class:`~intake_ingest.IngestWarning`.
"""

import numbers
import warnings

import numpy as np

from ..errors import IngestError, IngestWarning
from .codec import _dtype

__all__ = ["checked_documents", "start_problem"]

# The range of times ``datetime.fromtimestamp`` shows (years 1 to 9999).
EARLIEST, LATEST = -62135596800, 253402300799

EVENT_NAMES = ("event", "event_page")


def start_problem(doc):
    """What makes a RunStart unusable to list, search and show its run; ``""`` if nothing.

    Its ``uid`` names the run (a non-empty string) and its ``time`` (seconds since
    1970) is shown and searched, as the event model requires.
    """
    uid = doc.get("uid")
    if not isinstance(uid, str) or not uid:
        return "has no uid" if uid is None else f"has a uid that is not text ({uid!r})"
    return _time_problem(doc.get("time"), "a time")


def _time_problem(time, what):
    if time is None:
        return f"has no {what.split(' ', 1)[1]}"
    if not _is_number(time):
        return f"has {what} that is not a number ({time!r})"
    if not EARLIEST <= time <= LATEST:  # also NaN
        return f"has {what} out of range ({time!r})"
    return ""


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _is_column(value):
    return isinstance(value, list) or (isinstance(value, np.ndarray) and value.ndim >= 1)


def _descriptor_problem(doc):
    if not isinstance(doc.get("uid"), str):
        return "has no uid"
    if not isinstance(doc.get("name", "primary"), str):
        return f"has a name that is not text ({doc['name']!r})"
    data_keys = doc.get("data_keys")
    if not isinstance(data_keys, dict):
        return "has no data_keys" if data_keys is None else "has data_keys that are not a map"
    for key, data_key in data_keys.items():
        if not isinstance(data_key, dict):
            return f"describes {key!r} with {type(data_key).__name__}, not a map"
        shape = data_key.get("shape")
        if shape is not None and not (
            isinstance(shape, list) and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
        ):
            return f"gives {key!r} a shape that is not a list of sizes ({shape!r})"
        if "dtype_numpy" in data_key:
            try:
                _dtype(data_key["dtype_numpy"])
            except ValueError as error:
                return f"describes {key!r}: {error}"
        dims = data_key.get("dims")
        if dims is not None and not (isinstance(dims, list) and all(isinstance(dim, str) for dim in dims)):
            return f"gives {key!r} dims that are not a list of names ({dims!r})"
    return ""


def _event_problem(doc, data_keys):
    for field in ("data", "timestamps"):
        if not isinstance(doc.get(field), dict):
            return f"has no {field} map"
    if not isinstance(doc.get("uid"), str):
        return "has no uid"
    problem = _time_problem(doc.get("time"), "a time")
    if problem:
        return problem
    if not isinstance(doc.get("seq_num"), int):
        return "has no seq_num (an integer)"
    missing = sorted(set(data_keys) - set(doc["data"]))
    if missing:
        return f"has no value for {', '.join(map(repr, missing))}, which its descriptor declares"
    return ""


def _event_page_problem(doc, data_keys):
    for field in ("time", "uid", "seq_num"):
        if not _is_column(doc.get(field)):
            return f"has no {field} list"
    length = len(doc["time"])
    if not all(_is_number(time) for time in doc["time"]):
        return "has times that are not numbers"
    if not all(isinstance(uid, str) for uid in doc["uid"]):
        return "has uids that are not text"
    for field in ("uid", "seq_num"):
        if len(doc[field]) != length:
            return f"is ragged: {len(doc[field])} values of {field} for {length} times"
    for field in ("data", "timestamps"):
        columns = doc.get(field)
        if not isinstance(columns, dict):
            return f"has no {field} map"
        for key, column in columns.items():
            if not _is_column(column):
                return f"holds {type(column).__name__} as the {field} of {key!r}, not a list"
            if len(column) != length:
                return f"is ragged: {len(column)} {field} of {key!r} for {length} times"
    missing = sorted(set(data_keys) - set(doc["data"]))
    if missing:
        return f"has no values for {', '.join(map(repr, missing))}, which its descriptor declares"
    return ""


def _resource_problem(doc):
    for field in ("uid", "spec", "resource_path"):
        if not isinstance(doc.get(field), str):
            return f"has no {field} (text)"
    if not isinstance(doc.get("resource_kwargs", {}), dict):
        return "has resource_kwargs that are not a map"
    return ""


def _datum_problem(doc):
    if not isinstance(doc.get("datum_id"), str) or not isinstance(doc.get("resource"), str):
        return "has no datum_id or resource (text)"
    if not isinstance(doc.get("datum_kwargs"), dict):
        return "has no datum_kwargs map"
    return ""


def _datum_page_problem(doc):
    ids = doc.get("datum_id")
    if not isinstance(ids, list) or not isinstance(doc.get("resource"), str):
        return "has no datum_id list or resource (text)"
    kwargs = doc.get("datum_kwargs")
    if not isinstance(kwargs, dict):
        return "has no datum_kwargs map"
    for key, column in kwargs.items():
        if not _is_column(column) or len(column) != len(ids):
            return f"is ragged: its datum_kwargs {key!r} do not give one value per datum_id"
    return ""


def checked_documents(documents, label):
    """The documents, each checked for what the run layer relies on.

    Parameters
    ----------
    documents : iterable of (str, dict)
        As :func:`~intake_ingest.msgpack.read_documents` yields them.
    label : str
        The file, to name in errors and warnings.

    Yields
    ------
    name, doc : str, dict
        Events and event pages of a descriptor not declared before them are left out.

    Raises
    ------
    IngestError
        Naming the file and the document: a document the run layer cannot use.
    """
    data_keys_of = {}  # descriptor uid -> its data keys
    for number, (name, doc) in enumerate(documents, 1):
        if name == "start":
            problem = start_problem(doc)
        elif name == "descriptor":
            problem = _descriptor_problem(doc)
        elif name in EVENT_NAMES:
            descriptor = doc.get("descriptor")
            if not isinstance(descriptor, str):
                problem = "has no descriptor uid"
            elif descriptor not in data_keys_of:
                warnings.warn(
                    f"{label}: document {number} ({name}) belongs to descriptor {descriptor!r}, "
                    "which no descriptor before it declares; left out",
                    IngestWarning,
                    stacklevel=2,
                )
                continue
            elif name == "event":
                problem = _event_problem(doc, data_keys_of[descriptor])
            else:
                problem = _event_page_problem(doc, data_keys_of[descriptor])
        elif name == "resource":
            problem = _resource_problem(doc)
        elif name == "datum":
            problem = _datum_problem(doc)
        elif name == "datum_page":
            problem = _datum_page_problem(doc)
        else:  # stop, and documents the run layer does not read
            problem = ""
        if problem:
            raise IngestError(label, f"document {number} ({name}) {problem}")
        if name == "descriptor":
            data_keys_of[doc["uid"]] = set(doc["data_keys"])
        yield name, doc
