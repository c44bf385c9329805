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
