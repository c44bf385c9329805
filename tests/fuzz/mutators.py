"""Byte-level mutations of instrument files, each a pure function of the bytes and a seeded RNG.

Every mutator takes ``(data, rng)`` (``rng`` a :class:`random.Random`) and returns new
bytes; :func:`mutate` stacks one to three of them and says which, so a mutant is
reproduced from the seed file, the mutation names and the RNG seed alone. The
mutations aim at what damages files in practice (a cut transfer, a flipped bit, a
duplicated block) and at what parsers trust (declared sizes, counts and offsets in
headers, line lengths).
"""

import re

__all__ = ["MUTATORS", "mutate"]

#: Values a numeric header field is set to: sizes that would allocate gigabytes,
#: negative counts, zero, and numbers past 64 bits.
HUGE_NUMBERS = (b"0", b"-1", b"-2147483648", b"2147483647", b"4294967295", b"99999999999",
                b"18446744073709551617", b"1e308", b"nan", b"-0")
#: Bytes that parsers treat specially (NUL, the top bit, line ends, field separators).
INTERESTING_BYTES = (0x00, 0xFF, 0x7F, 0x80, 0x0A, 0x0D, 0x20, 0x23, 0x2C, 0x3A, 0x3D)
#: Where text headers usually end; numeric fields are searched for there first.
HEADER_BYTES = 4096

_NUMBER = re.compile(rb"(?<![A-Za-z_])[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def _position(data, rng, header_bias=0.5):
    """An offset in ``data``, inside the first :data:`HEADER_BYTES` with probability ``header_bias``."""
    if not data:
        return 0
    if rng.random() < header_bias:
        return rng.randrange(min(len(data), HEADER_BYTES))
    return rng.randrange(len(data))


def flip_bits(data, rng):
    """One to eight bits flipped, in the header half of the time."""
    if not data:
        return data
    mutant = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        index = _position(data, rng)
        mutant[index] ^= 1 << rng.randrange(8)
    return bytes(mutant)


def set_interesting_bytes(data, rng):
    """One to four bytes set to values parsers treat specially."""
    if not data:
        return data
    mutant = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        mutant[_position(data, rng)] = rng.choice(INTERESTING_BYTES)
    return bytes(mutant)


def set_binary_integer(data, rng):
    """A 2-, 4- or 8-byte field overwritten with 0, all ones or the top bit (binary headers' sizes)."""
    if len(data) < 8:
        return data
    width = rng.choice((2, 4, 8))
    index = min(_position(data, rng, header_bias=0.8), len(data) - width)
    value = rng.choice((b"\x00" * width, b"\xff" * width, b"\x7f" + b"\xff" * (width - 1),
                        b"\xff" * (width - 1) + b"\x7f"))
    return data[:index] + value + data[index + width:]


def truncate(data, rng):
    """The file cut short: anywhere, or within its header."""
    if not data:
        return data
    return data[: _position(data, rng, header_bias=0.3)]


def delete_chunk(data, rng):
    """A run of 1 to 512 bytes removed (offsets after it all shift)."""
    if not data:
        return data
    start = _position(data, rng)
    return data[:start] + data[start + rng.randint(1, 512):]


def duplicate_chunk(data, rng):
    """A run of 1 to 4096 bytes repeated in place (a block written twice)."""
    if not data:
        return data
    start = _position(data, rng)
    chunk = data[start : start + rng.randint(1, 4096)]
    return data[:start] + chunk * rng.randint(2, 3) + data[start:]


def insert_long_line(data, rng):
    """A line of 10 kB to 200 kB inserted (digits, letters or a header-like key)."""
    length = rng.randint(10_000, 200_000)
    filler = rng.choice((b"1", b"A", b"# ", b"#C ", b"1.5 ", b","))
    line = (filler * (length // len(filler) + 1))[:length] + b"\n"
    index = _position(data, rng)
    # At a line start (the file's start before its first line end), so text parsers see
    # a whole line.
    index = data.rfind(b"\n", 0, index) + 1
    return data[:index] + line + data[index:]


def set_numeric_field(data, rng):
    """A number in the header (a size, a count, a dimension, an offset) set to a huge, negative or odd value."""
    numbers = list(_NUMBER.finditer(data, 0, min(len(data), HEADER_BYTES)))
    if not numbers:
        numbers = list(_NUMBER.finditer(data))
    if not numbers:
        return insert_long_line(data, rng)
    match = rng.choice(numbers)
    return data[: match.start()] + rng.choice(HUGE_NUMBERS) + data[match.end():]


def splice_header(data, rng):
    """The first bytes of the file inserted again further in (a second header in the data)."""
    if not data:
        return data
    header = data[: rng.randint(1, min(len(data), HEADER_BYTES))]
    index = _position(data, rng, header_bias=0.2)
    return data[:index] + header + data[index:]


def empty(data, rng):
    """An empty file (a transfer that wrote nothing)."""
    return b""


#: Name -> mutator, with the weight of each in :func:`mutate` (frequent damage weighs more).
MUTATORS = {
    "flip_bits": (flip_bits, 4),
    "set_interesting_bytes": (set_interesting_bytes, 2),
    "set_binary_integer": (set_binary_integer, 3),
    "truncate": (truncate, 3),
    "delete_chunk": (delete_chunk, 2),
    "duplicate_chunk": (duplicate_chunk, 2),
    "insert_long_line": (insert_long_line, 1),
    "set_numeric_field": (set_numeric_field, 4),
    "splice_header": (splice_header, 1),
    "empty": (empty, 0.1),
}


def mutate(data, rng):
    """One to three mutations of ``data``, chosen with :data:`MUTATORS`' weights.

    Returns
    -------
    mutant : bytes
    names : list of str
        The mutations applied, in order.
    """
    names = list(MUTATORS)
    weights = [MUTATORS[name][1] for name in names]
    applied = rng.choices(names, weights, k=rng.choice((1, 1, 1, 2, 3)))
    for name in applied:
        data = MUTATORS[name][0](data, rng)
    return data, applied
