"""Running readers of untrusted files in a worker process, so that a native crash costs one file.

A C parser (libhdf5, silx's SPEC parser, a decompression filter) fed a damaged file can
segfault or abort, and a crash takes its whole process down: in-process, the crash of
one reader would lose every later run of a folder. :class:`IsolatedWorker` runs calls
in one long-lived worker process instead. A call that crashes the worker (a signal, an
``os._exit``, the kernel's OOM killer) raises :class:`WorkerCrashed` describing how it
died; the next call starts a fresh worker. Exceptions raised by the call come back as
themselves (or as :class:`RemoteError` when they cannot be pickled), and the
warnings they raise (an :class:`~intake_ingest.IngestWarning` naming a file) are raised
again in the parent, after the call, through the parent's warning filters.

Workers are never forked from the parent: it may run threads (tqdm's monitor, dask's
thread pool, fsspec's event loop), and a ``fork`` taken while one of them holds a lock
(malloc's, HDF5's global lock) can deadlock the child. They are forked from a
``forkserver`` instead: a fresh, single-threaded process started once per session,
which imports the readers (:mod:`~intake_ingest.detect.worker_imports`) before it forks
any worker. The first worker costs an interpreter start and those imports (about 2 s);
every later one, such as the replacement of a crashed worker, a few milliseconds.
Where there is no forkserver (Windows), workers are spawned: each start then costs the
imports again.

A hang cannot be interrupted in-process either: a C call (libhdf5 reading a damaged
object header) does not return to Python, and a library looping for ever in Python
(tifffile on a circular IFD chain) holds the thread. Calls and maps therefore take a
``timeout``: the seconds the worker may go *without progress*. Progress is a reply, a
:func:`note`, the start of the next map item, or a :func:`pulse` (ingesting pulses once
per document made), so a long ingest that keeps making documents is never stopped,
while a reader stuck on one file is. The worker is then killed, the call raises
:class:`WorkerTimedOut` (a :class:`WorkerCrashed`), and the next call starts a fresh
worker. In-process (``isolate=False``) nothing can stop a hanging library.
"""

import contextlib
import multiprocessing
import pickle
import signal
import time
import traceback
import warnings

__all__ = [
    "DEFAULT_START_METHOD",
    "DETECT_TIMEOUT",
    "INGEST_TIMEOUT",
    "IsolatedWorker",
    "RemoteError",
    "RemoteTraceback",
    "WorkerCrashed",
    "WorkerTimedOut",
    "WorkerStartError",
    "describe_exit",
    "isolation_worker",
    "note",
    "pulse",
    "time_limit",
]

#: How worker processes are started (see the module docstring for why not ``fork``).
DEFAULT_START_METHOD = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"

#: What the forkserver imports before it forks workers.
FORKSERVER_PRELOAD = ["intake_ingest.detect.worker_imports"]

#: Default ``timeout`` of detection: the seconds one file's sniffing (or the listing of
#: its runs) may take. A sniff reads a file's head, well under a second even on a busy
#: network share; listing the scans of a large SPEC file takes seconds.
DETECT_TIMEOUT = 60.0
#: Default ``timeout`` of ingesting: the seconds a run may go without making its next
#: document (a RunStart may have to parse a whole large file first).
INGEST_TIMEOUT = 120.0

# Seconds to wait for a dead worker's exit status to be reported.
JOIN_TIMEOUT = 10
# A map's results are sent back this many at a time, or after this many seconds.
CHUNK_ITEMS = 256
CHUNK_SECONDS = 0.1
# How often a call with a timeout looks at the worker's progress counter.
POLL_SECONDS = 0.05

# Set in a worker process: where :func:`note` sends its messages, and the shared
# counter :func:`pulse` moves.
_connection = None
_pulses = None


class WorkerCrashed(Exception):
    """The worker process died during a call (a native crash, an abort, a kill).

    Attributes
    ----------
    description : str
        How it died, e.g. ``'signal 11: SIGSEGV'``.
    exitcode : int or None
        The process's exit code (negative: the signal that killed it).
    """

    def __init__(self, description, exitcode=None):
        self.description = description
        self.exitcode = exitcode
        super().__init__(description)

    @property
    def happened(self):
        """What the reader did, for a message that names the file: ``'crashed the reader (...)'``."""
        return f"crashed the reader ({self.description})"


class WorkerTimedOut(WorkerCrashed):
    """The worker made no progress for ``timeout`` seconds during a call, and was killed.

    Attributes
    ----------
    timeout : float
        The limit, in seconds without progress.
    """

    def __init__(self, timeout):
        self.timeout = timeout
        super().__init__(f"gave no answer within {timeout:g} s", None)

    def __reduce__(self):
        return type(self), (self.timeout,)

    @property
    def happened(self):
        return f"gave no answer within {self.timeout:g} s (the reader was stopped)"


class WorkerStartError(RuntimeError):
    """A worker process could not start: nothing to do with any file.

    The usual cause is a main program that multiprocessing cannot import again in the
    worker (a script read from stdin); run it from a file, or do not isolate.
    """


class RemoteError(Exception):
    """An exception raised in the worker that could not be pickled back: its type name and text.

    Attributes
    ----------
    type_name : str
        The name of the original exception's class.
    """

    def __init__(self, type_name, text):
        self.type_name = type_name
        super().__init__(text)

    def __reduce__(self):
        return type(self), (self.type_name, str(self))


class RemoteTraceback(Exception):
    """The traceback, as text, of an exception raised in the worker: set as its ``__cause__``.

    Tracebacks cannot be pickled; this keeps where a reader failed (for a bug report).
    """

    def __init__(self, text):
        self.text = text
        super().__init__(text)

    def __str__(self):
        return f"in the worker process:\n{self.text}"


def describe_exit(exitcode):
    """How a process ended, in words: ``'signal 11: SIGSEGV'``, ``'exit status 3'``."""
    if exitcode is None:
        return "no exit status reported"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = "unknown signal"
        text = f"signal {-exitcode}: {name}"
        if -exitcode == signal.SIGKILL:
            # The usual sender of SIGKILL to a reader is the kernel's out-of-memory killer.
            text += ", killed (out of memory?)"
        return text
    return f"exit status {exitcode}"


def note(value):
    """From code running in a worker: send ``value`` to the parent now (no-op in-process).

    The parent passes it to the call's ``on_note`` as it arrives, so it knows how far a
    call got even if the worker then crashes (e.g. which file it started writing).
    """
    if _connection is not None:
        _connection.send(("note", value))


def pulse():
    """From code running in a worker: say the call is making progress (no-op in-process).

    Costs a shared-memory increment, no message: call it per document or per item, so
    that a call's ``timeout`` only stops a call that is stuck.
    """
    if _pulses is not None:
        _pulses.value += 1


def _run(function, args):
    """Run one call: ``(warnings, kind, value, traceback text)``, warnings as ``(category, text)``."""
    trace = ""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # the parent's filters decide what is shown
        try:
            kind, value = "ok", function(*args)
        except Exception as error:
            kind, value = "error", error
            trace = "".join(traceback.format_exception(error))
    return [(warning.category, str(warning.message)) for warning in caught], kind, value, trace


def _picklable(outcome):
    """The outcome, or what can be sent of it: its exception or its warnings' text."""
    try:
        pickle.dumps(outcome)
        return outcome
    except Exception:
        caught, kind, value, trace = outcome
        caught = [(category if _pickles(category) else UserWarning, text) for category, text in caught]
        if kind == "error" and not _pickles(value):
            value = RemoteError(type(value).__name__, str(value))
        elif kind == "ok" and not _pickles(value):
            kind, value = "error", RemoteError("PicklingError", f"the result ({type(value).__name__}) cannot be sent back")
        return caught, kind, value, trace


def _pickles(value):
    try:
        pickle.dumps(value)
        return True
    except Exception:
        return False


def _serve(connection, progress, pulses):
    """The worker's loop: run each request, send its replies; stop at ``None`` or EOF.

    ``progress`` (shared memory) holds the index of the map item being run, so that
    after a crash the parent knows which item it was without a message per item;
    ``pulses`` counts :func:`pulse` calls, how the parent tells slow from stuck.
    """
    global _connection, _pulses
    _connection, _pulses = connection, pulses
    connection.send(("ready", None))  # reached only if the worker could import its way here
    while True:
        try:
            request = connection.recv()
        except EOFError:
            return
        except Exception as error:  # e.g. a function that cannot be imported here
            connection.send(("refused", RemoteError(type(error).__name__, str(error))))
            continue
        if request is None:
            return
        kind, function, payload = request
        if kind == "call":
            connection.send(("done", _picklable(_run(function, payload))))
            continue
        # "map": results go back in chunks (one message per item would cost more than
        # a sniff), at least every CHUNK_SECONDS so that progress bars move.
        chunk, sent_at = [], time.monotonic()
        for index, item in enumerate(payload):
            progress.value = index
            pulses.value += 1
            chunk.append(_picklable(_run(function, (item,))))
            if len(chunk) >= CHUNK_ITEMS or time.monotonic() - sent_at > CHUNK_SECONDS:
                connection.send(("chunk", chunk))
                chunk, sent_at = [], time.monotonic()
        progress.value = -1  # no item running: a later crash is not this map's
        if chunk:  # the parent stops reading at the last item: an empty chunk would be read as the next reply
            connection.send(("chunk", chunk))


class IsolatedWorker:
    """One worker process running calls one at a time; a new one starts after a crash.

    Use as a context manager (or call :meth:`close`) so that the worker stops.

    Parameters
    ----------
    start_method : str
        ``'forkserver'`` (the default where there is one), ``'spawn'`` or ``'fork'``
        (see the module docstring).

    Examples
    --------
    >>> with IsolatedWorker() as worker:            # doctest: +SKIP
    ...     worker.call(len, "abc")
    3
    """

    def __init__(self, start_method=DEFAULT_START_METHOD):
        self._context = multiprocessing.get_context(start_method)
        if start_method == "forkserver":
            # Only takes effect if this process's forkserver has not started yet.
            self._context.set_forkserver_preload(FORKSERVER_PRELOAD)
        self._process = None
        self._connection = None
        self._progress = None
        self._pulses = None
        #: Seconds without progress after which a call is stopped, when the call does
        #: not say (None: no limit); see :meth:`limit`.
        self.timeout = None
        #: How many worker processes were started (1 + the crashes recovered from).
        self.starts = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def start(self):
        """Start the worker now, unless it runs (calls start it when needed).

        Raises
        ------
        WorkerStartError
            The worker died before it could take a call.
        """
        if self._process is not None and self._process.is_alive():
            return
        parent_end, child_end = self._context.Pipe()
        self._progress = self._context.Value("q", -1, lock=False)
        self._pulses = self._context.Value("Q", 0, lock=False)
        process = self._context.Process(
            target=_serve, args=(child_end, self._progress, self._pulses), daemon=True, name="intake-ingest-reader"
        )
        process.start()
        child_end.close()  # so that the parent sees EOF when the worker dies
        self._process, self._connection = process, parent_end
        self.starts += 1
        try:
            parent_end.recv()  # "ready"
        except (EOFError, OSError):
            # Not a file's fault: no call was sent. Blaming the next file would be wrong.
            crash = self._crashed()
            raise WorkerStartError(
                f"the worker process for isolated reading could not start ({crash.description}); "
                "if this program was read from stdin, run it from a file, or do not isolate"
            ) from None

    def _crashed(self):
        """The worker died: reap it, note which map item it was running, and say how."""
        process = self._process
        self._crashed_at = self._progress.value
        process.join(JOIN_TIMEOUT)
        if process.is_alive():  # the pipe broke but the process lives on: end it
            process.kill()
            process.join(JOIN_TIMEOUT)
        self._connection.close()
        self._process = self._connection = None
        return WorkerCrashed(describe_exit(process.exitcode), process.exitcode)

    def _send(self, request):
        self.start()
        try:
            # Pickled whole before anything is written: a request that cannot be
            # pickled fails here and leaves the worker usable.
            self._connection.send(request)
        except (pickle.PicklingError, AttributeError, TypeError) as error:
            raise TypeError(f"cannot be sent to a worker process ({error})") from error

    @contextlib.contextmanager
    def limit(self, timeout):
        """Within the block, calls and maps that do not give a ``timeout`` use this one."""
        before, self.timeout = self.timeout, timeout
        try:
            yield self
        finally:
            self.timeout = before

    def _wait(self, timeout):
        """Wait for a message; raise WorkerTimedOut after ``timeout`` s without progress."""
        if timeout is None:
            return
        pulses = self._pulses.value
        deadline = time.monotonic() + timeout
        while not self._connection.poll(min(POLL_SECONDS, max(deadline - time.monotonic(), 0))):
            if self._pulses.value != pulses:
                pulses, deadline = self._pulses.value, time.monotonic() + timeout
            elif time.monotonic() >= deadline:
                self._crashed_at = self._progress.value
                self._kill()
                raise WorkerTimedOut(timeout)

    def _receive(self, on_note, timeout=None):
        """The next reply that is not a note; raises WorkerCrashed if the worker died or hung."""
        while True:
            self._wait(timeout)
            try:
                kind, value = self._connection.recv()
            except (EOFError, OSError):
                raise self._crashed() from None
            if kind == "note":
                if on_note is not None:
                    on_note(value)
                continue
            if kind == "refused":
                raise TypeError(f"the worker process cannot run this request ({value})")
            return kind, value

    def call(self, function, *args, on_note=None, timeout=...):
        """``function(*args)`` in the worker; its result, or its exception raised here.

        Parameters
        ----------
        function : callable
            Picklable (a module-level function, a ``functools.partial`` of one).
        *args
            Picklable arguments.
        on_note : callable, optional
            Called here with each value the call passes to :func:`note`.
        timeout : float or None, optional
            Seconds the call may go without progress (a :func:`note` or :func:`pulse`)
            before the worker is killed; None: no limit. Default: :attr:`timeout`.

        Raises
        ------
        WorkerCrashed
            The worker died during the call; the next call starts a new one.
        WorkerTimedOut
            The call made no progress for ``timeout`` seconds: the worker was killed.
        TypeError
            ``function`` or ``args`` cannot be pickled.
        """
        timeout = self.timeout if timeout is ... else timeout
        self._send(("call", function, args))
        try:
            _, outcome = self._receive(on_note, timeout)
        except WorkerCrashed:
            raise
        except BaseException:
            # Interrupted (Ctrl-C) while the worker may still answer: a later call must
            # not read this call's reply, so this worker goes.
            self._kill()
            raise
        kind, value = _unpack(outcome)
        if kind == "ok":
            return value
        raise value

    def map(self, function, items, timeout=...):
        """``function(item)`` for each item, in the worker; yields ``(item, kind, value)`` in order.

        ``kind`` is ``'ok'`` (``value`` is the result), ``'error'`` (``value`` is the
        exception) or ``'crashed'`` (``value`` is a :class:`WorkerCrashed`, or a
        :class:`WorkerTimedOut` for an item that took more than ``timeout`` seconds;
        default :attr:`timeout`): after a crash, a new worker goes on with the next
        item. The function and the items go to the worker in one message and results
        come back in chunks; items whose results were lost with a crashed worker are
        run again by the next one.
        """
        timeout = self.timeout if timeout is ... else timeout
        pending = list(enumerate(items))  # (position, item) not yet yielded
        crashes = {}  # position -> WorkerCrashed, for items known to crash the worker
        finished = False
        try:
            while pending:
                while pending and pending[0][0] in crashes:
                    position, item = pending.pop(0)
                    yield item, "crashed", crashes.pop(position)
                batch = []
                for position, item in pending:
                    if position in crashes:
                        break
                    batch.append((position, item))
                if not batch:
                    continue
                self._send(("map", function, [item for _, item in batch]))
                received = 0
                try:
                    while received < len(batch):
                        _, chunk = self._receive(None, timeout)
                        for outcome in chunk:
                            kind, value = _unpack(outcome)
                            yield batch[received][1], kind, value
                            received += 1
                except WorkerCrashed as crash:
                    # -1: no item had started (the request itself was being read): the first.
                    crashes[batch[max(self._crashed_at, 0)][0]] = crash
                pending = pending[received:]
            finished = True
        finally:
            if not finished:
                # Abandoned part-way: the worker is still sending replies nobody reads.
                self._kill()

    def _kill(self):
        if self._process is not None:
            self._process.kill()
            self._process.join(JOIN_TIMEOUT)
            self._connection.close()
            self._process = self._connection = None

    def close(self):
        """Stop the worker (it finishes nothing: call only between calls)."""
        if self._process is None:
            return
        try:
            self._connection.send(None)
        except OSError:
            pass
        self._process.join(JOIN_TIMEOUT)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(JOIN_TIMEOUT)
        self._connection.close()
        self._process = self._connection = None


def _unpack(outcome):
    """``(kind, value)`` of a call's outcome, its warnings raised again here (at the caller of call or map)."""
    caught, kind, value, trace = outcome
    for category, text in caught:
        warnings.warn(text, category, stacklevel=3)
    if kind == "error" and trace:
        value.__cause__ = RemoteTraceback(trace)
    return kind, value


@contextlib.contextmanager
def isolation_worker(isolate, timeout=None):
    """The worker for ``isolate``: None (False), a new one stopped on exit (True), or the one given.

    Within the block, the worker's calls stop after ``timeout`` seconds without progress
    (None: no limit), whoever made the worker.
    """
    if isinstance(isolate, IsolatedWorker):
        with isolate.limit(timeout):
            yield isolate  # the caller's, shared between calls: the caller stops it
    elif not isolate:
        yield None
    else:
        with IsolatedWorker() as worker, worker.limit(timeout):
            worker.start()  # a worker that cannot start is an error now, not every run's
            yield worker


def time_limit(timeout, default):
    """A step's limit from a user's ``--timeout``: ``default`` if not given (None), no limit for 0."""
    if timeout is None:
        return default
    return timeout if timeout > 0 else None
