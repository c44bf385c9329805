"""Detection's work per file stays one step of each kind: names parsed once, sniff results kept."""

import collections
import os

import numpy as np
import tifffile

from intake_ingest import files
from intake_ingest.detect import detect, sniff_file
from intake_ingest.detect.detection import _detectable_specs

from .test_detection import assert_every_file_in_one_place


def write_folder(folder):
    """Two numbered series (one with a gap), a stack, unnumbered and unreadable files."""
    (folder / "sub").mkdir(parents=True)
    rng = np.random.default_rng(7)
    for number in [1, 2, 3, 4, 9, 10, 11]:
        tifffile.imwrite(folder / f"scan_{number:04d}.tif", rng.integers(0, 9, (6, 5), dtype=np.uint16))
    for number in range(1, 6):
        tifffile.imwrite(folder / "sub" / f"dark{number}.tif", rng.integers(0, 9, (6, 5), dtype=np.uint16))
    tifffile.imwrite(folder / "stack.tif", rng.integers(0, 9, (3, 6, 5), dtype=np.uint16), photometric="minisblack")
    (folder / "notes.md").write_text("notes\n")
    (folder / "broken_0001.tif").write_bytes(b"not really a tiff")
    return folder


def test_each_files_name_is_parsed_once(tmp_path, monkeypatch):
    """Picking a series' representatives and grouping it into runs share one parse per file."""
    folder = write_folder(tmp_path / "beamtime")
    parsed = collections.Counter()
    original = files.name_parts

    def counting(path):
        parsed[path] += 1
        return original(path)

    monkeypatch.setattr(files, "name_parts", counting)
    plan = detect(str(folder), progress=False)
    assert_every_file_in_one_place(plan)
    assert [len(run.files) for run in plan.runs if run.ingestor == "tiff_series"] == [4, 3, 5]
    assert parsed and max(parsed.values()) == 1
    assert set(parsed) <= {source.path for source in plan.files}


def test_plan_keeps_what_sniffing_found_for_each_runs_first_file(tmp_path):
    folder = write_folder(tmp_path / "beamtime")
    plan = detect(str(folder), progress=False)
    firsts = {run.files[0] for run in plan.runs}
    assert set(plan.candidates) == {source.identity for source in firsts}
    specs = _detectable_specs()
    for source in firsts:  # what sniffing the file on its own says (followers included)
        assert plan.candidates[source.identity] == sniff_file(source, specs)[0], source.path
    assert detect(str(folder), ingestor="tiff_stack", progress=False).candidates == {}  # nothing sniffed


def test_the_selection_model_asks_detection_not_the_files_again(tmp_path, sniff_calls):
    """The Select tab's candidates for each group are detection's, not a second sniff (in
    this process, outside the worker that isolates sniffing)."""
    folder = write_folder(tmp_path / "beamtime")
    sniffed = sniff_calls
    from intake_ingest.gui import SelectionModel

    model = SelectionModel([str(folder)])
    try:
        plan = model.detect(isolate=False)
        assert [group.candidates for group in model.groups] == [plan.candidates[run.files[0].identity] for run in plan.runs]
        assert "stack.tif" in sniffed and max(collections.Counter(sniffed).values()) == 1  # none again for the table
    finally:
        model.close()


def test_the_runs_of_multi_run_files_are_listed_in_the_worker_it_was_given(tmp_path):
    """All SPEC files' scans listed in one batch, and the worker left running for what follows."""
    import shutil

    from intake_ingest.detect.isolation import IsolatedWorker

    real = os.path.join(os.path.dirname(__file__), "..", "data", "real", "spec", "pressure_calibration_scans_1_2.dat")
    folder = tmp_path / "spec"
    folder.mkdir()
    for name in ("calibration_a.dat", "calibration_b.dat"):
        shutil.copy(real, folder / name)
    with IsolatedWorker() as worker:
        plan = detect(str(folder), isolate=worker, progress=False)
        assert_every_file_in_one_place(plan)
        by_file = collections.Counter(os.path.basename(run.files[0].path) for run in plan.runs if run.ingestor == "spec")
        assert by_file["calibration_a.dat"] == by_file["calibration_b.dat"] > 1
        worker.call(len, "still here")
        assert worker.starts == 1  # never killed and started again
