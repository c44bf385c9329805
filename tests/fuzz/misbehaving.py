"""Readers that fail on purpose in each way a fuzzing child can end, for the harness's own tests.

Each takes the mutant's path, as the worker's ``kind='call'`` requests give it.
"""

import ctypes
import time

from intake_ingest.errors import IngestError


def segfault(path):
    """Dereference NULL: what a C parser does with a damaged file."""
    ctypes.string_at(0)


def hang(path):
    """Never return (a parser looping on a damaged length)."""
    while True:
        time.sleep(0.05)


def allocate(path):
    """Ask for 3 GB: a declared size trusted (over the child's 2 GB address-space limit)."""
    return bytearray(3 * 1024**3)


def overwrite(path):
    """Write to the source file: what a reader must never do."""
    with open(path, "ab") as file:
        file.write(b"written by a reader")


def raise_plain(path):
    """An exception from deep inside a parser: not an IngestError."""
    raise KeyError("Dim_1")


def raise_nameless(path):
    """An IngestError that does not say which file."""
    raise IngestError("run", "the header is damaged")


def raise_named(path):
    """The documented failure: an IngestError naming the file."""
    raise IngestError(path, "the header is damaged")
