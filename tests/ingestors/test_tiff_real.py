"""The generic TIFF ingestors on real TIFF files written by instrument software.

No real multi-page stack or numbered series of plain TIFFs was found under a licence that
allows copying it here (see docs/formats/tiff.md); the real camserver TIFF of the Pilatus
folder is what these ingestors are given, as a user would for a TIFF they cannot name.
"""

import pathlib

import numpy as np
import pytest
import tifffile

from intake_ingest import BlueskyRun
from intake_ingest.detect import detect
from intake_ingest.ingestors import ingest_tiff_series, ingest_tiff_series_dask, ingest_tiff_stack

PILATUS_TIFF = pathlib.Path(__file__).resolve().parent.parent / "data" / "real" / "pilatus" / "Pilatus.tiff"


@pytest.mark.parametrize("ingest", [ingest_tiff_series, ingest_tiff_series_dask, ingest_tiff_stack])
def test_a_real_camserver_tiff_read_by_the_generic_ingestors(ingest, validated):
    documents = validated(ingest(str(PILATUS_TIFF)))
    image = BlueskyRun(iter(documents)).primary.read()["image"].values
    expected = tifffile.imread(PILATUS_TIFF)
    assert image.shape == (1, 195, 487) and image.dtype == expected.dtype == np.int32
    np.testing.assert_array_equal(image[0], expected)
    assert int(expected.sum()) == 118_542  # as fabio reads it too (tests/ingestors/test_dectris.py)


def test_detection_prefers_the_pilatus_ingestor_and_forcing_a_generic_one_works(tmp_path):
    assert [run.ingestor for run in detect(str(PILATUS_TIFF), progress=False).runs] == ["pilatus_tiff"]
    forced = detect(str(PILATUS_TIFF), ingestor="tiff_stack", progress=False)
    assert [run.ingestor for run in forced.runs] == ["tiff_stack"]
