import pytest

from intake_ingest.grouping import numbered_name


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
