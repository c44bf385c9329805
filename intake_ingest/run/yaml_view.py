"""Documents as plain data for YAML views (intake's ``yaml()``, its GUI)."""

import json

import numpy as np


def _default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return f"<array {value.shape} {value.dtype}>"
    return str(value)


def plain(value):
    """``value`` with only dicts, lists, strings, numbers, booleans and None in it."""
    return json.loads(json.dumps(value, default=_default))
