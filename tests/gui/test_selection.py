"""SelectionModel: what was selected, the plan detection made of it, and the user's edits."""

import os

import pytest
import tifffile
import yaml

from intake_ingest.gui import SelectionModel
from intake_ingest.registry import UnknownIngestorError, get_spec

from .conftest import group_of


@pytest.fixture
def model(beamtime):
    model = SelectionModel([beamtime.folder])
    model.detect()
    yield model
    model.close()


def test_plan_rows_show_each_group_with_its_candidates(model, beamtime):
    rows = model.rows()
    assert set(rows[0]) == {"group", "include", "ingestor", "files", "first", "kwargs", "candidates", "confidence", "reason"}
    series = next(row for row in rows if row["first"] == beamtime.series[0])
    assert (series["ingestor"], series["files"], series["include"]) == ("tiff_series", 3, True)
    assert series["candidates"].startswith("tiff_series ") and "tiff_stack" in series["candidates"]
    assert series["reason"].startswith("sniffed as tiff_series")
    stack = next(row for row in rows if row["first"] == beamtime.stack)
    assert stack["ingestor"] == "tiff_stack" and stack["files"] == 1

    # One group per scan of the SPEC file, as the spec ingestor lists them.
    spec_rows = [row for row in rows if row["first"] == beamtime.spec]
    scans = get_spec("spec").runs_in(model.plan.files[[s.path for s in model.plan.files].index(beamtime.spec)])
    assert len(spec_rows) == len(scans) > 10
    assert {row["kwargs"] for row in spec_rows} == {f"scan={kwargs['scan']}" for kwargs in scans}
    assert all(row["ingestor"] == "spec" and row["confidence"] >= 0.5 for row in spec_rows)
    assert len(rows) == len(spec_rows) + 2
    assert sorted(row["group"] for row in rows) == list(range(len(rows)))

    assert model.unrecognised_rows() == [{"file": beamtime.junk, "reason": "no ingestor reads files with this name or recognises its content"}]
    assert model.ambiguous_rows() == []
    assert model.summary() == f"{len(rows)} of {len(rows)} run(s) included; 1 file(s) unrecognised, 0 ambiguous"


def test_candidates_are_the_sniffers_above_zero(model, beamtime):
    stack = group_of(model, "stack.tiff")
    names = [name for name, _ in model.group(stack).candidates]
    assert names[0] == "tiff_stack" and "tiff_series" in names
    choices = model.ingestor_choices(stack)
    assert choices[: len(names)] == names and "spec" in choices  # then every other ingestor


def test_changing_a_groups_ingestor(model, beamtime):
    series = group_of(model, "scan_0001.tiff")
    model.set_ingestor(series, "tiff_series_dask")
    row = next(row for row in model.rows() if row["group"] == series)
    assert row["ingestor"] == "tiff_series_dask"
    assert row["reason"] == "chosen by the user: tiff_series_dask (detected: tiff_series)"
    plan = model.selected_plan()
    run = next(run for run in plan.runs if run.files[0].path == beamtime.series[0])
    assert run.ingestor == "tiff_series_dask" and len(run.files) == 3

    # An ingestor that reads single files makes one run per file of the series.
    model.set_ingestor(series, "tiff_stack")
    runs = [run for run in model.selected_plan().runs if "series" in run.files[0].path]
    assert [(run.ingestor, [s.path for s in run.files]) for run in runs] == [
        ("tiff_stack", [path]) for path in beamtime.series
    ]
    assert runs[0].confidence == dict(model.group(series).candidates)["tiff_stack"]

    with pytest.raises(UnknownIngestorError, match="registered ingestors"):
        model.set_ingestor(series, "no_such_ingestor")


def test_scans_of_one_file_given_to_a_single_run_ingestor_are_one_run(model, beamtime):
    for row in model.rows():
        if row["first"] == beamtime.spec:
            model.set_ingestor(row["group"], "column_text")
    runs = [run for run in model.selected_plan().runs if run.files[0].path == beamtime.spec]
    assert [(run.ingestor, run.kwargs) for run in runs] == [("column_text", {})]


def test_excluding_a_group(model, beamtime):
    stack = group_of(model, "stack.tiff")
    everything = len(model.selected_plan().runs)
    model.exclude(stack)
    plan = model.selected_plan()
    assert len(plan.runs) == everything - 1
    assert beamtime.stack not in {run.files[0].path for run in plan.runs}
    assert next(row for row in model.rows() if row["group"] == stack)["include"] is False
    assert model.summary().startswith(f"{everything - 1} of {everything} run(s) included")
    # The plan still knows every file it saw, and what was left out.
    assert len(plan.files) == len(model.plan.files) and plan.unrecognised == model.plan.unrecognised
    model.set_included(stack, True)
    assert len(model.selected_plan().runs) == everything


def test_a_left_out_file_can_be_given_an_ingestor(model, beamtime):
    group = model.choose_for_file(beamtime.junk, "column_text")
    assert model.unrecognised_rows() == []
    row = next(row for row in model.rows() if row["group"] == group)
    assert (row["ingestor"], row["first"], row["reason"]) == ("column_text", beamtime.junk, "chosen by the user: column_text")
    assert any(run.files[0].path == beamtime.junk for run in model.selected_plan().runs)


def test_typed_paths_globs_and_removal(beamtime):
    model = SelectionModel()
    model.add_text(f"{beamtime.folder}/series/*.tiff\n  \n{beamtime.stack}; {beamtime.stack}")
    assert model.paths == [f"{beamtime.folder}/series/*.tiff", beamtime.stack]
    model.detect()
    assert [(row["ingestor"], row["files"]) for row in model.rows()] == [("tiff_series", 3), ("tiff_stack", 1)]
    model.remove(beamtime.stack)
    model.detect()
    assert [row["ingestor"] for row in model.rows()] == ["tiff_series"]
    model.clear()
    assert model.paths == [] and model.rows() == []
    with pytest.raises(ValueError, match="nothing is selected"):
        model.detect()


def test_dropped_files_go_to_the_models_scratch_folder(beamtime, folder_snapshot):
    before = folder_snapshot(beamtime.folder)
    model = SelectionModel()
    for path in beamtime.series:
        with open(path, "rb") as file:
            model.add_bytes(os.path.basename(path), file.read())
    saved = model.add_bytes("../../elsewhere/stack.tiff", open(beamtime.stack, "rb").read())
    scratch = model.scratch_dir
    assert saved == os.path.join(scratch, "stack.tiff")
    assert all(path.startswith(scratch) for path in model.paths)
    model.detect()
    assert sorted((row["ingestor"], row["files"]) for row in model.rows()) == [("tiff_series", 3), ("tiff_stack", 1)]
    assert (tifffile.imread(saved) == beamtime.stack_images).all()
    assert folder_snapshot(beamtime.folder) == before  # nothing written beside the sources
    with pytest.raises(ValueError):
        model.add_bytes("..", b"x")
    model.close()
    assert not os.path.exists(scratch) and model.paths == []


def test_a_given_scratch_folder_is_kept(tmp_path):
    model = SelectionModel(scratch_dir=str(tmp_path / "dropped"))
    path = model.add_bytes("notes.txt", "text dropped in a browser")
    model.close()
    assert open(path).read() == "text dropped in a browser"


def test_save_catalog_writes_what_the_cli_writes(model, beamtime, tmp_path):
    from intake_ingest.cli import main

    model.exclude(group_of(model, "stack.tiff"))
    written = model.save_catalog(tmp_path / "gui.yml")
    assert yaml.safe_load(open(tmp_path / "gui.yml")) == written
    ingestors = sorted(source["args"]["ingestor"] for source in written["sources"].values())
    assert ingestors == ["spec", "tiff_series"]

    # With nothing excluded, the spec is the one `intake-ingest catalog` writes.
    model.set_included(group_of(model, "stack.tiff"), True)
    model.save_catalog(tmp_path / "all.yml")
    assert main(["catalog", beamtime.folder, "-o", str(tmp_path / "cli.yml"), "--quiet"]) == 0
    assert open(tmp_path / "all.yml").read() == open(tmp_path / "cli.yml").read()

    for group in model.groups:
        model.exclude(group.group)
    with pytest.raises(ValueError, match="no runs are included"):
        model.save_catalog(tmp_path / "none.yml")
