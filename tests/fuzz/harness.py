"""Run mutants through detection and ``BlueskyRun`` in limited child processes; classify what happened.

Each mutant is one seed's files with one of them damaged (:mod:`tests.fuzz.mutators`),
written into a fresh folder. A :class:`FuzzWorker` (``python -m tests.fuzz.worker``)
forks a child per mutant with an address-space limit and a wall timeout; the child
detects the folder's runs and ingests them in the package's isolation worker, with its
time limit (``reader_timeout``, below the wall timeout), as the command line does, then
reads each run made completely. :func:`classify` holds the result to the package's
promises about bad input:

- ``ok``: every planned run read, no :class:`~intake_ingest.IngestWarning`;
- ``partial``: read, with IngestWarnings that name the file;
- ``error``: an :class:`~intake_ingest.IngestError` (or ``MissingFileError``) naming the file;
- ``unrecognised``: detection planned no run, reporting the file with why;
- ``UNDOCUMENTED``: anything else: another exception, an error or warning that does not
  name the file, a crash by signal, a timeout, memory exhaustion, or a source file
  whose bytes changed.

An UNDOCUMENTED outcome matching a :data:`tests.fuzz.known_causes.KNOWN_CAUSES` entry
is ``known`` instead: a bug already reported, whose fix is under way.
"""

import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .mutators import mutate

__all__ = ["Finding", "FuzzWorker", "Mutant", "classify", "make_mutant", "run_campaign"]

REPOSITORY = Path(__file__).parents[2]
#: Address space a child may reserve: a reader that wants more for a small file is a bug.
MEMORY_LIMIT = 2 * 1024**3
#: Wall time a child may take to detect and read one small mutant.
TIMEOUT = 20.0
#: The isolation worker's time limit, as a share of the wall time: a reader stopped by
#: it (the documented outcome users get) must leave time for the rest of the mutant.
READER_SHARE = 0.4
#: Outcomes the package documents for bad input.
DOCUMENTED = ("ok", "partial", "error", "unrecognised")
OUTCOMES = DOCUMENTED + ("known", "UNDOCUMENTED")


class WorkerDied(RuntimeError):
    """The fuzzing worker itself (not a child) stopped answering."""


class FuzzWorker:
    """The ``tests.fuzz.worker`` process: imports once, forks a limited child per request.

    Parameters
    ----------
    timeout : float
        Wall seconds per mutant.
    memory : int
        RLIMIT_AS of each child, in bytes.
    reader_timeout : float, optional
        The isolation worker's limit (seconds without progress) in the child; default
        :data:`READER_SHARE` of ``timeout``.
    """

    def __init__(self, timeout=TIMEOUT, memory=MEMORY_LIMIT, reader_timeout=None):
        self.timeout = timeout
        self.memory = memory
        self.reader_timeout = reader_timeout or READER_SHARE * timeout
        self._process = None

    def _start(self):
        environment = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPOSITORY),
                                                                            os.environ.get("PYTHONPATH")])))
        # Readers log every damaged file they meet; the log is kept for when the worker dies.
        self._log = tempfile.NamedTemporaryFile("w+", prefix="fuzz-worker-", suffix=".log")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.fuzz.worker"], cwd=REPOSITORY, env=environment,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, text=True, bufsize=1,
        )
        ready = self._process.stdout.readline()
        if not ready:
            raise WorkerDied(f"the fuzzing worker did not start: {self._log_tail()}")

    def _log_tail(self):
        self._log.flush()
        self._log.seek(0)
        return self._log.read()[-2000:]

    def run(self, folder, target, kind="files", ingestor=None, function=None):
        """Detect and read the mutant ``target`` in ``folder`` in a child; the child's reply.

        ``kind='call'`` calls ``function`` (``'module:name'``) on the target instead,
        for tests of the harness itself.
        """
        if self._process is None or self._process.poll() is not None:
            self._start()
        request = {"folder": str(folder), "target": str(target), "kind": kind, "ingestor": ingestor,
                   "function": function,
                   "timeout": self.timeout, "memory": self.memory, "reader_timeout": self.reader_timeout,
                   "crash_log": str(Path(folder).parent / "crash.log")}
        self._process.stdin.write(json.dumps(request) + "\n")
        self._process.stdin.flush()
        line = self._process.stdout.readline()
        if not line:
            tail = self._log_tail()
            self.close()
            raise WorkerDied(f"the fuzzing worker died: {tail}")
        return json.loads(line)

    def close(self):
        if self._process is not None:
            self._process.stdin.close()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
            self._log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@dataclass
class Mutant:
    """One damaged copy of a seed: reproducible from ``seed``, ``number`` and the campaign seed."""

    seed: object  # tests.fuzz.seeds.Seed
    number: int
    data: bytes
    mutations: list


def make_mutant(seed, campaign_seed, number):
    """The ``number``-th mutant of a campaign, of ``seed``: same arguments, same bytes."""
    rng = random.Random(f"{campaign_seed}:{number}:{seed.name}")
    data, mutations = mutate(seed.data, rng)
    return Mutant(seed, number, data, mutations)


@dataclass
class Finding:
    """What one mutant did, classified.

    Attributes
    ----------
    outcome : str
        One of :data:`OUTCOMES`.
    cause : tuple or None
        For UNDOCUMENTED and known outcomes: ``(format, failure, exception type, frame)``,
        what groups mutants failing the same way.
    detail : str
        The message (or signal, or crash log) behind ``cause``.
    known : str
        The reason of the allow-list entry that matched, if any.
    """

    mutant: Mutant
    outcome: str
    cause: tuple | None = None
    detail: str = ""
    known: str = ""
    elapsed: float = 0.0
    reply: dict = field(default_factory=dict, repr=False)


def _names_a_file(message, folder, names):
    """True if ``message`` gives the path of one of the run's files (or a pattern in their folder).

    A bare file name is not enough: the user must be able to find the file.
    """
    return any(f"{folder}/{name}" in message for name in names) or f"{folder}/" in message


def _first_package_frame(frames):
    """The innermost frame in intake_ingest (where a fix goes), else the innermost frame."""
    for filename, line, function in reversed(frames or []):
        if filename.startswith("intake_ingest/"):
            return f"{filename}:{line} {function}"
    if frames:
        filename, line, function = frames[-1]
        return f"{filename}:{line} {function}"
    return ""


def _busy_thread(log):
    """The frames of the thread that was working when faulthandler dumped (most recent first).

    A timeout dump lists every thread; the ones waiting (a pool's main thread, tqdm's
    monitor) are not where the time went.
    """
    blocks = [block.splitlines() for block in re.split(r"\n(?=Thread 0x|Current thread 0x)", log or "")]
    frames = [[line.strip() for line in block if line.strip().startswith("File ")] for block in blocks]
    frames = [block for block in frames if block]
    for block in frames:
        if not re.search(r"(threading|_base|selectors|queue)\.py\", line \d+ in (wait|result|select|get)", block[0]):
            return block
    return frames[0] if frames else []


def _short(frame_line):
    match = re.match(r'File "(.*)", line (\d+) in (.*)', frame_line)
    if not match:
        return frame_line
    filename = match.group(1)
    for marker in ("/site-packages/", "/intake_ingest/"):
        if marker in filename:
            filename = ("intake_ingest/" if marker == "/intake_ingest/" else "") + filename.split(marker, 1)[1]
    return f"{filename}:{match.group(2)} {match.group(3)}"


def _log_frames(log):
    """``(innermost intake_ingest frame, innermost frame)`` of the busy thread of a faulthandler dump."""
    block = [_short(line) for line in _busy_thread(log)]
    package = next((frame for frame in block if frame.startswith("intake_ingest/")), "")
    return package, (block[0] if block else "")


def classify(mutant, reply, folder, hashes_before, known_causes=()):
    """The :class:`Finding` for one child's reply (see the module docstring for the outcomes)."""
    fmt = mutant.seed.format
    names = list(mutant.seed.files)
    undocumented = []  # (failure, exception type, frame, detail)
    # faulthandler's watchdog dumps the stacks a second before the kill; a child that dies
    # after it (the dump itself can crash a busy thread) had run out of time.
    watchdog_fired = (reply.get("crash_log") or "").startswith("Timeout (")
    if reply.get("timed_out") or "signal" in reply:
        package_frame, innermost = _log_frames(reply.get("crash_log"))
        where = f"in {innermost}" + (f" via {package_frame}" if package_frame and package_frame != innermost else "")
        if reply.get("timed_out") or watchdog_fired:
            undocumented.append(("timeout", "", package_frame, f"more than {reply.get('elapsed', 0):.0f} s {where}"))
        else:
            number = reply["signal"]
            name = signal.Signals(number).name if number in signal.Signals.__members__.values() else str(number)
            failure = "killed (memory?)" if number == signal.SIGKILL else f"crash {name}"
            undocumented.append((failure, "", package_frame, f"{name} {where}"))
    elif "fatal" in reply:
        fatal = reply["fatal"]
        undocumented.append(("fatal", fatal["type"], _first_package_frame(fatal["frames"]), fatal["message"]))
    elif reply.get("exit_code"):
        undocumented.append(("exit", "", "", f"exit status {reply['exit_code']}"))
    for error in reply.get("errors", []):
        if error["type"] == "MemoryError":
            undocumented.append(("memory", error["type"], _first_package_frame(error["frames"]), error["message"]))
        elif not error["ingest_error"]:
            undocumented.append(("exception", error["type"], _first_package_frame(error["frames"]), error["message"]))
        elif not _names_a_file(error["message"], folder, names):
            undocumented.append(("error without the file name", error["type"],
                                 _first_package_frame(error["frames"]), error["message"]))
    ingest_warnings = [w for w in reply.get("warnings", []) if w["ingest_warning"]]
    for warning in ingest_warnings:
        if not _names_a_file(warning["message"], folder, names):
            undocumented.append(("warning without the file name", warning["category"], "", warning["message"]))
    for name, digest in hashes_before.items():
        path = Path(folder) / name
        if not path.exists() or hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            undocumented.append(("source file changed", "", "", name))
    elapsed = reply.get("elapsed", 0.0)
    if undocumented:
        failure, type_name, frame, detail = undocumented[0]
        cause = (fmt, failure, type_name, frame)
        for known in known_causes:
            if known.matches(fmt, failure, type_name, detail):
                return Finding(mutant, "known", cause, detail, known.reason, elapsed, reply)
        return Finding(mutant, "UNDOCUMENTED", cause, detail, "", elapsed, reply)
    if reply.get("errors"):
        outcome = "error"
    elif ingest_warnings:
        outcome = "partial"
    elif reply.get("runs", 0) == 0:
        outcome = "unrecognised"
    else:
        outcome = "ok"
    return Finding(mutant, outcome, None, "", "", elapsed, reply)


def write_mutant(mutant, case_folder):
    """The seed's files with the mutant in place of its target; ``{name: sha256}`` of what was written."""
    os.makedirs(case_folder)
    hashes = {}
    for name, data in mutant.seed.files.items():
        if name == mutant.seed.target:
            data = mutant.data
        with open(os.path.join(case_folder, name), "wb") as file:
            file.write(data)
        hashes[name] = hashlib.sha256(data).hexdigest()
    return hashes


def run_mutant(worker, mutant, scratch, known_causes=()):
    """Write one mutant into a fresh folder under ``scratch``, run it, classify it, clean up."""
    case_folder = tempfile.mkdtemp(dir=scratch)
    folder = os.path.join(case_folder, "files")
    try:
        hashes = write_mutant(mutant, folder)
        target = os.path.join(folder, mutant.seed.target)
        reply = worker.run(folder, target, mutant.seed.kind, mutant.seed.ingestor)
        return classify(mutant, reply, folder, hashes, known_causes)
    finally:
        shutil.rmtree(case_folder, ignore_errors=True)


def run_campaign(seeds, budget, campaign_seed, *, known_causes=(), worker=None, scratch=None, on_finding=None):
    """``budget`` mutants, spread evenly over the formats, then over each format's seeds.

    Parameters
    ----------
    seeds : list of Seed
    budget : int
        Number of mutants.
    campaign_seed : int
        Seeds every mutation: the same seeds, budget and campaign seed give the same mutants.
    known_causes : sequence of KnownCause
    worker : FuzzWorker, optional
        Default: a new one, closed at the end.
    scratch : str, optional
        Folder for the mutants' files (default: a temporary folder).
    on_finding : callable, optional
        Called with each :class:`Finding` as it is made (progress, saving reproducers).

    Returns
    -------
    list of Finding
    """
    by_format = {}
    for seed in seeds:
        by_format.setdefault(seed.format, []).append(seed)
    formats = sorted(by_format)
    own_worker = worker is None
    worker = worker or FuzzWorker()
    findings = []
    with tempfile.TemporaryDirectory(dir=scratch) as folder:
        try:
            for number in range(budget):
                fmt = formats[number % len(formats)]
                members = by_format[fmt]
                seed = members[(number // len(formats)) % len(members)]
                finding = run_mutant(worker, make_mutant(seed, campaign_seed, number), folder, known_causes)
                findings.append(finding)
                if on_finding is not None:
                    on_finding(finding)
        finally:
            if own_worker:
                worker.close()
    return findings


def figures(findings):
    """``{format: Counter(outcome)}`` and the UNDOCUMENTED causes ``{cause: [findings]}``."""
    per_format = {}
    causes = {}
    for finding in findings:
        per_format.setdefault(finding.mutant.seed.format, Counter())[finding.outcome] += 1
        if finding.outcome in ("UNDOCUMENTED", "known"):
            causes.setdefault((finding.outcome,) + finding.cause, []).append(finding)
    return per_format, causes


#: Columns after the outcomes: mutants where the isolation worker stopped a reader that
#: made no progress (hangs), or saw one crash; both end in documented outcomes.
ISOLATION_COLUMNS = ("stopped", "crashed")


def table(findings):
    """A plain-text table of mutants per format and outcome, then the causes of undocumented outcomes."""
    per_format, causes = figures(findings)
    isolation = {}
    for finding in findings:
        counts = isolation.setdefault(finding.mutant.seed.format, Counter())
        for column in ISOLATION_COLUMNS:
            counts[column] += bool(finding.reply.get(column))
    columns = OUTCOMES + ISOLATION_COLUMNS
    header = f"{'format':20} {'mutants':>7} " + " ".join(f"{column:>12}" for column in columns)
    lines = [header]
    totals = Counter()
    for fmt in sorted(per_format):
        counts = per_format[fmt] + isolation[fmt]
        totals.update(counts)
        lines.append(f"{fmt:20} {sum(per_format[fmt].values()):7d} " + " ".join(f"{counts[o]:12d}" for o in columns))
    lines.append(f"{'all':20} {sum(totals[o] for o in OUTCOMES):7d} " + " ".join(f"{totals[o]:12d}" for o in columns))
    for (outcome, fmt, failure, type_name, frame), members in sorted(causes.items(), key=lambda item: -len(item[1])):
        example = members[0]
        lines.append(
            f"{outcome} x{len(members)}: {fmt} | {failure} {type_name} | {frame or '-'} | "
            f"{'+'.join(example.mutant.mutations)} of {example.mutant.seed.name} #{example.mutant.number} | "
            f"{example.detail.splitlines()[0][:200] if example.detail else ''}"
        )
    return "\n".join(lines)
