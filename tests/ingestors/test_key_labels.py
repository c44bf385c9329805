"""Data keys renamed by the shared rule keep the file's own name in ``data_key['label']``."""

from intake_ingest.ingestors.hdf5.bluesky_nexus import ingest_bluesky_nexus

from .hdf5.test_bluesky_nexus import write_nxwriter_file


def test_bluesky_nexus_keys_keep_their_names_as_labels(tmp_path, validated):
    path = str(tmp_path / "labels.hdf")
    epochs = [1.0e9, 1.0e9 + 1]
    streams = {"primary": {"2-theta": ([1.0, 2.0], epochs), "time": ([0.1, 0.2], epochs), "I0": ([5, 6], epochs)}}
    write_nxwriter_file(path, streams)
    data_keys = validated(ingest_bluesky_nexus(path))[1][1]["data_keys"]
    assert data_keys["X2_theta"]["label"] == "2-theta"
    assert data_keys["time_2"]["label"] == "time"
    assert "label" not in data_keys["I0"]  # the same name: nothing to keep


def test_bliss_channels_and_motors_keep_their_names_as_labels(tmp_path, validated):
    import numpy as np

    from intake_ingest.ingestors.hdf5.bliss import ingest_bliss

    from .hdf5.test_bliss import open_dataset_file, write_scan

    path = str(tmp_path / "labels.h5")
    with open_dataset_file(path) as file:
        write_scan(
            file, "1.1", "ascan 2-theta 0 1 2 0.1",
            {"diode-a": (np.arange(3.0), "V"), "mon": (np.arange(3.0), None)},
            motors={"2-theta": (np.linspace(0, 1, 3), "deg")},
            held={"s.z": 2.5},
        )
    documents = validated(ingest_bliss(path, scan="1.1"))
    descriptors = {doc["name"]: doc for name, doc in documents if name == "descriptor"}
    primary = descriptors["primary"]["data_keys"]
    assert primary["diode_a"]["label"] == "diode-a" and primary["X2_theta"]["label"] == "2-theta"
    assert "label" not in primary["mon"]
    assert descriptors["baseline"]["data_keys"]["X2_theta"]["label"] == "2-theta"
    assert descriptors["primary"]["configuration"]["positioners"]["data_keys"]["s_z"]["label"] == "s.z"


def test_nexus_fields_keep_their_names_as_labels(tmp_path, validated):
    import h5py
    import numpy as np

    from intake_ingest.ingestors.hdf5.nexus import ingest_nexus

    path = str(tmp_path / "labels.nxs")
    with h5py.File(path, "w") as file:
        file.attrs["default"] = "entry"
        entry = file.create_group("entry")
        entry.attrs.update(NX_class="NXentry", default="data")
        data = entry.create_group("data")
        data.attrs.update(NX_class="NXdata", signal="I0 (cps)", axes=["2-theta"])
        data["2-theta"] = np.linspace(0.0, 1.0, 4)
        data["I0 (cps)"] = np.arange(4.0)
    data_keys = [doc for name, doc in validated(ingest_nexus(path)) if name == "descriptor"][0]["data_keys"]
    assert data_keys["X2_theta"]["label"] == "2-theta" and data_keys["I0_cps"]["label"] == "I0 (cps)"


def test_area_detector_tiff_ndattributes_keep_their_names_as_labels(tmp_path, validated):
    import numpy as np

    from intake_ingest.ingestors.area_detector import ingest_area_detector_tiff

    from .test_area_detector import write_ndfile_tiff

    for index in range(2):
        write_ndfile_tiff(
            tmp_path / f"det_{index + 1:06d}.tif", np.full((4, 5), index, np.uint16),
            unique_id=index + 1, ndarray_timestamp=1.0e9 + index, epics_seconds=1000 + index, epics_nanoseconds=0,
            attributes=[("Ring Current", 100.0 - index), ("2-theta", 7.5), ("Temperature", 20.0 + index)],
        )
    documents = validated(ingest_area_detector_tiff(str(tmp_path / "det_*.tif")))
    descriptor = [doc for name, doc in documents if name == "descriptor"][0]
    assert descriptor["data_keys"]["Ring_Current"]["label"] == "Ring Current"
    assert "label" not in descriptor["data_keys"]["Temperature"]
    constant = next(iter(descriptor["configuration"].values()))["data_keys"]
    assert constant["X2_theta"]["label"] == "2-theta"


def test_area_detector_hdf5_ndattributes_keep_their_names_as_labels(tmp_path, validated):
    import numpy as np

    from intake_ingest.ingestors.hdf5.area_detector import ingest_area_detector_hdf5

    from .hdf5.test_area_detector import EPICS_SECONDS, frames_of, write_ndfile_hdf5

    path = write_ndfile_hdf5(
        str(tmp_path / "labels_000001.h5"), frames_of(0, 3),
        attributes={"time": np.float64([0.0, 0.5, 1.0]), "Ring Current": np.float64([100.0, 99.0, 98.0])},
        epics_seconds=EPICS_SECONDS,
    )
    descriptor = [doc for name, doc in validated(ingest_area_detector_hdf5(path)) if name == "descriptor"][0]
    assert descriptor["data_keys"]["time_2"]["label"] == "time"
    assert descriptor["data_keys"]["Ring_Current"]["label"] == "Ring Current"


def test_edf_header_keys_keep_their_names_as_labels(tmp_path, validated):
    import fabio
    import numpy as np

    from intake_ingest.ingestors.esrf_edf import ingest_esrf_edf

    for index in range(2):
        header = {"Ring Current": f"{100 - index}", "2-theta": "7.5", "Temperature": f"{20 + index}",
                  "counter_mne": "mon time", "counter_pos": f"{1000 + index} {index}"}
        fabio.edfimage.EdfImage(data=np.full((4, 5), index, np.uint16), header=header).write(str(tmp_path / f"f_{index + 1:04d}.edf"))
    descriptor = [doc for name, doc in validated(ingest_esrf_edf(str(tmp_path / "f_*.edf"))) if name == "descriptor"][0]
    data_keys = descriptor["data_keys"]
    constant = {key: value for group in descriptor["configuration"].values() for key, value in group["data_keys"].items()}
    assert data_keys["Ring_Current"]["label"] == "Ring Current"
    assert data_keys["time_2"]["label"] == "time"  # a counter named as an event's field
    assert "label" not in data_keys["Temperature"] and "label" not in data_keys["mon"]
    assert constant["X2_theta"]["label"] == "2-theta"
