"""intake driver for the column text ingestor of :mod:`intake_ingest.ingestors.column_text`."""

from .base import IngestedRun

__all__ = ["ColumnTextRun"]


class ColumnTextRun(IngestedRun):
    """One column text file (CSV, ``.xy``, ``.xye``, ``.dat``, ``.chi``) as one run, one event per row.

    See :func:`~intake_ingest.ingestors.column_text.ingest_column_text`.

    Examples
    --------
    .. code-block:: yaml

        sources:
          lab6_pattern:
            driver: bluesky-column-text
            args:
              filename: "{{ CATALOG_DIR }}/data/LaB6_0001.xy"
          furnace_log:
            driver: bluesky-column-text
            args:
              filename: "{{ CATALOG_DIR }}/data/furnace.csv"
              delimiter: ";"
              encoding: latin-1
    """

    name = "bluesky-column-text"
    ingestor_name = "column_text"
