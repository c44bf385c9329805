import json

import numpy as np
import pytest
import tifffile

from intake_ingest import BlueskyInMemoryCatalog, BlueskyMsgpackCatalog
from intake_ingest.detect import detect, ingest


@pytest.fixture
def mixed_folder(tmp_path):
    """Two numbered TIFF series (one with a gap), a multi-page stack, and junk."""
    folder = tmp_path / "beamtime"
    (folder / "sub").mkdir(parents=True)
    rng = np.random.default_rng(5)
    for number in [1, 2, 3, 7, 8]:
        tifffile.imwrite(folder / f"scan_{number:04d}.tif", rng.integers(0, 9, (6, 5), dtype=np.uint16))
    for number in [1, 2]:
        tifffile.imwrite(folder / "sub" / f"dark_{number:04d}.tif", rng.integers(0, 9, (6, 5), dtype=np.uint16))
    tifffile.imwrite(folder / "stack.tif", rng.integers(0, 9, (4, 6, 5), dtype=np.uint16), photometric="minisblack")
    (folder / "notes.md").write_text("beamtime notes\n")
    (folder / "broken.tif").write_bytes(b"not really a tiff")
    return folder


def summary(plan):
    return [(run.ingestor, [source.path.rsplit("/", 1)[1] for source in run.files]) for run in plan.runs]


def test_detect_groups_series_splits_gaps_and_reports_the_rest(mixed_folder):
    plan = detect(str(mixed_folder), progress=False)
    assert summary(plan) == [
        ("tiff_series", ["scan_0001.tif", "scan_0002.tif", "scan_0003.tif"]),
        ("tiff_series", ["scan_0007.tif", "scan_0008.tif"]),
        ("tiff_stack", ["stack.tif"]),
        ("tiff_series", ["dark_0001.tif", "dark_0002.tif"]),
    ]
    assert all(run.reason.startswith("sniffed as") for run in plan.runs)
    unrecognised = {item.url.rsplit("/", 1)[1]: item.reason for item in plan.unrecognised}
    assert set(unrecognised) == {"broken.tif", "notes.md"}
    assert unrecognised["broken.tif"].startswith("not recognised by") and "tiff_series" in unrecognised["broken.tif"]
    # SPEC files have any name, so the SPEC sniffer looks at every file.
    assert unrecognised["notes.md"].startswith(("no ingestor reads files with this name", "not recognised by"))
    assert plan.ambiguous == []


def test_globs_lists_and_no_gap_splitting(mixed_folder):
    plan = detect([str(mixed_folder / "scan_*.tif"), str(mixed_folder / "stack.tif")], split_gaps=False, progress=False)
    assert [len(run.files) for run in plan.runs] == [5, 1]


def test_forcing_an_ingestor(mixed_folder):
    plan = detect(str(mixed_folder / "scan_*.tif"), ingestor="tiff_series_dask", progress=False)
    assert {run.ingestor for run in plan.runs} == {"tiff_series_dask"}
    assert all(run.confidence == 1.0 and run.reason.startswith("chosen by the user") for run in plan.runs)


def test_ambiguity_is_reported_not_guessed(mixed_folder, monkeypatch):
    from intake_ingest.detect import detection
    from intake_ingest.registry import IngestorSpec, get_spec

    rival = IngestorSpec(name="rival_tiff", ingest=get_spec("tiff_series").ingest, patterns=("*.tif",), sniff=lambda head, source: 0.31)
    monkeypatch.setattr(detection, "_detectable_specs", lambda: [get_spec("tiff_series"), rival])
    plan = detect(str(mixed_folder / "scan_0001.tif"), progress=False)
    assert plan.runs == []
    (item,) = plan.ambiguous
    assert [name for name, _ in item.candidates] == ["rival_tiff", "tiff_series"]
    assert "choose one with --ingestor" in plan.table()


def test_plan_json_round_trips(mixed_folder):
    data = json.loads(json.dumps(detect(str(mixed_folder), progress=False).to_dict()))
    assert set(data) == {"runs", "unrecognised", "ambiguous"}
    assert set(data["runs"][0]) == {"ingestor", "files", "kwargs", "confidence", "reason", "companions"}


def test_ingest_into_a_catalog_lazily_and_into_msgpack_idempotently(mixed_folder, tmp_path):
    plan = detect(str(mixed_folder), progress=False)
    result = ingest(plan, progress=False)
    catalog = result.catalog
    assert result.ok and result.counts() == {"ok": 4, "skipped": 0, "error": 0}
    assert isinstance(catalog, BlueskyInMemoryCatalog) and len(catalog) == 4 and sorted(result.uids) == sorted(catalog)
    stack = catalog.search({"ingestor": "tiff_stack"})
    np.testing.assert_array_equal(stack[0].primary.read()["image"].values, tifffile.imread(mixed_folder / "stack.tif"))

    first = ingest(plan, to=str(tmp_path / "copies"), progress=False)
    assert len(first.written) == 4 and first.skipped == []
    again = ingest(plan, to=str(tmp_path / "copies"), progress=False)
    assert again.written == [] and sorted(again.skipped) == sorted(catalog)
    assert sorted(BlueskyMsgpackCatalog(str(tmp_path / "copies" / "*.msgpack"))) == sorted(catalog)


def test_detect_over_memory_urls(mixed_folder, memory_folder):
    fs, root = memory_folder
    fs.put(str(mixed_folder), f"{root}/beamtime", recursive=True)
    plan = detect(f"memory://{root}/beamtime", progress=False)
    assert [len(run.files) for run in plan.runs] == [3, 2, 1, 2]


def test_sniffing_with_dask_gives_the_same_plan(mixed_folder):
    with_threads = detect(str(mixed_folder), progress=False)
    with_dask = detect(str(mixed_folder), progress=False, use_dask=True)
    assert with_dask.to_dict() == with_threads.to_dict()
