"""The fuzzing worker: imports the readers once, then forks one limited child per mutant.

Run as ``python -m tests.fuzz.worker`` by :class:`tests.fuzz.harness.FuzzWorker`. It
reads one JSON request per line on stdin (``{"folder", "target", "kind", "ingestor",
"timeout", "memory"}``) and writes one JSON reply per line on stdout. For each request
it forks a child (cheap: the heavy imports are already done, and this process runs no
thread, so ``fork`` is safe); the child sets its address-space limit, reads the mutant
the way a user would and sends back what happened. The worker kills a child that
outlives the wall timeout and reports how each child ended, so a segfault, an abort or
a hang costs one mutant, never the run.

The way a user reads files is the command line's: detection and the reading of every
run, written to msgpack as ``intake-ingest ingest --to`` does (its data computed and
encoded), happen in the package's isolation worker
(:mod:`intake_ingest.detect.isolation`), with its time limit (``reader_timeout``,
below the wall timeout), so that a reader's crash or hang is the documented error or
unrecognised file users get. Every run written is then read back here, completely,
through ``BlueskyMsgpackCatalog`` and ``BlueskyRun`` (its external files filled), as
``intake-ingest ls``/``show`` and Python users read it; a msgpack mutant is opened with
``BlueskyMsgpackCatalog`` directly.
"""

import importlib
import json
import os
import re
import resource
import select
import signal
import sys
import time
import traceback
import warnings

# Readers' thread pools multiply the address space a child reserves; one thread each
# keeps RLIMIT_AS about the data, not about thread stacks and arenas.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLOSC_NTHREADS"):
    os.environ.setdefault(_variable, "1")
os.environ.setdefault("MALLOC_ARENA_MAX", "2")

import faulthandler  # noqa: E402

import dask  # noqa: E402

from intake_ingest import BlueskyMsgpackCatalog, IngestError, IngestWarning  # noqa: E402
from intake_ingest.detect import detect, ingest  # noqa: E402
from intake_ingest.detect.isolation import IsolatedWorker, RemoteTraceback  # noqa: E402
from intake_ingest.detect import worker_imports  # noqa: E402,F401  (every reader imported once, here)

#: Longest message kept from an exception or warning (a parser may quote a whole line).
MESSAGE_CHARS = 400
#: Innermost frames kept from a traceback.
FRAMES_KEPT = 12


def _short_path(filename):
    for marker in ("/site-packages/", "/intake_ingest/"):
        if marker in filename:
            return ("intake_ingest/" if marker == "/intake_ingest/" else "") + filename.split(marker, 1)[1]
    return filename


def _frames(error):
    """The traceback as ``[file, line, function]`` triples, outermost first, paths shortened.

    An exception raised in the isolation worker has its traceback there as text (its
    ``__cause__``): its last traceback's frames are where the reader failed.
    """
    if isinstance(error.__cause__, RemoteTraceback):
        last = error.__cause__.text.rsplit("Traceback (most recent call last):", 1)[-1]
        found = re.findall(r'File "(.*)", line (\d+), in (\S+)', last)
        return [[_short_path(name), int(line), function] for name, line, function in found][-FRAMES_KEPT:]
    return [[_short_path(frame.filename), frame.lineno, frame.name]
            for frame in traceback.extract_tb(error.__traceback__)[-FRAMES_KEPT:]]


def _error_record(error, stage):
    frames = _frames(error)
    if isinstance(error.__cause__, StopIteration):
        # PEP 479: a StopIteration escaping a generator becomes a RuntimeError whose
        # traceback stops where the generator was resumed; the cause says where it came from.
        frames += _frames(error.__cause__)
    return {
        "stage": stage,
        "type": type(error).__name__,
        "module": type(error).__module__,
        "ingest_error": isinstance(error, IngestError),
        "message": str(error)[:MESSAGE_CHARS],
        "frames": frames,
    }


def _read_run(run):
    """Everything a user can read from a run: documents, canonical order (filled), each stream."""
    for _ in run.documents():
        pass
    for _ in run.canonical(fill="yes"):
        pass
    for stream_name in list(run):
        run[stream_name].read()


def read_completely(request):
    """Detect and read every run of the mutant's folder; what happened, as plain data.

    Parameters
    ----------
    request : dict
        ``folder`` (the mutant and its companion files), ``target`` (the mutant's
        path), ``kind`` (``'files'``, ``'msgpack'``, or ``'call'``: ``function``,
        ``'module:name'``, called with the target), ``ingestor`` (forced, or None).

    Returns
    -------
    dict
        ``runs`` (planned or listed), ``read`` (read completely), ``ingestors`` (of
        the planned runs), ``unrecognised`` and
        ``ambiguous`` (detection's reasons), ``errors`` (one record per failed stage or
        run), ``warnings`` (category and message of each), and how many files or runs
        the isolation worker ``stopped`` (time limit) or saw ``crashed``.
    """
    result = {"runs": 0, "read": 0, "ingestors": [], "unrecognised": [], "ambiguous": 0, "errors": [],
              "warnings": [], "stopped": 0, "crashed": 0}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if request["kind"] == "call":
                # The harness's own tests: a named function misbehaves on purpose (crash,
                # hang, allocation) to show each way a child can end is classified.
                module, _, name = request["function"].partition(":")
                runs = [(request["target"], lambda: getattr(importlib.import_module(module), name)(request["target"]))]
            elif request["kind"] == "msgpack":
                catalog = BlueskyMsgpackCatalog(request["target"])
                runs = [(uid, lambda uid=uid: catalog[uid]) for uid in list(catalog)]
            else:
                runs = _isolated(request, result)
        except Exception as error:  # what detection lets through is what we are looking for
            result["errors"].append(_error_record(error, "detect"))
            runs = []
        result["runs"] = len(runs) + result.pop("not_made", 0)
        for label, open_run in runs:
            try:
                run = open_run()
                if request["kind"] != "call":
                    _read_run(run)
                result["read"] += 1
            except Exception as error:  # every run is attempted, as ingest does
                result["errors"].append(_error_record(error, f"read {label}"))
    result["warnings"] = [
        {"category": warning.category.__name__, "ingest_warning": issubclass(warning.category, IngestWarning),
         "message": str(warning.message)[:MESSAGE_CHARS]}
        for warning in caught
    ]
    return result


def _isolated(request, result):
    """Detect and ingest the mutant's folder as the command line does; the runs made, to read here.

    The isolation worker is forked from this child (which runs no other thread), so
    that it costs milliseconds, not a forkserver's start, per mutant.
    """
    limit = request.get("reader_timeout")
    out = os.path.join(os.path.dirname(request["folder"]), "ingested")
    with IsolatedWorker(start_method="fork") as reader:
        plan = detect(request["folder"], ingestor=request.get("ingestor"), progress=False, isolate=reader,
                      timeout=limit)
        result["unrecognised"] = [item.reason[:MESSAGE_CHARS] for item in plan.unrecognised]
        result["ambiguous"] = len(plan.ambiguous)
        result["ingestors"] = [planned.ingestor for planned in plan.runs]
        made = ingest(plan, to=out, progress=False, isolate=reader, timeout=limit)
    runs = []
    written = BlueskyMsgpackCatalog(os.path.join(out, "*.msgpack")) if made.written else {}
    for planned, outcome in zip(plan.runs, made.results):
        label = planned.files[0].url
        if outcome.error is None:
            runs.append((label, lambda uid=outcome.uid: written[uid]))
        else:
            result["not_made"] = result.get("not_made", 0) + 1
            result["errors"].append(_error_record(outcome.error, f"ingest {label}"))
            if "gave no answer within" in outcome.message:
                result["stopped"] += 1
            elif "the reader crashed" in outcome.message:
                result["crashed"] += 1
    result["stopped"] += sum("gave no answer within" in reason for reason in result["unrecognised"])
    result["crashed"] += sum("crashed the reader" in reason for reason in result["unrecognised"])
    return runs


def _child(request, write_end):
    """In the forked child: limit memory, read, send the result, exit without cleanup."""
    status = 0
    try:
        limit = int(request["memory"])
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crash costs no core file
        # Where a native crash or a hang happened, in Python terms, for the report.
        log = open(request["crash_log"], "w")
        faulthandler.enable(file=log)
        faulthandler.dump_traceback_later(max(float(request["timeout"]) - 1, 0.5), file=log)
        result = read_completely(request)
        payload = json.dumps(result, default=str).encode()
    except BaseException as error:  # MemoryError while recording, say: report it anyway
        payload = json.dumps({"fatal": _error_record(error, "worker")}, default=str).encode()
        status = 3
    view = memoryview(payload)
    while view:
        view = view[os.write(write_end, view[:65536]):]
    os._exit(status)


def run_one(request):
    """Fork a child for one request; its result, or how it died (signal, timeout)."""
    read_end, write_end = os.pipe()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        _child(request, write_end)
    os.close(write_end)
    chunks, timed_out = [], False
    deadline = started + float(request["timeout"])
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            timed_out = True
            os.kill(pid, signal.SIGKILL)
            break
        ready, _, _ = select.select([read_end], [], [], remaining)
        if ready:
            chunk = os.read(read_end, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    os.close(read_end)
    _, status = os.waitpid(pid, 0)
    reply = {"elapsed": time.monotonic() - started, "timed_out": timed_out}
    if os.WIFSIGNALED(status):
        reply["signal"] = os.WTERMSIG(status)
    else:
        reply["exit_code"] = os.WEXITSTATUS(status)
    if os.path.exists(request["crash_log"]):
        with open(request["crash_log"], errors="replace") as log:
            reply["crash_log"] = log.read()[-4000:]
        os.remove(request["crash_log"])
    if chunks and not timed_out:
        try:
            reply.update(json.loads(b"".join(chunks)))
        except ValueError:  # a child killed while writing: its status says why
            pass
    return reply


def main():
    """Serve requests from stdin until it closes."""
    # The child's dask computations stay in its one thread: no pool for fork to copy.
    dask.config.set(scheduler="synchronous")
    # The replies get a private copy of stdout; file descriptor 1 becomes stderr, so that
    # a reader printing (libhdf5's error stack is printed by C code) cannot break them.
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    out.write(json.dumps({"ready": os.getpid()}) + "\n")
    out.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        out.write(json.dumps(run_one(json.loads(line)), default=str) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
