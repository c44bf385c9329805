"""The data blocks of an EDF file: which are frames, which are the error arrays of frames.

An EDF file is a sequence of data blocks, each a header and binary data. P. Boesecke's
EDF (the "EDF 2" keys that fabio reads and writes) names every block with
``EDF_DataBlockID = <data number>.<class>.<chain>``: ``1.Image.Psd`` is image number 1,
and the ESRF SAXS programs and PyMca write the error (standard deviation) of that image
in a block of its own, ``1.Image.Error``, after it. fabio lists every block as a frame;
a run has one frame per image, with its error array beside it.
"""

import dataclasses

__all__ = ["ERROR_CHAIN", "block_id", "is_error_block", "pair_error_blocks"]

#: The chain of an ``EDF_DataBlockID`` that marks a block as the error of an image.
ERROR_CHAIN = "error"


def block_id(header):
    """``(data number, class, chain)`` of a block's ``EDF_DataBlockID``; None without one.

    ``'1.Image.Error'`` -> ``('1', 'image', 'error')``; a missing class or chain is ''.
    """
    value = next((text for key, text in header.items() if key.upper() == "EDF_DATABLOCKID"), None)
    if value is None or not value.strip():
        return None
    parts = [part.strip() for part in value.strip().split(".")] + ["", ""]
    return parts[0], parts[1].lower(), parts[2].lower()


def is_error_block(header):
    """True if the block's ``EDF_DataBlockID`` chain is ``Error``."""
    identity = block_id(header)
    return identity is not None and identity[2] == ERROR_CHAIN


def pair_error_blocks(layouts):
    """The frames of a file, each error block attached to its image's frame.

    Parameters
    ----------
    layouts : list of EdfFrameLayout
        Every complete block of the file, in file order.

    Returns
    -------
    frames : list of EdfFrameLayout
        The image blocks, with ``error`` set to their error block where there is one.
    unpaired : list of str
        What could not be paired: error blocks whose data number names no image block
        before them (left out).
    """
    frames, unpaired = [], []
    for layout in layouts:
        identity = block_id(layout.header)
        if identity is None or identity[2] != ERROR_CHAIN:
            frames.append(layout)
            continue
        number, kind, _ = identity
        # The latest image of that number and class without an error yet: PyMca writes
        # each error block right after its image, others all errors after all images.
        for position in range(len(frames) - 1, -1, -1):
            frame = frames[position]
            frame_id = block_id(frame.header)
            if frame.error is None and frame_id is not None and frame_id[:2] == (number, kind):
                frames[position] = dataclasses.replace(frame, error=layout)
                break
        else:
            unpaired.append(
                f"block {layout.index + 1} (EDF_DataBlockID {number}.{kind}.{ERROR_CHAIN}) is an "
                "error block of no image before it; it is left out"
            )
    return frames, unpaired
