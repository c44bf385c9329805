"""Where the scan blocks of a SPEC file begin and end: found with bytes searches, as the
regular expressions first used found them (silx starts a scan at a line beginning ``#S``
and a file header at one beginning ``#F``)."""

import random
import re

from intake_ingest.ingestors import spec as spec_module

_SCAN_START = re.compile(rb"^#S", re.M)
_BLOCK_START = re.compile(rb"^#[SF]", re.M)


def blocks_by_regular_expressions(content):
    blocks, line, previous = [], 1, 0
    for match in _SCAN_START.finditer(content):
        begin = match.start()
        line += content.count(b"\n", previous, begin)
        previous = begin
        following = _BLOCK_START.search(content, begin + 1)
        blocks.append((begin, following.start() if following else len(content), line))
    return blocks


def test_scan_blocks_are_those_the_regular_expressions_found():
    rng = random.Random(7)
    pieces = [b"#S 1 ascan", b"#F f.spec", b"#E 1", b"1 2 3", b"", b"#SX", b" #S 2", b"#L a  b", b"\r", b"#F", b"#S"]
    seen = set()
    for _ in range(3000):
        content = b"\n".join(rng.choice(pieces) for _ in range(rng.randrange(0, 12)))
        if rng.random() < 0.3:
            content = content.replace(b"\n", b"\r\n")
        blocks = spec_module._scan_blocks(content)
        assert blocks == blocks_by_regular_expressions(content), content
        seen.add(len(blocks))
    assert {0, 1, 2, 3} <= seen


def test_motor_lines_are_those_a_search_of_every_offset_finds(monkeypatch):
    """``#O``, ``#o``, ``#P`` and file header lines, matched at each control line's start,
    are those the expression matches trying every offset of the file (its ``^`` holds only
    at line starts), as its search of the whole file found them."""
    rng = random.Random(8)
    pieces = [b"#S 1 ascan", b"#F f.spec", b"#E 1", b"#O0 a  b", b"#o0 a b", b"#P0 1 2", b"#P1\t3", b"#O1 c",
              b"1 2", b"", b"#P0", b"#Px 1", b" #P0 1", b"#EX", b"#E", b"#O0 d  e", b"#P0 4 5\r"]  # fmt: skip
    files = []
    for _ in range(2000):
        content = b"\n".join(rng.choice(pieces) for _ in range(rng.randrange(0, 14)))
        blocks = spec_module._scan_blocks(content)
        files.append((content, blocks, spec_module._motor_lines(content, blocks)))
    monkeypatch.setattr(spec_module, "_line_starts", lambda content, prefix: range(len(content) + 1))
    motors_seen = 0
    for content, blocks, found in files:
        assert spec_module._motor_lines(content, blocks) == found, content
        motors_seen += sum(bool(positions) for _, positions, _ in found)
    assert motors_seen > 100
