"""The HDF5_FRAMES handler: frame i of a dataset, from any fsspec filesystem, errors naming the file."""

import h5py
import hdf5plugin
import numpy as np
import pytest

from intake_ingest import IngestError, MissingFileError
from intake_ingest.handlers.hdf5 import HDF5Frames
from intake_ingest.run import filling

FRAMES = np.random.default_rng(4).integers(0, 4000, size=(5, 16, 12)).astype(np.uint16)


@pytest.fixture
def frames_file(tmp_path):
    """Frames compressed with bitshuffle/LZ4, one chunk per frame, as Eiger data files are."""
    path = str(tmp_path / "frames.h5")
    with h5py.File(path, "w") as file:
        file.create_dataset(
            "entry/data/data", data=FRAMES, chunks=(1, 16, 12), **hdf5plugin.Bitshuffle(nelems=0, cname="lz4")
        )
        file["entry/data/scalar"] = 3.0
    return path


def test_registered_for_its_resource_spec():
    assert filling.get_handler("HDF5_FRAMES") is HDF5Frames


def test_frames_as_h5py_reads_them(frames_file):
    handler = HDF5Frames(frames_file, dataset="/entry/data/data")
    assert handler.frame_count == len(FRAMES)
    with h5py.File(frames_file, "r") as file:
        for index in range(len(FRAMES)):
            frame = handler(frame=index)
            np.testing.assert_array_equal(frame, file["entry/data/data"][index])
            assert frame.dtype == np.uint16
    handler.close()


def test_unknown_resource_kwargs_are_ignored(frames_file):
    handler = HDF5Frames(frames_file, dataset="entry/data/data", frame_per_point=1)
    np.testing.assert_array_equal(handler(frame=np.int64(2)), FRAMES[2])


def test_memory_filesystem(frames_file, memory_folder):
    fs, root = memory_folder
    fs.pipe(f"{root}/frames.h5", open(frames_file, "rb").read())
    handler = HDF5Frames(f"memory://{root}/frames.h5", dataset="/entry/data/data")
    np.testing.assert_array_equal(handler(frame=4), FRAMES[4])


def test_frame_out_of_range_names_the_file(frames_file):
    handler = HDF5Frames(frames_file, dataset="/entry/data/data")
    with pytest.raises(IngestError, match="holds 5 frames; frame 5 was asked for") as info:
        handler(frame=5)
    assert info.value.path == frames_file


def test_missing_file_is_named(tmp_path):
    path = str(tmp_path / "gone_data_000001.h5")
    with pytest.raises(MissingFileError) as info:
        HDF5Frames(path, dataset="/entry/data/data")
    assert info.value.path == path


def test_missing_file_on_memory_filesystem_is_named(memory_folder):
    _, root = memory_folder
    with pytest.raises(MissingFileError) as info:
        HDF5Frames(f"memory://{root}/gone.h5", dataset="/entry/data/data")
    assert info.value.path == f"memory://{root}/gone.h5"


def test_missing_or_scalar_dataset_is_an_error(frames_file):
    with pytest.raises(IngestError, match="has no dataset '/entry/data/nope'"):
        HDF5Frames(frames_file, dataset="/entry/data/nope")
    with pytest.raises(IngestError, match="not a dataset of frames"):
        HDF5Frames(frames_file, dataset="/entry/data/scalar")


def test_not_hdf5_is_an_error_naming_the_file(tmp_path):
    path = tmp_path / "frames.h5"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 40)  # a signature, then nothing sensible
    with pytest.raises(IngestError, match="not a readable HDF5 file") as info:
        HDF5Frames(str(path), dataset="/entry/data/data")
    assert info.value.path == str(path)


def test_damaged_chunk_is_an_error_naming_the_file(frames_file):
    with h5py.File(frames_file, "r") as file:
        offset = file["entry/data/data"].id.get_chunk_info(3).byte_offset
    with open(frames_file, "r+b") as file:
        file.seek(offset)
        file.write(b"\xff" * 64)  # the compressed stream of frame 3 no longer decodes
    handler = HDF5Frames(frames_file, dataset="/entry/data/data")
    np.testing.assert_array_equal(handler(frame=2), FRAMES[2])
    with pytest.raises(IngestError, match="frame 3 of '/entry/data/data' cannot be read") as info:
        handler(frame=3)
    assert info.value.path == frames_file
