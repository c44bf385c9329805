"""IngestModel: runs made one by one, into memory or msgpack; one run's failure stops no other."""

import glob
import os

import pytest

from intake_ingest import BlueskyMsgpackCatalog
from intake_ingest.gui import IngestModel, SelectionModel


from .conftest import group_of


@pytest.fixture
def plan_with_a_wrong_ingestor(beamtime):
    """The beamtime's plan, the first SPEC scan forced to tiff_series (it cannot read it)."""
    model = SelectionModel([beamtime.folder])
    model.detect()
    model.set_ingestor(group_of(model, "setup.dat", "scan=1.1"), "tiff_series")
    return model.selected_plan()


def test_into_memory_one_failing_run_and_the_others_made(plan_with_a_wrong_ingestor, beamtime):
    plan = plan_with_a_wrong_ingestor
    model = IngestModel()
    fractions = []
    results = model.ingest(plan, progress=fractions.append)
    assert len(results) == len(plan.runs)
    failed = [result for result in results if result.status == "error"]
    assert len(failed) == 1
    assert failed[0].ingestor == "tiff_series" and failed[0].first == beamtime.spec
    assert failed[0].message.startswith(f"{beamtime.spec}: not a readable TIFF file")
    assert all(result.status == "ok" and result.uid for result in results if result is not failed[0])
    assert len(model.catalog) == len(plan.runs) - 1
    assert set(model.catalog) == {result.uid for result in results if result.ok}
    stack = next(result for result in results if result.first == beamtime.stack)
    assert (model.catalog[stack.uid].primary.read()["image"].values == beamtime.stack_images).all()
    assert fractions[0] == 0.0 and fractions[-1] == 1.0 and fractions == sorted(fractions)
    assert len(fractions) == len(plan.runs) + 1
    # 02_03_setup.dat's scans 5 and 16 say "Scan aborted after 0 points".
    assert model.summary() == f"{len(plan.runs) - 1} run(s) ingested into memory, 2 abort, 1 failed"
    row = model.rows()[results.index(failed[0])]
    assert row["status"] == "error" and row["kwargs"] == "" and beamtime.spec in row["message"]
    assert model.browse_target() is model.catalog


def test_memory_ingests_add_to_one_catalog(beamtime):
    model = SelectionModel([beamtime.stack])
    model.detect()
    ingest = IngestModel()
    ingest.ingest(model.selected_plan())
    model.add(beamtime.series[0])
    model.detect()
    ingest.ingest(model.selected_plan())
    assert len(ingest.catalog) == 2  # the stack once (same uid, replaced), the series' first file


def test_without_check_only_the_runstart_is_read(plan_with_a_wrong_ingestor):
    model = IngestModel()
    results = model.ingest(plan_with_a_wrong_ingestor, check=False)
    assert all(result.ok for result in results)  # the wrong ingestor's RunStart is fine...
    wrong = next(result for result in results if result.ingestor == "tiff_series" and result.first.endswith("setup.dat"))
    with pytest.raises(Exception, match="not a readable TIFF file"):
        model.catalog[wrong.uid].primary.read()  # ...its data is not


def test_to_msgpack_one_failing_run_and_the_others_written(plan_with_a_wrong_ingestor, beamtime, tmp_path):
    plan = plan_with_a_wrong_ingestor
    folder = str(tmp_path / "copies")
    model = IngestModel()
    results = model.ingest(plan, to="msgpack", folder=folder)
    ok = [result for result in results if result.status == "ok"]
    assert len(ok) == len(plan.runs) - 1
    assert [result.message for result in results if result.status == "error"][0].startswith(beamtime.spec)
    files = sorted(glob.glob(os.path.join(folder, "*.msgpack")))
    assert files == sorted(os.path.join(folder, f"{result.uid}.msgpack") for result in ok)  # no partial file
    assert set(BlueskyMsgpackCatalog(os.path.join(folder, "*.msgpack"))) == {result.uid for result in ok}
    assert model.summary() == f"{len(ok)} run(s) written to {folder}, 2 abort, 1 failed"
    assert model.browse_target() == folder

    again = model.ingest(plan, to="msgpack", folder=folder)
    assert [result.status for result in again].count("skipped") == len(ok)
    assert model.summary() == f"0 run(s) written to {folder}, {len(ok)} already there (skipped), 1 failed"
    overwritten = model.ingest(plan, to="msgpack", folder=folder, overwrite=True)
    assert [result.status for result in overwritten].count("ok") == len(ok)


def test_any_exception_is_reported_naming_the_file(beamtime, monkeypatch):
    model = SelectionModel([beamtime.folder])
    model.detect()
    plan = model.selected_plan()
    from intake_ingest.detect import ingesting as shared_ingesting

    real = shared_ingesting.get_ingestor

    def broken_stack_reader(*args, **kwargs):
        raise RuntimeError("disk on fire")
        yield

    monkeypatch.setattr(shared_ingesting, "get_ingestor", lambda name: broken_stack_reader if name == "tiff_stack" else real(name))
    results = IngestModel().ingest(plan, isolate=False)  # the patched reader lives in this process
    failed = [result for result in results if not result.ok]
    assert [result.message for result in failed] == [f"{beamtime.stack}: tiff_stack failed (RuntimeError: disk on fire)"]
    assert sum(result.ok for result in results) == len(plan.runs) - 1


def test_bad_targets_are_refused(plan_with_a_wrong_ingestor):
    with pytest.raises(ValueError, match="to must be one of"):
        IngestModel().ingest(plan_with_a_wrong_ingestor, to="tape")
    with pytest.raises(ValueError, match="give the folder"):
        IngestModel().ingest(plan_with_a_wrong_ingestor, to="msgpack")
