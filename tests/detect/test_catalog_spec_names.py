"""A catalog spec written by ``catalog -o`` opens again, whatever the files are called.

Names in UTF-8 (accents, other scripts) round-trip through the YAML spec; a name that is
not UTF-8 (bytes Python keeps as surrogate escapes) cannot be held by a text spec, so the
spec is refused before anything is written, naming the file, and the msgpack route the
error suggests keeps such names.
"""

import os

import numpy as np
import pytest
import tifffile

from intake_ingest import BlueskyMsgpackCatalog, IngestError, open_catalog
from intake_ingest.cli import main
from intake_ingest.detect import detect, ingest
from intake_ingest.detect.catalog_spec import write_catalog_spec


def _write_files(folder, names):
    """A TIFF series and a stack under the given names (str, surrogate escapes allowed)."""
    folder.mkdir()
    series, stack = names
    for number in range(1, 4):
        tifffile.imwrite(os.path.join(folder, series.format(number)), np.full((4, 5), number, np.uint16))
    tifffile.imwrite(os.path.join(folder, stack), np.zeros((3, 4, 5), np.uint16), photometric="minisblack")


def test_names_in_utf8_round_trip_through_the_spec(tmp_path, capsys):
    folder = tmp_path / "données"
    _write_files(folder, ("échantillon_{:04d}.tif", "стек.tif"))
    plan = detect(str(folder), progress=False)
    assert len(plan.runs) == 2
    output = tmp_path / "beamline.yml"
    write_catalog_spec(plan, str(output))
    catalog = open_catalog(str(output))
    runs = [run for name in catalog for run in catalog[name]().values()]  # every source's runs
    assert sorted(run.metadata["start"]["ingestor"] for run in runs) == ["tiff_series", "tiff_stack"]
    assert sorted(len(run.primary.read()["time"]) for run in runs) == [3, 3]
    assert main(["ls", str(output)]) == 0
    listed = capsys.readouterr().out
    assert "échantillon_" in listed and "стек.tif" in listed


def test_a_name_that_is_not_utf8_is_refused_before_writing_naming_the_file(tmp_path, capsys):
    folder = tmp_path / "beamtime"
    stack = os.fsdecode(b"stack\xe9.tif")  # Latin-1 'é': not UTF-8
    _write_files(folder, ("scan_{:04d}.tif", stack))
    plan = detect(str(folder), progress=False)
    output = tmp_path / "beamline.yml"
    with pytest.raises(IngestError, match=r"its name is not UTF-8 \(byte 0xE9\): a YAML catalog spec") as raised:
        write_catalog_spec(plan, str(output))
    assert raised.value.path == os.path.join(str(folder), stack)
    assert not output.exists()

    assert main(["catalog", str(folder), "-o", str(output), "--quiet"]) == 1
    assert "is not UTF-8" in capsys.readouterr().err and not output.exists()

    # What the error suggests: msgpack files keep the name.
    result = ingest(plan, to=str(tmp_path / "copies"), progress=False)
    assert result.ok
    catalog = BlueskyMsgpackCatalog(str(tmp_path / "copies" / "*.msgpack"))
    sources = [catalog[uid].metadata["start"]["source"] for uid in catalog]
    assert any(os.path.join(str(folder), stack) in str(source) for source in sources), sources
