"""Runs of a plan written into a tiled server by bluesky's TiledWriter, pixels left in place.

:func:`write_plan` is the tiled counterpart of :func:`intake_ingest.detect.ingest`: every
planned run is attempted and gets a :class:`~intake_ingest.detect.RunResult`; a run that
fails is removed from the server (no half-written run stays) and the next run is written.
Frames of the formats :mod:`.locators` knows go as StreamResource/StreamDatum documents
(:func:`.external.external_documents`), read by the ingestor lazily so that no pixel is
read on the way; everything else goes as the ingestor's events, into tiled's SQL tables.
:func:`write_catalog` does the same for the runs of an intake catalog (a YAML spec,
msgpack files). Each run is read once and costs only the writer's own requests (about
seven); a run already on the server is found by tiled refusing it, not by asking first.
"""

import inspect
import os
import warnings

from ..detect.endings import EndingWatcher
from ..detect.ingesting import IngestResult, RunResult
from ..errors import IngestError
from ..registry import get_ingestor
from .external import EXTERNAL, external_documents
from .locators import LOCATORS, locator

__all__ = ["TiledConnectionError", "connect", "run_documents", "with_data_sources", "write_catalog", "write_documents", "write_plan", "write_run"]


class TiledConnectionError(Exception):
    """The tiled server cannot be reached or refuses the client: one line saying which and why."""


def connect(uri, api_key=None):
    """A tiled client of the server at ``uri``, with bluesky-tiled-plugins' views.

    Raises
    ------
    TiledConnectionError
        If nothing answers at ``uri``, or the server refuses ``api_key``.
    """
    import httpx
    from tiled.client import from_uri

    try:
        return from_uri(uri, api_key=api_key)
    except httpx.ConnectError as error:
        raise TiledConnectionError(f"cannot reach a tiled server at {uri} ({error})") from None
    except httpx.HTTPStatusError as error:
        status = error.response.status_code
        reason = "refused the API key" if status in (401, 403) else f"answered {status} {error.response.reason_phrase}"
        raise TiledConnectionError(f"the tiled server at {uri} {reason}") from None


def _takes_lazy(function):
    try:
        return "lazy" in inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False


def run_documents(run, external=True):
    """The documents of a planned run as they go to tiled.

    With ``external`` and a locator for the run's ingestor, the frames become external
    data and the ingestor reads lazily (its pixels are never read).
    """
    ingest_function = get_ingestor(run.ingestor)
    locate = locator(run.ingestor, run.argument, run.kwargs) if external else None
    kwargs = dict(run.kwargs)
    if locate is not None and _takes_lazy(ingest_function):
        kwargs["lazy"] = True
    documents = ingest_function(run.argument, **kwargs)
    if locate is not None:
        documents = external_documents(documents, locate)
    return _tables_only_scalars(documents, run.files[0].url)


def _tables_only_scalars(documents, url):
    """The documents, checked for what tiled's SQL tables hold: a scalar per event and key.

    A data key whose values are inline but that says ``external`` (some ingestors mark
    data that a file links to, yet fill it in) loses that mark: bluesky's writer would
    take its values for datum ids. An inline array (a spectrum per event) cannot be a
    table column: the run is refused, naming the key, before tiled is asked.
    """
    for name, doc in documents:
        if name == "descriptor":
            data_keys = {}
            for key, data_key in doc["data_keys"].items():
                if data_key.get("external") != EXTERNAL:
                    data_key = {field: value for field, value in data_key.items() if field != "external"}
                    if data_key.get("shape"):
                        raise IngestError(
                            url,
                            f"stream {doc['name']!r} holds an array per event in {key!r} (shape "
                            f"{data_key['shape']}), which tiled's tables cannot hold and no locator reads in place",
                        )
                data_keys[key] = data_key
            doc = {**doc, "data_keys": data_keys}
        yield name, doc


def _tiled_message(error):
    """What tiled said, in one line (its HTTP errors carry the server's JSON detail)."""
    response = getattr(error, "response", None)
    if response is not None:
        try:
            detail = response.json().get("detail", response.text)
        except Exception:  # not JSON: the text as it is
            detail = response.text
        return f"tiled refused it ({response.status_code}: {' '.join(str(detail).split())})"
    return f"{type(error).__name__}: {' '.join(str(error).split())}"


def write_run(run, client, external=True, overwrite=False, batch_size=None):
    """Write one planned run into ``client`` (a tiled container).

    The run is read once: its uid comes from its RunStart on the way. A run already on
    the server (tiled refuses a second container of the same key: 409) is skipped, unless
    ``overwrite`` or the one there has no RunStop (a writer stopped half-way), which is
    then replaced; nothing is asked of the server before, so a new run costs only the
    writer's own requests.

    Returns
    -------
    (str, str)
        The run's uid and ``'written'``, ``'replaced'`` or ``'skipped'``.

    Raises
    ------
    IngestError
        Naming the run's file: the run cannot be read, or tiled refused it. Whatever the
        writer had made of it on the server is deleted first.
    """
    return write_documents(run_documents(run, external), client, run.files[0].url, overwrite, batch_size)


def write_documents(documents, client, label, overwrite=False, batch_size=None):
    """Write one run's documents (as :func:`run_documents` gives them) into ``client``.

    As :func:`write_run`, for documents from elsewhere (a catalog's run); ``label``
    names the run in errors (its file).

    The documents are read whole first (they hold scalars and where frames are, never
    pixels), so that a run that cannot be read leaves nothing on the server and a run
    without a RunStop is known before it is written. bluesky's TiledWriter keeps events
    (and StreamDatums) back until its ``batch_size`` is reached or the RunStop comes: a
    run without one (cut short, or still being written) would reach tiled without its
    last rows. Such a run is written with ``batch_size=1``, TiledWriter's setting for
    runs that are still going on (each row written as it comes), and no RunStop is
    made up for it: the run on the server has none, as its files have none.
    """
    from . import consolidators

    consolidators.register()
    client = with_data_sources(client)
    uid, outcome = None, "written"
    try:
        documents = list(documents)
        if not any(name == "stop" for name, _ in documents):
            batch_size = 1
            documents = _stream_datums_last(documents)
        writer = _writer(client, batch_size)
        for name, doc in documents:
            if name != "start":
                writer(name, doc)
                continue
            uid = doc["uid"]
            try:
                with warnings.catch_warnings():
                    # event-model's RunRouter warns of any error a callback raises on a
                    # RunStart (a guess about old factories) before raising it: a run
                    # already there is expected here.
                    warnings.filterwarnings("ignore", "The callback .* raised", UserWarning)
                    writer(name, doc)
            except Exception as error:
                if _status(error) != 409:
                    uid = None  # nothing made: nothing to remove
                    raise
                if not overwrite and _finished(client, uid):
                    return uid, "skipped"
                client.delete_contents(uid, recursive=True, external_only=False)
                writer, outcome = _writer(client, batch_size), "replaced"
                writer(name, doc)
    except Exception as error:
        if uid is not None:
            _remove(client, uid)
        if isinstance(error, IngestError):
            raise
        raise IngestError(label, _tiled_message(error)) from error
    return uid, outcome


def _stream_datums_last(documents):
    """A run's documents with each resource's StreamDatums joined and moved after the events.

    For a run written row by row (``batch_size=1``), where TiledWriter sends every
    StreamDatum to the server as it comes: the StreamDatums of one resource that follow
    each other (frames and events both consecutive) become one, which says the same,
    so that the server is asked once per resource rather than once per event.
    """
    others, joined = [], {}  # resource uid -> [StreamDatum]
    for name, doc in documents:
        if name != "stream_datum":
            others.append((name, doc))
            continue
        pieces = joined.setdefault(doc["stream_resource"], [])
        last = pieces[-1] if pieces else None
        if (
            last is not None
            and last["descriptor"] == doc["descriptor"]
            and last["indices"]["stop"] == doc["indices"]["start"]
            and last["seq_nums"]["stop"] == doc["seq_nums"]["start"]
        ):
            pieces[-1] = {
                **last,
                "indices": {"start": last["indices"]["start"], "stop": doc["indices"]["stop"]},
                "seq_nums": {"start": last["seq_nums"]["start"], "stop": doc["seq_nums"]["stop"]},
            }
        else:
            pieces.append(doc)
    return others + [("stream_datum", doc) for pieces in joined.values() for doc in pieces]


def with_data_sources(client):
    """``client`` asking for data sources, as bluesky's TiledWriter wants it.

    TiledWriter makes this variation of the client it is given, which costs a request;
    given one already, it does not: one request per plan instead of one per run.
    """
    return client if getattr(client, "_include_data_sources", False) else client.include_data_sources()


def _writer(client, batch_size):
    from bluesky.callbacks.tiled_writer import TiledWriter

    return TiledWriter(client, **({} if batch_size is None else {"batch_size": batch_size}))


def _status(error):
    """The HTTP status of a tiled client error (or of its cause), or None."""
    while error is not None:
        response = getattr(error, "response", None)
        if response is not None:
            return response.status_code
        error = error.__cause__
    return None


def _finished(client, uid):
    """True if the run ``uid`` on the server has its RunStop (a run cut short has none)."""
    return "stop" in client[uid].metadata


def _remove(client, uid):
    """Delete a half-written run, if the writer got as far as making it."""
    try:
        client.delete_contents(uid, recursive=True, external_only=False)
    except Exception:  # never made, the server is gone or refuses: the original error says more
        pass


def write_plan(plan, client, *, external=True, overwrite=False, fail_fast=False, progress=None):
    """Write every run of a detection plan into a tiled server.

    Parameters
    ----------
    plan : intake_ingest.detect.Plan
    client : tiled.client.container.Container
        Where the runs go (e.g. :func:`connect`'s client): each run is a container
        keyed by its uid, as bluesky's TiledWriter makes it.
    external : bool
        Frames of TIFF, CBF and EDF files stay in their files (external data); False
        sends them inline (which tiled's SQL tables cannot hold: for tests).
    overwrite : bool
        A run already on the server (same uid) is written again; by default it is
        skipped (unless it has no RunStop: a writer stopped half-way), so serving the
        same files twice writes nothing new.
    fail_fast : bool
        Raise the first run's error instead of going on.
    progress : callable, optional
        Called with the fraction done (0 to 1) after each run.

    Returns
    -------
    IngestResult
        ``target='tiled'``, ``folder`` the server's URI; one RunResult per run.
    """
    runs = list(plan.runs)
    jobs = (
        (RunResult(index, run.ingestor, run.files[0].url, dict(run.kwargs), "ok"), lambda run=run: run_documents(run, external))
        for index, run in enumerate(runs)
    )
    return _write_all(jobs, len(runs), client, overwrite, fail_fast, progress)


def _write_all(jobs, count, client, overwrite, fail_fast, progress):
    """Write ``(RunResult, documents())`` jobs one by one; the :class:`IngestResult`."""
    result = IngestResult(target="tiled", folder=str(client.uri))
    client = with_data_sources(client)
    for index, (outcome, documents) in enumerate(jobs):
        result.results.append(outcome)
        try:
            watcher = EndingWatcher(documents())
            outcome.uid, done = write_documents(watcher, client, outcome.first, overwrite)
            # Read whole before writing: how the run ends is known (a run cut short is 'partial').
            outcome.ending, outcome.ending_note = watcher.ending()
            if done == "skipped":
                outcome.status, outcome.message = "skipped", "already on the server"
            else:
                outcome.message = done
        except Exception as error:
            outcome.status, outcome.error = "error", error
            outcome.message = str(error) if isinstance(error, IngestError) else f"{outcome.first}: {_tiled_message(error)}"
            if fail_fast:
                result.stopped = True
                raise
        finally:
            if progress is not None:
                progress((index + 1) / count)
    return result


def write_catalog(catalog, client, *, overwrite=False, fail_fast=False, progress=None):
    """Write every run of an intake catalog (a YAML spec, msgpack files...) into a tiled server.

    A run's own documents are written. Its frames stay in their files where the run
    says where they are (its RunStart's ``ingestor`` and ``source``) and its ingestor's
    frames can be named in place (:data:`.locators.LOCATORS`: TIFF, CBF and EDF series,
    TIFF stacks), the files still being there; other arrays would have to go inline,
    which tiled's tables cannot hold: that run fails, saying so, and the others are
    written. Runs of nested catalogs are written too.

    Parameters
    ----------
    catalog : intake catalog
        E.g. :func:`intake_ingest.open_catalog`'s, or a
        :class:`~intake_ingest.BlueskyMsgpackCatalog`.
    client, overwrite, fail_fast, progress
        As for :func:`write_plan`.

    Returns
    -------
    IngestResult
        One RunResult per run (``first``: the run's path in the catalog).
    """
    from ..cli.catalogs import iter_runs

    runs = list(iter_runs(catalog))
    jobs = (
        (RunResult(index, run.start.get("ingestor", "-"), path, {}, "ok"), lambda path=path, run=run: catalog_run_documents(run, path))
        for index, (path, run) in enumerate(runs)
    )
    return _write_all(jobs, len(runs), client, overwrite, fail_fast, progress)


def catalog_run_documents(run, label):
    """The documents of a catalog's run as they go to tiled: frames external where they can be located."""
    locate = _catalog_locator(run.start)
    documents = run.documents()
    if locate is not None:
        documents = external_documents(documents, locate)
    return _tables_only_scalars(documents, label)


def _catalog_locator(start):
    """A locator from what a RunStart says of its files, or None (files gone, not local, no locator)."""
    ingestor, source = start.get("ingestor"), start.get("source")
    if ingestor not in LOCATORS or not source:
        return None
    try:
        return locator(ingestor, source, {})
    except (IngestError, OSError):  # the files moved or are remote: frames would go inline
        return None


def source_folders(catalog):
    """The local folders a catalog's runs name as their sources (for tiled's readable storage)."""
    from ..cli.catalogs import iter_runs

    folders = []
    for _, run in iter_runs(catalog):
        sources = run.start.get("source") or []
        for source in [sources] if isinstance(sources, str) else sources:
            path = str(source)
            if "://" in path and not path.startswith("file://"):
                continue
            folder = os.path.dirname(os.path.abspath(path.removeprefix("file://")))
            if folder not in folders:
                folders.append(folder)
    return folders
