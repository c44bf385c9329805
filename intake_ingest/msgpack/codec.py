"""The Bluesky msgpack format: ``(name, doc)`` pairs, numpy arrays as msgpack-numpy maps.

Files are byte-for-byte what ``suitcase-msgpack`` writes (it encodes arrays with
msgpack-numpy), so either can read the other's. Reading differs on purpose in one
place: msgpack-numpy unpickles object arrays, which would let a file run code;
here they are refused.
"""

import warnings

import msgpack
import numpy as np

from ..errors import IngestError, IngestWarning, MissingFileError
from ..lazy import is_dask_array

__all__ = ["encode", "decode", "pack", "read_documents"]

# Documents are read in chunks this big; arrays are often megabytes.
READ_SIZE = 1 << 20


def encode(obj):
    """msgpack ``default`` hook: numpy (and dask) arrays and scalars as msgpack-numpy maps."""
    if is_dask_array(obj):
        obj = np.asarray(obj)
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind == "O":
            raise TypeError(
                "object arrays cannot be written: their msgpack-numpy form is a pickle, "
                "which readers must refuse. Convert to a numeric or string dtype."
            )
        if not _allowed(obj.dtype):
            # Written, it would be a file that read_documents refuses.
            raise TypeError(
                f"arrays of dtype {obj.dtype.str!r} cannot be written: only bool, numeric and "
                "fixed-width string arrays are. Convert to one of those."
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
    if isinstance(obj, (np.bool_, np.number)) and _allowed(obj.dtype):
        return {b"nd": False, b"type": obj.dtype.str, b"data": obj.data}
    if isinstance(obj, complex):
        return {b"complex": True, b"data": repr(obj)}
    raise TypeError(f"cannot encode {type(obj).__name__} in a Bluesky msgpack document")


#: Kinds of dtype an array in a file may have: bool, integers, floats, complex, and
#: fixed-width byte and unicode strings. Any other (``'O'`` above all: an array built
#: from a file's bytes as object pointers crashes the process that touches it) is refused.
ALLOWED_KINDS = frozenset("biufcSU")


def _allowed(dtype):
    """True if every field of ``dtype`` (itself, if it has none) is of an allowed kind."""
    if dtype.fields is not None:
        return all(_allowed(field[0]) for field in dtype.fields.values())
    if dtype.subdtype is not None:
        return _allowed(dtype.subdtype[0])
    return dtype.kind in ALLOWED_KINDS


def _dtype(descr):
    """The dtype a file names, if it is one this package reads; else ValueError."""
    try:
        if isinstance(descr, (list, tuple)):  # structured: [[name, type(, shape)], ...]
            dtype = np.dtype(
                [tuple(part.decode() if isinstance(part, bytes) else part for part in field) for field in descr]
            )
        else:
            dtype = np.dtype(descr.decode() if isinstance(descr, bytes) else descr)
    except Exception as error:
        raise ValueError(f"its array type {descr!r} is not a numpy dtype ({error})") from None
    if not _allowed(dtype):
        raise ValueError(
            f"it holds an array of dtype {descr!r}, which is refused: only bool, numeric and "
            "fixed-width string arrays are read (other dtypes, such as object, are not data)"
        )
    return dtype


def decode(obj):
    """msgpack ``object_hook``: msgpack-numpy maps back to numpy; pickles and objects refused.

    Raises
    ------
    ValueError
        For an array whose dtype is not bool, numeric or a fixed-width string (an object
        array, pickled or not), or whose bytes do not fit its dtype and shape.
    """
    if b"nd" in obj:
        missing = [key.decode() for key in (b"type", b"data") if key not in obj]
        if obj[b"nd"] is True and b"shape" not in obj:
            missing.append("shape")
        if missing:
            raise ValueError(f"an array in it has no {' or '.join(missing)}")
        if obj[b"nd"] is True:
            if obj.get(b"kind") == b"O":
                raise ValueError("it holds a pickled object array, which is refused (it could run code)")
            dtype = _dtype(obj[b"type"])
            return np.ndarray(buffer=obj[b"data"], dtype=dtype, shape=obj[b"shape"])
        return np.frombuffer(obj[b"data"], dtype=_dtype(obj[b"type"]))[0]
    if b"complex" in obj:
        data = obj[b"data"]
        return complex(data.decode() if isinstance(data, bytes) else data)
    return obj


def pack(name, doc):
    """One document as msgpack bytes, exactly as suitcase-msgpack writes it."""
    # surrogateescape: a file name that is not UTF-8 (kept as surrogates by Python) round-trips;
    # valid UTF-8 text packs byte for byte as suitcase-msgpack packs it.
    return msgpack.packb((name, doc), default=encode, use_bin_type=True, unicode_errors="surrogateescape")


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
    except OSError as error:  # a folder named *.msgpack, a file without read permission
        raise IngestError(source.url, f"cannot be opened ({error.strerror or error})") from None
    with file:
        unpacker = msgpack.Unpacker(
            file,
            object_hook=decode,
            raw=False,
            max_buffer_size=0,
            read_size=READ_SIZE,
            unicode_errors="surrogateescape",
        )
        count = 0
        # Where the last complete document ends. ``unpacker.tell()`` after the end of
        # the data counts the bytes of a document cut short too, so it cannot be used.
        end = 0
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
            end = unpacker.tell()
            yield item[0], item[1]
        size = source.size if source.size is not None else file.size
        if size is not None and end < size:
            warnings.warn(
                f"{source.url}: ends in the middle of a document after {count} complete "
                "documents (was its writer interrupted?); read as a partial run",
                IngestWarning,
                stacklevel=2,
            )
