"""Demo data: a TIFF series and a TIFF stack like those of the original ingestors notebook."""

from pathlib import Path

import numpy as np
import tifffile

__all__ = ["write_demo_files"]


def write_demo_files(directory, n_images=10, shape=(512, 512), seed=0):
    """Write ``image_000.tiff`` ... (one image each) and ``stack/stack.tiff`` (all pages).

    Parameters
    ----------
    directory : str or Path
        Existing folder to write into.
    n_images : int
        Images in the series, and pages in the stack.
    shape : tuple of int
        Shape of each image.
    seed : int
        Seed of the random pixel values, so the demo is reproducible.

    Returns
    -------
    series_pattern, stack_path : str, str
    """
    directory = Path(directory)
    images = np.random.default_rng(seed).integers(0, 256, size=(n_images, *shape), dtype=np.uint16)
    for index, image in enumerate(images):
        tifffile.imwrite(directory / f"image_{index:03d}.tiff", image)
    (directory / "stack").mkdir(exist_ok=True)
    stack_path = directory / "stack" / "stack.tiff"
    tifffile.imwrite(stack_path, images, photometric="minisblack")
    return str(directory / "image_*.tiff"), str(stack_path)


def write_example_catalog_data(catalog_dir, shape=(32, 32), seed=1):
    """Write the small data files the example catalogs in ``catalogs/`` point at.

    ``data/scans/scan_000N/image_000M.tiff`` (two scan folders of five images),
    ``data/numbered/{dark,flat}_000M.tiff`` (two numbered prefixes in one folder) and
    ``data/stack/stack.tiff`` (five pages), then ``native_copies/*.msgpack``: the two
    scans exported to msgpack.

    Parameters
    ----------
    catalog_dir : str or Path
        The folder holding the catalog YAML files.
    """
    from . import BlueskyInMemoryCatalog, ingest_tiff_series
    from .msgpack import export

    root = Path(catalog_dir) / "data"
    rng = np.random.default_rng(seed)

    def images(n):
        return rng.integers(0, 4096, size=(n, *shape), dtype=np.uint16)

    for scan in (1, 2):
        folder = root / "scans" / f"scan_{scan:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        for number, image in enumerate(images(5), start=1):
            tifffile.imwrite(folder / f"image_{number:04d}.tiff", image)
    (root / "numbered").mkdir(parents=True, exist_ok=True)
    for prefix in ("dark", "flat"):
        for number, image in enumerate(images(3), start=1):
            tifffile.imwrite(root / "numbered" / f"{prefix}_{number:04d}.tiff", image)
    (root / "stack").mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(root / "stack" / "stack.tiff", images(5), photometric="minisblack")

    catalog = BlueskyInMemoryCatalog()
    for scan in (1, 2):
        catalog.upsert(ingest_tiff_series, (str(root / "scans" / f"scan_{scan:04d}" / "*.tiff"),), {})
    for uid in catalog:
        export(catalog[uid].canonical(), Path(catalog_dir) / "native_copies", overwrite=True)
