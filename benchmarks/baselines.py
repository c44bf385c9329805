"""Plain baselines that several benchmark modules time against."""

import os


def read_heads(folder):
    """The first 4096 bytes of every file in ``folder``, listed with ``os.scandir``.

    What any detection must do at the least: list the folder and look at each file's
    leading bytes.
    """
    heads = []
    with os.scandir(folder) as entries:
        for entry in entries:
            with open(entry.path, "rb") as file:
                heads.append(file.read(4096))
    return heads
