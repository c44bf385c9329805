"""Serving an existing catalog: a YAML spec or msgpack files, their runs written into tiled.

A run's frames stay in their files where its RunStart says where they are; a run whose
frames could only go inline (its files gone) fails with a clear message, the others are
written and read back equal to the catalog's own ``primary.read()``.
"""

import pathlib
import shutil
import warnings

import numpy as np
import pytest
import tifffile

pytest.importorskip("tiled.server", reason="tiled[server] is not installed")
pytest.importorskip("bluesky.callbacks.tiled_writer", reason="bluesky is not installed")
pytest.importorskip("bluesky_tiled_plugins", reason="bluesky-tiled-plugins is not installed")

from tiled.client import from_uri  # noqa: E402

from intake_ingest import BlueskyMsgpackCatalog, open_catalog  # noqa: E402
from intake_ingest.cli.catalogs import iter_runs  # noqa: E402
from intake_ingest.detect import detect, ingest  # noqa: E402
from intake_ingest.detect.catalog_spec import write_catalog_spec  # noqa: E402
from intake_ingest.tiled.server import ServerThread, catalog_tree  # noqa: E402
from intake_ingest.tiled.writing import connect, write_catalog  # noqa: E402

from .test_serve import KEY, Server  # noqa: E402

REAL = pathlib.Path(__file__).resolve().parent.parent / "data" / "real"


def beamtime(root):
    """A TIFF series, a TIFF stack and a SPEC file (two scans)."""
    rng = np.random.default_rng(11)
    (root / "series").mkdir(parents=True)
    for number in range(1, 4):
        tifffile.imwrite(root / "series" / f"img_{number:03d}.tif", rng.integers(0, 999, (8, 12), dtype=np.uint16))
    (root / "stack").mkdir()
    tifffile.imwrite(root / "stack" / "stack.tiff", rng.integers(0, 255, (4, 6, 5), dtype=np.uint8), photometric="minisblack")
    shutil.copytree(REAL / "spec", root / "spec", ignore=shutil.ignore_patterns("*.md", "*.txt"))
    return root


def assert_equal_runs(client, catalog, uids):
    """Each run's primary stream read through tiled equals ``catalog[uid].primary.read()``."""
    for uid in uids:
        expected = catalog[uid].primary.read()
        got = client[uid]["primary"].read()
        for name in set(expected.data_vars) - {"uid", "seq_num"}:
            np.testing.assert_array_equal(np.asarray(got[name]), np.asarray(expected[name]), err_msg=f"{uid} {name}")


def test_msgpack_runs_are_served_with_frames_in_place_and_a_run_without_its_files_fails_clearly(tmp_path):
    root = beamtime(tmp_path / "beamtime")
    plan = detect([str(root)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        written = ingest(plan, to=str(tmp_path / "runs"))
    assert written.ok and len(written.results) == 4
    stack_uid = next(r.uid for r in written.results if r.ingestor == "tiff_stack")
    (root / "stack" / "stack.tiff").rename(tmp_path / "elsewhere.tiff")  # its frames can no longer be named in place
    catalog = BlueskyMsgpackCatalog(str(tmp_path / "runs" / "*.msgpack"))
    with ServerThread(catalog_tree(tmp_path / "catalog", readable=[root]), KEY) as server:
        client = connect(server.uri, KEY)
        result = write_catalog(catalog, client)
        (failed,) = result.errors
        assert failed.ingestor == "tiff_stack" and stack_uid in failed.first
        assert "holds an array per event in 'image'" in failed.message and "tiled's tables cannot hold" in failed.message
        assert sorted(client) == sorted(r.uid for r in written.results if r.uid != stack_uid)
        assert_equal_runs(client, catalog, list(client))
        (series_uid,) = [uid for uid in client if client[uid].start["ingestor"].startswith("tiff_series")]
        (source,) = from_uri(server.uri, api_key=KEY, include_data_sources=True)[series_uid]["primary"].base["image"].data_sources()
        assert source.management == "external"
        assert all(asset.data_uri.startswith(f"file://localhost{root}/series/") for asset in source.assets)
        assert write_catalog(catalog, client).counts() == {"ok": 0, "skipped": 3, "error": 1}


def test_serve_a_yaml_catalog(tmp_path):
    root = beamtime(tmp_path / "beamtime")
    spec = tmp_path / "beamtime.yml"
    write_catalog_spec(detect([str(root)]), str(spec))
    server = Server([spec], tmp_path / "catalog")
    try:
        assert server.summary[0].startswith("4 run(s) written to"), server.summary
        catalog = open_catalog(str(spec))
        client = from_uri(server.uri, api_key=KEY)
        assert len(client) == 4
        runs = {run.start["uid"]: run for _, run in iter_runs(catalog)}
        assert sorted(client) == sorted(runs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert_equal_runs(client, runs, runs)
    finally:
        server.stop()
