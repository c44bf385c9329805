"""The base of every single-run intake driver: a BlueskyRun made by a registered ingestor."""

from ..registry import get_ingestor
from ..run import BlueskyRun, RunDocuments

__all__ = ["IngestedRun"]


class IngestedRun(BlueskyRun):
    """A run made by the registered ingestor ``ingestor_name`` from the given arguments.

    Parameters
    ----------
    *args
        Passed to the ingestor (usually a path, glob or URL).
    storage_options : dict, optional
        Passed to fsspec; intake fills it in for catalogs inside archives.
    metadata : dict, optional
        Catalog metadata, kept beside ``start`` and ``stop`` in ``run.metadata``.
    **kwargs
        Passed to the ingestor.
    """

    ingestor_name = None

    def __init__(self, *args, storage_options=None, metadata=None, **kwargs):
        ingestor = get_ingestor(self.ingestor_name)
        generator = ingestor(*args, storage_options=storage_options, **kwargs)
        label = f"{self.ingestor_name}{args!r}"
        super().__init__(RunDocuments(generator, label=label), metadata=metadata)
