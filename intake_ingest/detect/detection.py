"""From "these files" to a plan of runs: sniff each file, pick its ingestor, group files into runs."""

import contextlib
import gc
import sys
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from operator import attrgetter

from fsspec.implementations.memory import MemoryFileSystem

from ..errors import IngestError
from ..files import find_files
from ..grouping import group_files
from ..natural_order import natural_key
from ..registry import get_spec, ingestor_names, read_head
from ..sibling_files import Selection
from .isolation import DETECT_TIMEOUT, isolation_worker
from .plan import Ambiguous, Plan, PlannedRun, Unrecognised
from .representatives import choose_representatives

__all__ = ["AMBIGUITY_MARGIN", "MIN_CONFIDENCE", "detect", "sniff_file"]

#: Below this, a sniffer's "maybe" is not enough to choose an ingestor.
MIN_CONFIDENCE = 0.1
#: Two ingestors closer than this are a tie: the file is reported as ambiguous.
AMBIGUITY_MARGIN = 0.05
#: A file that no ingestor expecting its name recognises is sniffed by the others on its
#: content alone, their confidence scaled by this (the name is evidence too, and here it
#: says nothing).
CONTENT_ONLY_FACTOR = 0.8
#: Sniffing is I/O bound (a header per file): threads overlap the waiting.
DEFAULT_WORKERS = 8


def _detectable_specs():
    specs = []
    for name in ingestor_names():
        try:
            spec = get_spec(name)
        except Exception:  # a plugin that cannot load does not stop detection
            continue
        if spec.sniff is not None:
            specs.append(spec)
    return specs


def sniff_file(source, specs):
    """Each ingestor's confidence for one file, best first; reads the file's head once.

    Returns
    -------
    candidates : list of (str, float)
        Ingestor names with confidence above zero.
    reason : str
        Why there are none, when there are none.
    """
    named = [spec for spec in specs if spec.matches_name(source.path)]
    try:
        head = read_head(source)
    except OSError as error:
        return [], f"cannot be read ({error})"
    scores = [(spec.name, spec.confidence(head, source)) for spec in named]
    if max((score for _, score in scores), default=0.0) < MIN_CONFIDENCE:
        # No ingestor that expects this name reads it (a TIFF saved without extension,
        # XDI data in ``.txt``): let the content speak to the others, a little less
        # sure than when the name agrees. Only then, so that the common case costs
        # one sniffer per expected format.
        scores += [
            (spec.name, CONTENT_ONLY_FACTOR * spec.content_confidence(head, source))
            for spec in specs
            if spec not in named
        ]
    candidates = sorted(((name, score) for name, score in scores if score > 0), key=lambda c: -c[1])
    if not candidates:
        if not named:
            return [], f"no ingestor reads files with this name or {_BY_CONTENT}"
        return [], f"not recognised by {', '.join(spec.name for spec in named)}; no other ingestor {_BY_CONTENT}"
    return candidates, ""


#: How sniff_file's reasons for a file it read and nobody recognised end: a verdict on
#: the content, which alike files share (unlike "cannot be read", or a crash).
_BY_CONTENT = "recognises its content"


def _progress(total, progress, description):
    from tqdm.auto import tqdm

    if progress is None:
        progress = sys.stderr.isatty()
    return tqdm(total=total, disable=not progress, desc=description, unit="file", leave=False)


def _sniff_by_representatives(sources, specs, workers, progress, use_dask, worker):
    """Each file's sniff result, sniffing a numbered series through its first and last file.

    Returns
    -------
    results : list of (candidates, reason)
        One per file, as :func:`sniff_file` gives them.
    sniffed : int
        How many files were sniffed (the others took their series' verdict).
    """
    chosen = choose_representatives(sources, specs)
    results = [None] * len(sources)

    def sniff(positions):
        found = _sniff_all([sources[position] for position in positions], specs, workers, progress, use_dask, worker)
        for position, result in zip(positions, found):
            results[position] = result

    sniff(chosen.sniff)
    disputed = []
    for series in chosen.series:
        first, last = results[series.first], results[series.last]
        if first == last and _about_content(first):
            for position in series.followers:
                results[position] = first  # one shared result: nothing changes results
        else:  # the representatives disagree: each file speaks for itself
            disputed.extend(series.followers)
    if disputed:
        sniff(sorted(disputed))
    return results, len(chosen.sniff) + len(disputed)


def _about_content(result):
    """True if a sniff result is a verdict on the file's bytes, which alike files share."""
    candidates, reason = result
    return bool(candidates) or reason.endswith(_BY_CONTENT)


def _sniff_all(sources, specs, workers, progress, use_dask=False, worker=None):
    if worker is not None:
        return _sniff_isolated(sources, specs, progress, worker)
    if use_dask:
        import dask

        # One task per block of files, on whatever dask scheduler is active (a
        # dask.distributed cluster sniffs a large tree where its files are).
        blocks = [sources[i : i + 256] for i in range(0, len(sources), 256)]
        tasks = [dask.delayed(_sniff_block)(block, specs) for block in blocks]
        return [result for block in dask.compute(*tasks) for result in block]
    if all(source.is_local for source in sources):
        # Local headers come from the page cache or a disk read-ahead: threads only add
        # contention for the GIL (measured: 1 thread 0.69 s, 8 threads 0.86 s per 2000 TIFFs).
        with _progress(len(sources), progress, "sniffing") as bar:
            results = []
            for source in sources:
                results.append(sniff_file(source, specs))
                bar.update()
            return results
    with _progress(len(sources), progress, "sniffing") as bar, ThreadPoolExecutor(workers) as pool:

        def sniff(source):
            result = sniff_file(source, specs)
            bar.update()
            return result

        return list(pool.map(sniff, sources))


def _sniff_block(block, specs):
    return [sniff_file(source, specs) for source in block]


def _sniff_isolated(sources, specs, progress, worker):
    """Sniff in the worker process, all files in one batch; a file that crashes it is unrecognised."""
    results = []
    with _progress(len(sources), progress, "sniffing") as bar:
        for source, kind, value in worker.map(partial(_sniff_one, specs), sources):
            if kind == "ok":
                results.append(value)
            elif kind == "crashed":
                results.append(([], f"sniffing it {value.happened}; the file is probably damaged"))
            else:  # sniff_file catches what sniffers raise: this is an error of its own
                results.append(([], f"cannot be sniffed ({type(value).__name__}: {value})"))
            bar.update()
    return results


def _sniff_one(specs, source):
    return sniff_file(source, specs)


def _claim_companions(chosen, sources, worker=None):
    """Files that another file's run reads (data files of a master, sidecars), by identity.

    Returns
    -------
    claimed : dict
        Companion identity -> its main file's identity.
    crashed : dict
        Main file identity -> why listing its companions crashed the worker process.
    """
    asking = []
    with_companions = {name for name in set(chosen.values()) if get_spec(name).companions is not None}
    if with_companions:
        for index, source in enumerate(sources):
            name = chosen.get(source.identity)
            if name in with_companions:
                asking.append((get_spec(name), index))
    # Indexed once (in the worker: once per batch, on its first lookup) for companions
    # functions that look up the names they expect instead of scanning every file.
    selection = Selection(sources)
    if worker is None:
        answers = ((item, "ok", _companions_of(selection, item)) for item in asking)
    else:
        # The list of files goes to the worker once, not once per main file.
        answers = worker.map(partial(_companions_of, selection), asking)
    claimed, crashed = {}, {}
    for (spec, index), kind, value in answers:
        source = sources[index]
        if kind == "crashed":
            crashed[source.identity] = f"{spec.name} {value.happened} while looking for its companion files"
        elif kind == "error":
            raise value
        else:
            for identity in value:
                claimed[identity] = source.identity
    return claimed, crashed


def _companions_of(selection, item):
    """Identities of the companions of ``selection.sources[index]`` (given as ``(spec, index)``)."""
    spec, index = item
    # Every other file, as a view: a copy per main file made many masters quadratic.
    siblings = selection.siblings(index)
    return [companion.identity for companion in spec.companions(selection.sources[index], siblings) or ()]


def _list_runs(spec, source):
    """The keyword arguments of each run in one file (``spec.runs_in``), as a list."""
    return list(spec.runs_in(source))


#: What listing the runs of a group that is not asked gives: one run, no extra arguments.
_ONE_RUN = ("ok", [{}])


def _listed_runs(spec, groups, worker):
    """``(kind, value)`` per group, as :meth:`IsolatedWorker.map` gives them, for the runs in it.

    Only a group of one file of an ingestor that lists runs (``spec.runs_in``) is asked;
    in the worker, all such files in one batch (a call per file cost a round trip each).
    """
    if spec.runs_in is None:
        return [_ONE_RUN] * len(groups)
    asked = [group[0] for group in groups if len(group) == 1]
    if worker is None:
        answers = [_list_runs_here(spec, source) for source in asked]
    else:
        # Read to its end: a map left part-way kills the worker (replies nobody reads).
        answers = [(kind, value) for _, kind, value in worker.map(partial(_list_runs, spec), asked)]
    answers = iter(answers)
    return [next(answers) if len(group) == 1 else _ONE_RUN for group in groups]


def _list_runs_here(spec, source):
    try:
        return "ok", _list_runs(spec, source)
    except Exception as error:  # a damaged file must not stop the detection of others
        return "error", error


def _plan_runs(spec, sources, confidence, reason, companions_of, split_gaps, worker=None):
    """The runs one ingestor makes of its files, and the files whose runs cannot be listed."""
    runs, failed = [], []
    if spec.grouping in ("prefix", "directory"):
        groups = group_files(sources, spec.grouping, split_gaps=split_gaps)
    else:
        groups = [[source] for source in sources]
    for group, (kind, listed) in zip(groups, _listed_runs(spec, groups, worker)):
        if kind == "crashed":
            failed.append(
                Unrecognised(
                    group[0].url, f"{spec.name} {listed.happened} while listing its runs; the file is probably damaged"
                )
            )
            continue
        if kind == "error":
            failed.append(Unrecognised(group[0].url, _cannot_list(spec, listed)))
            continue
        if not listed:
            # A file the sniffer liked but that holds nothing to read (an HDF5 file
            # with no scan in it): reported, never dropped.
            failed.append(Unrecognised(group[0].url, f"{spec.name} finds no run in it"))
            continue
        score = min(map(confidence.__getitem__, map(_identity, group)))
        companions = [c for source in group for c in companions_of.get(source.identity, [])] if companions_of else []
        runs.extend(PlannedRun(spec.name, group, dict(kwargs), score, reason, companions) for kwargs in listed)
    return runs, failed


_identity = attrgetter("identity")


def _cannot_list(spec, error):
    """Why the runs of a file cannot be listed, from what ``runs_in`` raised."""
    if isinstance(error, IngestError):
        return f"{spec.name} cannot list its runs: {error.reason}"
    detail = str(error) or type(error).__name__
    return f"{spec.name} cannot list its runs ({type(error).__name__}: {detail})"


def detect(
    paths,
    *,
    ingestor=None,
    storage_options=None,
    workers=DEFAULT_WORKERS,
    progress=None,
    split_gaps=True,
    use_dask=False,
    isolate=False,
    timeout=DETECT_TIMEOUT,
):
    """Decide which ingestor reads each file and how files group into runs.

    Parameters
    ----------
    paths : str or list of str
        Files, globs, folders (searched recursively) or fsspec URLs, as a user selected them.
    ingestor : str, optional
        Use this ingestor for every file instead of sniffing (the user's choice wins).
    storage_options : dict, optional
        Passed to fsspec.
    workers : int
        Threads sniffing files at once, for remote filesystems (local files are sniffed
        in one thread: there is no latency to hide).
    progress : bool, optional
        Show a tqdm progress bar; default: when stderr is a terminal.
    split_gaps : bool
        Split a numbered series where numbers are missing (one run per unbroken range).
    use_dask : bool
        Sniff with dask (the active scheduler, e.g. a dask.distributed cluster) instead
        of local threads.
    isolate : bool or IsolatedWorker
        Do the per-file work that may run C parsers on the files (sniffing, listing the
        runs of a multi-run file, finding companion files) in one worker process,
        restarted after a crash, so that a file that crashes a parser (a segfault in
        libhdf5 or silx) is reported unrecognised, with why, instead of ending
        detection. The files are sniffed in one batch (``workers`` and ``use_dask``
        are then not used). The command line isolates by default. A worker given is
        used as it is (and left running, e.g. for :func:`ingest`).
    timeout : float or None
        With ``isolate``: the seconds one file's sniffing (or the listing of its runs)
        may take before the worker is killed and the file reported unrecognised, "gave
        no answer within N s" (a C library looping on a damaged file); None: no limit.
        Without isolation nothing can stop a hanging library: the limit is not applied.

    Returns
    -------
    Plan
        The runs (ingestor, files, confidence, reason), the files no ingestor recognised
        (with why), and the files two ingestors claim about equally (never guessed).
    """
    with _collector_paused():
        sources = find_files(paths, storage_options)
        if isolate and any(isinstance(source.fs, MemoryFileSystem) for source in sources):
            # A worker process cannot see this process's memory:// files.
            isolate = False
        with isolation_worker(isolate if sources else False, timeout) as worker:
            return _detect(sources, ingestor, workers, progress, split_gaps, use_dask, worker)


@contextlib.contextmanager
def _collector_paused():
    """Python's cyclic garbage collector off while detection builds a plan.

    Detection makes a few objects per file and frees none until it returns, and the
    collector, triggered by allocations, walks them all again and again: for 100,000
    files that was a third of detection's CPU time. Reference counting still frees
    everything that is not in a cycle meanwhile; the collector is back on at the end.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _detect(sources, ingestor, workers, progress, split_gaps, use_dask, worker):
    plan = Plan(files=sources)
    # FIFOs, sockets, devices, broken links: reported, never opened (a FIFO blocks a reader).
    special = [source for source in sources if source.special]
    if special:
        plan.unrecognised.extend(Unrecognised(source.url, source.special) for source in special)
        sources = [source for source in sources if not source.special]
    if ingestor is not None:
        spec = get_spec(ingestor)
        confidence = {source.identity: 1.0 for source in sources}
        plan.runs, failed = _plan_runs(
            spec, sources, confidence, f"chosen by the user: {ingestor}", {}, split_gaps, worker
        )
        plan.unrecognised.extend(failed)
        return plan

    specs = _detectable_specs()
    results, plan.sniffed = _sniff_by_representatives(sources, specs, workers, progress, use_dask, worker)
    plan.followed = len(sources) - plan.sniffed
    chosen, confidence, by_ingestor = {}, {}, {}
    verdicts = {}  # id(result) -> verdict: the files of a series share one result
    for source, result in zip(sources, results):
        verdict = verdicts.get(id(result))
        if verdict is None:
            verdict = _verdict(result)
            if verdict[0] is _CHOSEN:  # with the list of the chosen ingestor's files
                verdict += (by_ingestor.setdefault(verdict[1][0], []),)
            verdicts[id(result)] = verdict
        if verdict[0] is _CHOSEN:
            _, (name, score), members = verdict
            chosen[source.identity], confidence[source.identity] = name, score
            members.append(source)
        elif verdict[0] is Ambiguous:
            plan.ambiguous.append(Ambiguous(source.url, verdict[1]))
        else:
            plan.unrecognised.append(Unrecognised(source.url, verdict[1]))

    claimed, crashed = _claim_companions(chosen, sources, worker)
    if crashed:
        for source in sources:
            if source.identity in crashed:
                del chosen[source.identity]
                plan.unrecognised.append(Unrecognised(source.url, crashed[source.identity]))
    companions_of = {}
    if claimed:
        for source in sources:
            owner = claimed.get(source.identity)
            if owner is not None:
                companions_of.setdefault(owner, []).append(source)
        claimed_urls = {source.url for source in sources if source.identity in claimed}
        plan.unrecognised = [item for item in plan.unrecognised if item.url not in claimed_urls]
        plan.ambiguous = [item for item in plan.ambiguous if item.url not in claimed_urls]
    if claimed or crashed:  # companions make no run of their own, nor does a main file that crashed
        by_ingestor = {}
        for source in sources:
            if source.identity in chosen and source.identity not in claimed:
                by_ingestor.setdefault(chosen[source.identity], []).append(source)
    for name, members in by_ingestor.items():
        spec = get_spec(name)
        reason = f"sniffed as {name} ({spec.software or spec.description})"
        runs, failed = _plan_runs(spec, members, confidence, reason, companions_of, split_gaps, worker)
        plan.runs.extend(runs)
        plan.unrecognised.extend(failed)
    plan.runs.sort(key=lambda run: (run.files[0].identity, natural_key(run.kwargs)))
    firsts = {id(run.files[0]) for run in plan.runs}
    plan.candidates = {source.identity: result[0] for source, result in zip(sources, results) if id(source) in firsts}
    _report_unplaced(plan, sources, claimed)
    return plan


_CHOSEN = "chosen"


def _verdict(result):
    """What a sniff result makes of a file: ``(_CHOSEN, (ingestor, confidence))``,
    ``(Ambiguous, candidates)`` or ``(Unrecognised, why)``."""
    candidates, why = result
    if not candidates or candidates[0][1] < MIN_CONFIDENCE:
        return Unrecognised, why or "no ingestor is confident enough"
    if len(candidates) > 1 and candidates[0][1] - candidates[1][1] < AMBIGUITY_MARGIN:
        return Ambiguous, candidates
    return _CHOSEN, candidates[0]


def _report_unplaced(plan, sources, claimed):
    """Every file ends up somewhere: a file in no run and not reported is reported now.

    A companion whose main file makes no run (a data file of an unreadable master) is
    named with that file; anything else unplaced is a gap in detection, reported rather
    than dropped.
    """
    # plan.places(), reduced to what is asked here: is the file anywhere? The runs hold
    # these very files, so they are looked up by identity first (known since listing):
    # asking each of up to millions of files its URL cost more than the rest of this
    # check. By URL, as places() does, only what is not found so.
    in_runs = {source.identity for run in plan.runs for files in (run.files, run.companions) for source in files}
    placed = {item.url for item in plan.unrecognised}
    placed.update(item.url for item in plan.ambiguous)
    by_identity = run_urls = None
    for source in sources:
        if source.identity in in_runs or source.url in placed:
            continue
        if run_urls is None:
            run_urls = {source.url for run in plan.runs for files in (run.files, run.companions) for source in files}
            placed.update(run_urls)
            if source.url in placed:
                continue
        if by_identity is None:
            by_identity = {source.identity: source for source in sources}
        owner = by_identity.get(claimed.get(source.identity))
        if owner is not None:
            reason = f"read with {owner.url}, which makes no run"
        else:
            reason = "no run was planned for it"
        plan.unrecognised.append(Unrecognised(source.url, reason))
