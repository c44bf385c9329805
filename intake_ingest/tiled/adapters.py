"""tiled adapters for image series tiled cannot read itself: CBF and EDF files, through fabio.

Registered with a tiled server by mimetype (``adapters_by_mimetype``, see
:data:`ADAPTERS_BY_MIMETYPE`), they read a run's frames where they are, one file per
frame, as tiled's own TIFF sequence adapter does for TIFF.
"""

import builtins
from collections.abc import Iterable

import numpy as np
from tiled.adapters.sequence import FileSequenceAdapter

from .locators import CBF_SERIES, EDF_SERIES, INGESTOR_READS

__all__ = ["ADAPTERS_BY_MIMETYPE", "FabioSequenceAdapter", "IngestorArrayAdapter"]


class FabioSequenceAdapter(FileSequenceAdapter):
    """A series of single-frame files fabio reads (CBF, EDF), stacked along a first axis."""

    def _read_one(self, filepath):
        import fabio

        with fabio.open(str(filepath)) as image:
            return np.asarray(image.data)

    def _load_from_files(self, slice=builtins.slice(None)):
        if isinstance(slice, Iterable) and not isinstance(slice, builtins.slice):
            paths = [self.filepaths[index] for index in slice]
        elif isinstance(slice, builtins.slice):
            paths = self.filepaths[slice]
        else:
            paths = [self.filepaths[slice]]
        return np.stack(self._map_read(paths))


#: What a tiled server is given (``tiled.catalog.from_uri(..., adapters_by_mimetype=...)``
#: or a config file's ``adapters_by_mimetype``) to read the series this package registers.
ADAPTERS_BY_MIMETYPE = {
    CBF_SERIES: FabioSequenceAdapter,
    EDF_SERIES: FabioSequenceAdapter,
}

#: The same, as import paths (for a tiled configuration file).
ADAPTER_PATHS = {mimetype: f"{__name__}:FabioSequenceAdapter" for mimetype in ADAPTERS_BY_MIMETYPE}


class IngestorArrayAdapter:
    """One data key of a stream, read from the run's files by this package's ingestor.

    For arrays no other reader takes (a spectrum per event, an HDF5 layout, a WinView SPE
    file): the ingestor reads the run where it is, on the server, and the key's values
    over the stream's events are the array (kept while the adapter lives).
    """

    structure_family = "array"

    def __init__(self, structure, *, data_uris=(), ingestor, paths, stream, data_key, kwargs=None, metadata=None, specs=None):
        from tiled.adapters.array import ArrayAdapter  # noqa: F401 (tiled must be importable)

        self._structure = structure
        self._metadata = metadata or {}
        self._specs = list(specs or [])
        self._ingestor, self._paths, self._kwargs = ingestor, list(paths), dict(kwargs or {})
        self._stream, self._key = stream, data_key
        self._array = None

    @classmethod
    def from_catalog(cls, data_source, node, /, **kwargs):
        from tiled.adapters.utils import init_adapter_from_catalog

        return init_adapter_from_catalog(cls, data_source, node, **kwargs)

    def metadata(self):
        return self._metadata

    def specs(self):
        return self._specs

    def structure(self):
        return self._structure

    def _read_all(self):
        if self._array is None:
            from ..registry import get_ingestor

            argument = self._paths[0] if len(self._paths) == 1 else self._paths
            descriptors, values = set(), []
            for name, doc in get_ingestor(self._ingestor)(argument, **self._kwargs):
                if name == "descriptor" and doc["name"] == self._stream:
                    descriptors.add(doc["uid"])
                elif name == "event" and doc["descriptor"] in descriptors:
                    values.append(np.asarray(doc["data"][self._key]))
                elif name == "event_page" and doc["descriptor"] in descriptors:
                    values.extend(np.asarray(value) for value in doc["data"][self._key])
            dtype = self._structure.data_type.to_numpy_dtype()
            self._array = np.stack(values).astype(dtype, copy=False)
        return self._array

    def read(self, slice=...):
        array = self._read_all()
        return array[slice] if slice is not None else array

    def read_block(self, block, slice=None):
        if any(block):
            raise IndexError(block)
        array = self._read_all()
        return array[slice] if slice is not None else array


ADAPTERS_BY_MIMETYPE[INGESTOR_READS] = IngestorArrayAdapter
ADAPTER_PATHS[INGESTOR_READS] = f"{__name__}:IngestorArrayAdapter"
