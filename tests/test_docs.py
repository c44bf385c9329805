"""Every Python example in docs/ runs, and prints what the page shows.

Each page's ```python blocks run in order in one namespace, in a fresh folder. Where a
```text block follows a python block, it must equal what the block printed, once values
that differ per machine and run (times, temporary paths, ports, random uuids) are masked.
Run uids are compared as they are where they are the same for everyone (hashed over
``memory://`` paths, read from files): only those hashed over the page's folder are masked.
"""

import base64
import contextlib
import hashlib
import io
import os
import pathlib
import re
import shutil

import pytest

DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs"
FENCE = re.compile(r"^```(\w*)([^\n]*)\n(.*?)^```[ \t]*\n", re.S | re.M)
RUN_UID = re.compile(r"[A-Za-z0-9_-]{43}=")
PER_RUN_VALUES = [
    (r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<UUID>"),
    (r"'[0-9a-f]{1,8}\.\.\.", "'<UUID>..."),
    (r"\b1\d{9}\.\d+", "<TIME>"),
    (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", "<ISO TIME>"),
    (r"/tmp/[\w/-]+/", "<DIR>/"),
    (r"127\.0\.0\.1:\d+", "127.0.0.1:<PORT>"),
]


def masked(text, run_uids=()):
    """``text`` with per-run values masked, and the given run uids."""
    text = RUN_UID.sub(lambda match: "<RUN UID>" if match.group(0) in run_uids else match.group(0), text)
    for pattern, replacement in PER_RUN_VALUES:
        text = re.sub(pattern, replacement, text)
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


class UidRecorder:
    """Stands in for ``hashlib`` in :mod:`intake_ingest.files`: which run uids hash which names.

    A uid hashed over a name in the page's folder (or a local server's URL) is different
    for everyone; one hashed over other names (``memory://`` paths) is the same.
    """

    def __init__(self, folder):
        self.places = [os.fsencode(str(folder)), os.fsencode(os.path.realpath(folder)), b"://127.0.0.1:"]
        self.varying, self.fixed = set(), set()

    def sha256(self, *args):
        return _RecordingHash(self)


class _RecordingHash:
    def __init__(self, recorder):
        self.recorder, self.hash, self.names = recorder, hashlib.sha256(), []

    def update(self, data):
        self.names.append(bytes(data))
        self.hash.update(data)

    def digest(self):
        digest = self.hash.digest()
        uid = base64.urlsafe_b64encode(digest).decode()
        varies = any(place in name for name in self.names for place in self.recorder.places)
        (self.recorder.varying if varies else self.recorder.fixed).add(uid)
        return digest


def varying_uids(printed, shown, recorder):
    """The run uids of a block's output (and of the page's text for it) that differ per folder.

    Printed uids hashed here over the page's folder vary; so do printed uids made out of
    sight (in a worker process) that the page does not show. Uids the page shows but did
    not print here are masked: the printed ones they stand for are masked too, or else
    the comparison fails as it should (a fixed uid the page shows wrong).
    """
    printed_uids = set(RUN_UID.findall(printed))
    varying = {
        uid for uid in printed_uids
        if uid in recorder.varying or (uid not in recorder.fixed and uid not in shown)
    }
    return varying | (set(RUN_UID.findall(shown)) - (printed_uids - varying))


#: The pages whose examples run: the docs, and the README's (run as a fresh clone's user would).
PAGES = [*sorted(DOCS.rglob("*.md")), DOCS.parent / "README.md"]


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(DOCS.parent)))
def test_examples_run_and_print_what_the_page_shows(page, tmp_path, monkeypatch):
    import intake_ingest.files

    # Pages run in a fresh folder holding a copy of the example catalogs.
    shutil.copytree(DOCS.parent / "catalogs", tmp_path / "catalogs")
    monkeypatch.chdir(tmp_path)
    recorder = UidRecorder(tmp_path)
    monkeypatch.setattr(intake_ingest.files, "hashlib", recorder)
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
            printed, shown = printed.getvalue(), following.group(3)
            varying = varying_uids(printed, shown, recorder)
            assert masked(printed, varying) == masked(shown, varying), f"{page.name}:{line}"


def test_a_fixed_uid_shown_wrong_fails_and_a_folder_uid_is_masked(tmp_path):
    recorder = UidRecorder(tmp_path)
    fixed, other = "A" * 43 + "=", "B" * 43 + "="
    recorder.fixed.add(fixed)
    varying = varying_uids(fixed, other, recorder)
    assert masked(fixed, varying) != masked(other, varying)  # the page shows a fixed uid wrong
    assert masked(fixed, varying_uids(fixed, fixed, recorder)) == fixed  # compared as it is
    here = "C" * 43 + "="
    recorder.varying.add(here)
    varying = varying_uids(here, other, recorder)
    assert masked(here, varying) == masked(other, varying) == "<RUN UID>"
