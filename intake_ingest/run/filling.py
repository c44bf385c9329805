"""Filling external data: datum references in events, read through handlers.

Ingestors of formats that keep large arrays in other files (an Eiger master file and
its data files, say) yield Resource and Datum documents, and events whose value for
such a key is a datum id (the event model's way to point at external data). Reading
the run replaces each datum id by the array a **handler** reads.

A handler is a class registered for a resource ``spec`` under the
``intake_ingest.handlers`` entry point (or with :func:`register_handler`), following
the Bluesky convention::

    handler = Handler(full_path, **resource["resource_kwargs"])
    array = handler(**datum["datum_kwargs"])

``full_path`` is the resource's ``root`` and ``resource_path`` joined: a path or an
fsspec URL, which the handler opens through fsspec. Handlers are code, so they come
only from installed packages, never from a catalog spec.
"""

import json
from functools import lru_cache
from importlib.metadata import entry_points

import numpy as np

from ..lazy import lazy_array

__all__ = ["HANDLER_ENTRY_POINT_GROUP", "Filler", "UnknownHandlerError", "get_handler", "register_handler"]

HANDLER_ENTRY_POINT_GROUP = "intake_ingest.handlers"

_registered = {}  # spec -> handler class, from register_handler


class UnknownHandlerError(KeyError):
    """No handler is registered for a resource spec."""

    def __str__(self):
        return self.args[0]


@lru_cache(maxsize=None)
def _entry_points():
    return {ep.name: ep for ep in entry_points(group=HANDLER_ENTRY_POINT_GROUP)}


def register_handler(spec, handler_class):
    """Use ``handler_class`` for resources of ``spec`` in this process (overrides entry points)."""
    _registered[spec] = handler_class
    _handler.cache_clear()


def get_handler(spec):
    """The handler class for a resource spec."""
    if spec in _registered:
        return _registered[spec]
    try:
        return _entry_points()[spec].load()
    except KeyError:
        known = sorted(set(_registered) | set(_entry_points()))
        raise UnknownHandlerError(
            f"no handler for resource spec {spec!r}; handlers are registered for: "
            f"{', '.join(known) or 'none'}"
        ) from None


def full_path(resource):
    """A resource's ``root`` and ``resource_path`` joined into one path or URL."""
    root, path = resource.get("root") or "", resource["resource_path"]
    if not root:
        return path
    return f"{root.rstrip('/')}/{path.lstrip('/')}"


@lru_cache(maxsize=64)
def _handler(spec, path, resource_kwargs_json):
    # One handler per resource and process: handlers may keep files open between frames.
    return get_handler(spec)(path, **json.loads(resource_kwargs_json))


def load_datum(spec, path, resource_kwargs_json, datum_kwargs):
    """The array of one datum (module-level, so dask can ship it to workers)."""
    return np.asarray(_handler(spec, path, resource_kwargs_json)(**datum_kwargs))


class Filler:
    """Reads the external data of one run's events, eagerly or as dask arrays.

    Parameters
    ----------
    documents : RunDocuments
    """

    def __init__(self, documents):
        self._documents = documents
        self._datums = None
        self._resources = None

    def _index(self):
        if self._datums is None:
            self._resources, self._datums = self._documents.resources_and_datums()

    def _arguments(self, datum_id):
        self._index()
        try:
            datum = self._datums[datum_id]
        except KeyError:
            raise ValueError(f"run {self._documents.uid} has no datum {datum_id!r}") from None
        resource = self._resources[datum["resource"]]
        kwargs_json = json.dumps(resource.get("resource_kwargs", {}), sort_keys=True)
        return resource, (resource["spec"], full_path(resource), kwargs_json, datum["datum_kwargs"])

    def load(self, datum_id):
        """The array a datum points at, read now."""
        return load_datum(*self._arguments(datum_id)[1])

    def lazy(self, datum_id, shape, dtype):
        """The array a datum points at, as a dask array read on compute."""
        resource, arguments = self._arguments(datum_id)
        # One task per datum, not fused with its neighbours (intake_ingest.lazy): a
        # handler reads its file chunk-aligned already, and a frame then reads one file.
        return lazy_array(
            load_datum, arguments, shape, dtype, f"{resource['uid']}|{datum_id}", fusable=False
        )


def external_keys(descriptor):
    """The data keys of a descriptor whose values are stored outside the events."""
    return {key for key, data_key in descriptor["data_keys"].items() if data_key.get("external")}
