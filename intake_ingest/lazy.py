"""Dask arrays that read one chunk from a file when computed."""

import hashlib

import dask.array as da

__all__ = ["lazy_array"]


def lazy_array(read, args, shape, dtype, version):
    """A one-chunk dask array computed by ``read(*args)``.

    Built from a graph directly: ``dask.delayed`` + ``from_delayed`` costs about 0.5 ms
    per array, 20x more, which dominates building a series of thousands of files.
    ``read`` and ``args`` must pickle, so the array also computes on dask.distributed.

    Parameters
    ----------
    read : callable
    args : tuple
    shape : tuple of int
    dtype : numpy dtype
    version : str
        Identifies what is read (file URL, its mtime and size, the frame): arrays of the
        same version are the same dask key, so dask computes them once.
    """
    name = f"{read.__name__.strip('_').replace('_', '-')}-{hashlib.sha1(version.encode()).hexdigest()}"
    chunks = tuple((int(n),) for n in shape)
    key = (name,) + (0,) * len(shape)
    return da.Array({key: (read, *args)}, name, chunks=chunks, dtype=dtype)
