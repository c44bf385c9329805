import io
import subprocess
import sys

from intake_ingest.cli import demo, main


def test_demo_ingests_exports_and_reopens(tmp_path):
    out = io.StringIO()
    assert demo(str(tmp_path), out=out) == 0
    text = out.getvalue()
    assert "In-memory catalog, 2 runs" in text
    assert "msgpack catalog, 2 runs" in text
    assert "image (10, 512, 512) uint16" in text
    assert "identical to the ingested ones: True" in text
    assert len(list((tmp_path / "native_copies").glob("*.msgpack"))) == 2


def test_console_script_runs_the_demo():
    result = subprocess.run(
        [sys.executable, "-m", "intake_ingest.cli", "demo"], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert "True" in result.stdout


def test_main_requires_a_command(capsys):
    import pytest

    with pytest.raises(SystemExit):
        main([])
