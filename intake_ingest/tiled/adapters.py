"""tiled adapters for image series tiled cannot read itself: CBF and EDF files, through fabio.

Registered with a tiled server by mimetype (``adapters_by_mimetype``, see
:data:`ADAPTERS_BY_MIMETYPE`), they read a run's frames where they are, one file per
frame, as tiled's own TIFF sequence adapter does for TIFF.
"""

import builtins
from collections.abc import Iterable

import numpy as np
from tiled.adapters.sequence import FileSequenceAdapter

from .locators import CBF_SERIES, EDF_SERIES

__all__ = ["ADAPTERS_BY_MIMETYPE", "FabioSequenceAdapter"]


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
