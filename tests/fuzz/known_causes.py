"""Undocumented outcomes already reported, whose fixes are under way: the CI fuzz test's allow-list.

Each entry is specific (a format, a failure kind, an exception type and a message
pattern) and says why it is here; the lead removes it when the fix lands, and the CI
test then fails if the cause comes back. Nothing here is a blanket pass: a failure
that matches no entry is UNDOCUMENTED.
"""

import re
from dataclasses import dataclass

__all__ = ["KNOWN_CAUSES", "KnownCause"]


@dataclass(frozen=True)
class KnownCause:
    """One reported bug that fuzzing finds.

    Attributes
    ----------
    format : str
        The seed format (ingestor name, or ``'msgpack'``).
    failure : str
        ``'exception'``, ``'memory'``, ``'timeout'``, ``'crash SIGSEGV'``, ... (see
        :func:`tests.fuzz.harness.classify`).
    exception : str
        The exception type's name (empty for crashes and timeouts).
    message : str
        A regular expression searched in the message (or crash log).
    reason : str
        The bug, and whose fix removes the entry.
    """

    format: str
    failure: str
    exception: str
    message: str
    reason: str

    def matches(self, fmt, failure, exception, detail):
        return (
            fmt == self.format
            and failure == self.failure
            and exception == self.exception
            and re.search(self.message, detail or "") is not None
        )


KNOWN_CAUSES = (
    KnownCause(
        "eiger_hdf5", "timeout", "", r"h5py/_hl/attrs\.py.* via intake_ingest/ingestors/hdf5/tree\.py:\d+ nx_class",
        "HDF5: reading an attribute of a damaged object header never returns (libhdf5 under h5py "
        "AttributeManager.__getitem__, from hdf5/tree.py nx_class while bluesky_nexus sniffs); "
        "detection hangs (reproducer regressions/eiger_master_attribute_hang_master.h5)",
    ),
    KnownCause(
        "nexus_hdf5", "timeout", "", r"h5py/_hl/attrs\.py.* via intake_ingest/ingestors/hdf5/tree\.py:\d+ nx_class",
        "HDF5: the same never-returning attribute read (hdf5/tree.py nx_class) on a damaged NeXus "
        "file; detection hangs (reproducer regressions/nexus_nx_class_hang.nxs)",
    ),
    KnownCause(
        "bluesky_nexus", "timeout", "", r"h5py/_hl/attrs\.py.* via intake_ingest/ingestors/hdf5/bliss\.py:\d+ ",
        "HDF5: a never-returning attribute read in hdf5/bliss.py (a list comprehension over attributes "
        "while the BLISS sniffer looks at a damaged NXWriter file); detection hangs "
        "(reproducer regressions/bluesky_nexus_bliss_sniff_hang.h5)",
    ),
    KnownCause(
        # faulthandler dumps at most 100 frames: when the loop runs deep in tifffile the
        # package frame (tiff.py _stack_layout) is past the cut, so it may be missing.
        "pilatus_tiff", "timeout", "", r"^more than \d+ s in tifffile/tifffile\.py:\d+ \S+( via intake_ingest/ingestors/tiff\.py:\d+ _stack_layout)?$",
        "TIFF: tifffile 2026.3.3 loops for ever in TiffFile.series (_series_generic) on a 319-byte file "
        "with a circular IFD reference, from tiff.py _stack_layout; an upstream bug that only a timeout "
        "stops (reproducer regressions/pilatus_tiff_series_hang_00001.tif)",
    ),
)
