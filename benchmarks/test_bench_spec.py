"""A multi-scan SPEC file: detect, ingest and read every scan, against silx ``SpecFile``.

Group ``spec-430-scans``: one SPEC file of 430 scans of 30 columns (21 to 101 rows each,
about 26,000 rows in all, 3.7 MB), written the way SPEC's standard macros write them (file
header with ``#O``/``#o`` motor names, per scan ``#S``, ``#D``, ``#T``, ``#G``, ``#Q``,
``#P`` positions, ``#N``, ``#L``, rows), modelled on the real file in
``tests/data/real/spec``, which holds only two scans.

- package: ``detect(path)``, ``ingest(plan)`` into a new in-memory catalog, then
  ``primary.read()`` of every run; the scan index of the file (its headers, read once
  per file version) is kept from the warm-up round;
- package, file changed: the same, with the file's modification time changed before
  each round, so that the index is read anew as for a file not seen before;
- baseline: ``silx.io.specfile.SpecFile(path)`` and ``.data`` of every scan (what the
  ingestor itself reads through silx, without the event model or xarray).

Target: the package at most 10x silx.
"""

import itertools
import os

import numpy as np
import pytest
from silx.io.specfile import SpecFile

from intake_ingest.detect import detect, ingest

N_SCANS = 430
N_COLUMNS = 30
N_MOTORS = 60
ROUNDS = dict(rounds=5, iterations=1, warmup_rounds=1)  # medians of 5: the machines are shared


def _labels():
    """30 column labels: the scanned motor, H K L, Epoch, Seconds, then counters (some with spaces)."""
    counters = [f"IC{n}" for n in range(1, 9)] + ["Cyber Mag", "Split Sum", "Split Pos", "Samp Temp"]
    counters += [f"ROI{n}" for n in range(N_COLUMNS - 6 - len(counters))]
    return ["Cryo X", "H", "K", "L", "Epoch", "Seconds", *counters]


def _file_header():
    names = [f"Motor {n}" for n in range(N_MOTORS)]
    mnemonics = [f"m{n}" for n in range(N_MOTORS)]
    lines = ["#F bench.spec", "#E 1519944045", "#D Thu Mar 01 16:40:45 2018", "#C fourc  User = bench", ""]
    lines += [f"#O{i} " + "  ".join(names[i * 8 : i * 8 + 8]) for i in range(0, N_MOTORS // 8 + 1)]
    lines += [f"#o{i} " + " ".join(mnemonics[i * 8 : i * 8 + 8]) for i in range(0, N_MOTORS // 8 + 1)]
    return "\n".join(lines) + "\n"


def _scan(number, rng, epoch):
    intervals = 20 + (number * 7) % 81
    lines = [
        "",
        f"#S {number}  ascan  cryox -610 190  {intervals} 0.1",
        "#D Thu Mar 01 16:41:51 2018",
        "#T 0.1  (Seconds)",
        "#G0 3 0 1 0 0 1 0 0 0 0 0 0 50 0 0.1 0 68 68 50 -1 1 1 3.13542 3.13542 0 463.6 838.8",
        "#Q 3.09342 5.02951 -1.25576",
    ]
    positions = rng.normal(0, 100, N_MOTORS).round(4)
    lines += [
        f"#P{i} " + " ".join(f"{p:g}" for p in positions[i * 8 : i * 8 + 8])
        for i in range(0, N_MOTORS // 8 + 1)
    ]
    lines += [f"#N {N_COLUMNS}", "#L " + "  ".join(_labels())]
    rows = intervals + 1
    table = rng.poisson(5000, size=(rows, N_COLUMNS)).astype(float)
    table[:, 0] = np.linspace(-610, 190, rows)
    table[:, 1:4] = (3.09342, 5.02951, -1.25576)
    table[:, 4] = epoch + np.arange(rows) * 0.82
    table[:, 5] = 0.1
    lines += [" ".join(f"{value:g}" for value in row) for row in table]
    return "\n".join(lines) + "\n", rows


@pytest.fixture(scope="module")
def spec_file(tmp_path_factory):
    """``(path, rows per scan)`` of the generated 430-scan file."""
    rng = np.random.default_rng(430)
    parts, counts, epoch = [_file_header()], [], 70.0
    for number in range(1, N_SCANS + 1):
        text, rows = _scan(number, rng, epoch)
        parts.append(text)
        counts.append(rows)
        epoch += rows + 30
    path = tmp_path_factory.mktemp("spec") / "bench.spec"
    path.write_text("".join(parts))
    return str(path), counts


@pytest.mark.benchmark(group="spec-430-scans")
def test_spec_silx_baseline(benchmark, spec_file):
    path, counts = spec_file
    benchmark.extra_info["role"] = "baseline"

    def read():
        specfile = SpecFile(path)
        try:
            return [specfile[index].data for index in range(len(specfile))]
        finally:
            specfile.close()

    tables = benchmark.pedantic(read, **ROUNDS)
    assert [table.shape for table in tables] == [(N_COLUMNS, rows) for rows in counts]


@pytest.mark.benchmark(group="spec-430-scans")
def test_spec_detect_ingest_read(benchmark, spec_file):
    path, counts = spec_file
    benchmark.extra_info["role"] = "package"

    def read():
        result = ingest(detect(path, progress=False), progress=False)
        assert not result.errors
        catalog = result.catalog
        return [catalog[uid].primary.read() for uid in catalog]

    datasets = benchmark.pedantic(read, **ROUNDS)
    assert sorted(dataset.sizes["time"] for dataset in datasets) == sorted(counts)
    assert all({"Cryo_X", "Epoch", "ROI11"} <= set(dataset.data_vars) for dataset in datasets)


@pytest.mark.benchmark(group="spec-430-scans")
def test_spec_detect_ingest_read_file_changed(benchmark, spec_file):
    path, counts = spec_file
    benchmark.extra_info["role"] = "package, index read anew"
    stamps = itertools.count(1_700_000_000)

    def touch():
        stamp = next(stamps)
        os.utime(path, (stamp, stamp))  # a new file version: nothing of it is cached
        return (), {}

    def read():
        result = ingest(detect(path, progress=False), progress=False)
        assert not result.errors
        catalog = result.catalog
        return [catalog[uid].primary.read() for uid in catalog]

    datasets = benchmark.pedantic(read, setup=touch, **ROUNDS)
    assert sorted(dataset.sizes["time"] for dataset in datasets) == sorted(counts)
