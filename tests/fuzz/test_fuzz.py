"""Fuzzing in CI: a small seeded campaign over every ingestor and the msgpack reader.

Every mutant (one seed file damaged, :mod:`tests.fuzz.mutators`) is detected and
ingested as the command line does (in the isolation worker, whose time limit stops a
reader after 4 s without progress), then read completely, in a child process limited
to 2 GB of address space and 10 s; only the documented
outcomes are allowed (a run, a partial run with an IngestWarning naming the file, an
IngestError naming the file, an unrecognised file), apart from the reported bugs of
:data:`tests.fuzz.known_causes.KNOWN_CAUSES`. The long run is
``python -m tests.fuzz --budget 5000 --seed N`` (see docs/reliability.md).
"""

import json
import os
import random
import signal

import pytest
from hypothesis import HealthCheck, given, settings

from intake_ingest.registry import ingestor_names

from . import mutators
from .harness import DOCUMENTED, FuzzWorker, Mutant, classify, run_campaign, run_mutant, table, write_mutant
from .known_causes import KNOWN_CAUSES
from .seeds import Seed, all_seeds
from .strategies import column_text_files, msgpack_run_files, spec_files

#: Mutants in the CI campaign: 80 s measured on two busy cores, 23 or more per format.
CI_BUDGET = 450
#: The CI campaign's seed: fixed, so a failure reproduces with
#: ``python -m tests.fuzz --budget 450 --seed 20261127 --save DIR``.
CI_SEED = 20261127
#: Examples per hypothesis strategy in CI.
CI_EXAMPLES = 30


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    return all_seeds(str(tmp_path_factory.mktemp("seeds")))


#: Wall seconds per mutant in CI: the slowest seed reads in about 1.5 s on a busy core;
#: a hang (a known cause) costs this much.
CI_TIMEOUT = 10


@pytest.fixture(scope="module")
def worker():
    with FuzzWorker(timeout=CI_TIMEOUT) as running:
        yield running


@pytest.fixture(scope="module")
def short_worker():
    """A worker of its own for misbehaving readers: a hang costs 3 s, not 20."""
    with FuzzWorker(timeout=3) as running:
        yield running


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    return str(tmp_path_factory.mktemp("mutants"))


# -- mutators --------------------------------------------------------------------------

HEADER = b"#F sample.spec\n#N 5\n#L th  Epoch  Detector\n" + b"10 150 12\n" * 40


@pytest.mark.parametrize("name", sorted(mutators.MUTATORS))
def test_a_mutator_gives_the_same_bytes_for_the_same_rng_seed(name):
    mutator = mutators.MUTATORS[name][0]
    first = [mutator(HEADER, random.Random(seed)) for seed in range(20)]
    assert first == [mutator(HEADER, random.Random(seed)) for seed in range(20)]
    if name not in ("set_binary_integer", "set_interesting_bytes"):  # may write the byte already there
        assert all(mutant != HEADER for mutant in first), "a mutation left the file as it was"


def test_numeric_header_fields_become_huge_negative_or_odd_numbers():
    header = b"#F sample.spec\n#N 5\n#L th  Epoch  Detector\n"  # one number: the column count
    mutants = [mutators.set_numeric_field(header, random.Random(seed)) for seed in range(100)]
    assert {mutant.split(b"\n")[1] for mutant in mutants} == {b"#N " + number for number in mutators.HUGE_NUMBERS}


def test_truncation_keeps_a_prefix_and_long_lines_are_whole_lines():
    rng = random.Random(3)
    for _ in range(50):
        cut = mutators.truncate(HEADER, rng)
        assert HEADER.startswith(cut) and len(cut) < len(HEADER)
        longer = mutators.insert_long_line(HEADER, rng)
        line = max(longer.split(b"\n"), key=len)
        assert len(line) >= 10_000 and longer.replace(line + b"\n", b"", 1) == HEADER


def test_mutate_stacks_named_mutations_reproducibly():
    results = [mutators.mutate(HEADER, random.Random(seed)) for seed in range(300)]
    assert results == [mutators.mutate(HEADER, random.Random(seed)) for seed in range(300)]
    assert {len(names) for _, names in results} == {1, 2, 3}
    # Every mutation is drawn (the empty file is rare on purpose: one kind of mutant).
    assert {name for _, names in results for name in names} >= set(mutators.MUTATORS) - {"empty"}


# -- the harness: each way a child can end is classified -------------------------------

MISBEHAVING = [
    ("segfault", "UNDOCUMENTED", "crash SIGSEGV"),
    ("hang", "UNDOCUMENTED", "timeout"),
    ("allocate", "UNDOCUMENTED", "memory"),
    ("overwrite", "UNDOCUMENTED", "source file changed"),
    ("raise_plain", "UNDOCUMENTED", "exception"),
    ("raise_nameless", "UNDOCUMENTED", "error without the file name"),
    ("raise_named", "error", None),
]


@pytest.mark.parametrize("function, outcome, failure", MISBEHAVING)
def test_every_way_a_reader_can_fail_is_classified(tmp_path, short_worker, function, outcome, failure):
    seed = Seed("harness", "harness", {"file.dat": b"1 2 3\n"}, "file.dat")
    mutant = Mutant(seed, 0, seed.data, [])
    folder = tmp_path / "files"
    hashes = write_mutant(mutant, str(folder))
    reply = short_worker.run(folder, folder / "file.dat", "call", function=f"tests.fuzz.misbehaving:{function}")
    # The worker survives what its children do: the next mutant runs.
    assert short_worker.run(folder, folder / "file.dat", "call",
                            function="tests.fuzz.misbehaving:raise_named").get("errors")
    finding = classify(mutant, reply, str(folder), hashes)
    assert finding.outcome == outcome
    assert (finding.cause[1] if finding.cause else None) == failure
    if function == "segfault":
        assert reply["signal"] == signal.SIGSEGV and "misbehaving.py" in reply["crash_log"]
    if function == "hang":
        assert reply["timed_out"] and "misbehaving.py" in reply["crash_log"]  # where it hung


def test_a_known_cause_is_reported_as_known_only_where_it_matches(tmp_path):
    from .known_causes import KnownCause

    seed = Seed("harness", "harness", {"file.dat": b"1 2 3\n"}, "file.dat")
    mutant = Mutant(seed, 0, seed.data, [])
    reply = {"runs": 1, "errors": [{"type": "KeyError", "ingest_error": False, "message": "'Dim_1'", "frames": []}]}
    matching = KnownCause("harness", "exception", "KeyError", r"Dim_\d", "a test entry")
    other_format = KnownCause("spec", "exception", "KeyError", r"Dim_\d", "a test entry")
    other_message = KnownCause("harness", "exception", "KeyError", r"Dim_2", "a test entry")
    assert classify(mutant, reply, str(tmp_path), {}, [other_format, other_message]).outcome == "UNDOCUMENTED"
    finding = classify(mutant, reply, str(tmp_path), {}, [other_format, matching])
    assert finding.outcome == "known" and finding.known == "a test entry"


def test_known_causes_are_specific():
    formats = set(ingestor_names()) | {"msgpack"}
    for known in KNOWN_CAUSES:
        assert known.format in formats and known.failure and known.message.strip(".*") and len(known.reason) > 20


# -- seeds -----------------------------------------------------------------------------


def test_every_ingestor_and_msgpack_have_seeds_that_read_as_that_format(seeds, worker, scratch):
    assert {seed.format for seed in seeds} == set(ingestor_names()) | {"msgpack"}
    for seed in seeds:
        finding = run_mutant(worker, Mutant(seed, 0, seed.data, []), scratch)
        assert finding.outcome in DOCUMENTED, (seed.name, finding.cause, finding.detail)
        if seed.kind == "files":
            assert finding.reply["ingestors"] and set(finding.reply["ingestors"]) == {seed.format}, seed.name
        if seed.name.startswith("generated/"):  # written here to be read whole
            assert finding.outcome in ("ok", "partial") and finding.reply["read"] == finding.reply["runs"], seed.name


# -- the seeded campaign ---------------------------------------------------------------


def test_seeded_campaign_finds_no_undocumented_outcome(seeds, worker, scratch):
    findings = run_campaign(seeds, CI_BUDGET, CI_SEED, known_causes=KNOWN_CAUSES, worker=worker, scratch=scratch)
    report = table(findings)
    print(report)  # the figures, in pytest's output with -s or on failure
    per_format = {}
    for finding in findings:
        per_format.setdefault(finding.mutant.seed.format, []).append(finding.outcome)
    assert set(per_format) == set(ingestor_names()) | {"msgpack"}
    assert min(len(outcomes) for outcomes in per_format.values()) >= CI_BUDGET // len(per_format)
    # The mutations damage files: most formats see errors, not only clean reads.
    assert sum(1 for outcomes in per_format.values() if "error" in outcomes) >= len(per_format) // 2
    undocumented = [finding for finding in findings if finding.outcome == "UNDOCUMENTED"]
    assert not undocumented, report


# -- structured inputs (hypothesis) ----------------------------------------------------

STRUCTURED = settings(
    max_examples=CI_EXAMPLES, derandomize=True, deadline=None, database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _structured(worker, scratch, fmt, name, data, kind="files"):
    seed = Seed(f"hypothesis/{fmt}", fmt, {name: data}, name, kind=kind)
    finding = run_mutant(worker, Mutant(seed, 0, data, ["hypothesis"]), scratch, KNOWN_CAUSES)
    assert finding.outcome in DOCUMENTED + ("known",), (finding.cause, finding.detail, data[:300])
    return finding


@STRUCTURED
@given(data=msgpack_run_files())
def test_msgpack_files_of_any_documents_are_read_or_refused_naming_the_file(worker, scratch, data):
    _structured(worker, scratch, "msgpack", "run.msgpack", data, kind="msgpack")


@STRUCTURED
@given(data=spec_files())
def test_spec_files_of_any_header_values_are_read_or_refused_naming_the_file(worker, scratch, data):
    _structured(worker, scratch, "spec", "sample.spec", data)


@STRUCTURED
@given(data=column_text_files())
def test_column_text_of_any_header_and_rows_is_read_or_refused_naming_the_file(worker, scratch, data):
    _structured(worker, scratch, "column_text", "pattern.csv", data)


# -- reproducers of reported bugs -----------------------------------------------------

REGRESSIONS = os.path.join(os.path.dirname(__file__), "regressions")


def _regressions():
    with open(os.path.join(REGRESSIONS, "index.json")) as file:
        return json.load(file)


#: Wall seconds a reproducer may take, and the isolation worker's limit within them: the
#: hangs among them are hangs, not slowness, and must be stopped by the worker's limit.
REPLAY_TIMEOUT = 10
REPLAY_READER_TIMEOUT = 2


@pytest.fixture(scope="module")
def replayed(scratch):
    """Each saved reproducer (its files under their original names) run once and classified, by id."""
    findings = {}
    with FuzzWorker(timeout=REPLAY_TIMEOUT, reader_timeout=REPLAY_READER_TIMEOUT) as replay_worker:
        for entry in _regressions():
            files = {}
            for name, saved in entry["files"].items():
                with open(os.path.join(REGRESSIONS, saved), "rb") as file:
                    files[name] = file.read()
            seed = Seed(f"regression/{entry['id']}", entry["format"], files, entry["target"],
                        entry.get("ingestor"), entry.get("kind", "files"))
            mutant = Mutant(seed, 0, seed.data, ["regression"])
            findings[entry["id"]] = run_mutant(replay_worker, mutant, scratch, KNOWN_CAUSES)
    return findings


@pytest.mark.parametrize("entry", _regressions(), ids=lambda entry: entry["id"])
def test_reproducers_of_reported_bugs_give_a_documented_or_known_outcome(replayed, entry):
    finding = replayed[entry["id"]]
    assert finding.outcome in DOCUMENTED + ("known",), (finding.cause, finding.detail)


@pytest.mark.parametrize("entry", [e for e in _regressions() if "hang" in e["id"]], ids=lambda entry: entry["id"])
def test_reproducers_of_hangs_are_stopped_by_the_isolation_worker_naming_the_file(replayed, entry):
    # libhdf5 never returning from an attribute read, tifffile looping on a circular IFD:
    # the worker's time limit ends them, as unrecognised files or run errors naming them.
    finding = replayed[entry["id"]]
    assert finding.outcome in ("unrecognised", "error"), (finding.cause, finding.detail)
    assert finding.reply["stopped"] >= 1 and not finding.reply["timed_out"]
    said = finding.reply["unrecognised"] + [error["message"] for error in finding.reply["errors"]]
    assert any(f"gave no answer within {REPLAY_READER_TIMEOUT} s" in text for text in said), said


def test_every_known_cause_still_happens(replayed):
    # An allow-list entry that no reproducer triggers any more is a fixed bug: remove the
    # entry, so that CI fails if it comes back.
    matched = {finding.known for finding in replayed.values() if finding.outcome == "known"}
    fixed = [known for known in KNOWN_CAUSES if known.reason not in matched]
    assert not fixed, "fixed (remove from tests/fuzz/known_causes.py): " + "; ".join(k.reason for k in fixed)
