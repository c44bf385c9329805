"""``intake-ingest serve [--watch]`` ends cleanly on SIGTERM and Ctrl-C: status 0, one line saying why.

The same handler as ``ingest --watch`` (:func:`intake_ingest.cli.signals.stopped_by_signals`):
the watcher's pass under way ends, then the server; no traceback.
"""

import signal

import numpy as np
import pytest
import tifffile

pytest.importorskip("tiled.server", reason="tiled[server] is not installed")
pytest.importorskip("bluesky.callbacks.tiled_writer", reason="bluesky is not installed")

from .test_serve import Server  # noqa: E402


@pytest.mark.parametrize(
    "extra, stop_signal", [(["--watch"], "SIGTERM"), (["--watch"], "SIGINT"), ([], "SIGTERM")], ids=["watch-SIGTERM", "watch-SIGINT", "SIGTERM"]
)
def test_serve_stops_on_a_signal_with_status_0(tmp_path, extra, stop_signal):
    folder = tmp_path / "beamtime"
    folder.mkdir()
    tifffile.imwrite(folder / "stack.tiff", np.zeros((2, 4, 5), dtype=np.uint16), photometric="minisblack")
    server = Server([folder], tmp_path / "catalog", extra=extra)
    assert server.summary[0].startswith("1 run(s) written to")
    server.process.send_signal(getattr(signal, stop_signal))
    try:
        stdout, stderr = server.process.communicate(timeout=60)  # a bound against a hang, not a timing
    except BaseException:
        server.process.kill()
        raise
    assert server.process.returncode == 0, stderr
    assert stdout.splitlines() == [f"stopped by {stop_signal}"]
    assert "Traceback" not in stderr
