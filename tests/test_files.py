"""Every path argument is an fsspec path or URL: local, file://, memory://, zip://, http://."""

import os
import zipfile

import numpy as np
import pytest

from intake_ingest import BlueskyInMemoryCatalog, IngestError, ingest_tiff_series, ingest_tiff_stack
from intake_ingest.files import expand


def read_series(pattern):
    catalog = BlueskyInMemoryCatalog()
    uid = catalog.upsert(ingest_tiff_series, (pattern,), {})
    return catalog[uid].primary.read()


def test_local_path_and_file_url_give_the_same_run(tiff_series):
    pattern, images, _ = tiff_series
    local = read_series(pattern)
    url = read_series("file://" + pattern)
    np.testing.assert_array_equal(local["image"].values, images)
    np.testing.assert_array_equal(url["image"].values, images)
    assert next(ingest_tiff_series(pattern))[1]["uid"] == next(ingest_tiff_series("file://" + pattern))[1]["uid"]


def test_memory_url(tiff_series, memory_folder):
    _, images, paths = tiff_series
    fs, root = memory_folder
    for path in paths:
        fs.pipe(f"{root}/{os.path.basename(path)}", open(path, "rb").read())
    dataset = read_series(f"memory://{root}/scan_*.tiff")
    np.testing.assert_array_equal(dataset["image"].values, images)
    assert dataset.sizes["time"] == len(images)


def test_zip_url(tiff_series, tmp_path):
    _, images, paths = tiff_series
    archive = tmp_path / "scan.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in paths:
            zipped.write(path, arcname=f"scan/{os.path.basename(path)}")
    dataset = read_series(f"zip://scan/*.tiff::file://{archive}")
    np.testing.assert_array_equal(dataset["image"].values, images)


def test_http_url(tiff_series, tiff_stack, http_server):
    _, images, _ = tiff_series
    dataset = read_series(f"{http_server}/series/scan_*.tiff")
    np.testing.assert_array_equal(dataset["image"].values, images)

    stack_images = tiff_stack[1]
    catalog = BlueskyInMemoryCatalog()
    uid = catalog.upsert(ingest_tiff_stack, (f"{http_server}/stack/stack.tiff",), {})
    np.testing.assert_array_equal(catalog[uid].primary.read()["image"].values, stack_images)


def test_http_missing_file_names_the_url(http_server):
    url = f"{http_server}/nowhere/stack.tiff"
    with pytest.raises(IngestError) as info:
        next(ingest_tiff_stack(url))
    assert info.value.path == url


def test_expand_is_sorted_and_skips_directories(tmp_path):
    for name in ["b.tif", "a.tif", "c.tif"]:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "d.tif").mkdir()
    assert [os.path.basename(s.path) for s in expand(str(tmp_path / "*.tif"))] == ["a.tif", "b.tif", "c.tif"]


def test_expand_refuses_a_directory(tmp_path):
    with pytest.raises(IngestError, match="directory"):
        expand(str(tmp_path))


def test_sources_are_never_written(tiff_series, tiff_stack, folder_snapshot, tmp_path):
    from intake_ingest.msgpack import BlueskyMsgpackCatalog, export

    before = folder_snapshot(tmp_path)
    catalog = BlueskyInMemoryCatalog()
    catalog.upsert(ingest_tiff_series, (tiff_series[0],), {})
    catalog.upsert(ingest_tiff_stack, (tiff_stack[0],), {})
    for uid in catalog:
        catalog[uid].primary.read()
        list(catalog[uid].canonical(fill="yes"))
        export(catalog[uid].canonical(), tmp_path.parent / f"{tmp_path.name}-copies")
    reopened = BlueskyMsgpackCatalog(str(tmp_path.parent / f"{tmp_path.name}-copies" / "*.msgpack"))
    for uid in reopened:
        reopened[uid].primary.read()
    assert folder_snapshot(tmp_path) == before


def test_archives_with_the_same_member_names_are_different_runs(tiff_series, tmp_path):
    _, _, paths = tiff_series
    uids = []
    for name in ["a.zip", "b.zip"]:
        with zipfile.ZipFile(tmp_path / name, "w") as zipped:
            for path in paths:
                zipped.write(path, arcname=os.path.basename(path))
        start = next(ingest_tiff_series(f"zip://*.tiff::file://{tmp_path / name}"))[1]
        uids.append(start["uid"])
    assert uids[0] != uids[1]


def test_missing_archive_names_the_url(tmp_path):
    url = f"zip://*.tiff::file://{tmp_path}/gone.zip"
    with pytest.raises(IngestError) as info:
        next(ingest_tiff_series(url))
    assert info.value.path == url
    assert isinstance(info.value, FileNotFoundError)


def test_unknown_protocol_is_a_clear_error():
    with pytest.raises(IngestError, match="nosuchproto://x/\\*.tif: cannot be opened"):
        next(ingest_tiff_series("nosuchproto://x/*.tif"))


def test_doubled_slashes_from_catalog_dir_templates_match(tiff_series):
    pattern, images, _ = tiff_series
    folder, name = os.path.split(pattern)
    doubled = f"{folder}//{name}"
    assert [s.path for s in expand(doubled)] == [s.path for s in expand(pattern)]


def test_a_local_folder_is_listed_as_fsspec_lists_it(tmp_path):
    """find_files lists local folders itself (faster); what it lists is what fs.find gives."""
    import fsspec

    from intake_ingest.files import _source, find_files

    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / "a.tif").write_bytes(b"x" * 10)
    (tmp_path / "sub" / "deeper" / "b").write_bytes(b"yy")
    (tmp_path / "name with space.txt").write_text("1")
    os.symlink(tmp_path / "a.tif", tmp_path / "link.tif")
    os.symlink(tmp_path / "sub", tmp_path / "folder_link")
    os.symlink(tmp_path / "nowhere", tmp_path / "broken")
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "fifo")
    fs = fsspec.filesystem("file")
    by_fsspec = [_source(fs, path, info, "") for path, info in sorted(fs.find(str(tmp_path), detail=True).items())]
    listed = find_files(str(tmp_path))
    assert listed == by_fsspec
    assert [type(source.fs) for source in listed] == [type(source.fs) for source in by_fsspec]
    specials = {os.path.basename(source.path): source.special.split(" (")[0] for source in listed if source.special}
    assert specials.items() >= {"folder_link": "not a regular file", "broken": "broken symbolic link"}.items()


def test_read_starts_local_memory_and_unreadable(tmp_path, memory_folder):
    from intake_ingest.files import find_files, read_starts

    (tmp_path / "a.bin").write_bytes(b"0123456789abcdef-rest")
    (tmp_path / "short.bin").write_bytes(b"ab")
    fs, root = memory_folder
    fs.pipe(f"{root}/m.bin", b"MEMORY-0123456789")
    sources = find_files([str(tmp_path), f"memory://{root}/m.bin"])
    gone = tmp_path / "short.bin"
    gone.unlink()  # listed, then removed: None, not an error
    assert read_starts(sources, 16) == [b"0123456789abcdef", None, b"MEMORY-012345678"]


def test_read_local_start_reads_what_a_file_object_reads(tmp_path):
    from intake_ingest.files import read_local_start

    (tmp_path / "long.bin").write_bytes(bytes(range(256)) * 40)
    (tmp_path / "short.bin").write_bytes(b"ab")
    (tmp_path / "empty.bin").write_bytes(b"")
    for name in ("long.bin", "short.bin", "empty.bin"):
        with open(tmp_path / name, "rb") as file:
            assert read_local_start(str(tmp_path / name), 4096) == file.read(4096)
    with pytest.raises(FileNotFoundError, match="gone.bin"):
        read_local_start(str(tmp_path / "gone.bin"), 16)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_read_local_start_does_not_wait_on_a_fifo_put_where_a_file_was(tmp_path):
    from intake_ingest.files import read_local_start

    os.mkfifo(tmp_path / "frame_001.tif")
    assert read_local_start(str(tmp_path / "frame_001.tif"), 16) == b""  # no writer: nothing, at once


def test_a_listed_local_file_is_the_dataclass_made_one(tmp_path):
    """Folder listing makes SourceFiles in one step: equal, hashed, pickled and replaced alike."""
    import dataclasses
    import pickle

    from intake_ingest.files import SourceFile, find_files

    (tmp_path / "scan_001.tif").write_bytes(b"II*\x00")
    (listed,) = find_files(str(tmp_path))
    info = os.stat(tmp_path / "scan_001.tif")
    made = SourceFile(listed.fs, str(tmp_path / "scan_001.tif"), info.st_mtime, info.st_size)
    assert listed == made and hash(listed) == hash(made)
    assert (listed.identity, listed.url, listed.is_local, listed.name_parts) == (
        made.identity,
        made.url,
        made.is_local,
        made.name_parts,
    )
    assert pickle.loads(pickle.dumps(listed)) == made
    assert dataclasses.replace(listed, size=9).size == 9
    with pytest.raises(dataclasses.FrozenInstanceError):
        listed.size = 9
