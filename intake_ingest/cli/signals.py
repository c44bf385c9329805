"""Ctrl-C (SIGINT) and SIGTERM ask a long-running command (a watch, a server) to stop cleanly.

Shared by ``ingest --watch`` and ``serve``: :func:`stopped_by_signals`.
"""

import contextlib
import signal
import threading

__all__ = ["Received", "stopped_by_signals"]

#: The signals that end a watch or a server: Ctrl-C, and what ``kill``, systemd and CI send.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Received:
    """Which stop signal arrived while :func:`stopped_by_signals` was active: ``name`` (``"SIGTERM"``) or None."""

    def __init__(self):
        self.name = None

    def __bool__(self):
        return self.name is not None


@contextlib.contextmanager
def stopped_by_signals(stoppable):
    """Ctrl-C (SIGINT) and SIGTERM call ``stoppable.stop()`` instead of ending the process.

    A KeyboardInterrupt raised wherever the main thread happens to be (inside a call to
    the isolation worker, a msgpack file half written) would cut a pass in the middle;
    a handler asks the watcher (or server) to stop instead. It is installed whatever the
    process inherited (a shell or a parent that ignores SIGINT). A second Ctrl-C
    interrupts at once, for a pass that takes long.

    Yields a :class:`Received` saying which signal arrived, if one did. Outside the main
    thread (signals reach only the main thread) nothing is installed.
    """
    received = Received()
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def stop(number, frame):
        signal.signal(signal.SIGINT, signal.default_int_handler)
        received.name = signal.Signals(number).name
        stoppable.stop()

    previous = {number: signal.signal(number, stop) for number in STOP_SIGNALS}
    try:
        yield received
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
