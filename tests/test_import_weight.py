"""What importing the package, and an eager read, import: only what that path needs.

Each check runs in a new Python process (this one has imported everything already) and
looks at ``sys.modules`` afterwards. dask.array imports whatever dask registers
(sparse, and through it numba: 60 MiB here); xarray imports pandas (and pyarrow where it
is installed); the readers of other formats import h5py, fabio or silx. A process that
lists runs, or reads a TIFF series into memory, should not pay for those.
"""

import json
import subprocess
import sys
import textwrap

import numpy as np

# Modules that no path below needs unless it says so.
HEAVY = ("dask", "dask.array", "xarray", "pandas", "pyarrow", "sparse", "numba",
         "tiled", "panel", "bokeh", "h5py", "fabio", "silx", "matplotlib", "scipy")


def _run(code, *args):
    """Run ``code`` in a new interpreter; ``(which HEAVY modules it imported, its last JSON line)``."""
    script = textwrap.dedent(code) + textwrap.dedent(f"""
        import json as _json, sys as _sys
        print(_json.dumps(sorted(name for name in {HEAVY!r} if _sys.modules.get(name) is not None)))
    """)
    done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    return set(json.loads(lines[-1])), lines[:-1]


def test_importing_the_package_imports_no_heavy_library():
    imported, _ = _run("import intake_ingest\nfrom intake_ingest import *\n")
    assert imported == set()


def test_public_names_still_resolve_on_first_use():
    imported, lines = _run("""
        import intake_ingest
        from intake_ingest import lazy, run
        names = [name for name in intake_ingest.__all__ if getattr(intake_ingest, name) is None]
        print(names, lazy.FramesArray.__name__, run.stream_to_dataset.__name__)
    """)
    assert lines == ["[] FramesArray stream_to_dataset"]
    assert {"dask.array", "xarray"} <= imported


def _eager_series_read(pattern):
    return _run(
        """
        import sys
        from intake_ingest import BlueskyInMemoryCatalog, ingest_tiff_series
        catalog = BlueskyInMemoryCatalog()
        uid = catalog.upsert(ingest_tiff_series, (sys.argv[1],), {})
        image = catalog[uid].primary.read()["image"].values
        print(image.shape, int(image.astype("int64").sum()))
        """,
        pattern,
    )


def test_eager_tiff_series_read_imports_only_xarray(tiff_series):
    pattern, images, _ = tiff_series
    imported, lines = _eager_series_read(pattern)
    assert lines == [f"{images.shape} {int(images.astype(np.int64).sum())}"]
    assert "xarray" in imported  # read() gives a Dataset
    assert not imported & {"tiled", "panel", "bokeh", "h5py", "fabio", "silx", "matplotlib", "scipy"}


def test_eager_tiff_series_read_imports_no_dask_array(tiff_series):
    imported, _ = _eager_series_read(tiff_series[0])
    assert "dask.array" not in imported


def test_lazy_read_still_imports_dask(tiff_series):
    pattern, images, _ = tiff_series
    imported, lines = _run(
        """
        import sys
        from intake_ingest import BlueskyInMemoryCatalog, ingest_tiff_series_dask
        catalog = BlueskyInMemoryCatalog()
        uid = catalog.upsert(ingest_tiff_series_dask, (sys.argv[1],), {})
        image = catalog[uid].primary.to_dask()["image"].data
        print(type(image).__name__, int(image.compute().astype("int64").sum()))
        """,
        pattern,
    )
    assert lines == [f"FramesArray {int(images.astype(np.int64).sum())}"]
    assert "dask.array" in imported
