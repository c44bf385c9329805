"""areaDetector HDF5 frames served by tiled's own HDF5 reader, where it can read them, never copied.

A real tiled server (uvicorn in a thread of this process, SQLite catalog in ``tmp_path``)
is given the runs of real NDFileHDF5 files (``tests/data/real/area_detector_hdf5``):

- the USAXS Pilatus file (gzip: a filter every HDF5 library has) becomes an
  ``application/x-hdf5`` data source (bluesky's HDF5Consolidator, tiled's HDF5ArrayAdapter);
- the Lambda series is Blosc-compressed (an HDF5 plugin filter, which tiled's reader has
  only where ``hdf5plugin`` was imported first): it stays with this package's adapter;
- the same Lambda files with their frames rewritten gzip-compressed (a copy in
  ``tmp_path``) become one ``application/x-hdf5`` data source of one asset per file;
- the arrays of the real NeXus files of ``tests/data/real/nexus`` (one dataset, one
  event each) are ``application/x-hdf5`` data sources of their datasets.

Every run reads back through tiled's client equal to ``primary.read()`` of the in-memory catalog.
"""

import pathlib
import shutil
import warnings

import h5py
import hdf5plugin  # noqa: F401  (reads the Blosc-compressed originals, to rewrite them)
import numpy as np
import pytest

pytest.importorskip("tiled.server", reason="tiled[server] is not installed")
pytest.importorskip("bluesky.callbacks.tiled_writer", reason="bluesky is not installed")

from intake_ingest.detect import detect, ingest  # noqa: E402
from intake_ingest.tiled.server import ServerThread, catalog_tree  # noqa: E402
from intake_ingest.tiled.writing import connect  # noqa: E402

REAL = pathlib.Path(__file__).resolve().parent.parent / "data" / "real" / "area_detector_hdf5"
NEXUS = REAL.parent / "nexus"
KEY = "hdf5key123"
N_LAMBDA = 6  # files of the Lambda series served (of 50): enough for a series, quick to read


def lambda_files(folder, gzip=False):
    """The first Lambda files in ``folder``; with ``gzip``, their frames recompressed with gzip."""
    folder.mkdir()
    for path in sorted((REAL / "lambda250k").glob("*.h5"))[:N_LAMBDA]:
        copy = folder / path.name
        shutil.copyfile(path, copy)
        if gzip:
            with h5py.File(copy, "r+") as h5:
                old = h5["/entry/data/data"]
                frames, attributes = old[()], dict(old.attrs)
                del h5["/entry/data/data"]
                # One chunk per file, as NDFileHDF5 wrote it; gzip instead of Blosc.
                new = h5.create_dataset("/entry/data/data", data=frames, chunks=frames.shape, compression="gzip")
                new.attrs.update(attributes)
    return folder


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("beamtime")
    shutil.copytree(REAL / "usaxs_pilatus100k", root / "usaxs", ignore=shutil.ignore_patterns("*.md", "*.txt"))
    lambda_files(root / "lambda_blosc")
    lambda_files(root / "lambda_gzip", gzip=True)
    shutil.copytree(NEXUS, root / "nexus", ignore=shutil.ignore_patterns("*.md", "*.txt"))
    plan = detect([str(root)], progress=False)
    assert sorted(run.ingestor for run in plan.runs) == ["area_detector_hdf5"] * 3 + ["nexus_hdf5"] * 4
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        memory = ingest(plan, progress=False).catalog
    catalog = tmp_path_factory.mktemp("catalog")
    with ServerThread(catalog_tree(catalog, readable=[root]), KEY) as server:
        client = connect(server.uri, KEY)
        result = ingest(plan, to=client)
        assert result.counts() == {"ok": 7, "skipped": 0, "error": 0}
        runs = {pathlib.Path(outcome.first).name: outcome.uid for outcome in result.results}
        for outcome in result.results:
            runs.setdefault(pathlib.Path(outcome.first).parent.name, outcome.uid)
        yield client, memory, runs, root, catalog


def image_source(client, uid):
    (source,) = client.include_data_sources()[uid]["primary"].base["image"].data_sources()
    return source


@pytest.mark.parametrize(
    "run, key",
    [("usaxs", "image"), ("lambda_blosc", "image"), ("lambda_gzip", "image"), ("Data_Q.h5", "I"), ("nexpy_chopper.nxs", "data")],
)
def test_runs_read_back_equal_to_the_in_memory_catalog(served, run, key):
    client, memory, runs, _, _ = served
    uid = runs[run]
    expected = memory[uid].primary.read()
    got = client[uid]["primary"].read()
    names = set(expected.data_vars) - {"uid", "seq_num"}
    assert key in names
    for name in names:
        np.testing.assert_array_equal(np.asarray(got[name]), np.asarray(expected[name]), err_msg=f"{run} {name}")


def test_gzip_frames_are_read_by_tiled_s_hdf5_reader_in_place(served):
    client, _, runs, root, catalog = served
    usaxs = image_source(client, runs["usaxs"])
    assert usaxs.mimetype == "application/x-hdf5"
    assert usaxs.parameters["dataset"] == "/entry/data/data"
    assert usaxs.management == "external"
    assert [asset.data_uri for asset in usaxs.assets] == [f"file://localhost{root}/usaxs/Air_1.hdf"]

    series = image_source(client, runs["lambda_gzip"])
    assert series.mimetype == "application/x-hdf5" and series.management == "external"
    assert [pathlib.Path(asset.data_uri).name for asset in series.assets] == sorted(
        path.name for path in (root / "lambda_gzip").glob("*.h5")
    )
    # No pixel was copied into tiled's writable storage: only the scalar tables are there.
    assert not [path for path in (pathlib.Path(catalog) / "data").rglob("*") if path.is_file()]


def test_nexus_arrays_are_their_datasets_read_in_place(served):
    client, _, runs, root, _ = served
    for run, key, dataset in [
        ("Data_Q.h5", "I", "/sasentry01/sasdata01/I"),
        ("Data_Q.h5", "Q", "/sasentry01/sasdata01/Q"),
        ("nexpy_chopper.nxs", "data", "/entry/data/data"),
        ("nexpy_example.nxs", "signal", "/entry/data/signal"),
    ]:
        (source,) = client.include_data_sources()[runs[run]]["primary"].base[key].data_sources()
        assert (source.mimetype, source.parameters["dataset"], source.management) == ("application/x-hdf5", dataset, "external")
        assert [asset.data_uri for asset in source.assets] == [f"file://localhost{root}/nexus/{run}"]


def test_plugin_compressed_frames_stay_with_this_package_s_adapter(served):
    client, _, runs, root, _ = served
    source = image_source(client, runs["lambda_blosc"])
    assert source.mimetype == "application/x-intake-ingest"
    assert source.management == "external" and len(source.assets) == N_LAMBDA


def test_the_dataset_judged_is_the_one_the_ingestor_reads(tmp_path):
    """Files whose /entry/data/data is Blosc-compressed and whose detector group holds a gzip
    copy (NDFileHDF5 hard-links one dataset there): the ingestor reads /entry/data/data, so
    tiled's reader is not given the copy."""
    from intake_ingest.registry import get_ingestor
    from intake_ingest.tiled.locators import HDF5, INGESTOR_READS, locator

    folder = lambda_files(tmp_path / "lambda")
    for path in folder.glob("*.h5"):
        with h5py.File(path, "r+") as h5:
            frames = h5["/entry/data/data"][()]
            del h5["/entry/instrument/detector/data"]
            h5.create_dataset("/entry/instrument/detector/data", data=frames, compression="gzip")
    (run,) = detect(str(folder), progress=False).runs
    descriptor = next(doc for name, doc in get_ingestor(run.ingestor)(run.argument, **run.kwargs) if name == "descriptor")
    located = locator(run.ingestor, run.argument, run.kwargs)(descriptor)["image"]
    assert located.mimetype == INGESTOR_READS
    # Without the Blosc dataset, the gzip one is what the ingestor reads: tiled's reader takes it.
    for path in folder.glob("*.h5"):
        with h5py.File(path, "r+") as h5:
            del h5["/entry/data/data"]
    (run,) = detect(str(folder), progress=False).runs
    descriptor = next(doc for name, doc in get_ingestor(run.ingestor)(run.argument, **run.kwargs) if name == "descriptor")
    parts = locator(run.ingestor, run.argument, run.kwargs)(descriptor)["image"]
    assert [part.mimetype for part in parts] == [HDF5] * N_LAMBDA
    assert {part.parameters["dataset"] for part in parts} == {"/entry/instrument/detector/data"}
