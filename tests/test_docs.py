"""Every Python example in docs/ runs, and prints what the page shows.

Each page's ```python blocks run in order in one namespace, in a fresh folder. Where a
```text block follows a python block, it must equal what the block printed, once values
that differ per machine and run (uids, times, temporary paths, ports) are masked.
"""

import contextlib
import io
import pathlib
import re
import shutil

import pytest

DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs"
FENCE = re.compile(r"^```(\w*)([^\n]*)\n(.*?)^```[ \t]*\n", re.S | re.M)
PER_RUN_VALUES = [
    (r"[A-Za-z0-9_-]{43}=", "<RUN UID>"),
    (r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<UUID>"),
    (r"'[0-9a-f]{1,8}\.\.\.", "'<UUID>..."),
    (r"\b1\d{9}\.\d+", "<TIME>"),
    (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", "<ISO TIME>"),
    (r"/tmp/[\w/-]+/", "<DIR>/"),
    (r"127\.0\.0\.1:\d+", "127.0.0.1:<PORT>"),
]


def masked(text):
    for pattern, replacement in PER_RUN_VALUES:
        text = re.sub(pattern, replacement, text)
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


@pytest.mark.parametrize("page", sorted(DOCS.rglob("*.md")), ids=lambda page: str(page.relative_to(DOCS)))
def test_examples_run_and_print_what_the_page_shows(page, tmp_path, monkeypatch):
    # Pages run in a fresh folder holding a copy of the example catalogs.
    shutil.copytree(DOCS.parent / "catalogs", tmp_path / "catalogs")
    monkeypatch.chdir(tmp_path)
    text = page.read_text()
    blocks = list(FENCE.finditer(text))
    namespace = {"__name__": "__main__"}
    for index, block in enumerate(blocks):
        if block.group(1) != "python" or "notest" in block.group(2):
            continue  # ```python notest: shown, not run (it would start a server, say)
        line = text[: block.start()].count("\n") + 1
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(block.group(3), f"{page}:{line}", "exec"), namespace)
        following = blocks[index + 1] if index + 1 < len(blocks) else None
        if (
            following is not None
            and following.group(1) == "text"
            and not text[block.end() : following.start()].strip()
        ):
            assert masked(printed.getvalue()) == masked(following.group(3)), f"{page.name}:{line}"
