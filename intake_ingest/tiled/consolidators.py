"""bluesky consolidators for the StreamResources this package writes that bluesky does not know.

bluesky's ``TiledWriter`` turns each StreamResource into a tiled data source through the
consolidator registered for its mimetype (``bluesky.consolidators.CONSOLIDATOR_REGISTRY``,
bluesky's documented extension point). TIFF series and HDF5 use bluesky's own; this module
adds a multi-page TIFF file (``image/tiff``, read by tiled's ``TiffAdapter``) and CBF and
EDF series (read by :mod:`.adapters`). :func:`register` adds them (idempotent; it leaves
every mimetype bluesky already handles as it is).
"""

from bluesky.consolidators import CONSOLIDATOR_REGISTRY, Asset, ConsolidatorBase, MultipartRelatedConsolidator

from .locators import CBF_SERIES, EDF_SERIES, INGESTOR_READS, TIFF_STACK

__all__ = ["CbfSeriesConsolidator", "EdfSeriesConsolidator", "IngestorConsolidator", "TiffStackConsolidator", "register"]


class TiffStackConsolidator(ConsolidatorBase):
    """The pages of one multi-page TIFF file, one frame per event: one chunk (tiled's ``TiffAdapter`` reads the file whole)."""

    supported_mimetypes = {TIFF_STACK}
    join_method = "stack"

    def __init__(self, stream_resource, descriptor):
        super().__init__(stream_resource, descriptor)
        self.chunk_shape = ()  # the whole file is one chunk
        self.assets.append(Asset(data_uri=self.uri, is_directory=False, parameter="data_uri"))


class CbfSeriesConsolidator(MultipartRelatedConsolidator):
    """Numbered CBF files, one frame each (``template`` names file ``n``)."""

    supported_mimetypes = {CBF_SERIES}

    def __init__(self, stream_resource, descriptor):
        super().__init__({".cbf"}, stream_resource, descriptor)


class EdfSeriesConsolidator(MultipartRelatedConsolidator):
    """Numbered EDF files, one frame each (``template`` names file ``n``)."""

    supported_mimetypes = {EDF_SERIES}

    def __init__(self, stream_resource, descriptor):
        super().__init__({".edf"}, stream_resource, descriptor)


class IngestorConsolidator(ConsolidatorBase):
    """An array this package's ingestor reads from the run's files: one chunk, the files as assets."""

    supported_mimetypes = {INGESTOR_READS}
    join_method = "stack"

    def __init__(self, stream_resource, descriptor):
        super().__init__(stream_resource, descriptor)
        self.chunk_shape = ()
        for number, path in enumerate(self._sres_parameters["paths"]):
            self.assets.append(Asset(data_uri=f"file://localhost{path}", is_directory=False, parameter="data_uris", num=number))

    def adapter_parameters(self):
        names = ("ingestor", "paths", "kwargs", "stream", "data_key")
        return {name: self._sres_parameters[name] for name in names}


def register():
    """Add this package's consolidators to bluesky's registry, where their mimetypes have none."""
    for consolidator in (TiffStackConsolidator, CbfSeriesConsolidator, EdfSeriesConsolidator, IngestorConsolidator):
        for mimetype in consolidator.supported_mimetypes:
            if mimetype not in CONSOLIDATOR_REGISTRY:
                CONSOLIDATOR_REGISTRY[mimetype] = consolidator
