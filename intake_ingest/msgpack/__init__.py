"""Bluesky msgpack files: write runs (:func:`export`) and open them (:class:`BlueskyMsgpackCatalog`)."""

from .catalog import BlueskyMsgpackCatalog
from .codec import decode, encode, read_documents
from .export import export

__all__ = ["BlueskyMsgpackCatalog", "decode", "encode", "export", "read_documents"]
