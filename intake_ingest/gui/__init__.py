"""A web app (panel) for selecting files, ingesting them and browsing catalogs of runs.

The view-models hold all the state and logic and import no panel, so they are tested
without a browser; :class:`App` (imported from here only when asked for, so that
``import intake_ingest.gui`` does not import panel) shows them in three tabs::

    from intake_ingest.gui import App
    App("beamtime/")            # in Jupyter; or App(...).serve(port=5006, show=True)
"""

from .browsing import BrowseModel, RunViewModel, filters_to_query, is_catalog_argument, parse_query
from .ingesting import IngestModel, RunResult
from .selection import GroupRow, SelectionModel

__all__ = [
    "App",
    "BrowseModel",
    "GroupRow",
    "IngestModel",
    "RunResult",
    "RunViewModel",
    "SelectionModel",
    "filters_to_query",
    "is_catalog_argument",
    "parse_query",
    "serve_app",
]


def serve_app(path_or_catalog=None, port=5006, show=True):
    """``intake-ingest gui``: serve the app on 127.0.0.1 until interrupted (Ctrl-C).

    Parameters
    ----------
    path_or_catalog : str, optional
        Files, a folder, glob or URL to select; or a catalog (YAML spec, msgpack
        folder or glob) to browse.
    port : int
        0 picks a free port.
    show : bool
        Open a browser tab.

    Returns
    -------
    int
        The exit status, 0.
    """
    try:
        from .app import App
    except ImportError as error:
        from ..cli.catalogs import UserError

        raise UserError(
            f"the gui needs panel and hvplot ({error}); in a checkout of intake-ingest: pip install '.[gui]'"
        ) from None
    App(path_or_catalog).serve(port=port, show=show, threaded=False)
    return 0


def __getattr__(name):
    # panel, bokeh and holoviews are imported only when the app itself is wanted.
    if name == "App":
        from .app import App

        return App
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
