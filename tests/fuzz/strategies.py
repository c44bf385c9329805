"""Hypothesis strategies for structured inputs: msgpack run files, SPEC files and column text.

Byte mutations rarely produce a file that is valid msgpack yet breaks the event model
(a RunStart whose uid is a map, an event page of an unknown descriptor, an array map
of an odd dtype), or a SPEC header whose counts disagree with its rows. These
strategies build such files from their structure: plausible documents and header
lines with any values where the reader trusts a type, a count or a shape.
"""

import msgpack
from hypothesis import strategies as st

__all__ = ["column_text_files", "msgpack_run_files", "spec_files"]

# Integers within msgpack's range (it has no bigger ones).
_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**64 - 1), st.floats(allow_nan=True),
    st.text(max_size=12), st.binary(max_size=12),
)
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.text(max_size=6), inner, max_size=3), max_leaves=8)

_DTYPES = ["<f8", "<u2", "|u1", "<i4", "|b1", "<U4", "|S3", "|O", "<M8[ns]", "|V8", "", "<f16", "zz"]


@st.composite
def _array_maps(draw):
    """A msgpack-numpy array map, its dtype, shape and data possibly disagreeing."""
    shape = draw(st.lists(st.integers(-2, 2**31), max_size=3) | st.just([2]))
    return {
        b"nd": draw(st.sampled_from([True, False, 1, None])),
        b"type": draw(st.sampled_from(_DTYPES) | st.text(max_size=5)),
        b"kind": draw(st.sampled_from([b"", b"V", b"O"])),
        b"shape": shape,
        b"data": draw(st.binary(max_size=40)),
    }


@st.composite
def _documents(draw):
    uid = draw(st.sampled_from(["run-1", "x"]) | _values)
    start = {"uid": uid, "time": draw(st.floats(allow_nan=True) | _values)}
    start.update(draw(st.dictionaries(st.text(max_size=8), _values, max_size=3)))
    descriptor_uid = draw(st.sampled_from(["d-1", "d-2"]))
    key = draw(st.sampled_from(["x", "image", ""]) | st.text(max_size=4))
    descriptor = {
        "uid": descriptor_uid, "run_start": uid, "time": 1.0, "name": draw(st.sampled_from(["primary", "", "2"])),
        "data_keys": draw(st.just({key: {"dtype": "number", "shape": [], "source": "s"}})
                          | st.dictionaries(st.text(max_size=4), _values, max_size=2)),
    }
    rows = draw(st.integers(0, 3))
    value = draw(_array_maps() | _values)
    page = {
        "descriptor": draw(st.sampled_from(["d-1", "d-2", "unknown"])), "uid": [f"e{i}" for i in range(rows)],
        "time": [1.0] * rows, "seq_num": list(range(1, rows + 1)), "filled": {},
        "data": {key: [value] * draw(st.integers(0, rows + 1))}, "timestamps": {key: [1.0] * rows},
    }
    stop = {"uid": "s", "run_start": uid, "time": 2.0, "exit_status": draw(st.sampled_from(["success", 7])),
            "num_events": draw(st.dictionaries(st.text(max_size=4), _values, max_size=2))}
    documents = [["start", start], ["descriptor", descriptor], ["event_page", page], ["stop", stop]]
    # Documents dropped, repeated or out of order, and documents of unknown names.
    order = draw(st.lists(st.integers(0, 3), min_size=1, max_size=6)
                 | st.just([0, 1, 2, 3]))
    chosen = [documents[index] for index in order]
    if draw(st.booleans()):
        chosen.insert(draw(st.integers(0, len(chosen))), [draw(st.text(max_size=8)), draw(_values)])
    return chosen


@st.composite
def msgpack_run_files(draw):
    """The bytes of a msgpack run file: documents as ``[name, doc]`` arrays, possibly cut."""
    data = b"".join(msgpack.packb(document, use_bin_type=True) for document in draw(_documents()))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return data


_numbers = st.one_of(
    st.integers(-(2**65), 2**65).map(str), st.floats(allow_nan=True).map(repr),
    st.sampled_from(["", "nan", "inf", "1e308", "-0", "0x10", "1,5"]),
)


@st.composite
def spec_files(draw):
    """A SPEC file: file header, then scans whose #N, #L and rows may disagree."""
    lines = ["#F sample.spec", f"#E {draw(_numbers)}", "#D Wed Nov 03 13:39:34 2010",
             f"#O0 {' '.join(draw(st.lists(st.sampled_from(['Two Theta', 'Chi', 'th']), max_size=4)))}"]
    for number in range(1, draw(st.integers(1, 3)) + 1):
        columns = draw(st.integers(0, 4))
        lines += ["", f"#S {draw(st.sampled_from([str(number), '1', '-1']) | _numbers)}  ascan th 0 1 "
                      f"{draw(_numbers)} {draw(_numbers)}",
                  "#D Wed Nov 03 13:42:03 2010", f"#P0 {' '.join(draw(st.lists(_numbers, max_size=4)))}",
                  f"#N {draw(st.sampled_from([str(columns)]) | _numbers)}",
                  "#L " + "  ".join(draw(st.lists(st.sampled_from(["th", "Epoch", "I0", "Detector", "th"]),
                                                   min_size=columns, max_size=columns)))]
        lines += [" ".join(draw(st.lists(_numbers, min_size=0, max_size=columns + 1)))
                  for _ in range(draw(st.integers(0, 4)))]
        lines += draw(st.lists(st.sampled_from(["#C aborted", "#@MCA 16C", "@A 1 2 3", "#G0 1 2", ""]),
                               max_size=2))
    return ("\n".join(lines) + draw(st.sampled_from(["\n", ""]))).encode(draw(st.sampled_from(["utf-8", "latin-1"])),
                                                                           "replace")


@st.composite
def column_text_files(draw):
    """Column text: comment headers, a label line and rows of any length and number format."""
    separator = draw(st.sampled_from([",", " ", "\t", ";"]))
    columns = draw(st.integers(1, 4))
    lines = draw(st.lists(st.sampled_from(["# exported", "# wavelength: 1.5406", "#", "% matlab"]), max_size=3))
    if draw(st.booleans()):
        lines.append(separator.join(draw(st.lists(st.sampled_from(["tth", "I", "err", "tth", ""]),
                                                  min_size=columns, max_size=columns))))
    lines += [separator.join(draw(st.lists(_numbers, min_size=max(columns - 1, 0), max_size=columns + 1)))
              for _ in range(draw(st.integers(0, 8)))]
    return "\n".join(lines).encode()
