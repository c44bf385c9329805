"""Sphinx configuration for the intake-ingest documentation.

Build with ``sphinx-build docs docs/_build/html`` after ``pip install ".[docs]"``.
"""

import os
import sys

# Document the package of this checkout, installed or not.
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

project = "intake-ingest"
author = "intake-ingest contributors"

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "numpydoc",
]

root_doc = "index"
exclude_patterns = ["_build"]

# numpydoc: the pages list the members they mean to show.
numpydoc_show_class_members = False
autodoc_member_order = "bysource"
myst_heading_anchors = 3  # links to a page's sections ([](catalogs.md#safe-to-share))
