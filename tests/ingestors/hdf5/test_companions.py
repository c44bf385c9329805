"""Companion files looked up by name (Eiger data files, BLISS lima files, NeXus link targets).

Each function is checked against its rule written as a scan of every candidate (what
detection did before it indexed the selection), on a folder of near-misses; and each
must answer through lookups alone, so that detection stays linear in the files.
"""

import os
import posixpath
import re

import h5py
import pytest

from intake_ingest.files import expand
from intake_ingest.ingestors.hdf5.bliss import bliss_lima_files
from intake_ingest.ingestors.hdf5.eiger import eiger_data_files
from intake_ingest.ingestors.hdf5.nexus import nexus_companions
from intake_ingest.sibling_files import Selection, Siblings

NAMES = [
    # Eiger: data files of a_master.h5 are a_data_NNNNNN.h5 beside it
    "d/a_data_000001.h5",
    "d/a_data_000002.h5",
    "d/a_data_00003.h5",
    "d/A_data_000004.h5",
    "d/ab_data_000001.h5",
    "d/a_data_000005.h5.bak",
    "d/a_data_000006.H5",
    "d/sub/a_data_000007.h5",
    "d/b_data_000001.h5",
    # BLISS: lima files are *.h5 in scan<NNNN> folders beside the dataset file
    "d/scan0001/pilatus_0000.h5",
    "d/scan0001/PILATUS_0001.H5",
    "d/scan0001/notes.txt",
    "d/scan12345/eiger_0000.h5",
    "d/scan01/eiger_0000.h5",
    "d/scan0002/deeper/eiger_0000.h5",
    "other/scan0003/eiger_0000.h5",
    # NeXus: targets of external links, anywhere
    "other/frames.h5",
    "other/unlinked.h5",
]


def old_eiger_rule(source, candidates):
    name = posixpath.basename(source.path)
    pattern = re.compile(re.escape(name[: -len("_master.h5")]) + r"_data_\d{6}\.h5$")
    folder = posixpath.dirname(source.path)
    linked = {candidate.identity for candidate in old_nexus_rule(source, candidates)}
    return [
        c
        for c in candidates
        if c.identity in linked
        or (c.chain == source.chain and posixpath.dirname(c.path) == folder and pattern.match(posixpath.basename(c.path)))
    ]


def old_bliss_rule(source, candidates):
    folder = posixpath.dirname(source.path)
    return [
        c
        for c in candidates
        if c.chain == source.chain
        and c.path.lower().endswith(".h5")
        and posixpath.dirname(posixpath.dirname(c.path)) == folder
        and re.match(r"^scan\d{4,}$", posixpath.basename(posixpath.dirname(c.path)))
    ]


def old_nexus_rule(source, candidates):
    targets = {os.path.normpath(os.path.join(os.path.dirname(source.path), name)) for name in LINKS[source.path.rsplit("/", 1)[1]]}
    return [c for c in candidates if c.identity in targets]


#: External links each main file holds, relative to its folder.
LINKS = {
    "a_master.h5": ["a_data_000001.h5", "../other/frames.h5", "missing.h5"],
    "set.h5": ["scan0001/pilatus_0000.h5"],
    "self.nxs": ["self.nxs", "../other/frames.h5"],
}


@pytest.fixture
def selection(tmp_path):
    """The folder written, and its files as a Selection (in a shuffled order)."""
    for name in NAMES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    for name, links in LINKS.items():
        with h5py.File(tmp_path / "d" / name, "w") as file:
            entry = file.create_group("entry")
            entry.attrs["NX_class"] = "NXentry"
            data = entry.create_group("data")
            data.attrs["NX_class"] = "NXdata"
            for number, target in enumerate(links):
                data[f"data_{number}"] = h5py.ExternalLink(target, "/entry/data/data")
    sources = sorted(expand(str(tmp_path / "**")), key=lambda source: source.path[::-1])
    return Selection(sources)


class LookupsOnly(Siblings):
    """Siblings that refuse to be scanned: a companions function must look names up."""

    def __iter__(self):
        raise AssertionError("scanned every candidate")

    def __getitem__(self, index):
        raise AssertionError("scanned every candidate")


@pytest.mark.parametrize(
    "function, old_rule, main",
    [
        (eiger_data_files, old_eiger_rule, "a_master.h5"),
        (bliss_lima_files, old_bliss_rule, "set.h5"),
        (nexus_companions, old_nexus_rule, "a_master.h5"),
        (nexus_companions, old_nexus_rule, "set.h5"),
        (nexus_companions, old_nexus_rule, "self.nxs"),
    ],
)
def test_lookups_find_what_the_rule_scanning_every_file_finds(selection, function, old_rule, main):
    (position,) = [i for i, source in enumerate(selection.sources) if source.path.endswith(f"/d/{main}")]
    source = selection.sources[position]
    others = [c for c in selection.sources if c != source]
    expected = old_rule(source, others)
    assert expected  # the case is not empty
    assert function(source, selection.siblings(position)) == expected
    assert function(source, others) == expected  # a plain list, as a caller outside detection gives
    assert function(source, LookupsOnly(selection, position)) == expected


def test_the_expected_files_are_the_ones_named_so(selection):
    def found(function, main):
        (position,) = [i for i, s in enumerate(selection.sources) if s.path.endswith(f"/d/{main}")]
        source = selection.sources[position]
        root = os.path.dirname(os.path.dirname(source.path))
        return sorted(os.path.relpath(c.path, root) for c in function(source, selection.siblings(position)))

    assert found(eiger_data_files, "a_master.h5") == ["d/a_data_000001.h5", "d/a_data_000002.h5", "other/frames.h5"]
    assert found(bliss_lima_files, "set.h5") == [
        "d/scan0001/PILATUS_0001.H5",
        "d/scan0001/pilatus_0000.h5",
        "d/scan12345/eiger_0000.h5",
    ]
    assert found(nexus_companions, "self.nxs") == ["other/frames.h5"]  # never itself
