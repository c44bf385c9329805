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
