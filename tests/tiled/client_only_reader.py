"""Read an ``intake-ingest serve`` server as a user with only tiled[client] and bluesky-tiled-plugins would.

Run by ``test_client_only.py`` with the python of a venv holding nothing else (not this
package, nor fabio, h5py or tifffile), so it imports only tiled, numpy and the standard
library::

    python -I client_only_reader.py URI OUT_FOLDER SEARCHES_JSON

The API key is in ``TILED_API_KEY``. ``SEARCHES_JSON`` is a list of ``[field, value]``:
RunStart fields to search by. Writes ``OUT_FOLDER/arrays.npz`` (every stream of every
run, read as xarray) and ``OUT_FOLDER/report.json`` (what each run is, where each array
went, what each search found, the bluesky-tiled-plugins conveniences); a failure to read
is a traceback and exit status 1.
"""

import importlib.util
import json
import os
import pathlib
import sys

import numpy as np
from tiled.client import from_uri
from tiled.queries import Key

#: Modules a client-only environment must not hold: this package and its file readers.
NOT_INSTALLED = ("intake_ingest", "fabio", "h5py", "tifffile")


def read_streams(run, index, arrays):
    """``{stream: {data variable: key in arrays}}``, every stream of ``run`` read as xarray into ``arrays``."""
    streams = {}
    for stream in run:
        dataset = run[stream].read()
        names = {}
        for number, (name, variable) in enumerate(dataset.data_vars.items()):
            key = f"run{index}_{stream}_{number}"  # uids and data keys need not be valid npz member names
            arrays[key] = np.asarray(variable.values)
            names[name] = key
        streams[stream] = names
    return streams


def conveniences(client):
    """What bluesky-tiled-plugins' ``CatalogOfBlueskyRuns`` gives: ``ScanID``, ``catalog[scan_id]``, ``catalog[-1]``."""
    from bluesky_tiled_plugins.queries import ScanID

    found = {"catalog": type(client).__name__}
    for name, get in [
        ("ScanID(2)", lambda: sorted(client.search(ScanID(2)))),
        ("catalog[2]", lambda: client[2].start["uid"]),
        ("catalog[-1]", lambda: client[-1].start["uid"]),
    ]:
        try:
            found[name] = get()
        except Exception as error:  # reported, and judged by the test
            found[name] = f"{type(error).__name__}: {error}"
    return found


def main(uri, out, searches):
    importable = [name for name in NOT_INSTALLED if importlib.util.find_spec(name) is not None]
    client = from_uri(uri, api_key=os.environ["TILED_API_KEY"])
    arrays, runs = {}, {}
    for index, uid in enumerate(client):
        run = client[uid]
        runs[uid] = {
            "client": type(run).__name__,
            "specs": [spec.name for spec in run.specs],
            "start_uid": run.start["uid"],
            "streams": read_streams(run, index, arrays),
        }
    found = [[field, value, sorted(client.search(Key(f"start.{field}") == value))] for field, value in searches]
    report = {
        "importable": importable,
        "imported": [name for name in NOT_INSTALLED if name in sys.modules],  # none pulled in on the way
        "runs": runs,
        "searches": found,
        "conveniences": conveniences(client),
    }
    out = pathlib.Path(out)
    np.savez(out / "arrays.npz", **arrays)
    (out / "report.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], json.loads(sys.argv[3]))
