"""unique_key keeps the folded (lower-case) keys between calls: the names it gives stay those
of folding the whole ``taken`` set anew on every call, whatever the caller does in between."""

import random

from intake_ingest.ingestors import _common
from intake_ingest.ingestors._common import safe_key, unique_key


def unique_key_folding_every_time(name, taken, fallback="value"):
    """The rule as first written: the lower-case set of ``taken`` built on every call."""
    base = safe_key(name, fallback)
    folded = {str(key).lower() for key in taken}
    key, suffix = base, 2
    while _common._clashes(key, folded):
        tail = f"_{suffix}"
        key, suffix = _common._truncated(base, _common.KEY_BYTES - len(tail)) + tail, suffix + 1
    taken.add(key)
    return key


def names(rng, count):
    pool = ["Time", "time", "EPOCH", "epoch", "x", "ts_x", "TS_X", "2-theta", "2_theta", "I0/I00", "", "-",
            "a" * 80, "seq_num", "uid", "Motor 1", "motor_1", "MOTOR 1", "é" * 40, "value", "value_2"]  # fmt: skip
    return [rng.choice(pool) + rng.choice(["", "", "_2", " 3"]) for _ in range(count)]


def test_names_are_those_of_folding_taken_anew_on_every_call():
    rng = random.Random(12)
    for _ in range(200):
        batch = names(rng, rng.randrange(1, 60))
        fast, slow = {"time_2"}, {"time_2"}
        other_fast, other_slow = set(), set()
        for name in batch:
            assert unique_key(name, fast) == unique_key_folding_every_time(name, slow)
            # the caller changes its set between calls, or names keys of another set meanwhile
            change = rng.random()
            if change < 0.1:
                extra = rng.choice(["TIME_3", "x_2", "Epoch_2", "motor_1_2"])
                fast.add(extra), slow.add(extra)
            elif change < 0.15 and fast:
                gone = sorted(fast)[0]
                fast.discard(gone), slow.discard(gone)
            elif change < 0.25:
                assert unique_key(name, other_fast) == unique_key_folding_every_time(name, other_slow)
        assert fast == slow and other_fast == other_slow


def test_a_set_changed_to_the_same_size_between_calls_is_folded_anew():
    taken = set()
    assert unique_key("a", taken) == "a"
    taken.discard("a")
    taken.add("B")  # same length as before: the kept copy still tells the change
    assert unique_key("b", taken) == "b_2"
    assert unique_key("A", taken) == "A"  # 'a' was taken away


def test_a_new_set_at_the_address_of_a_freed_one_is_folded_anew():
    for _ in range(50):
        assert unique_key("x", {"X"}) == "x_2"  # temporary sets often reuse one address
        assert unique_key("x", set()) == "x"
