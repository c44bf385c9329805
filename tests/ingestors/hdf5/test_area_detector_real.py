"""areaDetector NDFileHDF5 on a real file of a second source: APS USAXS, written with an XML layout.

``usaxs_pilatus100k/Air_1.hdf`` (tests/data/real/area_detector_hdf5/README.md) is a SAXS
image of a Pilatus 100K saved by ADCore 3.12.1's NDFileHDF5 at the APS USAXS instrument
(12-ID-E, April 2025), with the instrument's own XML layout file: the frames are where the
default layout puts them (``/entry/data/data``, a hard link of
``/entry/instrument/detector/data``), but its 111 NDAttributes are in ``/entry/Metadata``,
not ``/entry/instrument/NDAttributes``. Every value is checked against h5py.
"""

import os
import pathlib

import h5py
import numpy as np
import pytest

from intake_ingest import BlueskyRun
from intake_ingest.detect import detect
from intake_ingest.files import expand
from intake_ingest.ingestors.area_detector import EPICS_EPOCH
from intake_ingest.ingestors.hdf5.area_detector import ingest_area_detector_hdf5, sniff_area_detector_hdf5
from intake_ingest.ingestors.hdf5.nexus import sniff_nexus
from intake_ingest.registry import read_head

REAL = pathlib.Path(__file__).resolve().parents[2] / "data" / "real" / "area_detector_hdf5"
USAXS_SAXS = REAL / "usaxs_pilatus100k" / "Air_1.hdf"
METADATA = "/entry/Metadata/"  # where the USAXS layout file puts the NDAttributes


def _h5py_value(path, dataset):
    with h5py.File(path, "r") as file:
        return file[dataset][()]


def _h5py_metadata_scalar(name):
    value = _h5py_value(USAXS_SAXS, METADATA + name)
    assert value.shape == (1,)  # one NDArray in the file: one value per attribute
    return value[0]


def test_usaxs_file_is_one_run_of_one_frame_equal_to_h5py(validated):
    documents = validated(ingest_area_detector_hdf5(str(USAXS_SAXS)))
    assert [name for name, _ in documents] == ["start", "descriptor", "event_page", "stop"]
    start, descriptor, page, stop = (doc for _, doc in documents)
    assert start["source"] == str(USAXS_SAXS) and start["num_files"] == 1
    # NDFileHDF5 named it FileName "Air", FileNumber 1 (template %s%s_%d.hdf).
    assert start["file_prefix"] == "Air_" and start["file_number_range"] == [1, 1]
    expected = _h5py_value(USAXS_SAXS, "/entry/data/data")
    assert expected.shape == (195, 487) and expected.dtype == np.int32  # Pilatus 100K, gzip
    image_key = descriptor["data_keys"]["image"]
    assert image_key["shape"] == [195, 487] and image_key["dtype_numpy"] == "<i4"
    assert len(page["time"]) == 1 and stop["num_events"] == {"primary": 1}
    assert stop["exit_status"] == "success"

    dataset = BlueskyRun(iter(documents)).primary.read()
    assert dataset["image"].shape == (1, 195, 487)
    np.testing.assert_array_equal(dataset["image"].values[0], expected)
    # The module gaps hold -1 and a few pixels counted: a check that can fail on a wrong dtype.
    assert int((expected < 0).sum()) == 14 and int(expected.max()) == 1


def test_usaxs_dimension_attributes_are_configuration():
    documents = list(ingest_area_detector_hdf5(str(USAXS_SAXS)))
    configuration = documents[1][1]["configuration"]["area_detector"]["data"]
    with h5py.File(USAXS_SAXS, "r") as file:
        attributes = file["/entry/data/data"].attrs
        for name in ("NDArrayDimOffset", "NDArrayDimBinning", "NDArrayDimReverse"):
            assert configuration[name] == attributes[name].tolist()


def test_usaxs_file_lazily_equal_to_h5py():
    run = BlueskyRun(ingest_area_detector_hdf5(str(USAXS_SAXS), lazy=True))
    image = run.primary.to_dask()["image"].data
    assert image.shape == (1, 195, 487) and image.numblocks[0] == 1
    np.testing.assert_array_equal(image[0].compute(), _h5py_value(USAXS_SAXS, "/entry/data/data"))


def test_usaxs_file_is_detected_as_area_detector_hdf5_not_nexus():
    (source,) = expand(str(USAXS_SAXS))
    head = read_head(source)
    # /entry/data/data carries NDArrayNumDims, which only NDFileHDF5 writes; the file is
    # also NXsas NeXus, which the generic ingestor would read as rows of a 195 x 487 table.
    assert sniff_area_detector_hdf5(head, source) == 0.9 > sniff_nexus(head, source) > 0
    plan = detect(str(USAXS_SAXS.parent))
    assert [(run.ingestor, len(run.files)) for run in plan.runs] == [("area_detector_hdf5", 1)]
    assert not plan.unrecognised and not plan.ambiguous


def test_usaxs_ndattributes_in_an_xml_layout_group_are_read(validated):
    documents = validated(ingest_area_detector_hdf5(str(USAXS_SAXS)))
    descriptor = documents[1][1]
    dataset = BlueskyRun(iter(documents)).primary.read()
    assert int(dataset["unique_id"].values[0]) == int(_h5py_metadata_scalar("NDArrayUniqueId")) == 7626
    epics = (
        EPICS_EPOCH
        + int(_h5py_metadata_scalar("NDArrayEpicsTSSec"))
        + int(_h5py_metadata_scalar("NDArrayEpicsTSnSec")) * 1e-9
    )
    # 2025-04-06 09:51:59 UTC: the exposure the StartTime attribute says began at 04:51:41 CDT.
    assert dataset["time"].values[0] == pytest.approx(epics, abs=1e-6)
    assert dataset["time"].values[0] != pytest.approx(os.path.getmtime(USAXS_SAXS))
    configuration = descriptor["configuration"]["area_detector"]["data"]
    assert configuration["SampleTitle"] == _h5py_metadata_scalar("SampleTitle").decode() == "Air_1"
    assert configuration["PresetTime"] == pytest.approx(float(_h5py_metadata_scalar("PresetTime")))
    assert configuration["hostname"] == "dec2843"  # the group's attribute, as for the default layout
