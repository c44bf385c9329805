"""intake drivers for the Dectris PILATUS ingestors of :mod:`intake_ingest.ingestors.dectris`."""

from .base import IngestedRun

__all__ = ["PilatusCbfRun", "PilatusTiffRun"]


class PilatusCbfRun(IngestedRun):
    """A numbered series of PILATUS miniCBF files as one run
    (:func:`~intake_ingest.ingestors.dectris.ingest_pilatus_cbf`).

    Examples
    --------
    .. code-block:: yaml

        sources:
          lyso:
            driver: bluesky-pilatus-cbf
            args:
              pattern: "{{ CATALOG_DIR }}/data/lyso/lyso_*.cbf"
              timezone: Europe/Zurich
    """

    name = "bluesky-pilatus-cbf"
    ingestor_name = "pilatus_cbf"


class PilatusTiffRun(IngestedRun):
    """A numbered series of PILATUS TIFF files as one run
    (:func:`~intake_ingest.ingestors.dectris.ingest_pilatus_tiff`).

    Examples
    --------
    .. code-block:: yaml

        sources:
          lyso:
            driver: bluesky-pilatus-tiff
            args:
              pattern: "{{ CATALOG_DIR }}/data/lyso/lyso_*.tif"
              lazy: true
    """

    name = "bluesky-pilatus-tiff"
    ingestor_name = "pilatus_tiff"
