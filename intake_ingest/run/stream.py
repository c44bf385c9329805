"""One event stream of a run (``run.primary``) as an intake data source of xarray."""

from intake.source.base import DataSource, Schema

from .._version import __version__
from ..errors import IngestError
from .filling import Filler
from .yaml_view import plain

__all__ = ["BlueskyEventStream"]


class BlueskyEventStream(DataSource):
    """The events of one stream, read as an ``xarray.Dataset``.

    Parameters
    ----------
    documents : RunDocuments
        The run's documents; pulled only when the stream is read.
    stream_name : str
        Name of the stream, e.g. ``'primary'``.
    metadata : dict, optional
    """

    name = "bluesky-event-stream"
    container = "xarray"
    version = __version__
    partition_access = False

    def __init__(self, documents, stream_name, metadata=None):
        super().__init__(metadata=metadata)
        self._documents = documents
        self._stream_name = stream_name

    def __repr__(self):
        return f"<BlueskyEventStream {self._stream_name!r} of run {self._documents.uid}>"

    def _dataset(self, lazy):
        # Imported here, not at the top: xarray imports pandas, which costs a process
        # 50-90 MiB that listing and searching runs never need.
        from .to_xarray import stream_to_dataset

        descriptors = self._documents.descriptors(self._stream_name)
        events = self._documents.event_documents(doc["uid"] for doc in descriptors)
        try:
            return stream_to_dataset(descriptors, events, lazy=lazy, filler=Filler(self._documents))
        except (ValueError, TypeError, OverflowError) as error:
            if isinstance(error, IngestError):
                raise
            # Events that do not stack into arrays (a row of another shape, a number past
            # 64 bits): the user is told which run, from which file, and why.
            where = self._documents.label or f"run {self._documents.uid}"
            raise IngestError(
                where, f"stream {self._stream_name!r} cannot be read as arrays ({type(error).__name__}: {error})"
            ) from error

    def _get_schema(self):
        dataset = self._dataset(lazy=True)
        return Schema(
            datashape=None,
            dtype={name: str(var.dtype) for name, var in dataset.data_vars.items()},
            shape=(dataset.sizes.get("time", 0),),
            npartitions=1,
            extra_metadata={"descriptors": self._documents.descriptors(self._stream_name)},
        )

    def read(self):
        """The whole stream in memory, with dims ``(time, dim_0, ...)``.

        Arrays may be read-only views of the run's own documents (no copy is made
        where the ingestor read a series into one buffer); ``.copy()`` one before
        changing it in place.

        Returns
        -------
        xarray.Dataset
        """
        return self._dataset(lazy=False)

    def to_dask(self):
        """The same Dataset as :meth:`read`, backed by dask arrays; nothing is computed."""
        return self._dataset(lazy=True)

    def _yaml(self):
        """How intake (and its GUI) shows this stream: its descriptors, no data."""
        descriptors = [
            {key: doc.get(key) for key in ("uid", "time", "data_keys", "configuration", "hints")}
            for doc in self._documents.descriptors(self._stream_name)
        ]
        return {
            "sources": {
                self._stream_name: {
                    "driver": type(self).name,
                    "description": f"event stream {self._stream_name!r} of run {self._documents.uid}",
                    "metadata": plain({"run_start": self._documents.uid, "descriptors": descriptors}),
                }
            }
        }

    def _close(self):
        pass
