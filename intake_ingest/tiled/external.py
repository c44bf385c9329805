"""A run's frames as external data: StreamResource/StreamDatum documents instead of inline arrays.

Ingestors put pixels inline in events (the seed's behaviour, what msgpack export and the
intake catalogs read). A writer into tiled should instead record *where* the pixels are,
the event model's way: the descriptor marks the data key ``external: 'STREAM:'``, a
StreamResource names the file(s) and how to read them (its ``mimetype`` and
``parameters``), and StreamDatum documents map the stream's events (``seq_nums``) to
frames of that resource (``indices``). :func:`external_documents` rewrites a run's
document stream so; :class:`FrameFiles` is what it needs to know about one data key,
given by a locator (:mod:`.locators`).
"""

import hashlib
from dataclasses import dataclass

import event_model
from event_model.documents.stream_datum import StreamRange

from ..errors import IngestError

__all__ = ["FrameFiles", "external_documents"]

#: What a descriptor's data key says of data in StreamResource/StreamDatum documents.
EXTERNAL = "STREAM:"


@dataclass(frozen=True)
class FrameFiles:
    """Where the frames of one data key of a stream are, as a StreamResource records it.

    Attributes
    ----------
    mimetype : str
        How the files are read (``'multipart/related;type=image/tiff'``, a tiled adapter's
        mimetype).
    uri : str
        ``file://localhost/...``: the file, or the folder prefix a ``template`` completes.
    parameters : dict
        The StreamResource's parameters (a ``template``, an HDF5 ``dataset``...).
    indices : list of int or None
        Per frame of the stream, in event order, its index in the resource (for a
        numbered series: the file's number, which the ``template`` formats); None: the
        event's own position (the resource is read as the stream, whatever its length).
    source : str
        The run's first file, for messages.
    """

    mimetype: str
    uri: str
    parameters: dict
    indices: list
    source: str = ""


def _resource_uid(run_uid, stream, key, part=0):
    # Deterministic: the same files ingested twice give the same documents.
    name = f"{run_uid}\0{stream}\0{key}" + (f"\0{part}" if part else "")
    digest = hashlib.sha256(name.encode()).hexdigest()[:32]
    return f"{run_uid}-{digest}"


def _consecutive(indices, seq_nums):
    """(indices range, seq_nums range) of runs where both go up by one together."""
    start = 0
    for position in range(1, len(indices) + 1):
        if (
            position == len(indices)
            or indices[position] != indices[position - 1] + 1
            or seq_nums[position] != seq_nums[position - 1] + 1
        ):
            yield (
                StreamRange(start=indices[start], stop=indices[position - 1] + 1),
                StreamRange(start=seq_nums[start], stop=seq_nums[position - 1] + 1),
            )
            start = position


class _Stream:
    """One descriptor's external keys: their resources and how many frames were used."""

    def __init__(self, descriptor, resources):
        self.descriptor = descriptor
        # data key -> [(FrameFiles, ComposeStreamResourceBundle)], one per resource, in frame order
        self.resources = resources
        self.rows = 0

    def stream_datums(self, seq_nums):
        """StreamDatum documents for the next ``len(seq_nums)`` rows of every external key."""
        begin, end = self.rows, self.rows + len(seq_nums)
        self.rows = end
        for key, parts in self.resources.items():
            frames = parts[0][0]
            if frames.indices is None:  # the resource is read as the stream: rows are indices
                yield from self._datums(parts[0][1], list(range(begin, end)), seq_nums)
                continue
            total = sum(len(part.indices) for part, _ in parts)
            if end > total:
                raise IngestError(
                    frames.source,
                    f"stream {self.descriptor['name']!r} has more events than the {total} "
                    f"frames of {key!r} its files hold",
                )
            offset = 0
            for part, bundle in parts:  # the rows that fall in each resource
                first, last = max(begin, offset), min(end, offset + len(part.indices))
                if first < last:
                    indices = part.indices[first - offset : last - offset]
                    yield from self._datums(bundle, indices, seq_nums[first - begin : last - begin])
                offset += len(part.indices)

    def _datums(self, bundle, indices, seq_nums):
        for index_range, seq_range in _consecutive(list(indices), list(seq_nums)):
            yield "stream_datum", bundle.compose_stream_datum(indices=index_range, seq_nums=seq_range, descriptor=self.descriptor)

    def check_complete(self):
        """Raise if the stream used fewer frames than its files hold (the files and the run disagree)."""
        for key, parts in self.resources.items():
            if parts[0][0].indices is None:
                continue
            total = sum(len(part.indices) for part, _ in parts)
            if self.rows != total:
                raise IngestError(
                    parts[0][0].source,
                    f"stream {self.descriptor['name']!r} has {self.rows} events but the files of {key!r} hold {total} frames",
                )


def _without(doc, keys, fields=("data", "timestamps", "filled")):
    """A copy of an event (page) without ``keys`` in its data, timestamps and filled."""
    out = dict(doc)
    for name in fields:
        if name in doc:
            out[name] = {key: value for key, value in doc[name].items() if key not in keys}
    return out


def external_documents(documents, locate):
    """A run's documents with the frames ``locate`` finds as external data.

    Parameters
    ----------
    documents : iterable of (str, dict)
        The run, as an ingestor yields it (inline arrays, or dask arrays with ``lazy``:
        their pixels are never read here).
    locate : callable
        ``locate(descriptor) -> {data_key: FrameFiles}`` for the keys of that stream to
        make external (an empty dict leaves the stream inline). A key's frames may be in
        several resources (an HDF5 dataset per file): a list of FrameFiles, in frame
        order, each with its ``indices``.

    Yields
    ------
    (str, dict)
        The same run: each located key's data key gets ``external: 'STREAM:'``, a
        StreamResource follows its descriptor, the events lose the key, and StreamDatum
        documents (after the events they cover) map their ``seq_num`` to frames.

    Raises
    ------
    IngestError
        If a stream has more events than the located files hold frames, or fewer (the
        files and the run disagree), naming the run's file.
    """
    start, streams = None, {}
    for name, doc in documents:
        if name == "start":
            start = doc
            yield name, doc
        elif name == "descriptor":
            located = locate(doc) or {}
            if not located:
                yield name, doc
                continue
            data_keys = {
                key: ({**data_key, "external": EXTERNAL} if key in located else data_key)
                for key, data_key in doc["data_keys"].items()
            }
            descriptor = {**doc, "data_keys": data_keys}
            yield name, descriptor
            resources = {}
            run_uid = start["uid"] if start else doc["run_start"]
            for key, located_files in located.items():
                parts = [located_files] if isinstance(located_files, FrameFiles) else list(located_files)
                resources[key] = []
                for number, frames in enumerate(parts):
                    bundle = event_model.ComposeStreamResource(start=start)(
                        mimetype=frames.mimetype,
                        uri=frames.uri,
                        data_key=key,
                        parameters=dict(frames.parameters),
                        uid=_resource_uid(run_uid, doc["name"], key, number),
                    )
                    resources[key].append((frames, bundle))
                    yield "stream_resource", bundle.stream_resource_doc
            streams[doc["uid"]] = _Stream(descriptor, resources)
        elif name in ("event", "event_page") and doc["descriptor"] in streams:
            stream = streams[doc["descriptor"]]
            yield name, _without(doc, stream.resources)
            seq_nums = [doc["seq_num"]] if name == "event" else list(doc["seq_num"])
            yield from stream.stream_datums(seq_nums)
        elif name == "stop":
            for stream in streams.values():
                stream.check_complete()
            yield name, doc
        else:
            yield name, doc
