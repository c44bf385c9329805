"""Opening specs from others through the allow-list: what is accepted, and how refusals read.

The hostile specs themselves are in tests/catalog/hostile/ (test_hostile_specs.py).
"""

import shutil
import textwrap

import numpy as np
import pytest
import tifffile

import intake_ingest
from intake_ingest import UnsafeCatalogError, check_catalog
from intake_ingest.catalog.spec_paths import PathPolicy
from intake_ingest.catalog.spec_schema import validate_spec
from intake_ingest.cli import main


def write(folder, name, text):
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def test_refusal_names_the_file_and_each_path_in_the_spec(tmp_path):
    path = write(tmp_path, "bad.yml", """
    sources:
      good:
        driver: bluesky-tiff-stack
        args: {filename: "{{ CATALOG_DIR }}/stack.tiff"}
      evil:
        driver: os.system
        args: {command: "touch pwned"}
    """)
    with pytest.raises(UnsafeCatalogError) as refused:
        intake_ingest.open_catalog(str(path))
    message = str(refused.value)
    assert message.startswith(f"{path}: refused")
    assert "  - sources.evil.driver: driver 'os.system' is an import path" in message
    assert [problem.where for problem in refused.value.problems] == ["sources.evil.driver"]
    assert not (tmp_path / "pwned").exists()


def test_a_file_changed_after_opening_is_checked_again_on_reload(example_catalogs):
    path = example_catalogs / "beamline.yml"
    cat = intake_ingest.open_catalog(str(path), ttl=0)
    assert "scans" in cat
    scans = cat.scans
    assert cat.scans is scans  # unchanged: the sources made are kept
    path.write_text(path.read_text() + "\n  evil:\n    cls: os.system\n")
    with pytest.raises(UnsafeCatalogError, match="sources.evil.cls"):
        list(cat)


@pytest.mark.parametrize("driver", ["yaml_file_cat", "bluesky-yaml-catalog"])
def test_a_nested_catalog_is_checked_whatever_driver_nests_it(tmp_path, driver):
    write(tmp_path, "inner.yml", """
    sources:
      evil:
        driver: bluesky-tiff-stack
        args: {filename: "{{ cycler.__init__.__globals__.os.popen('touch pwned') }}"}
    """)
    outer = write(tmp_path, "outer.yml", f"""
    sources:
      inner:
        driver: {driver}
        args: {{path: "{{{{ CATALOG_DIR }}}}/inner.yml"}}
    """)
    (problem,) = check_catalog(str(outer))
    assert problem.where == f"{tmp_path}/inner.yml sources.evil.args.filename"
    cat = intake_ingest.open_catalog(str(outer))  # the outer spec itself is fine
    with pytest.raises(UnsafeCatalogError, match="inner.yml"):
        cat.inner
    assert not (tmp_path / "pwned").exists()


def test_data_outside_the_spec_folder_needs_a_data_root(tmp_path, example_catalogs, monkeypatch, capsys):
    data = example_catalogs / "data" / "stack"
    specs = tmp_path / "specs"
    specs.mkdir()
    path = write(specs, "elsewhere.yml", f"""
    sources:
      stack:
        driver: bluesky-tiff-stack
        args: {{filename: "{data}/stack.tiff"}}
    """)
    (problem,) = check_catalog(str(path))
    assert problem.where == "sources.stack.args.filename" and "data root" in problem.reason
    cat = intake_ingest.open_catalog(str(path), data_roots=[str(data)])
    np.testing.assert_array_equal(cat.stack.primary.read()["image"].values, tifffile.imread(data / "stack.tiff"))
    # A root is a folder, not a prefix of names.
    assert check_catalog(str(path), data_roots=[str(data)[:-1]])
    # The command line takes them from the environment.
    assert main(["ls", str(path)]) == 1
    monkeypatch.setenv("INTAKE_INGEST_DATA_ROOTS", f"/nowhere;{data}")
    capsys.readouterr()
    assert main(["catalog", "check", str(path)]) == 0
    assert main(["ls", str(path), "--columns", "uid,entry"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith("  stack")


def test_env_and_parameters_are_refused_with_what_to_do_instead(tmp_path):
    path = write(tmp_path, "env.yml", """
    sources:
      run:
        driver: bluesky-tiff-stack
        parameters:
          name: {type: str, default: stack.tiff, description: file name}
        args:
          filename: "{{ env('BEAMLINE_DATA') }}/{{ name }}"
    """)
    problems = {problem.where: problem.reason for problem in check_catalog(str(path))}
    assert list(problems) == ["sources.run.args.filename", "sources.run.parameters"]
    assert "the only template" in problems["sources.run.args.filename"]
    assert "shell()" in problems["sources.run.parameters"]


def test_plain_yaml_values_dates_and_aliases_within_limits_are_accepted(tmp_path, example_catalogs):
    shared_args = "\n".join(
        f"  run_{index}:\n    driver: bluesky-tiff-stack\n    args: *stack" for index in range(1, 60)
    )
    path = write(example_catalogs, "many.yml", "metadata: {taken: 2024-01-01, '<<': merge key}\nsources:\n"
                 "  run_0:\n    driver: bluesky-tiff-stack\n    args: &stack\n"
                 "      filename: '{{ CATALOG_DIR }}/data/stack/stack.tiff'\n      lazy: true\n" + shared_args + "\n")
    cat = intake_ingest.open_catalog(str(path))
    assert cat.metadata == {"taken": "2024-01-01", "<<": "merge key"}
    assert len(list(cat)) == 60
    assert cat.run_59.primary.to_dask()["image"].shape == (5, 32, 32)
    description = cat._entries["run_3"].describe()
    assert description["driver"] == ["bluesky-tiff-stack"]
    assert description["args"]["filename"] == f"{example_catalogs}/data/stack/stack.tiff"


def test_entry_metadata_reaches_the_run_and_descriptions_the_entry(example_catalogs):
    cat = intake_ingest.open_catalog(str(example_catalogs / "beamline.yml"))
    assert cat.metadata["beamline"] == "example"
    assert cat._entries["stack"].describe()["description"] == "A multi-page TIFF stack, one event per page."
    path = write(example_catalogs, "md.yml", """
    sources:
      stack:
        driver: bluesky-tiff-stack
        metadata: {sample: silicon, tags: [a, b]}
        args: {filename: "{{ CATALOG_DIR }}/data/stack/stack.tiff"}
    """)
    run = intake_ingest.open_catalog(str(path)).stack
    assert run.metadata["sample"] == "silicon" and run.metadata["tags"] == ["a", "b"]


@pytest.mark.parametrize(
    ("catalog_dir", "options", "refused"),
    [
        ("http://host/cats", {"block_size": 0, "simple_links": False}, []),
        ("http://host/cats", {"block_size": True}, ["block_size"]),
        ("http://host/cats", {"client_kwargs": {"trust_env": True}, "headers": {"x": "y"}}, ["client_kwargs", "headers"]),
        ("/local/cats", {"block_size": 5}, ["block_size"]),
        ("memory://cats", {"auto_mkdir": True}, ["auto_mkdir"]),
    ],
)
def test_storage_options_per_protocol(catalog_dir, options, refused):
    spec = {"sources": {"run": {"driver": "bluesky-tiff-stack",
                                "args": {"filename": "{{ CATALOG_DIR }}/x.tiff", "storage_options": options}}}}
    plan, problems = validate_spec(spec, PathPolicy(catalog_dir))
    assert [problem.where.rsplit(".", 1)[1] for problem in problems] == refused
    if not refused:
        assert plan.entries[0].args["filename"] == f"{catalog_dir}/x.tiff"


def test_user_storage_options_reach_entries_inside_the_spec_folder(example_catalogs, tmp_path):
    archive = shutil.make_archive(str(tmp_path / "shared"), "zip", root_dir=tmp_path, base_dir="catalogs")
    url = f"zip://catalogs/beamline.yml::file://{archive}"
    assert check_catalog(url) == []
    cat = intake_ingest.open_catalog("zip://catalogs/beamline.yml", storage_options={"fo": archive})
    assert cat.detectors.stack_pages[0].primary.read()["image"].shape == (5, 32, 32)


def test_cli_catalog_check(tmp_path, example_catalogs, capsys):
    assert main(["catalog", "check", str(example_catalogs / "beamline.yml")]) == 0
    assert "OK, opens safely" in capsys.readouterr().out
    bad = write(tmp_path, "bad.yml", """
    sources:
      evil:
        driver: os.system
        args: {}
    """)
    assert main(["catalog", "check", str(bad)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{bad}: refused, nothing of it was used:"
    assert out[1].startswith("  - sources.evil.driver: driver 'os.system' is an import path")
    assert main(["catalog", "check", str(tmp_path / "missing.yml")]) == 1
    assert "catalog: cannot be read" in capsys.readouterr().out
    assert main(["ls", str(tmp_path / "missing.yml")]) == 1
    assert "cannot be read" in capsys.readouterr().err


def test_a_hostile_spec_nested_in_a_trusted_one_opened_by_plain_intake_is_refused(tmp_path):
    """intake's own loader is for trusted specs; what they nest with our driver is still checked."""
    import intake

    payload = tmp_path / "pwned"
    write(tmp_path, "shared.yml", f"""
    sources:
      evil:
        cls: subprocess.run
        args: [["touch", "{payload}"]]
    """)
    trusted = write(tmp_path, "mine.yml", """
    sources:
      shared:
        driver: bluesky-yaml-catalog
        args: {path: "{{ CATALOG_DIR }}/shared.yml"}
    """)
    cat = intake.open_catalog(str(trusted))
    with pytest.raises(UnsafeCatalogError, match="sources.evil.cls"):
        cat.shared
    assert not payload.exists()


def test_the_users_storage_options_reach_only_entries_inside_the_spec_folder(tmp_path):
    from intake_ingest.catalog.spec_entries import inherited_storage_options

    data = tmp_path / "data"
    data.mkdir()
    path = write(tmp_path / "data", "spec.yml", f"""
    sources:
      inside:
        driver: bluesky-tiff-stack
        args: {{filename: "{{{{ CATALOG_DIR }}}}/stack.tiff"}}
      root:
        driver: bluesky-tiff-stack
        args: {{filename: "{tmp_path}/other/stack.tiff"}}
    """)
    cat = intake_ingest.open_catalog(str(path), storage_options={"auto_mkdir": False},
                                     data_roots=[str(tmp_path / "other")])
    inside, root = (cat._entries[name].plan for name in ("inside", "root"))
    assert inherited_storage_options(inside, cat) == {"auto_mkdir": False}
    assert inherited_storage_options(root, cat) == {}


def test_a_data_root_of_an_unknown_protocol_is_a_one_line_refusal(example_catalogs):
    with pytest.raises(UnsafeCatalogError, match=r"data roots: cannot be used \(Protocol not known: nosuch\)"):
        intake_ingest.open_catalog(str(example_catalogs / "beamline.yml"), data_roots=["nosuch://x"])
