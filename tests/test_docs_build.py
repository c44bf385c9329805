"""The Sphinx docs build without a warning (``-W``): no broken link, anchor or cross-reference.

Needs the docs extra (``pip install ".[docs]"``: sphinx, myst-parser, numpydoc); skipped,
saying so, without it.
"""

import pathlib
import subprocess
import sys

import pytest

DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs"


def test_sphinx_builds_the_docs_without_warnings(tmp_path):
    for module in ("sphinx", "myst_parser", "numpydoc"):
        pytest.importorskip(module, reason="the docs extra is not installed: pip install '.[docs]'")
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", "-d", str(tmp_path / "doctrees"),
               str(DOCS), str(tmp_path / "html")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "html" / "index.html").exists()
