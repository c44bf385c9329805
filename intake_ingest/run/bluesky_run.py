"""``BlueskyRun``: one run's documents, in order or as one xarray Dataset per stream."""

import datetime
from collections.abc import Mapping
from functools import partial

import event_model
import numpy as np
from intake.catalog import Catalog

from .._version import __version__
from ..lazy import is_dask_array
from .documents import RunDocuments
from .filling import Filler
from .entry import LazyEntry
from .stream import BlueskyEventStream
from .yaml_view import plain

__all__ = ["BlueskyRun", "FILL_MODES"]

FILL_MODES = ("yes", "no", "delayed")


class _StreamEntries(Mapping):
    """The run's streams as intake entries, found only when first looked up.

    Finding the streams means pulling every document of the run, so it must not
    happen when the run is merely listed or searched.
    """

    def __init__(self, documents):
        self._documents = documents
        self._entries = None

    def _load(self):
        if self._entries is None:
            self._entries = {
                name: LazyEntry(
                    name,
                    partial(BlueskyEventStream, self._documents, name),
                    container="xarray",
                    description=f"event stream {name!r}",
                )
                for name in self._documents.stream_names()
            }
        return self._entries

    def __getitem__(self, name):
        return self._load()[name]

    def __iter__(self):
        return iter(self._load())

    def __len__(self):
        return len(self._load())

    def __bool__(self):
        # intake's Catalog.__init__ tests ``if entries``; answering via __len__ would
        # pull the whole run just to construct it.
        return True


def _fill_event(event, fill, external, filler):
    """The event with its data concrete (``fill='yes'``), lazy (``'delayed'``), or as it is.

    Datum ids of external keys are replaced by the arrays they point at (and recorded in
    ``filled``, as the event model asks); ``'yes'`` also computes lazy (dask) arrays.
    """
    if fill == "no":
        return event
    data, filled = dict(event["data"]), dict(event.get("filled") or {})
    changed = False
    for key, value in data.items():
        if key in external and isinstance(value, str):
            if fill == "yes":
                data[key] = filler.load(value)
            else:
                data[key] = filler.lazy(value, *_shape_and_dtype(external[key], filler, value))
            filled[key] = value
            changed = True
        elif fill == "yes" and is_dask_array(value):
            data[key] = np.asarray(value)
            changed = True
    return {**event, "data": data, "filled": filled} if changed else event


def _shape_and_dtype(data_key, filler, datum_id):
    if "dtype_numpy" in data_key:
        return tuple(data_key.get("shape") or ()), np.dtype(data_key["dtype_numpy"])
    first = filler.load(datum_id)
    return first.shape, first.dtype


class BlueskyRun(Catalog):
    """One Bluesky run: its documents in order, and each event stream as a data source.

    Streams are items and attributes: ``run['primary']``, ``run.primary``; each has
    ``read()`` (an ``xarray.Dataset``) and ``to_dask()``.

    Parameters
    ----------
    documents : RunDocuments or iterable of (name, doc)
        The run's documents. Only the RunStart is pulled until the run is read.
    **kwargs
        Passed to :class:`intake.catalog.Catalog` (``name``, ``metadata``, ...).
    """

    name = "bluesky-run"
    container = "bluesky-run"
    version = __version__

    def __init__(self, documents, **kwargs):
        if not isinstance(documents, RunDocuments):
            documents = RunDocuments(documents)
        self._documents = documents
        self._extra_metadata = {}
        # intake's constructors read ``self.metadata`` back; until they are done it is
        # only what they set, so that constructing a run never pulls its documents.
        self._constructed = False
        kwargs.setdefault("name", documents.uid)
        super().__init__(entries=_StreamEntries(documents), **kwargs)
        self._constructed = True

    def _get_entry(self, name):
        # intake's version stores the catalog on the entry (``entry._catalog = self``): a
        # reference cycle that keeps every run's arrays alive until the garbage collector
        # runs. Our entries need nothing from their catalog.
        return self._entries[name]()

    # intake's Catalog stores ``metadata`` as a plain attribute; here it is derived
    # from the documents, so that ``stop`` is always current for a run being read.
    @property
    def metadata(self):
        """``{'start': RunStart, 'stop': RunStop or None}`` plus any catalog metadata.

        Looking up ``stop`` pulls the whole run.
        """
        if not self._constructed:
            return self._extra_metadata
        return {
            **self._extra_metadata,
            "start": self._documents.start,
            "stop": self._documents.stop,
        }

    @metadata.setter
    def metadata(self, value):
        self._extra_metadata = dict(value or {})

    @property
    def uid(self):
        """The RunStart uid."""
        return self._documents.uid

    @property
    def start(self):
        """The RunStart document (cheap: needs no file beyond what the RunStart read)."""
        return self._documents.start

    @property
    def stop(self):
        """The RunStop document, or None for a run that has none (partial); reads the whole run."""
        return self._documents.stop

    def describe(self):
        """The run's description and RunStart, without reading any data."""
        return {
            "name": self.name,
            "container": self.container,
            "description": self.description or "",
            "direct_access": "forbid",
            "user_parameters": [],
            "metadata": {**self._extra_metadata, "start": self._documents.start},
        }

    def discover(self):
        """What intake shows before reading: the RunStart, no data."""
        return {
            "container": self.container,
            "shape": None,
            "dtype": None,
            "npartitions": 1,
            "metadata": {**self._extra_metadata, "start": self._documents.start},
        }

    def read(self):
        """Every stream, read into memory, as one tree: ``tree['primary']`` is a Dataset.

        Returns
        -------
        xarray.DataTree
        """
        return self._tree(lazy=False)

    def to_dask(self):
        """Every stream as a tree of dask-backed Datasets; nothing is computed."""
        return self._tree(lazy=True)

    def _tree(self, lazy):
        import xarray as xr

        datasets = {
            f"/{name}": (self[name].to_dask() if lazy else self[name].read()) for name in self
        }
        tree = xr.DataTree.from_dict(datasets, name=self.uid)
        tree.attrs["uid"] = self.uid
        return tree

    def _yaml(self):
        """How intake (and its GUI) shows this run: its RunStart, no data."""
        return {
            "sources": {
                self.uid: {
                    "driver": type(self).name,
                    "description": self.description or "",
                    "metadata": plain({"start": self._documents.start}),
                }
            }
        }

    def __repr__(self):
        start = self._documents.start
        when = datetime.datetime.fromtimestamp(start["time"], tz=datetime.timezone.utc)
        return f"<BlueskyRun uid={start['uid']!r} start={when.isoformat(timespec='seconds')}>"

    def canonical(self, *, fill="no"):
        """The run's documents in the order they were generated, as a RunEngine emits them.

        Event pages are unpacked into events and datum pages into datums.

        Parameters
        ----------
        fill : {'no', 'yes', 'delayed'}
            'no' yields data as the ingestor produced it: external data as datum ids,
            lazy arrays lazy. 'yes' reads external data and computes lazy (dask) arrays
            into numpy. 'delayed' gives external data as dask arrays read on compute.

        Yields
        ------
        name, doc : str, dict
        """
        if fill not in FILL_MODES:
            raise ValueError(f"fill must be one of {FILL_MODES}, not {fill!r}")
        filler = Filler(self._documents)
        external = {}  # descriptor uid -> {key: data key} of its external keys
        for name, doc in self._documents:
            if name == "descriptor":
                external[doc["uid"]] = {
                    key: data_key for key, data_key in doc["data_keys"].items() if data_key.get("external")
                }
            if name == "event_page":
                for event in event_model.unpack_event_page(doc):
                    yield "event", _fill_event(event, fill, external.get(doc["descriptor"], {}), filler)
            elif name == "event":
                yield "event", _fill_event(doc, fill, external.get(doc["descriptor"], {}), filler)
            elif name == "datum_page":
                for datum in event_model.unpack_datum_page(doc):
                    yield "datum", datum
            else:
                yield name, doc

    def read_canonical(self):
        """The documents in order, data as the ingestor produced it: ``canonical(fill='no')``."""
        return self.canonical(fill="no")

    def documents(self):
        """The documents exactly as generated (event pages kept as pages)."""
        return iter(self._documents)
