"""The original intake-bluesky ingestors notebook, end to end, with this package's names."""

import dask.array as da
import numpy as np
import tifffile
import xarray as xr

from intake_ingest import (
    BlueskyInMemoryCatalog,
    BlueskyMsgpackCatalog,
    ingest_tiff_series,
    ingest_tiff_series_dask,
    ingest_tiff_stack,
)
from intake_ingest.msgpack import export

from .conftest import validate


def test_notebook(tmp_path, monkeypatch):
    # The notebook's files: ten 512x512 images as a series and as one stack.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "files" / "stack").mkdir(parents=True)
    images = np.random.default_rng(42).integers(0, 256, size=(10, 512, 512)).astype(np.int64)
    for i, image in enumerate(images):
        tifffile.imwrite(tmp_path / "files" / f"image{i:02d}.tiff", image)
    tifffile.imwrite(tmp_path / "files" / "stack" / "stack.tiff", images, photometric="minisblack")

    catalog = BlueskyInMemoryCatalog()
    catalog.upsert(ingest_tiff_series, ("files/*.tiff",), {})
    (series_uid,) = list(catalog)
    run = catalog[series_uid]
    names = []
    for name, doc in run.read_canonical():
        validate(name, doc)
        names.append(name)
    assert " ".join(names) == "start descriptor " + "event " * 10 + "stop"

    dataset = run.primary.read()
    assert dict(dataset.sizes) == {"dim_0": 512, "dim_1": 512, "time": 10}
    assert dataset["image"].dims == ("time", "dim_0", "dim_1") and dataset["image"].dtype == np.int64
    assert dataset["seq_num"].values.tolist() == list(range(1, 11))
    assert dataset["uid"].dtype == np.dtype("<U36")
    assert int(dataset["image"].sum()) == int(tifffile.imread(sorted(map(str, (tmp_path / "files").glob("*.tiff")))).sum())

    catalog.upsert(ingest_tiff_stack, ("files/stack/stack.tiff",), {})
    stack_uid = list(catalog)[1]
    assert list(catalog) == [series_uid, stack_uid]
    stack = catalog[stack_uid]
    assert " ".join(name for name, _ in stack.read_canonical()) == "start descriptor " + "event " * 10 + "stop"
    assert int(stack.primary.read()["image"].sum()) == int(images.sum())

    # mongoquery search over RunStart; both runs were written just now.
    assert list(catalog.search({"time": {"$lt": 1558887100}})) == []
    assert list(catalog.search({"time": {"$gt": 1558887100}})) == [series_uid, stack_uid]

    # Native copies in msgpack, reopened as a catalog.
    for uid in catalog:
        export(catalog[uid].read_canonical(), "native_copies")
    native_catalog = BlueskyMsgpackCatalog("native_copies/*.msgpack")
    assert list(native_catalog) == sorted([series_uid, stack_uid])
    for uid in catalog:
        xr.testing.assert_identical(native_catalog[uid].primary.read(), catalog[uid].primary.read())

    # The lazy ingestor has the same uid: upsert replaces the eager run in place.
    catalog.upsert(ingest_tiff_series_dask, ("files/*.tiff",), {})
    assert list(catalog) == [series_uid, stack_uid]
    for name, doc in catalog[series_uid].read_canonical():
        if name == "event":
            break
    assert isinstance(doc["data"]["image"], da.Array)
    assert doc["data"]["image"].shape == (512, 512)
    np.testing.assert_array_equal(doc["data"]["image"].compute(), images[0])
