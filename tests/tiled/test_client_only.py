"""Reading back with only ``tiled[client]`` and ``bluesky-tiled-plugins`` installed (issue 14).

``intake-ingest serve`` (this venv) serves the mixed real-data folder of ``test_serve``
plus two XDI files (runs with a ``sample``); ``client_only_reader.py`` runs in a venv of
its own holding only the client packages (and what pip pulls for them: not this package,
fabio, h5py nor tifffile), searches by RunStart fields and reads every stream of every
run as xarray; the arrays must equal ``read()`` of the same streams in this package's
in-memory catalog.

The client venv is ``INTAKE_INGEST_CLIENT_VENV`` if set (CI builds it once; made there if
missing), else one built in ``~/.cache/intake-ingest-tests/`` per set of requirements and
Python version. The tests skip, saying why, only where pip cannot reach a package index;
once the venv exists, a failure to read is a failure.
"""

import hashlib
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import warnings

import numpy as np
import pytest

pytest.importorskip("tiled.server", reason="tiled[server] is not installed")
pytest.importorskip("bluesky.callbacks.tiled_writer", reason="bluesky is not installed")

from intake_ingest.detect import detect, ingest  # noqa: E402

from .test_serve import KEY, REAL, TABLE_COLUMNS, Server, mixed_folder  # noqa: E402

#: What a client machine installs (docs/serving.md shows the same pip line).
CLIENT_REQUIREMENTS = ("tiled[client]>=0.2.20", "bluesky-tiled-plugins>=2.0.12")
#: A client-only environment must not hold these: this package and its file readers.
NOT_INSTALLED = ("intake_ingest", "fabio", "h5py", "tifffile")
VENV_VARIABLE = "INTAKE_INGEST_CLIENT_VENV"
READER = pathlib.Path(__file__).with_name("client_only_reader.py")
DOCS_PAGE = pathlib.Path(__file__).resolve().parents[2] / "docs" / "serving.md"
#: What pip prints when it cannot reach an index (offline machine, no proxy): a reason to skip.
UNREACHABLE = re.compile(
    r"Failed to establish a new connection|Temporary failure in name resolution|Network is unreachable"
    r"|Name or service not known|ProxyError|ConnectTimeout|Read timed out|No matching distribution found"
)
#: The RunStart fields searched, and a value several runs of the folder have.
SEARCHES = [["scan_id", 2], ["plan_name", "ascan"], ["sample", "Cu"], ["ingestor", "pilatus_cbf"]]


def venv_python(folder):
    return pathlib.Path(folder) / "bin" / "python"


def build_venv(folder):
    """A venv in ``folder`` with :data:`CLIENT_REQUIREMENTS` (built beside it, then moved in); skips if pip cannot reach an index."""
    folder = pathlib.Path(folder)
    building = folder.with_name(f"{folder.name}.building-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    building.parent.mkdir(parents=True, exist_ok=True)
    made = subprocess.run([sys.executable, "-m", "venv", str(building)], capture_output=True, text=True)
    if made.returncode:
        pytest.skip(f"cannot make a venv for the client (python -m venv): {made.stderr.strip()[-300:]}")
    pip = subprocess.run(
        [str(venv_python(building)), "-m", "pip", "install", "--quiet", *CLIENT_REQUIREMENTS],
        capture_output=True, text=True, timeout=1800,
    )
    if pip.returncode:
        shutil.rmtree(building, ignore_errors=True)
        said = (pip.stderr or pip.stdout).strip()
        if UNREACHABLE.search(said):
            pytest.skip(f"pip cannot reach a package index to build the client venv: {said.splitlines()[-1]}")
        pytest.fail(f"pip install {' '.join(CLIENT_REQUIREMENTS)} failed:\n{said[-2000:]}")
    try:
        building.rename(folder)
    except OSError:  # another session built it meanwhile
        shutil.rmtree(building, ignore_errors=True)
    return folder


def default_venv_folder():
    """``~/.cache/intake-ingest-tests/client-venv-<hash>``: one per requirements and Python version."""
    cache = pathlib.Path(os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache")
    identity = "\n".join([*CLIENT_REQUIREMENTS, f"{sys.version_info[0]}.{sys.version_info[1]}"])
    return cache / "intake-ingest-tests" / f"client-venv-{hashlib.sha256(identity.encode()).hexdigest()[:12]}"


@pytest.fixture(scope="module")
def client_python():
    """The python of the client-only venv, built if missing."""
    folder = pathlib.Path(os.environ.get(VENV_VARIABLE) or default_venv_folder())
    if not venv_python(folder).exists():
        build_venv(folder)
    return venv_python(folder)


def client_run(python, *arguments, **kwargs):
    """``python -I ...`` (no PYTHON* variables, no script folder on sys.path) in the client venv."""
    return subprocess.run([str(python), "-I", *map(str, arguments)], capture_output=True, text=True, timeout=600, **kwargs)


def beamtime(root):
    """The mixed real-data folder of ``test_serve``, with two XDI runs whose RunStart has ``sample: Cu``."""
    mixed_folder(root)
    (root / "xdi").mkdir()
    for name in ("cu_metal_10K.xdi", "cu_metal_rt.xdi"):
        shutil.copyfile(REAL / "xdi" / name, root / "xdi" / name)
    return root


@pytest.fixture(scope="module")
def read_back(client_python, tmp_path_factory):
    """The server's runs, read by ``client_only_reader.py`` in the client venv: ``(report, arrays, memory catalog, server)``."""
    root = beamtime(tmp_path_factory.mktemp("beamtime"))
    out = tmp_path_factory.mktemp("read-back")
    server = Server([root], tmp_path_factory.mktemp("catalog"))
    try:
        read = client_run(client_python, READER, server.uri, out, json.dumps(SEARCHES), cwd=out,
                          env={**os.environ, "TILED_API_KEY": KEY})
        if read.returncode:
            pytest.fail(f"the client-only reader failed (status {read.returncode}):\n{read.stderr[-4000:]}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            memory = ingest(detect([str(root)])).catalog
        with np.load(out / "arrays.npz", allow_pickle=False) as arrays:
            yield json.loads((out / "report.json").read_text()), dict(arrays), memory, server
    finally:
        server.stop()


def test_the_client_venv_holds_neither_this_package_nor_its_file_readers(read_back):
    report, _, _, _ = read_back
    assert report["importable"] == [] and report["imported"] == []


def test_every_run_reads_back_client_only_equal_to_the_in_memory_catalog(read_back):
    report, arrays, memory, server = read_back
    assert not [line for line in server.summary if "failed" in line], "".join(server.summary)
    assert sorted(report["runs"]) == sorted(memory)
    compared = 0
    for uid, run in report["runs"].items():
        assert run["client"].startswith("BlueskyRun") and "BlueskyRun" in run["specs"]  # bluesky-tiled-plugins' view
        assert run["start_uid"] == uid
        expected_run = memory[uid]
        assert sorted(run["streams"]) == sorted(expected_run), uid
        for stream, names in run["streams"].items():
            expected = getattr(expected_run, stream).read()
            data_keys = set(expected.data_vars) - {"uid", "seq_num"}  # this package's view adds both
            assert set(names) - TABLE_COLUMNS - {name for name in names if name.startswith("ts_")} == data_keys, f"{uid} {stream}"
            for name in data_keys:
                got, want = arrays[names[name]], np.asarray(expected[name].values)
                assert got.shape == want.shape, f"{uid} {stream} {name}"
                if np.issubdtype(want.dtype, np.floating):
                    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0, equal_nan=True, err_msg=f"{uid} {stream} {name}")
                else:
                    assert got.dtype.kind == want.dtype.kind, f"{uid} {stream} {name}: {got.dtype} for {want.dtype}"
                    np.testing.assert_array_equal(got, want, err_msg=f"{uid} {stream} {name}")
                compared += 1
    ingestors = {memory[uid].metadata["start"]["ingestor"] for uid in memory}
    assert {"tiff_stack", "spec", "esrf_edf", "pilatus_cbf", "pilatus_tiff", "area_detector_hdf5", "xdi"} <= ingestors
    assert compared > 100  # SPEC runs alone have dozens of columns


def test_runs_are_found_client_only_by_runstart_fields(read_back):
    report, _, memory, _ = read_back
    for field, value, found in report["searches"]:
        expected = sorted(uid for uid in memory if memory[uid].metadata["start"].get(field) == value)
        assert expected, f"no run of the folder has {field} = {value!r}: the search proves nothing"
        assert found == expected, f"{field} = {value!r}"


def test_bluesky_tiled_plugins_conveniences_work(read_back):
    """The served root is a CatalogOfBlueskyRuns: catalog[scan_id], catalog[-1] and ScanID work client-only."""
    report, _, memory, _ = read_back
    found = report["conveniences"]
    (scan_2,) = [uid for uid in memory if memory[uid].metadata["start"].get("scan_id") == 2]
    latest = list(report["runs"])[-1]  # the last one the server lists
    assert found["catalog"] == "CatalogOfBlueskyRuns"
    assert found["ScanID(2)"] == [scan_2]
    assert found["catalog[2]"] == scan_2
    assert found["catalog[-1]"] == latest


def docs_section(title):
    """The fenced blocks of ``docs/serving.md``'s section ``title``: ``[(language, text)]``."""
    page = DOCS_PAGE.read_text()
    section = page.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^```(\w+)[^\n]*\n(.*?)^```", section, re.S | re.M)


def test_the_docs_pip_line_and_script_for_another_machine(read_back, client_python, tmp_path):
    """docs/serving.md "Reading from another machine": its pip line is this venv's, its script prints what it shows."""
    _, _, _, server = read_back
    blocks = docs_section("Reading from another machine")
    (pip_line,) = [text for language, text in blocks if language == "sh"]
    assert re.findall(r'"([^"]+)"', pip_line) == list(CLIENT_REQUIREMENTS)
    [(_, script), (shown_language, shown)] = [block for block in blocks if block[0] in ("python", "text")]
    assert shown_language == "text"
    assert script.count('"http://127.0.0.1:8000"') == 1 and script.count('api_key="secret"') == 1
    script = script.replace('"http://127.0.0.1:8000"', repr(server.uri)).replace('api_key="secret"', f"api_key={KEY!r}")
    (tmp_path / "example.py").write_text(script)
    ran = client_run(client_python, tmp_path / "example.py", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr[-4000:]
    assert ran.stdout.split() == shown.split()
