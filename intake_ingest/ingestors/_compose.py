"""``compose_run`` as event_model's, with each document's schema check compiled once.

Every ingestor composes its documents with event_model's composers, which validate each
document with jsonschema (see :mod:`._schema_check` for what that cost). The bundles made
here are event_model's own, composing the very same documents, with their ``compose_*``
functions wrapped: each composes with ``validate=False`` and then checks the document with
the compiled schema (:func:`._schema_check.is_valid`) and the key rules event_model checks
beside the schema (an event's data and timestamps have the keys of its descriptor; a
stream keeps its data keys). Whenever the quick check does not accept a document, event_model
composes the same document again with ``validate=True``: its verdict and its error stand.
So a document an ingestor yields is exactly what event_model yields, and is valid whenever
event_model's own validation would pass it.

Two things event_model does one row at a time are done here for a whole page: the uids of
an event page's events (:func:`new_uids`), and unpacking a page into its events
(:func:`unpack_event_page`).
"""

import dataclasses
import os
import uuid

import event_model

from . import _schema_check
from ._schema_check import is_valid

__all__ = ["compose_run", "new_uids", "unpack_event_page"]


def compose_run(*, uid=None, time=None, metadata=None):
    """:func:`event_model.compose_run`, whose composers validate through compiled schemas.

    Returns
    -------
    event_model.ComposeRunBundle
        ``start_doc``, and ``compose_descriptor``, ``compose_resource``, ``compose_stop``
        taking the arguments (and ``validate``) of event_model's.
    """
    bundle = event_model.compose_run(uid=uid, time=time, metadata=metadata, validate=False)
    _schema_check.validate("start", bundle.start_doc)
    return dataclasses.replace(
        bundle,
        compose_descriptor=_Descriptors(bundle.compose_descriptor),
        compose_resource=_Resources(bundle.compose_resource),
        compose_stop=_Checked(bundle.compose_stop, "stop"),
    )


@dataclasses.dataclass
class _Descriptors:
    compose: event_model.ComposeDescriptor

    def __call__(self, name, data_keys, hints=None, configuration=None, object_keys=None,
                 object_classes=None, time=None, uid=None, validate=True):
        arguments = dict(
            name=name, data_keys=data_keys, hints=hints, configuration=configuration,
            object_keys=object_keys, object_classes=object_classes, time=time, uid=uid,
        )
        streams = self.compose.streams
        if validate and name in streams and streams[name] != set(data_keys):
            return self.compose(**arguments, validate=True)  # event_model raises its error
        bundle = self.compose(**arguments, validate=False)
        if validate:
            _schema_check.validate("descriptor", bundle.descriptor_doc)
        return dataclasses.replace(
            bundle,
            compose_event=_Events(bundle.compose_event, "event"),
            compose_event_page=_Events(bundle.compose_event_page, "event_page"),
        )


def _keys_match(doc, descriptor):
    """The key rule event_model checks beside the schema, in its plainest case.

    event_model requires the keys of ``data``, of ``timestamps`` and of the descriptor's
    ``data_keys`` to be the same set (leaving out ``STREAM:`` keys) and ``filled``'s keys
    to be among ``data``'s. Three equal key sets pass that rule whatever is left out.
    """
    data, filled = doc["data"], doc["filled"]
    return (
        data.keys() == descriptor["data_keys"].keys() == doc["timestamps"].keys()
        and (not filled or filled.keys() <= data.keys())
    )


@dataclasses.dataclass
class _Events:
    """An event (or event page) composer: event_model's, then the compiled check."""

    compose: object  # event_model.ComposeEvent or ComposeEventPage
    name: str

    def __call__(self, data, timestamps, seq_num=None, filled=None, uid=None, time=None, validate=True):
        if uid is None and seq_num is not None and self.name == "event_page":
            uid = new_uids(len(seq_num))  # what event_model makes, one uuid4() per row
        doc = self.compose(data, timestamps, seq_num=seq_num, filled=filled, uid=uid, time=time, validate=False)
        descriptor = self.compose.descriptor
        if validate and not (is_valid(self.name, doc) and _keys_match(doc, descriptor)):
            # event_model composes the same document, validating; its error is raised.
            type(self.compose)(descriptor, {descriptor["name"]: 1})(
                doc["data"], doc["timestamps"], seq_num=doc["seq_num"], filled=doc["filled"],
                uid=doc["uid"], time=doc["time"], validate=True,
            )
        return doc


@dataclasses.dataclass
class _Resources:
    compose: event_model.ComposeResource

    def __call__(self, *args, validate=True, **kwargs):
        bundle = self.compose(*args, validate=False, **kwargs)
        if validate:
            _schema_check.validate("resource", bundle.resource_doc)
        return dataclasses.replace(
            bundle,
            compose_datum=_Checked(bundle.compose_datum, "datum"),
            compose_datum_page=_Checked(bundle.compose_datum_page, "datum_page"),
        )


@dataclasses.dataclass
class _Checked:
    """A composer of one document (datum, datum page, stop): event_model's, then the check."""

    compose: object
    name: str

    def __call__(self, *args, validate=True, **kwargs):
        doc = self.compose(*args, validate=False, **kwargs)
        if validate:
            _schema_check.validate(self.name, doc)
        return doc


def new_uids(count):
    """``count`` new random UUIDs (version 4, as :func:`uuid.uuid4` makes), as strings.

    ``uuid.uuid4()`` asks the operating system for 16 random bytes at each call, about as
    long as the rest of an event's composing; here one call gives the bytes of all.
    """
    randomness = bytearray(os.urandom(16 * count))
    # RFC 4122: the version (4) in the high nibble of byte 6, the variant (10) in the two
    # high bits of byte 8, as uuid.UUID(bytes=..., version=4) sets them.
    randomness[6::16] = bytes((byte & 0x0F) | 0x40 for byte in randomness[6::16])
    randomness[8::16] = bytes((byte & 0x3F) | 0x80 for byte in randomness[8::16])
    digits = randomness.hex()
    return [
        f"{digits[at:at + 8]}-{digits[at + 8:at + 12]}-{digits[at + 12:at + 16]}-"
        f"{digits[at + 16:at + 20]}-{digits[at + 20:at + 32]}"
        for at in range(0, 32 * count, 32)
    ]


def unpack_event_page(page):
    """The events of an event page: :func:`event_model.unpack_event_page`'s, as a list.

    A page whose keys all share one list of timestamps (each row's readings stamped with
    one time, as ingestors stamp them) and that has as many uids, times and sequence
    numbers as rows, with nothing in ``filled``, is unpacked here: the same events, each
    with its own ``filled`` dict, in a fraction of the time. Any other page is event_model's
    to unpack.
    """
    data, timestamps = page["data"], page["timestamps"]
    shared = next(iter(timestamps.values()), None)
    if (
        page.get("filled")
        or not data
        or list(timestamps) != list(data)
        or any(stamps is not shared for stamps in timestamps.values())
        or not isinstance(shared, list)
        or not all(isinstance(page[field], list) for field in ("uid", "time", "seq_num"))
        or len({len(shared), len(page["uid"]), len(page["time"]), len(page["seq_num"])}) != 1
        or any(len(column) != len(shared) for column in data.values())
    ):
        return list(event_model.unpack_event_page(page))
    descriptor, keys = page["descriptor"], list(data)
    return [
        {
            "descriptor": descriptor,
            "uid": uid,
            "time": time,
            "seq_num": seq_num,
            "data": dict(zip(keys, row)),
            "timestamps": dict.fromkeys(keys, stamp),
            "filled": {},
        }
        for uid, time, seq_num, stamp, row in zip(
            page["uid"], page["time"], page["seq_num"], shared, zip(*data.values())
        )
    ]
