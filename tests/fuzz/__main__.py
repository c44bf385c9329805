"""The long fuzzing run: ``python -m tests.fuzz --budget 5000 --seed 1``.

Prints the mutants per format and outcome and every undocumented cause (format,
failure, exception, innermost intake_ingest frame, an example mutant), and with
``--save DIR`` writes each undocumented or known mutant's bytes there
(``<cause number>_<mutant number>_<file name>``, a few per cause) with a JSON index,
for triage and reproducers. Run it from the repository's root folder.
"""

import argparse
import json
import os
import re
import sys
import tempfile
import time

from .harness import FuzzWorker, figures, run_campaign, table
from .known_causes import KNOWN_CAUSES
from .seeds import all_seeds

#: Mutant files saved per cause with ``--save``.
SAVED_PER_CAUSE = 3


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=5000, help="number of mutants (default 5000)")
    parser.add_argument("--seed", type=int, default=1, help="campaign seed: same seed, same mutants")
    parser.add_argument("--timeout", type=float, default=20.0, help="wall seconds per mutant")
    parser.add_argument("--reader-timeout", type=float,
                        help="the isolation worker's limit (seconds without progress; default 0.4 of --timeout)")
    parser.add_argument("--format", action="append", help="only seeds of this format (repeatable)")
    parser.add_argument("--save", help="folder for the bytes of undocumented mutants and an index.json")
    parser.add_argument("--no-known", action="store_true", help="report allow-listed causes as UNDOCUMENTED too")
    arguments = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as scratch:
        seeds = all_seeds(os.path.join(scratch, "seeds"))
        if arguments.format:
            seeds = [seed for seed in seeds if seed.format in arguments.format]
        started = time.monotonic()
        done = []

        def progress(finding):
            done.append(finding)
            if len(done) % 100 == 0:
                print(f"{len(done)} mutants, {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)

        with FuzzWorker(timeout=arguments.timeout, reader_timeout=arguments.reader_timeout) as worker:
            findings = run_campaign(
                seeds, arguments.budget, arguments.seed, worker=worker, scratch=scratch, on_finding=progress,
                known_causes=() if arguments.no_known else KNOWN_CAUSES,
            )
    elapsed = time.monotonic() - started
    print(f"{len(findings)} mutants of {len(seeds)} seeds, campaign seed {arguments.seed}, {elapsed:.0f} s")
    print(table(findings))
    if arguments.save:
        _save(findings, arguments.save)
    return 1 if any(finding.outcome == "UNDOCUMENTED" for finding in findings) else 0


def _save(findings, folder):
    os.makedirs(folder, exist_ok=True)
    _, causes = figures(findings)
    index = []
    for number, (cause, members) in enumerate(sorted(causes.items(), key=lambda item: -len(item[1])), start=1):
        for finding in members[:SAVED_PER_CAUSE]:
            mutant = finding.mutant
            name = f"{number:02d}_{mutant.number}_{re.sub(r'[^A-Za-z0-9_.-]', '_', mutant.seed.target)}"
            with open(os.path.join(folder, name), "wb") as file:
                file.write(mutant.data)
            index.append({"file": name, "cause": list(cause), "count": len(members), "seed": mutant.seed.name,
                          "mutations": mutant.mutations, "detail": finding.detail,
                          "errors": finding.reply.get("errors", [])})
    with open(os.path.join(folder, "index.json"), "w") as file:
        json.dump(index, file, indent=1)


if __name__ == "__main__":
    sys.exit(main())
