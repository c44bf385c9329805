"""Bluesky's own NeXus files (apstools NXWriter): the original run rebuilt from the file.

The real files in tests/data/real/bluesky_nexus/ were written by apstools 1.7.12's
NXWriter subscribed to a bluesky 1.15.1 RunEngine (``make_nxwriter_files.py`` there),
beside the documents that RunEngine emitted; the tests compare the rebuilt run with
those documents, and with h5py's reading of the file. Edge cases are written here in
NXWriter's layout (apstools/callbacks/nexus_writer.py, cited per function).
"""

import json
import os
import time

import h5py
import intake
import numpy as np
import pytest
import xarray as xr

from intake_ingest import BlueskyRun, IngestError
from intake_ingest.detect import detect
from intake_ingest.drivers.bluesky_nexus import BlueskyNexusRun
from intake_ingest.files import expand
from intake_ingest.ingestors.hdf5.bluesky_nexus import (
    bluesky_nexus_runs,
    ingest_bluesky_nexus,
    sniff_bluesky_nexus,
)
from intake_ingest.registry import get_spec, read_head

REAL = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "data", "real", "bluesky_nexus")
REAL_RUNS = ["nxwriter_scan", "nxwriter_grid", "nxwriter_count_camera"]
NEXUS_EXAMPLE = os.path.join(REAL, os.pardir, "nexus", "nexpy_example.nxs")


@pytest.fixture
def utc(monkeypatch):
    """The real files were written on a computer keeping UTC: NXWriter's ISO times are its local time."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def original_documents(name):
    with open(os.path.join(REAL, f"{name}.documents.json")) as file:
        return [(doc_name, doc) for doc_name, doc in json.load(file)]


def by_stream(documents):
    """{stream name: (descriptor, [events])}."""
    descriptors = {doc["uid"]: doc for name, doc in documents if name == "descriptor"}
    streams = {doc["name"]: (doc, []) for doc in descriptors.values()}
    for name, doc in documents:
        if name == "event":
            streams[descriptors[doc["descriptor"]]["name"]][1].append(doc)
    return streams


@pytest.mark.parametrize("name", REAL_RUNS)
def test_real_files_rebuild_the_run_the_run_engine_emitted(name, utc, validated):
    path = os.path.join(REAL, f"{name}.h5")
    rebuilt = validated(ingest_bluesky_nexus(path))
    original = original_documents(name)
    assert rebuilt[0][0] == "start" and rebuilt[-1][0] == "stop"

    start, original_start = rebuilt[0][1], original[0][1]
    assert start["uid"] == original_start["uid"]
    assert start["time"] == pytest.approx(original_start["time"], abs=1e-6)  # ISO text, microseconds
    assert (start["ingestor"], start["source"]) == ("bluesky_nexus", path)
    lost = {"scan_id"}  # callback_base.start leaves it out of the metadata it keeps
    for key in set(original_start) - {"uid", "time"} - lost:
        assert start[key] == original_start[key], key
    assert set(start) - set(original_start) == {"ingestor", "source"}

    streams, original_streams = by_stream(rebuilt), by_stream(original)
    assert set(streams) == set(original_streams)
    with h5py.File(path, "r") as file:
        stored = file["entry/instrument/bluesky/streams"]
        for stream, (descriptor, events) in streams.items():
            original_descriptor, original_events = original_streams[stream]
            assert descriptor["uid"] == original_descriptor["uid"]
            assert set(descriptor["data_keys"]) == set(original_descriptor["data_keys"])
            for key, data_key in descriptor["data_keys"].items():
                original_key = original_descriptor["data_keys"][key]
                for field in ("dtype", "shape", "source", "precision"):
                    assert data_key[field] == original_key[field], (key, field)
                # Independently of the ingestor: the number of rows h5py reads.
                assert len(stored[stream][key]["value"]) == len(original_events)
            assert len(events) == len(original_events)
            for event, original_event in zip(events, original_events):
                assert event["seq_num"] == original_event["seq_num"]
                assert event["timestamps"] == original_event["timestamps"]
                assert event["time"] == max(original_event["timestamps"].values())
                assert event["time"] <= original_event["time"]
                for key, value in original_event["data"].items():
                    np.testing.assert_array_equal(event["data"][key], value)

    stop, original_stop = rebuilt[-1][1], original[-1][1]
    assert stop["run_start"] == original_stop["run_start"]
    assert stop["num_events"] == original_stop["num_events"]
    assert stop["exit_status"] == original_stop["exit_status"] == "success"
    assert stop["time"] == pytest.approx(original_stop["time"], abs=1e-6)


def test_real_camera_frames_read_as_arrays(utc):
    path = os.path.join(REAL, "nxwriter_count_camera.h5")
    dataset = BlueskyRun(ingest_bluesky_nexus(path)).primary.read()
    with h5py.File(path, "r") as file:
        frames = file["entry/instrument/bluesky/streams/primary/camera/value"][()]
    assert frames.shape == (3, 6, 8) and dataset["camera"].shape == (3, 6, 8)
    np.testing.assert_array_equal(dataset["camera"].values, frames)
    assert dataset["camera"].dtype == np.uint16


def test_sniff_beats_generic_nexus_and_detection_picks_it(utc):
    for name in REAL_RUNS:
        (source,) = expand(os.path.join(REAL, f"{name}.h5"))
        head = read_head(source)
        assert get_spec("bluesky_nexus").confidence(head, source) == pytest.approx(0.9)
        assert get_spec("nexus_hdf5").confidence(head, source) == pytest.approx(0.5)
    plan = detect([os.path.join(REAL, "*.h5")])
    assert sorted((run.ingestor, os.path.basename(run.files[0].path)) for run in plan.runs) == [
        ("bluesky_nexus", f"{name}.h5") for name in sorted(REAL_RUNS)
    ]
    assert plan.unrecognised == [] and plan.ambiguous == []


def test_other_nexus_files_are_not_ours():
    (source,) = expand(NEXUS_EXAMPLE)
    assert sniff_bluesky_nexus(read_head(source), source) == 0.0
    with pytest.raises(IngestError, match="holds no run written by Bluesky") as info:
        bluesky_nexus_runs(source)
    assert info.value.path == source.url
    with pytest.raises(IngestError, match="no run written by Bluesky") as info:
        next(ingest_bluesky_nexus(NEXUS_EXAMPLE))
    assert info.value.path == source.url
    assert sniff_bluesky_nexus(b"not hdf5", source) == 0.0


def test_driver_and_runs_in(utc):
    path = os.path.join(REAL, "nxwriter_scan.h5")
    (source,) = expand(path)
    assert bluesky_nexus_runs(source) == [{"entry": "entry"}]
    assert intake.registry["bluesky-bluesky-nexus"] is BlueskyNexusRun
    run = BlueskyNexusRun(filename=path)
    assert run.uid == original_documents("nxwriter_scan")[0][1]["uid"]
    rebuilt = BlueskyRun(ingest_bluesky_nexus(path)).primary.read()
    xr.testing.assert_identical(run.primary.read().drop_vars("uid"), rebuilt.drop_vars("uid"))
    assert run.baseline.read()["motor3"].shape == (2,)


# -- edge cases, written in NXWriter's layout --------------------------------------------------


def write_nxwriter_file(path, streams, metadata=None, uid="0f3c-run", start_time="2024-02-01T10:00:00"):
    """A file laid out as NXWriter writes one (apstools 1.7.12, callbacks/nexus_writer.py).

    ``streams``: {stream: {key: (values, epoch)}}. ``write_entry``: /entry start_time,
    end_time; ``write_instrument``: /entry/instrument/bluesky (NXnote) with ``uid`` and
    ``plan_name``; ``write_metadata``: metadata/run_start_uid and a dataset per key,
    YAML text flagged text_format='yaml'; ``write_streams``: streams/<stream> (@uid)
    / <key> (NXdata) / value (+ source, units, precision attributes), EPOCH, time.
    """
    with h5py.File(path, "w") as file:
        file.attrs.update(default="entry", creator="NXWriter")
        entry = file.create_group("entry")
        entry.attrs["NX_class"] = "NXentry"
        if start_time:
            entry["start_time"] = start_time
            entry["end_time"] = "2024-02-01T10:00:05"
        bluesky = entry.create_group("instrument/bluesky")
        bluesky.attrs["NX_class"] = "NXnote"
        md = bluesky.create_group("metadata")
        if uid:
            md["run_start_uid"] = uid
            bluesky["uid"] = md["run_start_uid"]
        md["plan_name"] = "count"
        bluesky["plan_name"] = md["plan_name"]
        for key, (value, is_yaml) in (metadata or {}).items():
            md[key] = value
            if is_yaml:
                md[key].attrs["text_format"] = "yaml"
        for stream, keys in streams.items():
            group = bluesky.create_group(f"streams/{stream}")
            group.attrs["uid"] = f"descriptor-{stream}"
            for key, (values, epoch) in keys.items():
                subgroup = group.create_group(key)
                subgroup.attrs.update(NX_class="NXdata", signal="value", axes=["time"])
                value = subgroup.create_dataset("value", data=values)
                value.attrs.update(source=f"PV:{key}", units="", precision=3)
                subgroup["EPOCH"] = np.asarray(epoch, dtype=float)
                subgroup["time"] = np.asarray(epoch, dtype=float) - epoch[0]
            for key in list(group):  # write_streams: link images to parent names
                if key.endswith("_image") and key[:-6] not in group:
                    group[key[:-6]] = group[key]


def test_image_alias_is_not_a_second_key(tmp_path, validated):
    path = str(tmp_path / "alias.hdf")
    frames = np.arange(2 * 3 * 4, dtype=np.uint16).reshape(2, 3, 4)
    write_nxwriter_file(path, {"primary": {"cam_image": (frames, [1.0e9, 1.0e9 + 1])}})
    documents = validated(ingest_bluesky_nexus(path))
    descriptor = documents[1][1]
    assert list(descriptor["data_keys"]) == ["cam_image"]
    assert descriptor["data_keys"]["cam_image"]["shape"] == [3, 4]
    assert descriptor["uid"] == "descriptor-primary"
    np.testing.assert_array_equal(BlueskyRun(iter(documents)).primary.read()["cam_image"].values, frames)


def test_yaml_of_python_objects_is_kept_as_text(tmp_path, validated):
    path = str(tmp_path / "yaml.hdf")
    object_yaml = "!!python/object:ophyd.sim.SynAxis\nname: m1\n"
    write_nxwriter_file(
        path,
        {"primary": {"x": (np.array([1.5, 2.5]), [1.0e9, 1.0e9 + 1])}},
        metadata={
            "device": (object_yaml, True),
            "hints": ("dimensions:\n- !!python/tuple\n  - - x\n  - primary\n", True),
            "count": (np.int64(4), False),
        },
    )
    start = validated(ingest_bluesky_nexus(path))[0][1]
    assert start["device"] == object_yaml
    assert start["hints"] == {"dimensions": [[["x"], "primary"]]}
    assert start["count"] == 4 and start["uid"] == "0f3c-run" and start["plan_name"] == "count"


def test_without_uid_or_start_time_the_file_names_the_run(tmp_path, validated):
    path = str(tmp_path / "bare.hdf")
    write_nxwriter_file(path, {"primary": {"x": (np.array([1.0]), [1.0e9])}}, uid=None, start_time=None)
    documents = validated(ingest_bluesky_nexus(path))
    start = documents[0][1]
    assert start["uid"] != "0f3c-run" and start["time"] == pytest.approx(os.path.getmtime(path))
    assert documents[-1][1]["num_events"] == {"primary": 1}


def test_keys_of_different_lengths_are_an_error_naming_the_file(tmp_path):
    path = str(tmp_path / "ragged.hdf")
    write_nxwriter_file(
        path,
        {"primary": {"x": (np.array([1.0, 2.0]), [1.0, 2.0]), "y": (np.array([1.0]), [1.0])}},
    )
    documents = ingest_bluesky_nexus(path)
    assert next(documents)[0] == "start"
    with pytest.raises(IngestError, match="different numbers of events") as info:
        list(documents)
    assert info.value.path == path


def test_truncated_file_is_an_error_naming_it(tmp_path):
    path = str(tmp_path / "truncated.hdf")
    with open(os.path.join(REAL, "nxwriter_scan.h5"), "rb") as real:
        content = real.read()
    with open(path, "wb") as file:
        file.write(content[: len(content) // 2])
    with pytest.raises(IngestError) as info:
        list(ingest_bluesky_nexus(path))
    assert info.value.path == path


def test_keys_named_as_event_fields_are_renamed(tmp_path, validated):
    path = str(tmp_path / "clash.hdf")
    epochs = [1.0e9, 1.0e9 + 1, 1.0e9 + 2]
    streams = {"primary": {"time": ([0.1, 0.2, 0.3], epochs), "time_2": ([7, 8, 9], epochs), "uid": ([1, 2, 3], epochs)}}
    write_nxwriter_file(path, streams)
    documents = validated(ingest_bluesky_nexus(path))
    assert set(documents[1][1]["data_keys"]) == {"time_3", "time_2", "uid_2"}
    dataset = BlueskyRun(iter(documents)).primary.read()
    assert dataset["time_3"].values.tolist() == [0.1, 0.2, 0.3]
    assert dataset["time_2"].values.tolist() == [7, 8, 9]
    assert dataset["time"].values.tolist() == epochs
