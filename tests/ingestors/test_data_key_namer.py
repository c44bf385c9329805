"""DataKeyNamer keeps only the folded (lower-case) keys it gave: the names it gives stay those
of folding all the keys taken so far anew for every name."""

import random

from intake_ingest.ingestors import _common
from intake_ingest.ingestors._common import DataKeyNamer, safe_key


def key_folding_every_time(name, taken, fallback="value"):
    """The rule as first written: the lower-case set of ``taken`` built for every name."""
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


def test_names_are_those_of_folding_the_taken_keys_anew_for_every_name():
    rng = random.Random(12)
    for _ in range(200):
        batch = names(rng, rng.randrange(1, 60))
        start = set(rng.sample(["time_2", "Image", "X", "ts_motor_1", "VALUE"], rng.randrange(0, 3)))
        namer, taken = DataKeyNamer(start), set(start)
        other_namer, other_taken = DataKeyNamer(), set()
        for name in batch:
            fallback = rng.choice(["value", "axis", "2-col"])
            assert namer(name, fallback=fallback) == key_folding_every_time(name, taken, fallback)
            if rng.random() < 0.25:  # another stream named meanwhile: namers share nothing
                assert other_namer(name) == key_folding_every_time(name, other_taken)


def test_the_keys_taken_at_the_start_are_kept_clear_of_whatever_their_case():
    namer = DataKeyNamer(["IMAGE", "ts_i0"])  # ts_image clashes with image, _2, _3
    assert [namer(name) for name in ["image", "I0", "Image", "ts_image"]] == ["image_2", "I0_2", "Image_3", "ts_image_4"]


def test_a_namer_takes_any_iterable_and_leaves_it_as_it_is():
    taken = {"x"}
    namer = DataKeyNamer(key for key in taken)
    assert namer("x") == "x_2"
    assert taken == {"x"}
