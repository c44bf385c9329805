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
