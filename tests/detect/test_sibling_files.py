"""The selection indexed for companion lookups: the same files as a scan would find, never the main file."""

import pickle

import fsspec
import pytest

from intake_ingest.files import SourceFile
from intake_ingest.sibling_files import Selection, Siblings, as_siblings

LOCAL = fsspec.filesystem("file")


def files(*paths, chain=""):
    return [SourceFile(LOCAL, path, 0.0, 0, chain) for path in paths]


@pytest.fixture
def selection():
    return Selection(
        files("/d/b_data_000001.h5", "/d/a_master.h5", "/d/a_data_000001.h5", "/d/scan0001/p_0000.h5", "/e/a_data_000002.h5")
        + files("d/a_data_000003.h5", chain="file:///x.zip")
    )


@pytest.mark.parametrize("excluded", [None, 0, 2, 5])
def test_siblings_are_the_selection_but_one_as_a_sequence(selection, excluded):
    expected = [source for position, source in enumerate(selection.sources) if position != excluded]
    siblings = selection.siblings(excluded)
    assert list(siblings) == expected
    assert len(siblings) == len(expected)
    assert [siblings[i] for i in range(len(siblings))] == expected
    assert siblings[-1] == expected[-1] and siblings[1:3] == expected[1:3]
    with pytest.raises(IndexError):
        siblings[len(expected)]


def test_lookups_by_identity_folder_and_prefix_leave_the_main_file_out(selection):
    master = selection.sources[1]
    siblings = selection.siblings(1)
    assert siblings.get(master.identity) is None
    assert siblings.get("/d/a_data_000001.h5") is selection.sources[2]
    assert siblings.get("/nowhere.h5") is None
    assert [s.path for s in siblings.in_folder("", "/d", "a_")] == ["/d/a_data_000001.h5"]
    assert [s.path for s in siblings.in_folder("", "/d")] == ["/d/b_data_000001.h5", "/d/a_data_000001.h5"]
    assert siblings.in_folder("", "/d", "c") == [] and siblings.in_folder("", "/f") == []
    # the member of an archive is in its own chain, not in the folder of the same name
    assert [s.path for s in siblings.in_folder("file:///x.zip", "d", "a_")] == ["d/a_data_000003.h5"]
    assert siblings.subfolders("", "/d") == ["/d/scan0001"]
    assert sorted(siblings.subfolders("", "/")) == ["/d", "/e"]
    assert siblings.in_order([selection.sources[4], selection.sources[0], selection.sources[4], master]) == [
        selection.sources[0],
        selection.sources[4],
    ]


def test_a_pickled_selection_is_its_files_and_indexes_again(selection):
    selection.position("/d/a_master.h5")  # tables built here
    copy = pickle.loads(pickle.dumps(selection))
    assert copy.sources == selection.sources and copy._position is None
    assert copy.siblings(1).get("/d/a_data_000001.h5") == selection.sources[2]


def test_a_plain_list_is_indexed_and_siblings_are_kept():
    plain = files("/d/a_data_000001.h5", "/d/b.h5")
    siblings = as_siblings(plain)
    assert isinstance(siblings, Siblings) and list(siblings) == plain
    assert as_siblings(siblings) is siblings
