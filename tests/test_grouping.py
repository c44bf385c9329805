import random
import re

import pytest

from intake_ingest.files import expand
from intake_ingest.grouping import name_parts, numbered_name, series_key


@pytest.mark.parametrize(
    "name, parts",
    [
        ("scan_0012.tiff", ("scan_", 12, ".tiff")),
        ("c45d40f7-40ee-4b2f-9b52_000049.h5", ("c45d40f7-40ee-4b2f-9b52_", 49, ".h5")),
        ("lyso_1_data_000002.h5", ("lyso_1_data_", 2, ".h5")),
        ("dark_0001.edf.gz", ("dark_", 1, ".edf.gz")),
        ("scan.003", ("scan.", 3, "")),  # SPEC's numbered files: the number is the extension
        ("frame12", ("frame", 12, "")),
        # The digit of an extension is not a file number.
        ("single.h5", None),
        ("image.mp4", None),
        ("notes.md", None),
    ],
)
def test_numbered_names(name, parts):
    assert numbered_name(name) == parts


@pytest.mark.parametrize(
    "path, parts",
    [
        ("/data/scan_0012.tiff", ("/data", "scan_", 12, ".tiff")),
        ("scan_0012.tiff", ("", "scan_", 12, ".tiff")),  # no folder
        ("/scan.003", ("", "scan.", 3, "")),
        ("/x.1/y_2/single.h5", ("/x.1/y_2", "single.h5", None, "")),  # the folder's digits are not the name's
        ("/d/12/notes", ("/d/12", "notes", None, "")),
        ("/d/a1.b2.c", ("/d", "a", 1, ".b2.c")),  # ".b2" starts with a letter: part of the extension
        ("/d/ab.c1.d", ("/d", "ab.c1.d", None, "")),  # the longest extension leaves "ab": no number
        ("/d/7", ("/d", "", 7, "")),
    ],
)
def test_name_parts_split_folder_prefix_number_extension(path, parts):
    assert name_parts(path) == parts


def _numbered_name_by_definition(name):
    """numbered_name as plainly defined: the longest extension of parts starting with a
    letter (searched from the left), then the digits ending what is left."""
    suffix_start = re.search(r"(\.[^\W\d]\w*)*$", name).start()
    match = re.match(r"^(.*?)(\d+)$", name[:suffix_start])
    return None if match is None else (match[1], int(match[2]), name[suffix_start:])


def test_name_parts_and_numbered_name_agree_with_the_definition_on_any_name():
    """Names of letters, digits (other scripts' too), dots, dashes and spaces, in two folders."""
    rng = random.Random(12)
    alphabet = "ab1.2_Z-é٣ .x0"
    for _ in range(20_000):
        name = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))
        parts = _numbered_name_by_definition(name)
        assert numbered_name(name) == parts, name
        for folder in ("", "/data/run 5"):
            path = f"{folder}/{name}" if folder else name
            expected = (folder, name, None, "") if parts is None else (folder, *parts)
            assert name_parts(path) == expected, path


def test_series_key_and_the_parts_a_file_keeps(tmp_path):
    (tmp_path / "img_010.tif").write_bytes(b"")
    (tmp_path / "notes.md").write_bytes(b"")
    numbered, plain = expand(str(tmp_path / "*"))
    folder = str(tmp_path)
    assert numbered.name_parts == (folder, "img_", 10, ".tif")
    assert numbered.name_parts is numbered.name_parts  # parsed once
    assert series_key(numbered) == (folder, "img_", ".tif", 10)
    assert series_key(plain) == (folder, "notes.md", "", None)
