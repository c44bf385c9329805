"""The run/stream layer: documents of one run, in order or as xarray per stream."""

from .bluesky_run import BlueskyRun
from .documents import RunDocuments
from .stream import BlueskyEventStream
from .to_xarray import stream_to_dataset

__all__ = ["BlueskyRun", "BlueskyEventStream", "RunDocuments", "stream_to_dataset"]
