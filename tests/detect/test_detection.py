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


def assert_every_file_in_one_place(plan):
    """The property detection keeps: each file found is in runs, a companion, unrecognised or ambiguous, once."""
    places = plan.places()
    assert set(places) >= {source.url for source in plan.files}
    wrong = {url: where for url, where in places.items() if len(where) != 1}
    assert wrong == {}


def test_every_file_found_is_placed_exactly_once(mixed_folder):
    plan = detect(str(mixed_folder), progress=False)
    assert_every_file_in_one_place(plan)
    assert len(plan.files) == 10


def sniff_tiff(head, source):
    return 0.9 if head[:4] in (b"II*\x00", b"MM\x00*") else 0.0


def test_a_file_whose_runs_cannot_be_listed_is_reported_not_dropped(mixed_folder, monkeypatch):
    """A sniffer says yes, then listing the file's runs fails or finds none: the file is reported."""
    from intake_ingest.detect import detection
    from intake_ingest.registry import IngestorSpec, get_spec

    def runs_in(source):
        if "0001" in source.path:
            return []
        if "0002" in source.path:
            raise KeyError("unable to open object (bad symbol table)")
        return [{}]

    per_file = IngestorSpec(
        name="per_file_tiff", ingest=get_spec("tiff_stack").ingest, patterns=("*.tif",), sniff=sniff_tiff, runs_in=runs_in
    )
    monkeypatch.setattr(detection, "_detectable_specs", lambda: [per_file])
    monkeypatch.setattr(detection, "get_spec", lambda name: per_file if name == "per_file_tiff" else get_spec(name))
    plan = detect(str(mixed_folder), progress=False)
    assert_every_file_in_one_place(plan)
    reasons = {item.url.rsplit("/", 1)[1]: item.reason for item in plan.unrecognised}
    assert reasons["scan_0001.tif"] == "per_file_tiff finds no run in it"
    assert reasons["dark_0001.tif"] == "per_file_tiff finds no run in it"
    assert reasons["scan_0002.tif"] == "per_file_tiff cannot list its runs (KeyError: 'unable to open object (bad symbol table)')"
    assert len(plan.runs) == 4  # scan_0003, 0007, 0008, stack


def test_a_companion_whose_main_file_makes_no_run_is_reported(mixed_folder, monkeypatch):
    from intake_ingest.detect import detection
    from intake_ingest.registry import IngestorSpec, get_spec

    def companions(source, candidates):
        return [c for c in candidates if c.path.endswith("scan_0002.tif")] if source.path.endswith("scan_0001.tif") else []

    master = IngestorSpec(
        name="master_tiff",
        ingest=get_spec("tiff_stack").ingest,
        patterns=("*.tif",),
        sniff=sniff_tiff,
        runs_in=lambda source: [] if source.path.endswith("scan_0001.tif") else [{}],
        companions=companions,
    )
    monkeypatch.setattr(detection, "_detectable_specs", lambda: [master])
    monkeypatch.setattr(detection, "get_spec", lambda name: master if name == "master_tiff" else get_spec(name))
    plan = detect(str(mixed_folder), progress=False)
    assert_every_file_in_one_place(plan)
    reasons = {item.url.rsplit("/", 1)[1]: item.reason for item in plan.unrecognised}
    assert reasons["scan_0002.tif"] == f"read with {mixed_folder / 'scan_0001.tif'}, which makes no run"


def test_a_tiff_without_an_extension_is_recognised_by_its_content(tmp_path):
    folder = tmp_path / "unnamed"
    folder.mkdir()
    image = np.arange(30, dtype=np.uint16).reshape(6, 5)
    tifffile.imwrite(folder / "frame", image)
    (folder / "LOG").write_text("operator: nobody\nbeam: off\n")
    plan = detect(str(folder), progress=False)
    assert_every_file_in_one_place(plan)
    (run,) = plan.runs
    assert run.ingestor in ("tiff_series", "tiff_stack") and run.files[0].path.endswith("frame")
    assert run.confidence < 1
    catalog = ingest(plan, progress=False).catalog
    np.testing.assert_array_equal(catalog[list(catalog)[0]].primary.read()["image"].values[0], image)
    (left_out,) = plan.unrecognised
    assert left_out.url.endswith("LOG")
    assert left_out.reason == "not recognised by spec; no other ingestor recognises its content"


def test_a_files_runs_are_planned_in_number_order(tmp_path):
    # Scan 10 after scan 9, not after scan 1: the plan (ingest order, Python users)
    # follows the numbers, as the command line and the GUI show them.
    lines = ["#F scans.spec", "#E 1", "#D Thu Jan 01 00:00:00 2026", ""]
    for number in range(1, 13):
        lines += [f"#S {number} ascan th 0 1 1 0.1", "#D Thu Jan 01 00:00:00 2026", "#N 2", "#L th  det", "0 1", "1 2", ""]
    path = tmp_path / "scans.spec"
    path.write_text("\n".join(lines))
    plan = detect([str(path)])
    assert [run.kwargs["scan"] for run in plan.runs] == [f"{number}.1" for number in range(1, 13)]


def test_natural_key_compares_numbers_as_numbers():
    from intake_ingest.natural_order import natural_key

    names = ["S10", "S2", b"S1\xff", "S1", "²", "a"]
    assert sorted(names, key=natural_key) == ["S1", b"S1\xff", "S2", "S10", "a", "²"]
