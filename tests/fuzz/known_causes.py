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


#: Empty: the last entries (libhdf5 and tifffile hangs) ended when the isolation worker
#: got its time limit; their reproducers stay in regressions/ and must end documented.
KNOWN_CAUSES = ()
