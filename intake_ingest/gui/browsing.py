"""Browsing a catalog of runs: a searchable table of runs, and one run's metadata and data.

:class:`BrowseModel` and :class:`RunViewModel` are plain Python (no panel): the app's
Browse tab shows them, tests drive them directly.
"""

import math
import os

import numpy as np

from ..catalog.search_text import filters_to_query, parse_query
from ..cli.tables import present_columns, run_order, run_row
from ..run.yaml_view import plain

__all__ = ["BrowseModel", "RunViewModel", "filters_to_query", "is_catalog_argument", "parse_query", "value_range"]

def is_catalog_argument(argument):
    """True when what the user gave is a catalog to browse rather than files to ingest.

    A catalog object, a YAML spec (``.yml``/``.yaml``), msgpack files (a path or glob
    ending ``.msgpack``), or a local folder holding ``*.msgpack`` files.
    """
    from intake.catalog import Catalog

    if isinstance(argument, Catalog):
        return True
    if not isinstance(argument, (str, os.PathLike)):
        return False
    text = os.fspath(argument)
    if text.endswith((".yml", ".yaml", ".msgpack")):
        return True
    if os.path.isdir(text):
        return any(name.endswith(".msgpack") for name in os.listdir(text))
    return False


def value_range(frame):
    """(min, max) of an array's finite values as floats; a range of 1 where all are equal."""
    frame = np.asarray(frame)
    finite = frame[np.isfinite(frame)] if frame.dtype.kind in "fc" else frame
    if finite.size == 0:
        return 0.0, 1.0
    low, high = float(finite.min()), float(finite.max())
    return (low, high) if high > low else (low, low + 1.0)


class BrowseModel:
    """The runs of a catalog, searchable; the selected run as a :class:`RunViewModel`.

    Parameters
    ----------
    catalog : Catalog or str, optional
        A catalog object (e.g. the in-memory catalog just ingested), or what a user
        types: a YAML spec (opened safely), a folder of msgpack files, or a glob.
    """

    def __init__(self, catalog=None):
        self.catalog = None
        self.name = ""
        self.runs = []  # (entry path, BlueskyRun), every run of the catalog
        self.query = {}
        self.matched = []  # the runs matching the query
        self.selected = None
        if catalog is not None:
            self.open(catalog)

    def open(self, catalog):
        """Open a catalog object, a YAML spec, a msgpack folder or glob; lists its runs (and nested ones)."""
        from intake.catalog import Catalog

        from ..cli.catalogs import iter_runs, open_catalog_argument

        if isinstance(catalog, Catalog):
            opened, name = catalog, getattr(catalog, "name", "") or type(catalog).__name__
        else:
            name = os.fspath(catalog).strip()
            if not name:
                raise ValueError("give a catalog: a YAML file, a folder of msgpack files or a glob")
            opened = open_catalog_argument(name)
        runs = sorted(iter_runs(opened), key=run_order)  # as 'intake-ingest ls' numbers them
        self.catalog, self.name, self.runs = opened, name, runs
        self.query, self.matched, self.selected = {}, list(runs), None
        return self

    def refresh(self):
        """List the runs again (a folder's new files, runs just ingested into memory)."""
        if self.catalog is not None:
            query = self.query
            self.open(self.catalog)
            self.search(query)

    def search(self, query):
        """Keep the runs whose RunStart matches ``query``: a dict, JSON text, or field filters.

        Returns
        -------
        list of dict
            The matching runs' rows.
        """
        from ..catalog.base import RunStartQuery

        if not isinstance(query, dict):
            query = parse_query(query)
        matcher = RunStartQuery(query)
        self.query = query
        self.matched = [(path, run) for path, run in self.runs if matcher.match(run.start)]
        return self.rows()

    def rows(self):
        """One dict per matching run: uid, time (ISO, UTC), ingestor, plan_name, scan_id, num_points, sample, source, entry."""
        return [run_row(path, run) for path, run in self.matched]

    def columns(self):
        """The columns worth showing: uid, time, ingestor, entry, and the RunStart fields some run has."""
        return ["uid", "time", "ingestor", *present_columns(run for _, run in self.matched), "entry"]

    def select(self, which):
        """Select a matching run by position in :meth:`rows`, by uid, or by the uid's first characters.

        Returns
        -------
        RunViewModel
        """
        if isinstance(which, (int, np.integer)) and not isinstance(which, bool):
            path, run = self.matched[which]
        else:
            found = [(path, run) for path, run in self.matched if run.uid.startswith(str(which))]
            if not found:
                raise KeyError(f"no run whose uid starts with {which!r}")
            if len({run.uid for _, run in found}) > 1:
                raise KeyError(f"{len(found)} runs have uids starting with {which!r}; give more of the uid")
            path, run = found[0]
        self.selected = RunViewModel(run, path)
        return self.selected


class RunViewModel:
    """One run: its metadata, streams and data keys, image frames and scalar columns.

    Nothing is computed that is not asked for: streams are opened lazily (dask) and
    :meth:`image_frame` computes one frame.
    """

    def __init__(self, run, entry=""):
        self.run = run
        self.entry = entry
        self._datasets = {}
        self._descriptors = None

    @property
    def uid(self):
        return self.run.uid

    @property
    def start(self):
        return self.run.start

    @property
    def stop(self):
        """The RunStop, or None for a partial run (reads the run's documents)."""
        return self.run.metadata.get("stop")

    def metadata(self):
        """``{'start': RunStart, 'stop': RunStop}`` as plain JSON-able data."""
        return plain({"start": self.start, "stop": self.stop})

    def streams(self):
        """The run's stream names (``primary``, ``baseline``, ...)."""
        return list(self.run)

    def dataset(self, stream):
        """The stream as a dask-backed ``xarray.Dataset`` (cached; nothing computed)."""
        if stream not in self._datasets:
            self._datasets[stream] = self.run[stream].to_dask()
        return self._datasets[stream]

    def _stream_descriptors(self, stream):
        if self._descriptors is None:
            self._descriptors = [doc for name, doc in self.run.documents() if name == "descriptor"]
        return [doc for doc in self._descriptors if doc.get("name", "primary") == stream]

    def data_keys(self, stream):
        """One dict per data key of the stream: name, dtype, shape (per event), units, source, kind.

        ``kind`` is ``'image'`` (two or more dimensions per event), ``'scalar'`` (a
        number per event) or ``'other'`` (text, 1-D arrays).
        """
        merged = {}
        for descriptor in self._stream_descriptors(stream):
            for name, key in descriptor.get("data_keys", {}).items():
                merged.setdefault(name, key)
        dataset = self.dataset(stream)
        images, scalars = set(self.image_keys(stream)), set(self.scalar_keys(stream))
        rows = []
        for name, key in merged.items():
            variable = dataset.get(name)
            shape = list(key.get("shape") or ([] if variable is None else variable.shape[1:]))
            dtype = key.get("dtype_numpy") or (str(variable.dtype) if variable is not None else key.get("dtype", ""))
            rows.append(
                {
                    "name": name,
                    "dtype": dtype,
                    "shape": shape,
                    "units": key.get("units") or "",
                    "source": key.get("source", ""),
                    "kind": "image" if name in images else "scalar" if name in scalars else "other",
                }
            )
        return rows

    def image_keys(self, stream):
        """Variables with two or more dimensions per event (detector images), in stream order."""
        dataset = self.dataset(stream)
        return [name for name, variable in dataset.data_vars.items() if variable.ndim >= 3]

    def scalar_keys(self, stream):
        """Numeric variables with one value per event (motors, counters, seq_num)."""
        dataset = self.dataset(stream)
        return [
            name
            for name, variable in dataset.data_vars.items()
            if variable.ndim == 1 and variable.dtype.kind in "biuf"
        ]

    def frame_count(self, stream, key):
        """How many 2-D frames a variable holds (events times any extra leading dimensions)."""
        shape = self.dataset(stream)[key].shape
        return int(math.prod(shape[:-2])) if len(shape) >= 3 else 0

    def image_frame(self, stream, key, index=0):
        """Frame ``index`` of an image variable as a 2-D numpy array, computing only that frame.

        For variables with more than one frame per event (``(time, n, y, x)``), frames
        are numbered through the events in order.
        """
        variable = self.dataset(stream)[key]
        count = self.frame_count(stream, key)
        if count == 0:
            raise ValueError(f"{key!r} of stream {stream!r} is not an image (shape {variable.shape})")
        if not -count <= index < count:
            raise IndexError(f"{key!r} has {count} frame(s); no frame {index}")
        position = np.unravel_index(index % count, variable.shape[:-2])
        frame = variable.data[tuple(int(i) for i in position)]
        return np.asarray(frame.compute() if hasattr(frame, "compute") else frame)

    def frame_range(self, stream, key, index=0):
        """(min, max) of one frame, finite values only: the bounds for a colour scale."""
        return value_range(self.image_frame(stream, key, index))

    def plot_columns(self, stream):
        """What to plot of the stream's scalar columns, as Bluesky's best-effort plots choose.

        The x column is the RunStart's ``hints['dimensions']`` for this stream (the last,
        fastest, where a grid scan has two), else ``seq_num``. The y columns are the
        detectors the stream's descriptors hint (``hints[object]['fields']``) that are
        scalar columns; where no descriptor hints any, the last scalar column that is
        not x (SPEC's convention: the detector's counts are the last column).

        Returns
        -------
        (str or None, list of str)
            ``(x, ys)``; x is None, and ys empty, for a stream without scalar columns.
        """
        scalars = self.scalar_keys(stream)
        if not scalars:
            return None, []
        x = None
        dimensions = (self.start.get("hints") or {}).get("dimensions") or []
        for fields, dimension_stream in reversed([tuple(item) for item in dimensions if len(item) == 2]):
            usable = [field for field in fields if field in scalars or field == "time"]
            if dimension_stream == stream and usable:
                x = usable[0]
                break
        if x is None:
            x = "seq_num" if "seq_num" in scalars else "time"
        hinted = []
        for descriptor in self._stream_descriptors(stream):
            for object_hints in (descriptor.get("hints") or {}).values():
                for field in (object_hints or {}).get("fields") or []:
                    if field in scalars and field != x and field not in hinted:
                        hinted.append(field)
        if not hinted:
            others = [name for name in scalars if name not in (x, "seq_num")]
            hinted = others[-1:]
        return x, hinted

    def scalar_columns(self, stream):
        """The stream's scalar variables as a ``pandas.DataFrame``, one row per event.

        The index is the event time; ``seq_num`` is a column, to plot against.
        """
        dataset = self.dataset(stream)
        keys = self.scalar_keys(stream)
        frame = dataset[keys].compute().to_dataframe() if keys else None
        if frame is None:
            import pandas as pd

            return pd.DataFrame(index=np.asarray(dataset["time"]) if "time" in dataset.coords else None)
        return frame
