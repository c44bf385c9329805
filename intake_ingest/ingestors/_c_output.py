"""Keeping a C library's own printing off the user's standard output.

silx's SPEC reader prints ``Error on scan 1 line 20`` with C ``printf`` for each data
line it cannot read: no file name, and on standard output, where it breaks
``intake-ingest detect --json`` and anything else a script reads. The SPEC ingestor
checks those lines itself and warns naming the file and line, so the C library's
lines are sent to the null device while it runs.
"""

import contextlib
import os
import sys
import threading

__all__ = ["c_stdout_silenced"]

_LOCK = threading.Lock()
_DEPTH = 0
_SAVED = None


def _flush():
    for stream in (sys.stdout, sys.__stdout__):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass
    _libc_flush()


@contextlib.contextmanager
def c_stdout_silenced():
    """File descriptor 1 points at the null device inside the block (nested and threaded uses share it).

    Python's own ``print`` is flushed first, so nothing printed before is lost. Where
    descriptor 1 cannot be redirected (no such descriptor), the block runs as it is.
    """
    global _DEPTH, _SAVED
    with _LOCK:
        if _DEPTH == 0:
            _flush()
            try:
                saved = os.dup(1)
            except OSError:
                saved = None
            if saved is not None:
                devnull = os.open(os.devnull, os.O_WRONLY)
                try:
                    os.dup2(devnull, 1)
                finally:
                    os.close(devnull)
            _SAVED = saved
        _DEPTH += 1
    try:
        yield
    finally:
        with _LOCK:
            _DEPTH -= 1
            if _DEPTH == 0 and _SAVED is not None:
                _libc_flush()
                os.dup2(_SAVED, 1)
                os.close(_SAVED)
                _SAVED = None


def _libc_flush():
    """Flush C's stdout buffer, so lines printed inside the block do not come out after it."""
    try:
        import ctypes

        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError, TypeError):  # no C library to ask (Windows without a CRT handle)
        pass
