"""A beamtime folder of real files: a TIFF series, a TIFF stack, a SPEC file and junk."""

import os
import shutil
from types import SimpleNamespace

import numpy as np
import pytest
import tifffile

SERIES_SHAPE = (12, 10)


@pytest.fixture
def beamtime(tmp_path):
    """``tmp_path/beamtime`` holding:

    - ``series/scan_0001.tiff`` ... ``scan_0003.tiff``: one image each (a tiff_series run);
    - ``stack/stack.tiff``: five pages (a tiff_stack run);
    - ``setup.dat``: spec2nexus's SPEC file ``02_03_setup.dat`` (one run per scan);
    - ``junk.bin``: no ingestor reads it.

    Returns a namespace: ``folder``, ``series`` (paths), ``series_images``, ``stack``,
    ``stack_images``, ``spec``, ``junk``.
    """
    import spec2nexus

    folder = tmp_path / "beamtime"
    (folder / "series").mkdir(parents=True)
    (folder / "stack").mkdir()
    rng = np.random.default_rng(7)
    series_images = rng.integers(0, 4000, size=(3, *SERIES_SHAPE)).astype(np.uint16)
    series = []
    for number, image in enumerate(series_images, start=1):
        path = folder / "series" / f"scan_{number:04d}.tiff"
        tifffile.imwrite(path, image)
        series.append(str(path))
    stack_images = rng.integers(0, 4000, size=(5, 8, 6)).astype(np.uint16)
    stack = folder / "stack" / "stack.tiff"
    tifffile.imwrite(stack, stack_images, photometric="minisblack")
    spec = folder / "setup.dat"
    shutil.copy(os.path.join(os.path.dirname(spec2nexus.__file__), "data", "02_03_setup.dat"), spec)
    junk = folder / "junk.bin"
    junk.write_bytes(b"\x00junk" * 20)
    return SimpleNamespace(
        folder=str(folder),
        series=series,
        series_images=series_images,
        stack=str(stack),
        stack_images=stack_images,
        spec=str(spec),
        junk=str(junk),
    )


def group_of(model, first_endswith, kwargs=""):
    """The id of the group whose first file ends with this (and whose kwargs are these)."""
    for row in model.rows():
        if row["first"].endswith(first_endswith) and row["kwargs"] == kwargs:
            return row["group"]
    raise LookupError(f"no group of {first_endswith} {kwargs}")


def scan_documents(points=5, hinted=True, stop=True, lines=None):
    """A Bluesky-style 1-D scan, composed with event_model: motor ``th`` against detector ``det``.

    Parameters
    ----------
    points : int
        Events in the primary stream.
    hinted : bool
        Give the RunStart ``hints['dimensions']`` (the scan moves ``th``) and the
        descriptor ``hints`` (``det`` is the detector); ``mon``, a monitor, is not hinted.
    stop : bool
        End with a RunStop; without, the run is partial (as when acquisition stopped).
    lines : int, optional
        ``num_points`` announced in the RunStart (defaults to ``points``): more than
        ``points`` for a run whose data lines stopped early.
    """
    import event_model

    metadata = {"plan_name": "scan", "num_points": points if lines is None else lines, "ingestor": "composed"}
    if hinted:
        metadata["hints"] = {"dimensions": [[["th"], "primary"]]}
    bundle = event_model.compose_run(time=1000.0, metadata=metadata)
    yield "start", bundle.start_doc
    number = {"dtype": "number", "shape": [], "source": "composed"}
    stream = bundle.compose_descriptor(
        name="primary",
        data_keys={"th": dict(number), "det": dict(number), "mon": dict(number)},
        object_keys={"th": ["th"], "det": ["det"], "mon": ["mon"]},
        hints={"det": {"fields": ["det"]}} if hinted else {},
    )
    yield "descriptor", stream.descriptor_doc
    for index in range(points):
        data = {"th": 0.5 * index, "det": float(index**2), "mon": 100.0 + index}
        yield "event", stream.compose_event(data=data, timestamps={key: 1000.0 + index for key in data}, time=1000.0 + index)
    if stop:
        yield "stop", bundle.compose_stop(time=1000.0 + points)
