"""Write the NXWriter files of this folder: real runs of Bluesky's RunEngine, saved by apstools.

Not run by the tests (apstools, bluesky and ophyd are not test dependencies): run it in an
environment with ``apstools==1.7.12`` (which brings ``bluesky`` and ``ophyd``) to remake the
files. Next to each ``<name>.h5`` written by ``apstools.callbacks.NXWriter`` it saves the
documents the RunEngine emitted, ``<name>.documents.json`` (a list of ``[name, doc]``), for
the tests to compare the rebuilt run with.
"""

import json
import pathlib
import sys

import numpy as np
from apstools.callbacks import NXWriter
from bluesky import RunEngine
from bluesky import plans as bp
from bluesky.preprocessors import SupplementalData
from ophyd.sim import SynSignal, det1, det2, motor1, motor2, motor3, noisy_det

#: A small camera whose frames go into the events (no Resource), 6 x 8 pixels of uint16.
camera = SynSignal(
    func=lambda: np.random.default_rng().integers(0, 4000, (6, 8)).astype(np.uint16), name="camera"
)

FOLDER = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else __file__).resolve()
FOLDER = FOLDER if FOLDER.is_dir() else FOLDER.parent


def plain(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def record(name, plan, baseline=(), **metadata):
    documents = []
    writer = NXWriter()
    writer.file_name = FOLDER / f"{name}.h5"
    writer.warn_on_missing_content = False
    RE = RunEngine({})
    RE.preprocessors.append(SupplementalData(baseline=list(baseline)))
    RE.subscribe(writer.receiver)
    RE.subscribe(lambda doc_name, doc: documents.append([doc_name, plain(doc)]))
    RE(plan, **metadata)
    writer.wait_writer()
    (FOLDER / f"{name}.documents.json").write_text(json.dumps(documents, indent=1))


if __name__ == "__main__":
    motor1.set(0.0)
    record(
        "nxwriter_scan",
        bp.scan([det1, det2, noisy_det], motor1, -1.0, 1.0, 7),
        baseline=[motor3],
        sample="silicon 111",
        proposal_id="GUP-1234",
        operators=["A. Scientist", "B. Student"],
        conditions={"temperature": 296.5, "atmosphere": "air"},
    )
    record(
        "nxwriter_grid",
        bp.grid_scan([det1], motor1, -1.0, 1.0, 3, motor2, 0.0, 2.0, 4),
        title="a small grid",
    )
    record("nxwriter_count_camera", bp.count([camera, det2], num=3), sample="powder")
