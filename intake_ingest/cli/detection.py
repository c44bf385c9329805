"""``intake-ingest ingestors | detect | ingest | catalog PATHS -o``: from files to runs."""

import json
import os
import sys

from .signals import stopped_by_signals
from .tables import natural_key, text_table

__all__ = ["detect_command", "ingest_command", "list_ingestors", "plan_lines", "write_catalog_command"]


def list_ingestors(out=None):
    """Print each registered ingestor: name, intake driver, producing software, file patterns."""
    from ..registry import driver_name, get_spec, ingestor_names

    out = out or sys.stdout
    rows = []
    for name in ingestor_names():
        try:
            spec = get_spec(name)
        except Exception as error:  # a broken third-party plugin must not hide the others
            rows.append((name, driver_name(name), f"(cannot be loaded: {error})", ""))
            continue
        rows.append((name, driver_name(name), spec.software or spec.description, " ".join(spec.patterns)))
    widths = [max(len(row[i]) for row in rows + [("ingestor", "intake driver", "software", "")]) for i in range(3)]
    header = ("ingestor", "intake driver", "software", "files")
    for row in [header, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths)) + "  " + row[3], file=out)
    return 0


def detect_command(paths, ingestor=None, as_json=False, quiet=False, out=None, isolate=True, timeout=None, every_run=False):
    """``detect PATHS``: which ingestor reads which files, as a table or JSON.

    The table has a line per file: a file holding many runs (a SPEC file of hundreds of
    scans) is one line saying how many and from which to which, unless ``every_run``
    (``--all``) asks for a line per run. A totals line ends it. Runs are in natural order
    (``scan=2.1`` before ``scan=10.1``), in the JSON too.

    With ``isolate`` (the default), a file that crashes a parser while it is sniffed or
    its runs listed is reported unrecognised instead of ending the command.
    """
    from ..detect import detect
    from ..detect.isolation import DETECT_TIMEOUT, time_limit

    out = out or sys.stdout
    plan = detect(
        paths, ingestor=ingestor, progress=False if quiet else None, isolate=isolate,
        timeout=time_limit(timeout, DETECT_TIMEOUT),
    )
    runs = _runs_in_order(plan.runs)
    if as_json:
        json.dump({**plan.to_dict(), "runs": [run.to_dict() for run in runs]}, out, indent=2, default=_json_value)
        print(file=out)
    else:
        for line in plan_lines(plan, runs, every_run):
            print(line, file=out)
    return 0


def _arguments(run):
    return " ".join(f"{key}={value}" for key, value in run.kwargs.items())


def _runs_in_order(runs):
    """The planned runs by file, then by their arguments in natural order."""
    return sorted(runs, key=lambda run: (run.files[0].url, natural_key(_arguments(run))))


def plan_lines(plan, runs=None, every_run=False):
    """The plan as text: a line per file (or per run), the files left out, and a totals line."""
    runs = _runs_in_order(plan.runs) if runs is None else runs
    by_file = {}
    for run in runs:
        by_file.setdefault((run.files[0].url, run.ingestor), []).append(run)
    rows = []
    for (url, name), file_runs in by_file.items():
        if every_run or len(file_runs) == 1:
            rows.extend(
                {"ingestor": name, "conf": f"{run.confidence:.2f}", "runs": 1, "files": len(run.files),
                 "first file": url, "arguments": _arguments(run)}
                for run in file_runs
            )
        else:
            first, last = _arguments(file_runs[0]), _arguments(file_runs[-1])
            rows.append(
                {"ingestor": name, "conf": f"{min(run.confidence for run in file_runs):.2f}",
                 "runs": len(file_runs), "files": 1, "first file": url, "arguments": f"{first} ... {last}"}
            )
    # The file last: its length varies, and the columns before it stay aligned.
    lines = text_table(rows, ["ingestor", "conf", "runs", "files", "arguments", "first file"],
                       right={"conf", "runs", "files"})
    for item in plan.ambiguous:
        names = ", ".join(f"{name} {confidence:.2f}" for name, confidence in item.candidates)
        lines.append(f"ambiguous: {item.url} ({names}); choose one with --ingestor")
    for item in plan.unrecognised:
        lines.append(f"unrecognised: {item.url} ({item.reason})")
    read = {source.url for run in runs for source in run.files}
    summary = f"{len(runs)} run(s) in {len(read)} file(s); "
    summary += f"{len(plan.unrecognised)} file(s) unrecognised, {len(plan.ambiguous)} ambiguous"
    if plan.followed:  # numbered series were sniffed through their first and last file
        summary += f"; {plan.sniffed} of {len(plan.files)} file(s) sniffed"
    if not every_run and any(len(file_runs) > 1 for file_runs in by_file.values()):
        summary += " (--all: a line per run)"
    lines.append(summary)
    return lines


def _json_value(value):
    """JSON for what a plan holds besides plain values: an HDF5 entry name that is not UTF-8.

    h5py gives such a name as ``bytes``; it is shown with its undecodable bytes escaped.
    """
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def ingest_command(paths, to, ingestor=None, overwrite=False, quiet=False, fail_fast=False, out=None, isolate=True, timeout=None,
                   watch=False):
    """``ingest PATHS --to DIR``: detect, then write each run to ``DIR/<uid>.msgpack``.

    Every run is attempted; the summary names each run that failed (its file and the
    reason) and each file left out. Exit status 1 if any run failed, else 0; the good
    runs are written either way. With ``fail_fast``, the first failure stops the ingest.
    With ``isolate`` (the default), files are sniffed and runs read and written in a
    worker process, so that a reader's native crash (a segfault in a C parser) is that
    run's failure, not the end of the command. A ``to`` that cannot be a folder is an
    error (one line, exit status 1) before any file is read.
    """
    from ..detect import detect, ingest
    from ..detect.ingesting import target_folder
    from ..detect.isolation import DETECT_TIMEOUT, INGEST_TIMEOUT, isolation_worker, time_limit

    out = out or sys.stdout
    progress = False if quiet else None
    target_folder(to)
    if watch:  # until Ctrl-C: a line per run made, updated or failed (intake_ingest.detect.watching)
        return _watch(paths, to, ingestor, out, isolate, timeout)
    with isolation_worker(isolate) as worker:  # one worker start for both steps
        plan = detect(paths, ingestor=ingestor, progress=progress, isolate=worker or False,
                      timeout=time_limit(timeout, DETECT_TIMEOUT))
        result = ingest(plan, to=to, overwrite=overwrite, progress=progress, fail_fast=fail_fast, isolate=worker or False,
                        timeout=time_limit(timeout, INGEST_TIMEOUT))
    counts = result.counts()
    line = f"{counts['ok']} run(s) written to {to}, {counts['skipped']} already there"
    if counts["skipped"]:
        line += " (skipped)"
    if counts["error"]:
        line += f", {counts['error']} failed"
    line += "".join(f", {count} {ending}" for ending, count in result.ending_counts().items())
    print(f"{line}; {len(plan.unrecognised)} file(s) unrecognised, {len(plan.ambiguous)} ambiguous", file=out)
    for run in result.ended_early:  # made, but not whole: no RunStop, or an abort
        print(f"  {run.ending}: {run.where}: {run.ending_note}", file=out)
    for failed in result.errors:
        print(f"  failed: {failed.message}", file=out)
    for item in plan.ambiguous:
        names = ", ".join(name for name, _ in item.candidates)
        print(f"  ambiguous: {item.url} ({names}); choose one with --ingestor", file=out)
    for item in plan.unrecognised:
        print(f"  unrecognised: {item.url} ({item.reason})", file=out)
    return 0 if result.ok else 1


def _watch(paths, to, ingestor, out, isolate, timeout):
    from ..detect.isolation import INGEST_TIMEOUT, isolation_worker, time_limit
    from ..detect.watching import MsgpackSink, Watcher

    with isolation_worker(isolate, time_limit(timeout, INGEST_TIMEOUT)) as worker:
        sink = MsgpackSink(to, isolate=worker or False)
        watcher = Watcher(paths, sink, ingestor=ingestor, isolate=worker or False,
                          on_update=lambda update: print(update.line(), file=out, flush=True))
        print(f"watching {' '.join(map(str, paths))}: new files become runs in {to} (Ctrl-C stops)", file=out, flush=True)
        with stopped_by_signals(watcher):
            watcher.run()
    return 0


def write_catalog_command(paths, output, ingestor=None, quiet=False, out=None, isolate=True, timeout=None):
    """``catalog PATHS -o beamline.yml``: a YAML catalog spec of the detected runs (detection isolated by default).

    An ``output`` that is a folder, or that cannot be written, is a one-line error
    (:class:`~intake_ingest.cli.catalogs.UserError`) naming it.
    """
    from ..detect import detect
    from ..detect.catalog_spec import write_catalog_spec
    from .catalogs import UserError
    from ..detect.isolation import DETECT_TIMEOUT, time_limit

    out = out or sys.stdout
    if os.path.isdir(output) or output.endswith(("/", os.sep)):  # said before any file is read
        example = os.path.join(output, "beamline.yml")
        raise UserError(f"{output}: is a folder; -o takes the YAML file to write, e.g. {example}")
    plan = detect(
        paths, ingestor=ingestor, progress=False if quiet else None, isolate=isolate,
        timeout=time_limit(timeout, DETECT_TIMEOUT),
    )
    try:
        spec = write_catalog_spec(plan, output)
    except OSError as error:  # a folder that does not exist, no permission, a full disk
        raise UserError(f"{output}: cannot be written ({error.strerror or error})") from None
    print(f"{output}: {len(spec['sources'])} source(s) for {len(plan.runs)} run(s)", file=out)
    return 0
