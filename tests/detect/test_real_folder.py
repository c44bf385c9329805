"""The real files of ``tests/data/real`` in one beamtime folder, as a user would bring them.

Every file is accounted for (in a run of the ingestor of its producing software, a
companion of one, or left out with a reason), every document validates, and a folder
with one broken file still writes every other run, naming the broken one.
"""

import pathlib
import shutil

import pytest

from intake_ingest import BlueskyMsgpackCatalog, IngestError, MissingFileError
from intake_ingest.cli import main
from intake_ingest.detect import detect, ingest
from intake_ingest.registry import get_ingestor

from ..conftest import validate

REAL = pathlib.Path(__file__).resolve().parent.parent / "data" / "real"

#: The ingestor each folder's data files are for (its producing software).
INGESTOR_OF_FOLDER = {
    "area_detector_hdf5": "area_detector_hdf5",
    "area_detector_tiff": "area_detector_tiff",
    "bliss": "esrf_bliss",
    "bluesky_nexus": "bluesky_nexus",
    "column_text": "column_text",
    "edf": "esrf_edf",
    "eiger": ("eiger_hdf5", "nexus_hdf5"),  # an NXmx master not named *_master.h5 is read as NeXus
    "mca": "mca",
    "nexus": "nexus_hdf5",
    "pilatus": ("pilatus_cbf", "pilatus_tiff"),
    "spe": "winview_spe",
    "spec": "spec",
    "xdi": "xdi",
    "xrdml": "xrdml",
}
#: Files beside the data: provenance, licences, the script that made a file, reference documents.
NOT_DATA = ("README.md", "LICENSE", ".py", ".json", ".rst")


def is_data(path):
    name = path.name
    return not any(name.startswith(marker) or name.endswith(marker) for marker in NOT_DATA)


@pytest.fixture(scope="module")
def real_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("real") / "beamtime"
    shutil.copytree(REAL, folder)
    return folder


@pytest.fixture(scope="module")
def real_plan(real_folder):
    return detect(str(real_folder), progress=False)


def folder_of(url, root):
    return pathlib.Path(url).relative_to(root).parts[0]


def test_every_real_file_is_placed_once_and_data_files_by_their_software(real_folder, real_plan):
    places = real_plan.places()
    assert {url: where for url, where in places.items() if len(where) != 1} == {}
    assert len(places) == sum(1 for path in real_folder.rglob("*") if path.is_file())

    ingestor_of = {}
    for run in real_plan.runs:
        for source in run.files + run.companions:
            ingestor_of.setdefault(source.url, set()).add(run.ingestor)
    wrong = {}
    for path in sorted(real_folder.rglob("*")):
        if not path.is_file():
            continue
        expected = INGESTOR_OF_FOLDER[folder_of(str(path), real_folder)]
        expected = {expected} if isinstance(expected, str) else set(expected)
        got = ingestor_of.get(str(path), set())
        if is_data(path) and (not got or not got <= expected):
            wrong[str(path.relative_to(real_folder))] = sorted(got) or places[str(path)]
        elif not is_data(path) and got:
            wrong[str(path.relative_to(real_folder))] = sorted(got)
    assert wrong == {}
    assert real_plan.ambiguous == []


#: Real masters whose data files (GB) are not shipped: their runs list, and say which file is missing when read.
WITHOUT_DATA_FILES = "eiger"
#: A real file that cannot be read: camserver's header of an image, without the image.
BROKEN = "pilatus/fred_header.cbf"


def test_every_real_run_validates(real_folder, real_plan):
    """Every document of every run of the folder, against event-model's schemas."""
    for run in real_plan.runs:
        try:
            for name, doc in get_ingestor(run.ingestor)(run.argument, **run.kwargs):
                validate(name, doc)
        except IngestError as error:
            if run.files[0].url == str(real_folder / BROKEN):
                assert str(error).startswith(f"{real_folder / BROKEN}: ends before the start of its binary data")
                continue
            if not isinstance(error, MissingFileError):
                raise
            assert folder_of(run.files[0].url, real_folder) == WITHOUT_DATA_FILES, error
            assert "no such file" in str(error)


def test_a_broken_real_file_is_named_and_every_other_run_written(real_folder, real_plan, tmp_path, capsys):
    broken_folder = tmp_path / "beamtime"
    shutil.copytree(real_folder, broken_folder, ignore=lambda folder, names: [WITHOUT_DATA_FILES] if folder == str(real_folder) else [])
    n_runs = len([run for run in real_plan.runs if folder_of(run.files[0].url, real_folder) != WITHOUT_DATA_FILES])
    cbf = broken_folder / BROKEN

    copies = tmp_path / "copies"
    assert main(["ingest", str(broken_folder), "--to", str(copies), "--quiet"]) == 1
    out = capsys.readouterr().out
    failed = [line for line in out.splitlines() if line.startswith("  failed: ")]
    assert len(failed) == 1 and cbf.name in failed[0]
    written = BlueskyMsgpackCatalog(str(copies / "*.msgpack"))
    assert len(written) == n_runs - 1

    # The same from Python: one error, every other run in the catalog.
    result = ingest(detect(str(broken_folder), progress=False), check=True, progress=False)
    assert [error.first for error in result.errors] == [str(cbf)]
    assert len(result.catalog) == n_runs - 1
