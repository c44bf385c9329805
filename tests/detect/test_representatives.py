"""A numbered series is sniffed through its first and last file; any file that differs, on its own."""

import os

import numpy as np
import pytest
import tifffile

from intake_ingest.detect import detect, ingest
from intake_ingest.detect import detection, representatives
from intake_ingest.detect.representatives import _blind_to_number, choose_representatives
from intake_ingest.files import find_files
from intake_ingest.registry import IngestorSpec, get_spec

from .test_detection import assert_every_file_in_one_place

N_FILES = 12


def write_series(folder, count=N_FILES, prefix="frame_", seed=3):
    """Single-image TIFFs of one size, different pixels: what a detector writes."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for number in range(1, count + 1):
        tifffile.imwrite(folder / f"{prefix}{number:05d}.tif", rng.integers(0, 999, (6, 5), dtype=np.uint16))
    return sorted(folder.glob(f"{prefix}*.tif"))


def file_by_file(monkeypatch):
    """Detection with representatives turned off: every file sniffed (the reference)."""

    def each_alone(sources, specs):
        return representatives.Representatives(list(range(len(sources))), [])

    monkeypatch.setattr(detection, "choose_representatives", each_alone)


def names(sources):
    return [os.path.basename(source.path) for source in sources]


def test_a_series_of_alike_files_is_sniffed_through_its_first_and_last(tmp_path, sniff_calls):
    paths = write_series(tmp_path / "series")
    plan = detect(str(tmp_path / "series"), progress=False)
    assert sorted(sniff_calls) == ["frame_00001.tif", f"frame_{N_FILES:05d}.tif"]
    assert (plan.sniffed, plan.followed) == (2, N_FILES - 2)
    (run,) = plan.runs
    assert run.ingestor == "tiff_series" and names(run.files) == [path.name for path in paths]
    assert plan.table().splitlines()[-1] == f"{N_FILES} file(s) found, 2 sniffed, {N_FILES - 2} like the first and last file of their numbered series"
    assert_every_file_in_one_place(plan)


def test_a_file_of_another_type_or_size_is_sniffed_on_its_own(tmp_path, sniff_calls, monkeypatch):
    folder = tmp_path / "series"
    paths = write_series(folder)
    size = paths[0].stat().st_size
    paths[3].write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(size - 8))  # same size, another format
    paths[5].write_bytes(bytes(size))  # same size, header zeroed
    with open(paths[7], "r+b") as file:  # a frame cut short
        file.truncate(size // 2)
    plan = detect(str(folder), progress=False)
    assert sorted(sniff_calls) == sorted(path.name for path in [paths[0], paths[3], paths[5], paths[7], paths[-1]])
    assert plan.sniffed == 5
    unrecognised = {os.path.basename(item.url) for item in plan.unrecognised}
    assert unrecognised == {paths[3].name, paths[5].name}
    assert_every_file_in_one_place(plan)

    # The same plan as sniffing every file.
    sniff_calls.clear()
    file_by_file(monkeypatch)
    reference = detect(str(folder), progress=False)
    assert len(sniff_calls) == N_FILES and reference.sniffed == N_FILES
    assert plan.to_dict() == reference.to_dict()


def test_representatives_that_disagree_leave_every_file_to_speak_for_itself(tmp_path, sniff_calls):
    folder = tmp_path / "series"
    paths = write_series(folder, count=6)
    paths[-1].write_bytes(b"II*\x00" + bytes(paths[-1].stat().st_size - 4))  # a TIFF magic, no image
    plan = detect(str(folder), progress=False)
    assert plan.sniffed == 6 and sorted(sniff_calls) == sorted(path.name for path in paths)
    assert_every_file_in_one_place(plan)


def test_a_file_damaged_beyond_its_first_bytes_follows_the_series_and_fails_at_ingest_naming_it(tmp_path):
    folder = tmp_path / "series"
    paths = write_series(folder, count=5)
    data = bytearray(paths[2].read_bytes())
    data[16:] = b"\xff" * (len(data) - 16)  # the first IFD (after the 8-byte header) destroyed
    paths[2].write_bytes(bytes(data))
    plan = detect(str(folder), progress=False)
    assert plan.sniffed == 2 and len(plan.runs) == 1 and len(plan.runs[0].files) == 5
    result = ingest(plan, to=str(tmp_path / "copies"), progress=False)
    (failed,) = result.errors
    assert str(paths[2]) in failed.message
    assert_every_file_in_one_place(plan)


def test_series_are_told_apart_by_folder_prefix_extension_width_and_size(tmp_path, sniff_calls, monkeypatch):
    write_series(tmp_path / "a", count=4, prefix="scan_")
    write_series(tmp_path / "b", count=4, prefix="scan_")
    write_series(tmp_path / "a", count=4, prefix="dark_")
    rng = np.random.default_rng(0)
    for number in range(1, 5):  # another image size
        tifffile.imwrite(tmp_path / "a" / f"big_{number:05d}.tif", rng.integers(0, 9, (16, 5), dtype=np.uint16))
    for number in range(1, 5):  # the same prefix, numbers of another width
        tifffile.imwrite(tmp_path / "a" / f"scan_{number:03d}.tif", rng.integers(0, 9, (6, 5), dtype=np.uint16))
    sources = find_files(str(tmp_path))
    chosen = choose_representatives(sources, [get_spec("tiff_series")])
    assert len(chosen.series) == 5
    assert all(len(series.followers) == 2 for series in chosen.series)
    plan = detect(str(tmp_path), progress=False)
    assert plan.sniffed == 10 and len(sniff_calls) == 10
    assert_every_file_in_one_place(plan)
    file_by_file(monkeypatch)
    assert plan.to_dict() == detect(str(tmp_path), progress=False).to_dict()


def test_small_clusters_and_unnumbered_files_are_sniffed_each(tmp_path, sniff_calls):
    write_series(tmp_path, count=2, prefix="pair_")
    tifffile.imwrite(tmp_path / "single.tif", np.zeros((3, 3), np.uint16))
    plan = detect(str(tmp_path), progress=False)
    assert plan.sniffed == 3 and plan.followed == 0
    assert plan.table().splitlines()[-1] == "3 file(s) found, 3 sniffed"


def test_an_ingestor_pattern_that_looks_at_digits_gets_its_files_sniffed(tmp_path, monkeypatch, sniff_calls):
    folder = tmp_path / "series"
    write_series(folder, count=12)
    # A plugin that reads frames 5 and 6 only (its pattern looks at the number).
    middle = IngestorSpec(
        name="middle_frames", ingest=get_spec("tiff_series").ingest, patterns=("frame_0000[5-6].tif",), grouping="prefix",
        sniff=lambda head, source: 0.9,
    )
    monkeypatch.setattr(detection, "_detectable_specs", lambda: [get_spec("tiff_series"), middle])
    monkeypatch.setattr(detection, "get_spec", lambda name: middle if name == "middle_frames" else get_spec(name))
    plan = detect(str(folder), progress=False)
    assert sorted(sniff_calls) == ["frame_00001.tif", "frame_00005.tif", "frame_00006.tif", "frame_00012.tif"]
    assert sorted((run.ingestor, names(run.files)[0], len(run.files)) for run in plan.runs) == [
        ("middle_frames", "frame_00005.tif", 2),
        ("tiff_series", "frame_00001.tif", 4),
        ("tiff_series", "frame_00007.tif", 6),
    ]
    assert_every_file_in_one_place(plan)


@pytest.mark.parametrize(
    "pattern, extension, blind",
    [
        ("*.tif", ".tif", True),
        ("*.h5", ".h5", True),  # the digit is the extension's
        ("*.h5", ".tif", True),  # no name of the series matches
        ("*_master.h5", ".h5", True),  # needs a letter where the number ends
        ("*.[0-9]", "", True),  # a class of all ten digits
        ("[!.][!.]", "", True),
        ("*5.h5", ".h5", False),
        ("frame_0000?.tif", ".tif", False),
        ("*[0-4].tif", ".tif", False),
        ("*_??.tif", ".tif", True),  # numbers of one width: ? takes any digit
    ],
)
def test_which_patterns_can_tell_numbers_apart(pattern, extension, blind):
    assert _blind_to_number(pattern, extension) is blind


def test_unreadable_first_bytes_mean_sniffing_on_its_own(tmp_path, monkeypatch, sniff_calls):
    folder = tmp_path / "series"
    paths = write_series(folder, count=6)
    original = representatives.read_starts

    def one_unreadable(sources, size):
        starts = original(sources, size)
        return [None if source.path.endswith(paths[2].name) else start for source, start in zip(sources, starts)]

    monkeypatch.setattr(representatives, "read_starts", one_unreadable)
    plan = detect(str(folder), progress=False)
    assert sorted(sniff_calls) == sorted([paths[0].name, paths[2].name, paths[-1].name])
    assert len(plan.runs) == 1 and len(plan.runs[0].files) == 6


def test_unrecognised_series_share_a_content_verdict_but_not_a_read_error(tmp_path, monkeypatch, sniff_calls):
    folder = tmp_path / "raw"
    folder.mkdir()
    for number in range(1, 7):
        (folder / f"frame_{number:03d}.raw").write_bytes(b"RAW1" + bytes([number]) * 60)
    plan = detect(str(folder), progress=False)
    assert plan.sniffed == 2 and len(plan.unrecognised) == 6
    assert len({item.reason for item in plan.unrecognised}) == 1

    sniff_calls.clear()

    def unreadable(source, specs):
        sniff_calls.append(os.path.basename(source.path))
        return [], f"cannot be read (no permission: {source.path})"

    monkeypatch.setattr(detection, "sniff_file", unreadable)
    plan = detect(str(folder), progress=False)
    assert plan.sniffed == 6 and len(sniff_calls) == 6


def test_isolated_detection_sniffs_the_same_representatives(tmp_path):
    folder = tmp_path / "series"
    paths = write_series(folder)
    paths[4].write_bytes(bytes(paths[4].stat().st_size))
    in_process = detect(str(folder), progress=False)
    isolated = detect(str(folder), progress=False, isolate=True)
    assert isolated.to_dict() == in_process.to_dict()
    assert (isolated.sniffed, isolated.followed) == (in_process.sniffed, in_process.followed) == (3, N_FILES - 3)
    assert_every_file_in_one_place(isolated)


def test_memory_files_are_compared_through_fsspec(tmp_path, memory_folder, sniff_calls):
    paths = write_series(tmp_path / "series", count=5)
    fs, root = memory_folder
    for path in paths:
        fs.pipe(f"{root}/series/{path.name}", path.read_bytes())
    plan = detect(f"memory://{root}/series", progress=False)
    assert plan.sniffed == 2 and len(plan.runs) == 1 and len(plan.runs[0].files) == 5


def test_a_forced_ingestor_sniffs_nothing(tmp_path):
    write_series(tmp_path / "series", count=4)
    plan = detect(str(tmp_path / "series"), ingestor="tiff_series", progress=False)
    assert plan.sniffed == 0 and plan.table().splitlines()[-1] == "4 file(s) found, 0 sniffed"
