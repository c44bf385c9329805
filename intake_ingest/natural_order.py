"""Natural order of names: ``scan 2.1`` before ``scan 10.1``, ``S2`` before ``S10``.

One sort key for everything that lists things by name: HDF5 members, planned runs,
the tables of the command line and the GUI.
"""

import re

__all__ = ["natural_key"]

_DIGITS = re.compile(r"(\d+)")


def natural_key(name):
    """A sort key reading the runs of digits in ``name`` as numbers.

    Parameters
    ----------
    name : str, bytes or object
        ``bytes`` that are not UTF-8 (as h5py gives such member names) sort by their
        text with the undecodable bytes kept as lone surrogates, so one such name does
        not stop a whole folder from being sorted; anything else sorts by ``str(name)``.

    Returns
    -------
    list
        Text and numbers alternating: ``re.split`` with a capturing group puts the
        digits at odd positions, so two keys always compare text with text and numbers
        with numbers (a character such as '²' passes ``str.isdigit`` but is no number).

    Examples
    --------
    >>> sorted(["scan=10.1", "scan=2.1", "scan=1.1"], key=natural_key)
    ['scan=1.1', 'scan=2.1', 'scan=10.1']
    """
    if isinstance(name, bytes):
        name = name.decode("utf-8", "surrogateescape")
    return [int(part) if index % 2 else part for index, part in enumerate(_DIGITS.split(str(name)))]
