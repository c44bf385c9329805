"""Where a shared catalog spec may read: inside its own folder, or where the user said.

A spec names the files of its runs (``pattern``, ``filename``, ``paths``, a nested
catalog's ``path``). Each, once ``{{ CATALOG_DIR }}`` is substituted, must lie inside the
spec's folder (on the same filesystem: a spec served over HTTP reads over HTTP) or inside
a *data root* the user passed (``open_catalog(url, data_roots=[...])``). Chained URLs
(``simplecache::...``, ``zip://...::...``) and ``..`` segments are refused: the first picks
filesystems, caching ones among them, the second walks out of the folder.
"""

from fsspec.core import split_protocol
from fsspec.registry import get_filesystem_class

__all__ = ["PathPolicy", "location"]

_LOCAL = {None, "file", "local"}


def location(url):
    """``(protocol, path)`` of a URL or path, comparable across spellings of the same place.

    Local paths (plain, ``file://``, relative, ``~``) become absolute POSIX paths with
    protocol ``'file'``; other URLs are stripped of their protocol by their filesystem
    class, except HTTP, whose URL is its path. A trailing slash is dropped.

    Raises
    ------
    ValueError, ImportError
        For a protocol fsspec does not know, or whose package is not installed.
    """
    protocol, _ = split_protocol(url)
    protocol = "file" if protocol in _LOCAL else protocol
    path = get_filesystem_class(protocol)._strip_protocol(url)
    return protocol, (path.rstrip("/") or "/")


class PathPolicy:
    """Which paths a spec's entries may name.

    Parameters
    ----------
    catalog_dir : str
        The spec's folder or URL (``{{ CATALOG_DIR }}``).
    data_roots : sequence of str
        Further folders or URLs the user allows, with their storage options coming from
        nowhere in the spec.
    """

    def __init__(self, catalog_dir, data_roots=()):
        self.catalog_dir = catalog_dir
        self.data_roots = tuple(data_roots)
        self._roots = [location(catalog_dir)] + [location(str(root)) for root in self.data_roots]

    def problem(self, path):
        """Why ``path`` may not be read, or None if it may.

        Returns
        -------
        str or None
        """
        if not isinstance(path, str) or not path:
            return f"must be a path or URL (a non-empty string), not {path!r}"
        if "::" in path:
            return (f"{path!r} is a chained URL; a spec cannot pick filesystems (caching ones "
                    "write files); write a path inside {{ CATALOG_DIR }}")
        if "\x00" in path or ".." in path.replace("\\", "/").split("/"):
            return f"{path!r} has a '..' segment; a spec reads only inside its folder or a data root"
        protocol, _ = split_protocol(path)
        protocol = "file" if protocol in _LOCAL else protocol
        for root_protocol, root in self._roots:
            if protocol != root_protocol:
                continue  # never import a filesystem the spec alone names
            _, stripped = location(path)
            if stripped == root or stripped.startswith(root.rstrip("/") + "/"):
                return None
        return (f"{path!r} is outside the spec's folder {self.catalog_dir!r}"
                + (f" and the data roots {list(self.data_roots)}" if self.data_roots else "")
                + "; write it as {{ CATALOG_DIR }}/..., or pass its folder as a data root "
                "(open_catalog(..., data_roots=[...]), INTAKE_INGEST_DATA_ROOTS for the command line)")

    def under_catalog_dir(self, path):
        """True if ``path`` (already accepted) lies in the spec's own folder."""
        protocol, stripped = location(path)
        root_protocol, root = self._roots[0]
        return protocol == root_protocol and (stripped == root or stripped.startswith(root.rstrip("/") + "/"))
