import io

import pytest

from intake_ingest.cli import list_ingestors
from intake_ingest.files import expand
from intake_ingest.registry import HEAD_BYTES, IngestorSpec, get_spec, read_head


def test_tiff_specs_describe_themselves(tiff_series):
    spec = get_spec("tiff_series")
    assert isinstance(spec, IngestorSpec)
    assert spec.grouping == "prefix" and "*.tiff" in spec.patterns and "image/tiff" in spec.mimetypes
    (source,) = expand(tiff_series[2][0])
    head = read_head(source)
    assert 0 < len(head) <= HEAD_BYTES
    assert spec.confidence(head, source) == pytest.approx(0.3)
    assert get_spec("tiff_stack").confidence(head, source) == pytest.approx(0.1)  # one page
    assert get_spec("tiff_series_dask").sniff is None  # a reading mode, never detected


def test_sniffers_are_guarded_and_names_must_fit(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    (source,) = expand(str(tmp_path / "notes.txt"))
    spec = get_spec("tiff_series")
    assert spec.confidence(b"II*\x00", source) == 0.0  # the name does not fit *.tif(f)

    def broken(head, source):
        raise RuntimeError("bug in a plugin")

    faulty = IngestorSpec(name="faulty", ingest=lambda path: iter(()), sniff=broken)
    assert faulty.confidence(b"", source) == 0.0


def test_plain_functions_registered_directly_get_a_minimal_spec(monkeypatch):
    from intake_ingest import registry

    class EntryPoint:
        name = "bare"

        def load(self):
            def ingest_bare(path):
                """Bare ingestor registered as a function."""
                yield from ()

            return ingest_bare

    monkeypatch.setattr(registry, "_entry_points", lambda: {"bare": EntryPoint()})
    registry.get_spec.cache_clear()
    try:
        spec = registry.get_spec("bare")
        assert spec.name == "bare" and spec.description == "Bare ingestor registered as a function."
    finally:
        registry.get_spec.cache_clear()


def test_cli_lists_ingestors_with_their_drivers():
    out = io.StringIO()
    assert list_ingestors(out) == 0
    lines = out.getvalue().splitlines()
    assert lines[0].split()[:3] == ["ingestor", "intake", "driver"]
    tiff = next(line for line in lines if line.startswith("tiff_series "))
    assert "bluesky-tiff-series" in tiff and "*.tif *.tiff" in tiff


def test_read_head_of_local_memory_and_special_files(tmp_path, memory_folder):
    """A local file's head is read without fsspec's file object: the same bytes, the same errors."""
    import os

    from intake_ingest.files import find_files

    data = bytes(range(256)) * 40
    (tmp_path / "data.bin").write_bytes(data)
    fs, root = memory_folder
    fs.pipe(f"{root}/data.bin", data)
    (local,) = expand(str(tmp_path / "data.bin"))
    (in_memory,) = expand(f"memory://{root}/data.bin")
    assert read_head(local) == read_head(in_memory) == data[:HEAD_BYTES]
    assert read_head(local, 10) == data[:10]
    os.remove(tmp_path / "data.bin")
    with pytest.raises(FileNotFoundError, match="data.bin"):
        read_head(local)
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "fifo")
        (fifo,) = find_files(str(tmp_path))
        with pytest.raises(OSError, match="FIFO"):  # never opened: a reader would wait on it
            read_head(fifo)
