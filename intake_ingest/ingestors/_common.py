"""Pieces every ingestor composes documents from."""

import numpy as np


def array_data_key(shape, dtype, source, **extra):
    """A descriptor data key for an array-valued reading (an image, a spectrum).

    ``dtype`` is the JSON-schema type 'number' (the event model's type of the
    elements); the exact numpy type is kept in ``dtype_numpy`` so readers can
    rebuild arrays without guessing.
    """
    return {
        "shape": [int(n) for n in shape],
        "dtype": "number",
        "dtype_numpy": np.dtype(dtype).str,
        "source": str(source),
        **extra,
    }


def source_label(pattern):
    """How the RunStart records what was ingested: the pattern(s) as the user gave them."""
    if isinstance(pattern, (list, tuple)):
        return [source_label(item) for item in pattern]
    return getattr(pattern, "url", None) or str(pattern)
