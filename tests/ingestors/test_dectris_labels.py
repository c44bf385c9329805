"""PILATUS header keys keep the keyword as the header writes it in ``label`` (as other ingestors do)."""

import pathlib
import warnings

from intake_ingest.registry import get_ingestor

from ..conftest import validate

REAL = pathlib.Path(__file__).resolve().parent.parent / "data" / "real" / "pilatus"


def _descriptor(ingestor, path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        documents = list(get_ingestor(ingestor)(str(path)))
    for name, doc in documents:
        validate(name, doc)
    return next(doc for name, doc in documents if name == "descriptor")


def test_cbf_header_keys_are_labelled_with_the_headers_keyword():
    descriptor = _descriptor("pilatus_cbf", REAL / "omega_scan.cbf")
    keys = descriptor["configuration"]["detector"]["data_keys"]
    assert keys["exposure_time"]["label"] == "Exposure_time"
    assert keys["detector_2theta"]["label"] == "Detector_2theta"
    assert keys["cbf_template_file"]["label"] == "CBF_template_file"
    # Keys a line is split into are not a keyword of the header: no label.
    assert "label" not in keys["sensor_material"] and "label" not in keys["detector_model"]
    assert "label" not in descriptor["data_keys"]["image"]


def test_tiff_header_keys_are_labelled_too():
    descriptor = _descriptor("pilatus_tiff", REAL / "Pilatus.tiff")
    every = {**descriptor["data_keys"], **descriptor["configuration"]["detector"]["data_keys"]}
    labels = {key: data_key["label"] for key, data_key in every.items() if "label" in data_key}
    assert labels and all(label.lower() == key or key == "header_image" for key, label in labels.items())
