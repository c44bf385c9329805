"""EDF header integers beyond 64 bits: kept exactly (as the header's text), with a warning naming the file and key.

A number column (event data, msgpack) holds integers of 64 bits at most: a bigger one
would become a float (rounded) or be refused. The files here are written with fabio.
"""

import fabio.edfimage
import numpy as np
import pytest

from intake_ingest import BlueskyMsgpackCatalog, IngestWarning
from intake_ingest.detect import detect, ingest
from intake_ingest.ingestors.esrf_edf import ingest_esrf_edf
from intake_ingest.run import BlueskyRun

BIG = "123456789012345678901234567890"  # 2**96 or so
ENORMOUS = "7" * 5000  # more digits than int() takes from text


@pytest.fixture
def frames_with_big_integers(tmp_path):
    """Three frames: counter ``det`` past 64 bits in the second, ``Serial`` of 5000 digits in all."""
    path = tmp_path / "big.edf"
    positions = ["10 1", f"11 {BIG}", "12 3"]
    headers = [
        {"counter_mne": "mon det", "counter_pos": position, "Serial": ENORMOUS, "time_of_day": ENORMOUS,
         "Limit": "9223372036854775807"}
        for position in positions
    ]
    image = np.zeros((4, 5), np.uint16)
    edf = fabio.edfimage.EdfImage(data=image, header=headers[0])
    for header in headers[1:]:
        edf.append_frame(data=image + 1, header=header)
    edf.write(str(path))
    return str(path)


def test_integers_beyond_64_bits_stay_exact_as_text_with_a_warning_naming_file_and_key(
    frames_with_big_integers, validated
):
    path = frames_with_big_integers
    with pytest.warns(IngestWarning) as caught:
        documents = validated(ingest_esrf_edf(path))
    said = [str(warning.message) for warning in caught if "64 bits" in str(warning.message)]
    assert len(said) == 1, said
    assert said[0].startswith(f"{path}: frame 1: header value 'Serial', 'time_of_day' holds an integer beyond 64 bits")
    assert "(and 2 more frames)" in said[0] and "kept exactly as the header's text" in said[0]
    descriptor = next(doc for name, doc in documents if name == "descriptor")
    assert descriptor["data_keys"]["det"]["dtype"] == "string"  # never a float
    configuration = descriptor["configuration"]["detector"]
    assert configuration["data"]["Serial"] == ENORMOUS  # every digit
    assert configuration["data"]["Limit"] == 2**63 - 1  # 64 bits: still a number
    assert configuration["data_keys"]["Limit"]["dtype"] == "integer"
    events = [doc for name, doc in documents if name == "event"]
    assert [event["data"]["det"] for event in events] == ["1", BIG, "3"]
    assert [event["data"]["mon"] for event in events] == [10, 11, 12]
    # A time of day of 5000 digits is no time: the file's time stands in, no OverflowError.
    start = documents[0][1]
    assert 0 < start["time"] < 2**40


def test_the_run_reads_and_round_trips_through_msgpack_exactly(frames_with_big_integers, tmp_path):
    with pytest.warns(IngestWarning, match="beyond 64 bits"):
        dataset = BlueskyRun(ingest_esrf_edf(frames_with_big_integers)).primary.read()
        assert dataset["det"].values.tolist() == ["1", BIG, "3"]
        plan = detect(frames_with_big_integers, progress=False)
        result = ingest(plan, to=str(tmp_path / "copies"), progress=False)
    assert result.ok, result.summary()
    (uid,) = BlueskyMsgpackCatalog(str(tmp_path / "copies" / "*.msgpack"))
    run = BlueskyMsgpackCatalog(str(tmp_path / "copies" / "*.msgpack"))[uid]
    assert run.primary.read()["det"].values.tolist() == ["1", BIG, "3"]
    descriptor = next(doc for name, doc in run.documents() if name == "descriptor")
    assert descriptor["configuration"]["detector"]["data"]["Serial"] == ENORMOUS
