"""The Bluesky msgpack format: ``(name, doc)`` pairs, numpy arrays as msgpack-numpy maps.

Files are byte-for-byte what ``suitcase-msgpack`` writes (it encodes arrays with
msgpack-numpy), so either can read the other's. Reading differs on purpose in one
place: msgpack-numpy unpickles object arrays, which would let a file run code;
here they are refused.
"""

import warnings

import dask.array as da
import msgpack
import numpy as np

from ..errors import IngestError, IngestWarning, MissingFileError

__all__ = ["encode", "decode", "pack", "read_documents"]

# Documents are read in chunks this big; arrays are often megabytes.
READ_SIZE = 1 << 20


def encode(obj):
    """msgpack ``default`` hook: numpy (and dask) arrays and scalars as msgpack-numpy maps."""
    if isinstance(obj, da.Array):
        obj = np.asarray(obj)
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind == "O":
            raise TypeError(
                "object arrays cannot be written: their msgpack-numpy form is a pickle, "
                "which readers must refuse. Convert to a numeric or string dtype."
            )
        if obj.dtype.kind == "V":
            kind, descr = b"V", obj.dtype.descr
        else:
            kind, descr = b"", obj.dtype.str
        return {
            b"nd": True,
            b"type": descr,
            b"kind": kind,
            b"shape": obj.shape,
            b"data": obj.data if obj.flags["C_CONTIGUOUS"] else obj.tobytes(),
        }
    if isinstance(obj, (np.bool_, np.number)):
        return {b"nd": False, b"type": obj.dtype.str, b"data": obj.data}
    if isinstance(obj, complex):
        return {b"complex": True, b"data": repr(obj)}
    raise TypeError(f"cannot encode {type(obj).__name__} in a Bluesky msgpack document")


def _dtype(descr):
    if isinstance(descr, (list, tuple)):  # structured: [[name, type(, shape)], ...]
        return np.dtype(
            [tuple(part.decode() if isinstance(part, bytes) else part for part in field) for field in descr]
        )
    return np.dtype(descr)


def decode(obj):
    """msgpack ``object_hook``: msgpack-numpy maps back to numpy; pickles refused."""
    if b"nd" in obj:
        if obj[b"nd"] is True:
            if obj.get(b"kind") == b"O":
                raise ValueError("it holds a pickled object array, which is refused (it could run code)")
            return np.ndarray(buffer=obj[b"data"], dtype=_dtype(obj[b"type"]), shape=obj[b"shape"])
        return np.frombuffer(obj[b"data"], dtype=_dtype(obj[b"type"]))[0]
    if b"complex" in obj:
        data = obj[b"data"]
        return complex(data.decode() if isinstance(data, bytes) else data)
    return obj


def pack(name, doc):
    """One document as msgpack bytes, exactly as suitcase-msgpack writes it."""
    return msgpack.packb((name, doc), default=encode, use_bin_type=True)


def read_documents(source):
    """Yield the ``(name, doc)`` pairs of one msgpack file, in the order written.

    A file that ends in the middle of a document (its writer was interrupted) yields
    the complete documents and warns; the run is read as a partial run.

    Parameters
    ----------
    source : intake_ingest.files.SourceFile
    """
    try:
        file = source.fs.open(source.path, "rb")
    except FileNotFoundError:
        raise MissingFileError(source.url) from None
    with file:
        unpacker = msgpack.Unpacker(
            file, object_hook=decode, raw=False, max_buffer_size=0, read_size=READ_SIZE
        )
        count = 0
        while True:
            try:
                item = next(unpacker)
            except StopIteration:
                break
            except Exception as error:
                raise IngestError(
                    source.url, f"is not a readable Bluesky msgpack file (document {count + 1}: {error})"
                ) from None
            if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str) and isinstance(item[1], dict)):
                raise IngestError(
                    source.url, f"document {count + 1} is not a (name, document) pair"
                )
            count += 1
            yield item[0], item[1]
        size = source.size if source.size is not None else file.size
        if size is not None and unpacker.tell() < size:
            warnings.warn(
                f"{source.url}: ends in the middle of a document after {count} complete "
                "documents (was its writer interrupted?); read as a partial run",
                IngestWarning,
                stacklevel=2,
            )
