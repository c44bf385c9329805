"""The run/stream layer: documents of one run, in order or as xarray per stream."""

from .bluesky_run import BlueskyRun
from .documents import RunDocuments
from .stream import BlueskyEventStream

__all__ = ["BlueskyRun", "BlueskyEventStream", "RunDocuments", "stream_to_dataset"]


def __getattr__(name):
    # Imported on first use: it imports xarray (and so pandas), which a process that
    # only lists or searches runs never needs.
    if name == "stream_to_dataset":
        from .to_xarray import stream_to_dataset

        return stream_to_dataset
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
