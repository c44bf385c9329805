"""A real numbered series of camserver TIFFs (PILATUS 100K at Argonne, 2015), as one run."""

import datetime
import pathlib

import numpy as np
import tifffile

from intake_ingest import BlueskyRun
from intake_ingest.detect import detect
from intake_ingest.ingestors.dectris import ingest_pilatus_tiff

SERIES = pathlib.Path(__file__).resolve().parent.parent / "data" / "real" / "pilatus" / "series"
FILES = sorted(SERIES.glob("AGBO1_1_S064_*.tif"))


def test_detection_makes_one_pilatus_run_of_the_series():
    plan = detect(str(SERIES), progress=False)
    (run,) = plan.runs
    assert run.ingestor == "pilatus_tiff"
    assert [source.path for source in run.files] == [str(path) for path in FILES]
    assert [item.url for item in plan.unrecognised] == [str(SERIES / "LICENSE-AreaDetectorAnalysis.txt")]


def test_images_times_and_detector_as_tifffile_reads_them(validated):
    documents = validated(ingest_pilatus_tiff(str(SERIES / "AGBO1_1_S064_*.tif"), timezone="UTC"))
    run = BlueskyRun(iter(documents))
    start = run.metadata["start"]
    # The detector line is in the TIFF Model tag: 'PILATUS 100K, S/N 1-0215, ANL'.
    with tifffile.TiffFile(FILES[0]) as tiff:
        assert tiff.pages[0].tags["Model"].value == "PILATUS 100K, S/N 1-0215, ANL"
    assert (start["detector_model"], start["detector_serial"], start["detector_site"]) == ("PILATUS 100K", "1-0215", "ANL")
    assert start["num_points"] == 3 and start["sensor_material"] == "Silicon"

    data = run.primary.read()
    expected = np.stack([tifffile.imread(path) for path in FILES])
    assert data["image"].shape == (3, 195, 487) and data["image"].dtype == np.int32
    np.testing.assert_array_equal(data["image"].values, expected)

    def tag_time(path):
        with tifffile.TiffFile(path) as tiff:
            stamp = tiff.pages[0].tags["DateTime"].value
        return datetime.datetime.strptime(stamp, "%Y:%m:%d %H:%M:%S").replace(tzinfo=datetime.timezone.utc).timestamp()

    np.testing.assert_allclose(data["time"].values, [tag_time(path) for path in FILES])
