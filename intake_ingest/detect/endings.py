"""How a run ends: complete, partial (no RunStop), or stopped early (its RunStop's exit status).

A run that can be read is not necessarily whole: a SPEC scan cut off mid-line or an
acquisition that never wrote its end gives documents without a RunStop, and a RunStop
may say ``abort`` or ``fail``. :func:`ingest <intake_ingest.detect.ingest>` records the
ending of every run it reads whole (:attr:`RunResult.ending
<intake_ingest.detect.ingesting.RunResult>`), so that the command line's summary and
the GUI's results table say ``partial`` or ``abort`` instead of a plain ``ok``.
"""

__all__ = ["ENDED_EARLY", "EndingWatcher", "run_ending"]

#: Endings of runs that are not whole, in the order summaries list them.
ENDED_EARLY = ("partial", "abort", "fail")

NO_STOP = "no RunStop: the run's data end early (cut off while written, or lines incomplete)"


def _ending_of(stop):
    """``(ending, note)`` for a RunStop document, or None for no RunStop."""
    if stop is None:
        return "partial", NO_STOP
    status = stop.get("exit_status", "success")
    if status == "success":
        return "complete", ""
    return status, f"RunStop exit_status {status!r}" + (f": {stop['reason']}" if stop.get("reason") else "")


class EndingWatcher:
    """Passes ``(name, doc)`` pairs through and remembers the RunStop, so a run's ending costs no second read.

    Examples
    --------
    >>> watcher = EndingWatcher([("start", {}), ("stop", {"exit_status": "abort"})])
    >>> [name for name, _ in watcher]
    ['start', 'stop']
    >>> watcher.ending()
    ('abort', "RunStop exit_status 'abort'")
    """

    def __init__(self, documents):
        self._documents = documents
        self._stop = None
        self._finished = False

    def __iter__(self):
        for name, doc in self._documents:
            if name == "stop":
                self._stop = doc
            yield name, doc
        self._finished = True

    def ending(self):
        """``(ending, note)``: ``'complete'``, ``'partial'``, ``'abort'`` or ``'fail'``, and why.

        Raises
        ------
        RuntimeError
            The documents were not read to their end.
        """
        if not self._finished:
            raise RuntimeError("the run's documents were not read to their end")
        return _ending_of(self._stop)


def run_ending(documents):
    """``(ending, note)`` of a run from its documents, read to the end (only the RunStop is kept).

    Returns
    -------
    (str, str)
        ``('complete', '')`` for a RunStop with exit status ``success``; ``('partial',
        why)`` without a RunStop; ``(exit_status, reason)`` otherwise.
    """
    watcher = EndingWatcher(documents)
    for _ in watcher:
        pass
    return watcher.ending()
