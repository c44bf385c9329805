"""A real beamtime folder: TIFF series and stacks, SPEC, EDF, junk: the same runs from Python, CLI and YAML."""

import json
import os
import shutil

import fabio.edfimage
import intake
import numpy as np
import pytest
import tifffile

from intake_ingest import BlueskyMsgpackCatalog
from intake_ingest.cli import main
from intake_ingest.detect import detect, ingest


@pytest.fixture
def beamtime(tmp_path):
    import spec2nexus

    folder = tmp_path / "beamtime"
    (folder / "detector").mkdir(parents=True)
    rng = np.random.default_rng(11)
    for number in [1, 2, 3]:
        tifffile.imwrite(folder / "detector" / f"sample_{number:04d}.tif", rng.integers(0, 99, (6, 5), dtype=np.uint16))
    tifffile.imwrite(folder / "stack.tif", rng.integers(0, 99, (3, 6, 5), dtype=np.uint16), photometric="minisblack")
    # A real SPEC file (3 scans) shipped with spec2nexus.
    shutil.copy(os.path.join(os.path.dirname(spec2nexus.__file__), "data", "02_03_setup.dat"), folder / "setup.dat")
    header = {"counter_mne": "mon det", "counter_pos": "100 7", "motor_mne": "th tth", "motor_pos": "1.5 3.0"}
    fabio.edfimage.EdfImage(data=rng.integers(0, 99, (6, 5)).astype(np.uint16), header=header).write(str(folder / "frame_0001.edf"))
    (folder / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a photo")
    (folder / "README.md").write_text("what we measured\n")
    return folder


def test_same_runs_from_python_cli_and_a_generated_yaml_catalog(beamtime, tmp_path, capsys):
    plan = detect(str(beamtime), progress=False)
    counts = {}
    for run in plan.runs:
        counts[run.ingestor] = counts.get(run.ingestor, 0) + 1
    from silx.io.specfile import SpecFile

    n_scans = len(SpecFile(str(beamtime / "setup.dat")).keys())
    assert counts == {"tiff_series": 1, "tiff_stack": 1, "spec": n_scans, "esrf_edf": 1}
    assert {os.path.basename(item.url) for item in plan.unrecognised} == {"photo.jpg", "README.md"}
    assert plan.ambiguous == []

    python_uids = set(ingest(plan, progress=False).catalog)

    assert main(["detect", str(beamtime), "--json", "--quiet"]) == 0
    as_json = json.loads(capsys.readouterr().out)
    assert len(as_json["runs"]) == len(plan.runs)
    assert {run["ingestor"] for run in as_json["runs"]} == set(counts)
    assert all(set(run) == {"ingestor", "files", "kwargs", "confidence", "reason", "companions"} for run in as_json["runs"])
    assert {item["file"].rsplit("/", 1)[1] for item in as_json["unrecognised"]} == {"photo.jpg", "README.md"}

    copies = tmp_path / "copies"
    assert main(["ingest", str(beamtime), "--to", str(copies), "--quiet"]) == 0
    capsys.readouterr()
    assert set(BlueskyMsgpackCatalog(str(copies / "*.msgpack"))) == python_uids
    assert main(["ingest", str(beamtime), "--to", str(copies), "--quiet"]) == 0
    assert f"0 run(s) written to {copies}, {len(python_uids)} already there" in capsys.readouterr().out

    spec_path = beamtime / "beamtime.yml"
    assert main(["catalog", str(beamtime), "-o", str(spec_path), "--quiet"]) == 0
    capsys.readouterr()
    cat = intake.open_catalog(str(spec_path))
    yaml_uids = {uid for name in cat for uid in cat[name]}
    assert yaml_uids == python_uids
