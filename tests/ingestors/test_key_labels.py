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
