"""Fixtures shared by the detection tests."""

import os

import pytest

from intake_ingest.detect import detection


@pytest.fixture
def sniff_calls(monkeypatch):
    """The names of the files sniff_file was asked about, in-process.

    Counted where detection calls it and where ``intake_ingest.detect`` exports it (the
    GUI's selection model calls it from there).
    """
    calls = []
    original = detection.sniff_file

    def counting(source, specs):
        calls.append(os.path.basename(source.path))
        return original(source, specs)

    monkeypatch.setattr(detection, "sniff_file", counting)
    monkeypatch.setattr("intake_ingest.detect.sniff_file", counting)
    return calls
