"""A tiled server for ingested runs: its catalog (SQLite in a folder, or PostgreSQL), on loopback.

:func:`catalog_tree` makes tiled's catalog the way ``tiled serve catalog`` does, plus what
this package's runs need: SQL storage for the scalar tables bluesky's TiledWriter writes,
the run's folders as readable storage (so that frames are read where they are, never
copied) and this package's adapters for CBF and EDF. :class:`ServerThread` serves it with
uvicorn in a thread of this process, so that the same process can write runs into it.
"""

import os
import pathlib
import secrets
import threading
import time

__all__ = ["API_KEY_VARIABLE", "ServerThread", "api_key", "catalog_tree", "catalog_uri"]

#: Where tiled reads a single-user API key from (``tiled serve`` does the same).
API_KEY_VARIABLE = "TILED_SINGLE_USER_API_KEY"


def api_key():
    """``(key, from_environment)``: the key in :data:`API_KEY_VARIABLE`, else a new random one.

    Raises
    ------
    ValueError
        For a key in the environment that is not letters and digits only (tiled refuses
        it, after the server has started).
    """
    key = os.environ.get(API_KEY_VARIABLE)
    if not key:
        return secrets.token_hex(32), False
    if not key.isalnum():
        raise ValueError(f"{API_KEY_VARIABLE} must hold letters and digits only (tiled refuses other characters)")
    return key, True


def _is_uri(text):
    return "://" in str(text)


def catalog_uri(catalog):
    """The catalog database of ``catalog``: a PostgreSQL URI as it is, a folder's ``catalog.db``."""
    if _is_uri(catalog):
        return str(catalog)
    return f"sqlite:///{pathlib.Path(catalog).resolve() / 'catalog.db'}"


def catalog_tree(catalog, readable=(), adapters=True):
    """tiled's catalog adapter for ``catalog``, made if it does not exist.

    Parameters
    ----------
    catalog : str or path
        A folder (made if missing) holding ``catalog.db``, ``tables.db`` (SQL storage for
        scalar tables) and ``data/`` (what tiled copies in, never frames read in place);
        or a ``postgresql://`` URI, whose database then holds the catalog and the tables
        (files tiled writes go to a folder under the current one: ``tiled-data``).
    readable : iterable of str or path
        Folders tiled may read external data from: the folders of the ingested files.
    adapters : bool
        Register this package's adapters for CBF and EDF series.
    """
    from tiled.catalog import from_uri

    if _is_uri(catalog):
        data = pathlib.Path("tiled-data").resolve()
        tables = str(catalog)
    else:
        folder = pathlib.Path(catalog).resolve()
        folder.mkdir(parents=True, exist_ok=True)
        data = folder / "data"
        tables = f"sqlite:///{folder / 'tables.db'}"
    data.mkdir(parents=True, exist_ok=True)
    by_mimetype = {}
    if adapters:
        from .adapters import ADAPTERS_BY_MIMETYPE

        by_mimetype = dict(ADAPTERS_BY_MIMETYPE)
    return from_uri(
        catalog_uri(catalog),
        writable_storage=[str(data), tables],
        readable_storage=[str(pathlib.Path(path).resolve()) for path in readable],
        init_if_not_exists=True,
        adapters_by_mimetype=by_mimetype,
        # The root is a catalog of Bluesky runs: bluesky-tiled-plugins' client then gives
        # catalog[scan_id], catalog[-1] and ScanID queries. Dicts, as tiled 0.2.20 builds
        # Spec(**spec) from each.
        specs=[{"name": "CatalogOfBlueskyRuns", "version": "3.0"}],
    )


class ServerThread:
    """A tiled app served by uvicorn on ``host:port`` in a daemon thread.

    Parameters
    ----------
    tree : tiled adapter
        From :func:`catalog_tree`.
    key : str
        The single-user API key clients must give.
    host : str
        Loopback by default: other machines reach it only if told to (``0.0.0.0``).
    port : int
        0: a free port, chosen by the system (see :attr:`port` once started).
    """

    def __init__(self, tree, key, host="127.0.0.1", port=0):
        import uvicorn
        from tiled.config import Authentication
        from tiled.server.app import build_app

        app = build_app(tree, Authentication(single_user_api_key=key))
        self.key = key
        self._server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on"))
        self._thread = threading.Thread(target=self._server.run, name="tiled-server", daemon=True)

    def start(self, timeout=60):
        """Start serving; returns once the server accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the tiled server stopped while starting (is the port free?)")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the tiled server did not start within {timeout} s")
            time.sleep(0.05)
        return self

    @property
    def port(self):
        (server,) = self._server.servers
        return server.sockets[0].getsockname()[1]

    @property
    def uri(self):
        host = self._server.config.host
        return f"http://{host}:{self.port}"

    def stop(self):
        self._server.should_exit = True
        self._thread.join(timeout=30)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
