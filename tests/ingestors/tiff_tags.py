"""Editing a TIFF's tags in place, for tests of files that declare more than they hold."""

import struct

import tifffile

__all__ = ["declare_image_length"]


def declare_image_length(path, height=None):
    """Overwrite the ImageLength tag of the first page of the TIFF at ``path``.

    Parameters
    ----------
    path : str or os.PathLike
    height : int, optional
        The height to declare; by default the largest the tag's type holds that is not
        negative as an int32 (2**31 - 1 for LONG, 65535 for SHORT).
    """
    with tifffile.TiffFile(path) as tif:
        tag = tif.pages[0].tags["ImageLength"]
        offset, code = tag.valueoffset, tag.dtype
    is_long = code == 4
    if height is None:
        height = 2**31 - 1 if is_long else 65535
    with open(path, "r+b") as file:
        file.seek(offset)
        file.write(struct.pack("<I" if is_long else "<H", height))
