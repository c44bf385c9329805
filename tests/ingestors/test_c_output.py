import ctypes
import sys

import pytest

from intake_ingest.ingestors._c_output import c_stdout_silenced

libc = ctypes.CDLL(None) if sys.platform != "win32" else None


@pytest.mark.skipif(libc is None, reason="no C library to print with")
def test_c_printing_inside_the_block_goes_nowhere_and_python_printing_around_it_stays(capfd):
    print("before", flush=True)
    with c_stdout_silenced():
        libc.printf(b"Error on scan 1 line 20\n")
        with c_stdout_silenced():  # nested: still silenced, restored once at the end
            libc.printf(b"Error on scan 2 line 3\n")
    libc.printf(b"after\n")
    libc.fflush(None)
    assert capfd.readouterr().out == "before\nafter\n"


def test_silx_does_not_print_on_stdout_for_a_spec_file_with_bad_lines(tmp_path):
    import subprocess

    spec = tmp_path / "short.spec"
    spec.write_text(
        "#F short\n#E 1519944045\n\n#S 1  ascan  th 0 1  2 0.1\n#N 3\n#L th  Seconds  det\n"
        "0 0.1 1\n0.5 0.1\n1 0.1 3\n"
    )
    command = [sys.executable, "-m", "intake_ingest.cli", "detect", "--json", "--quiet", "--no-isolate", str(spec)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "Error on scan" not in result.stdout + result.stderr
    import json

    assert json.loads(result.stdout)["runs"][0]["kwargs"] == {"scan": "1.1"}
    ingest = [sys.executable, "-m", "intake_ingest.cli", "ingest", "--quiet", "--no-isolate", str(spec), "--to",
              str(tmp_path / "copies")]
    result = subprocess.run(ingest, capture_output=True, text=True, timeout=300)
    assert "Error on scan" not in result.stdout + result.stderr
    assert f"{spec}: scan 1.1: line 8 has 2 values where #L names 3 columns" in result.stdout  # ours, naming the file
