"""Fixtures that write real files in the conventions of the software that produces them."""

import collections
import functools
import http.server
import threading
import uuid

import event_model
import fsspec
import numpy as np
import pytest
import tifffile
from fsspec.implementations.memory import MemoryFileSystem

N_IMAGES = 10
SHAPE = (64, 48)


def _random_images(seed, n=N_IMAGES, shape=SHAPE, dtype=np.uint16):
    return np.random.default_rng(seed).integers(0, 4000, size=(n, *shape)).astype(dtype)


@pytest.fixture
def tiff_series(tmp_path):
    """A TIFF series as areaDetector's NDFileTIFF writes it: one image per numbered file.

    Returns (glob pattern, images as written, list of file paths).
    """
    images = _random_images(1)
    folder = tmp_path / "series"
    folder.mkdir()
    paths = []
    for number, image in enumerate(images, start=1):
        path = folder / f"scan_{number:04d}.tiff"
        tifffile.imwrite(path, image)
        paths.append(str(path))
    return str(folder / "scan_*.tiff"), images, paths


@pytest.fixture
def tiff_stack(tmp_path):
    """A multi-page TIFF stack, one frame per page. Returns (path, images as written)."""
    images = _random_images(2)
    folder = tmp_path / "stack"
    folder.mkdir()
    path = folder / "stack.tiff"
    tifffile.imwrite(path, images, photometric="minisblack")
    return str(path), images


def validate(name, doc):
    """Validate one document against event-model's JSON schema for its kind."""
    event_model.schema_validators[event_model.DocumentNames[name]].validate(doc)


@pytest.fixture
def validated():
    """Collect an ingestor's documents, validating each against event-model's schemas."""

    def collect(documents):
        out = []
        for name, doc in documents:
            validate(name, doc)
            out.append((name, doc))
        return out

    return collect


@pytest.fixture
def memory_folder():
    """A fresh folder on fsspec's in-memory filesystem; removed afterwards."""
    root = f"/test-{uuid.uuid4().hex}"
    fs = fsspec.filesystem("memory")
    fs.mkdir(root)
    yield fs, root
    fs.rm(root, recursive=True)


@pytest.fixture
def count_memory_opens(monkeypatch):
    """Count every file open and whole-file read on fsspec's memory filesystem, by path."""
    counts = collections.Counter()

    def counting(method):
        @functools.wraps(method)
        def wrapper(self, path, *args, **kwargs):
            counts[self._strip_protocol(path)] += 1
            return method(self, path, *args, **kwargs)

        return wrapper

    monkeypatch.setattr(MemoryFileSystem, "_open", counting(MemoryFileSystem._open))
    monkeypatch.setattr(MemoryFileSystem, "cat_file", counting(MemoryFileSystem.cat_file))
    return counts


@pytest.fixture
def http_server(tmp_path):
    """Serve ``tmp_path`` read-only over HTTP on a free local port; yields the base URL."""
    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(tmp_path))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def folder_snapshot():
    """Take (path -> (mtime_ns, bytes)) of every file under a folder, to prove nothing was written."""

    def snapshot(folder):
        import pathlib

        return {
            str(p): (p.stat().st_mtime_ns, p.read_bytes())
            for p in sorted(pathlib.Path(folder).rglob("*"))
            if p.is_file()
        }

    return snapshot


EXAMPLE_CATALOGS = __import__("pathlib").Path(__file__).resolve().parent.parent / "catalogs"


@pytest.fixture
def example_catalogs(tmp_path):
    """A copy of the repository's ``catalogs/`` folder (YAML specs and their data)."""
    import shutil

    return shutil.copytree(EXAMPLE_CATALOGS, tmp_path / "catalogs")
