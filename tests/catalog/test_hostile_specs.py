"""The corpus in tests/catalog/hostile/: refused by every safe entry point, nothing run or written.

See tests/catalog/hostile/README.md for how each spec says what is expected of it.
"""

import hashlib
import re
import shutil
import time
from pathlib import Path

import intake
import pytest

import intake_ingest
from intake_ingest import UnsafeCatalogError, check_catalog
from intake_ingest.cli import main

CORPUS = Path(__file__).parent / "hostile"
SPECS = sorted([*CORPUS.glob("*.yml"), *CORPUS.glob("*/catalog.yml")])
HOSTILE = [spec for spec in SPECS if "# refused:" in spec.read_text()]
ACCEPTED = [spec for spec in SPECS if "# accepted:" in spec.read_text()]
# Each safe route to a spec, refusals included, must end well within this (the
# "billion laughs" spec kept the old checker busy for minutes).
SECONDS_PER_ROUTE = 5


def spec_id(spec):
    return str(spec.relative_to(CORPUS))


def headers(spec, name):
    return re.findall(rf"^# {name}: (.+)$", spec.read_text(), flags=re.M)


@pytest.fixture
def corpus(tmp_path):
    """The corpus copied to tmp_path/specs with its placeholders filled in.

    Returns the copy's folder, the marker file payloads try to create and a stand-in
    site-packages folder (empty).
    """
    specs, site = tmp_path / "specs", tmp_path / "site-packages"
    site.mkdir()
    marker = tmp_path / "marker"
    shutil.copytree(CORPUS, specs)
    for path in specs.rglob("*.yml"):
        text = path.read_text().replace("@MARKER@", str(marker)).replace("@SITE@", str(site))
        path.write_text(text.replace("@SPECDIR@", str(path.parent)))
    return specs, marker, site


def snapshot(folder):
    """Every file under ``folder`` with its content's hash."""
    return {str(path): hashlib.sha256(path.read_bytes()).hexdigest() for path in folder.rglob("*") if path.is_file()}


def walk(catalog):
    """Open every entry of a catalog and of the catalogs in it, as a browsing user would."""
    for name in list(catalog):
        item = catalog[name]
        if isinstance(item, intake.catalog.Catalog):
            walk(item)


def open_with_intake_ingest(url):
    walk(intake_ingest.open_catalog(url))


def open_with_intake_and_the_safe_driver(url):
    walk(intake.open_catalog(url, driver="bluesky-yaml-catalog"))


def timed(call, *args):
    start = time.perf_counter()
    try:
        return call(*args)
    finally:
        assert time.perf_counter() - start < SECONDS_PER_ROUTE, f"{call.__name__} took too long"


@pytest.mark.parametrize("spec", HOSTILE, ids=spec_id)
def test_hostile_spec_is_refused_naming_the_path_and_nothing_runs(spec, corpus, capsys):
    specs, marker, site = corpus
    url = str(specs / spec.relative_to(CORPUS))
    before = snapshot(specs.parent)

    problems = timed(check_catalog, url)
    wheres = [problem.where for problem in problems]
    for expected in headers(spec, "refused"):
        assert any(expected in where for where in wheres), f"no refusal names {expected!r}: {problems}"
    assert all("\n" not in str(problem) for problem in problems)

    for opener in (open_with_intake_ingest, open_with_intake_and_the_safe_driver):
        with pytest.raises(UnsafeCatalogError) as refused:
            timed(opener, url)
        assert Path(refused.value.url).name in str(refused.value)

    capsys.readouterr()
    assert timed(main, ["catalog", "check", url]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"{url}: refused") and "Traceback" not in out
    assert headers(spec, "refused")[0] in out
    assert timed(main, ["ls", url]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith("intake-ingest: error: ") and "Traceback" not in captured.err

    assert not marker.exists(), "a payload ran"
    assert not any(site.iterdir()), "a file was written into site-packages"
    assert snapshot(specs.parent) == before, "a file was written or changed"


@pytest.mark.parametrize("spec", [spec for spec in HOSTILE if headers(spec, "intake-runs-it")], ids=spec_id)
def test_the_payloads_are_real_plain_intake_runs_them(spec, corpus):
    """Without this package's checks, intake does what the corpus says it would."""
    specs, marker, site = corpus
    url = str(specs / spec.relative_to(CORPUS))
    (when,) = headers(spec, "intake-runs-it")
    try:
        catalog = intake.open_catalog(url)
        if when.startswith("entry"):
            run = catalog.evil
            run.primary.read()  # caching filesystems write when the file is read
    except Exception:  # the payload runs before the entry fails
        pass
    if when == "entry-writes-site":
        assert (site / "evil.pth").exists()
    else:
        assert marker.exists()


@pytest.mark.parametrize("spec", ACCEPTED, ids=spec_id)
def test_specs_that_nest_files_many_times_are_checked_once_per_file(spec, corpus, capsys):
    specs, _, _ = corpus
    url = str(specs / spec.relative_to(CORPUS))
    assert timed(check_catalog, url) == []
    assert timed(main, ["catalog", "check", url]) == 0
    assert timed(main, ["ls", url]) == 0


def test_the_corpus_covers_every_class_of_the_issue():
    names = {spec_id(spec) for spec in HOSTILE}
    for expected in ["cls_entry_remake_instance.yml", "set_jinja_in_entry_metadata.yml",
                     "set_jinja_in_nested_catalog_args.yml", "filecache_pth_into_site_packages.yml",
                     "billion_laughs.yml", "deep_nesting_flow.yml", "self_nesting/catalog.yml",
                     "cli_malformed_entries.yml"]:
        assert expected in names
    assert len(HOSTILE) >= 30
    assert len((CORPUS / "billion_laughs.yml").read_bytes()) < 413
