"""How the runs just ingested end: complete, partial (no RunStop), or stopped early.

Ingesting reports a run ``ok`` once it could be read; a SPEC scan cut off mid-line or
an acquisition that never wrote its end is still ``ok`` there. The app's results say
``partial`` for a run without a RunStop, and the RunStop's ``exit_status`` (``abort``,
``fail``) for a run that ended early, so that such runs are not taken for whole ones.
"""

import os

__all__ = ["run_ending", "result_endings"]


def run_ending(documents):
    """``(status, note)`` of a run from its documents: read to the end, only the RunStop kept.

    Returns
    -------
    (str, str)
        ``('ok', '')`` for a RunStop with exit status ``success``; ``('partial', why)``
        without a RunStop; ``(exit_status, reason)`` otherwise.
    """
    stop = None
    for name, doc in documents:
        if name == "stop":
            stop = doc
    if stop is None:
        return "partial", "no RunStop: the run's data end early (cut off while written, or lines incomplete)"
    status = stop.get("exit_status", "success")
    if status == "success":
        return "ok", ""
    return status, f"RunStop exit_status {status!r}" + (f": {stop['reason']}" if stop.get("reason") else "")


def _ending_of_ingested_run(ingest_function, argument, kwargs):
    """In a worker: the ending of a run read afresh with its ingestor."""
    return run_ending(ingest_function(argument, **kwargs))


def _ending_of_msgpack_file(url):
    from ..files import expand
    from ..msgpack.codec import read_documents

    (source,) = expand(url)
    return run_ending(read_documents(source))


def result_endings(plan, results, target, folder=None, isolate=True):
    """The ending of every run an ingest made: ``{result index: (status, note)}``.

    Parameters
    ----------
    plan : Plan
        The plan ingested (its runs, in the order of ``results``).
    results : list of RunResult
    target : {'memory', 'msgpack'}
    folder : str, optional
        With msgpack: where the runs were written (runs already there are read there).
    isolate : bool
        In memory, the runs are read again with their ingestors, in a worker process
        (as ingesting reads them), so that a reader that crashes costs only its run.
        msgpack files are read here: the project's own reader.

    Returns
    -------
    dict
        Only runs that were made or found; a run whose ending cannot be read is left out.
    """
    from ..detect.isolation import WorkerCrashed, isolation_worker
    from ..registry import get_ingestor

    endings = {}
    made = [(position, result) for position, result in enumerate(results) if result.ok and result.uid]
    if target == "msgpack":
        for position, result in made:
            files = list(result.written) or [os.path.join(str(folder), f"{result.uid}.msgpack")]
            try:
                endings[position] = _ending_of_msgpack_file(files[-1])
            except Exception:  # unreadable now: the Browse tab will say why
                continue
        return endings
    runs = list(plan.runs)
    with isolation_worker(isolate if made else False) as worker:
        for position, result in made:
            run = runs[result.index]
            arguments = (get_ingestor(run.ingestor), run.argument, run.kwargs)
            try:
                if worker is None:
                    endings[position] = _ending_of_ingested_run(*arguments)
                else:
                    endings[position] = worker.call(_ending_of_ingested_run, *arguments)
            except WorkerCrashed:
                continue  # the worker is replaced for the next run
            except Exception:
                continue
    return endings
