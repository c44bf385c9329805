"""intake driver for the Princeton Instruments SPE ingestor of :mod:`intake_ingest.ingestors.spe`."""

from .base import IngestedRun

__all__ = ["WinViewSpeRun"]


class WinViewSpeRun(IngestedRun):
    """The frames of an SPE file as a run (:func:`~intake_ingest.ingestors.spe.ingest_winview_spe`).

    Examples
    --------
    .. code-block:: yaml

        sources:
          ccd_stack:
            driver: bluesky-winview-spe
            args:
              filename: "{{ CATALOG_DIR }}/data/stack.spe"
    """

    name = "bluesky-winview-spe"
    ingestor_name = "winview_spe"
