"""The documents of one run, pulled from their generator only as far as someone asks."""

import threading

from ..errors import IngestError

__all__ = ["RunDocuments"]

# Documents that carry rows of a stream; everything else describes the run.
EVENT_NAMES = ("event", "event_page")


class RunDocuments:
    """Documents of one run, cached as they are pulled from an iterator of ``(name, doc)``.

    A catalog needs only the RunStart to list and search a run; the rest of the
    generator, which may read every file of the run, is pulled on first use.
    Whatever has been pulled is kept, so reading a stream twice reads files once.

    Parameters
    ----------
    documents : iterator of (str, dict)
        Yields the RunStart first.
    label : str, optional
        How to name this run's source in errors (a file or pattern).
    """

    def __init__(self, documents, label=None):
        self._iterator = iter(documents)
        self._label = label
        self._cache = []
        self._exhausted = False
        self._error = None
        # A generator cannot be pulled from two threads at once (dask may try).
        self._lock = threading.RLock()

    # -- pulling --------------------------------------------------------------

    def _pull_one(self):
        """Pull one more document into the cache; False when there are no more."""
        with self._lock:
            if self._exhausted:
                return False
            try:
                name, doc = next(self._iterator)
            except StopIteration:
                self._exhausted = True
                return False
            except Exception as error:
                # Keep what was read; the same error is raised to whoever asks for more.
                self._exhausted = True
                self._error = error
                raise
            if not self._cache and name != "start":
                self._exhausted = True
                self._error = IngestError(
                    self._label or "run", f"its first document is {name!r}, not a RunStart"
                )
                raise self._error
            self._cache.append((name, doc))
            return True

    def __iter__(self):
        """All documents in the order they were generated, pulling as needed."""
        index = 0
        while True:
            if index < len(self._cache):
                yield self._cache[index]
                index += 1
            elif not self._pull_one():
                if self._error is not None:
                    raise self._error
                return

    def pull_all(self):
        """Pull the whole run; return the list of ``(name, doc)`` pairs."""
        for _ in self:
            pass
        return self._cache

    # -- what the run layer asks for ---------------------------------------------

    @property
    def start(self):
        """The RunStart document; pulls only the first document."""
        if not self._cache:
            if not self._pull_one():
                raise IngestError(self._label or "run", "yielded no documents")
        return self._cache[0][1]

    @property
    def label(self):
        """How errors name this run's source (a file, pattern or call), or None."""
        return self._label

    @property
    def uid(self):
        return self.start["uid"]

    @property
    def stop(self):
        """The RunStop document, or None if the run has none (it is partial)."""
        for name, doc in reversed(self.pull_all()):
            if name == "stop":
                return doc
        return None

    @property
    def complete(self):
        """True once every document has been pulled (used to report progress)."""
        return self._exhausted

    def descriptors(self, stream_name=None):
        """Event descriptors in generation order, optionally only those of one stream."""
        return [
            doc
            for name, doc in self.pull_all()
            if name == "descriptor" and (stream_name is None or doc.get("name") == stream_name)
        ]

    def stream_names(self):
        """Names of the event streams, in the order their first descriptor appeared."""
        return list(dict.fromkeys(doc.get("name", "primary") for doc in self.descriptors()))

    def resources_and_datums(self):
        """Resources by uid and datums by datum_id (datum pages unpacked)."""
        import event_model

        resources, datums = {}, {}
        for name, doc in self.pull_all():
            if name == "resource":
                resources[doc["uid"]] = doc
            elif name == "datum":
                datums[doc["datum_id"]] = doc
            elif name == "datum_page":
                for datum in event_model.unpack_datum_page(doc):
                    datums[datum["datum_id"]] = datum
        return resources, datums

    def event_documents(self, descriptor_uids):
        """Events and event pages that belong to any of the given descriptors, in order."""
        wanted = set(descriptor_uids)
        return [
            (name, doc)
            for name, doc in self.pull_all()
            if name in EVENT_NAMES and doc["descriptor"] in wanted
        ]
