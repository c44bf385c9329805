"""A catalog spec from elsewhere must not be able to run code."""

import textwrap

import intake
import pytest

import intake_ingest
from intake_ingest import UnsafeCatalogError, check_catalog
from intake_ingest.cli import main


def write(folder, name, text):
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def spec_with(entry, parameters=""):
    return f"""
    metadata:
      version: 1
    sources:
      harmless:
        driver: bluesky-tiff-stack
        args:
          filename: "{{{{ CATALOG_DIR }}}}/stack.tiff"
      evil:
{textwrap.indent(textwrap.dedent(entry), " " * 8)}
    {parameters}
    """


def assert_refused(path, payload, match):
    with pytest.raises(UnsafeCatalogError, match=match) as info:
        cat = intake_ingest.open_catalog(str(path))
        cat.evil  # only reached if the spec was not refused
    assert str(path) in str(info.value) or path.name in str(info.value)
    assert not payload.exists(), "the payload ran"
    assert check_catalog(str(path)), "check_catalog must report it too"
    return info.value


def test_shell_template_is_refused_and_does_not_run(tmp_path):
    payload = tmp_path / "pwned"
    path = write(tmp_path, "shell.yml", spec_with(f"""
        driver: bluesky-tiff-stack
        args:
          filename: "{{{{ shell('touch {payload}') }}}}"
    """))
    error = assert_refused(path, payload, "shell command")
    assert "sources.evil" in str(error)
    # Even asking intake for shell expansion runs nothing through the safe opener.
    with pytest.raises(UnsafeCatalogError):
        intake_ingest.open_catalog(str(path), getshell=True)
    assert not payload.exists()


def test_shell_parameter_default_is_refused(tmp_path):
    payload = tmp_path / "pwned"
    path = write(tmp_path, "param.yml", spec_with("""
        driver: bluesky-tiff-stack
        args:
          filename: "{{ where }}"
        parameters:
          where:
            type: str
            default: "client_shell(touch /tmp/x)"
    """))
    assert_refused(path, payload, "shell command")


def test_jinja_expression_reaching_into_python_is_refused_though_intake_would_run_it(tmp_path):
    payload = tmp_path / "pwned"
    attack = f"{{{{ cycler.__init__.__globals__.os.popen('touch {payload}').read() }}}}"
    path = write(tmp_path, "ssti.yml", spec_with(f"""
        driver: bluesky-tiff-stack
        args:
          filename: "{attack}"
    """))
    assert_refused(path, payload, "more than a name")
    # Plain intake renders it with an unsandboxed Jinja environment: the danger is real.
    cat = intake.open_catalog(str(path))
    with pytest.raises(Exception):
        cat.evil
    assert payload.exists()


def test_import_path_driver_is_refused(tmp_path):
    payload = tmp_path / "pwned"
    path = write(tmp_path, "driver.yml", spec_with(f"""
        driver: os.system
        args:
          command: "touch {payload}"
    """))
    error = assert_refused(path, payload, "driver 'os.system' is an import path")
    assert "sources.evil" in str(error)


def test_driver_class_in_a_mapping_is_refused(tmp_path):
    path = write(tmp_path, "mapping.yml", spec_with("""
        driver:
          fast:
            class: subprocess.Popen
        args: {}
    """))
    assert_refused(path, tmp_path / "none", "subprocess.Popen")


def test_plugins_section_is_refused(tmp_path):
    path = write(tmp_path, "plugins.yml", spec_with("""
        driver: bluesky-tiff-stack
        args: {filename: x.tiff}
    """, parameters="""
    plugins:
      source:
        - module: antigravity
    """))
    assert_refused(path, tmp_path / "none", "plugins")


def test_python_yaml_tags_are_refused(tmp_path):
    path = write(tmp_path, "tags.yml", """
    sources:
      evil: !!python/object/apply:os.system ["touch pwned"]
    """)
    with pytest.raises(UnsafeCatalogError, match="not plain YAML"):
        intake_ingest.open_catalog(str(path))


def test_nested_catalog_is_checked_whatever_driver_nests_it(tmp_path):
    payload = tmp_path / "pwned"
    write(tmp_path, "inner.yml", spec_with(f"""
        driver: bluesky-tiff-stack
        args:
          filename: "{{{{ shell('touch {payload}') }}}}"
    """))
    for driver in ["yaml_file_cat", "bluesky-yaml-catalog"]:
        outer = write(tmp_path, f"outer-{driver}.yml", f"""
        sources:
          inner:
            driver: {driver}
            args:
              path: "{{{{ CATALOG_DIR }}}}/inner.yml"
        """)
        problems = check_catalog(str(outer))
        assert problems and "inner.yml" in str(problems[0]) and "sources.evil" in str(problems[0])
        cat = intake_ingest.open_catalog(str(outer))  # the outer spec itself is fine
        with pytest.raises(UnsafeCatalogError, match="inner.yml"):
            cat.inner
        assert not payload.exists()


def test_a_file_changed_after_opening_is_checked_again_on_reload(tmp_path, example_catalogs):
    path = example_catalogs / "beamline.yml"
    cat = intake_ingest.open_catalog(str(path), ttl=0)
    assert "scans" in cat
    path.write_text(path.read_text() + "\n  evil:\n    driver: os.system\n    args: {}\n")
    with pytest.raises(UnsafeCatalogError, match="os.system"):
        list(cat)


def test_yaml_files_cat_is_refused(tmp_path):
    path = write(tmp_path, "many.yml", """
    sources:
      everything:
        driver: yaml_files_cat
        args:
          path: "{{ CATALOG_DIR }}/*.yml"
    """)
    assert "yaml_files_cat" in str(check_catalog(str(path)))


def test_plain_names_and_env_are_accepted(tmp_path, monkeypatch):
    monkeypatch.setenv("BEAMLINE_DATA", str(tmp_path))
    path = write(tmp_path, "ok.yml", """
    sources:
      run:
        driver: bluesky-tiff-stack
        parameters:
          name: {type: str, default: stack.tiff, description: file name}
        args:
          filename: "{{ env('BEAMLINE_DATA') }}/{{ name }}"
    """)
    assert check_catalog(str(path)) == []
    assert list(intake_ingest.open_catalog(str(path))) == ["run"]


def test_cli_catalog_check(tmp_path, example_catalogs, capsys):
    assert main(["catalog", "check", str(example_catalogs / "beamline.yml")]) == 0
    assert "OK" in capsys.readouterr().out
    bad = write(tmp_path, "bad.yml", spec_with("""
        driver: os.system
        args: {}
    """))
    assert main(["catalog", "check", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "refused" in out and "sources.evil" in out and "os.system" in out
    assert main(["catalog", "check", str(tmp_path / "missing.yml")]) == 1
    assert "cannot be read" in capsys.readouterr().out
