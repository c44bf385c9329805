"""Seed files for fuzzing: the real files of ``tests/data/real`` and small files written here.

A :class:`Seed` is a set of files that makes one or more runs (a TIFF series, an Eiger
master with its data file, one SPEC file) and the one of them that is mutated. Real
files show what instruments write; the small generated ones put every header field
within reach of a few mutations (in a 300 kB file, most random damage lands in pixels).
"""

import datetime
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["REAL", "Seed", "all_seeds", "generated_seeds", "real_seeds"]

REAL = Path(__file__).parents[1] / "data" / "real"

#: Folder of tests/data/real -> the ingestor its files are for (by suffix where it varies).
REAL_FORMATS = {
    "area_detector_hdf5": "area_detector_hdf5",
    "bliss": "esrf_bliss",
    "bluesky_nexus": "bluesky_nexus",
    "column_text": "column_text",
    "edf": "esrf_edf",
    "eiger": "eiger_hdf5",
    "mca": "mca",
    "nexus": "nexus_hdf5",
    "pilatus": {".cbf": "pilatus_cbf", ".tif": "pilatus_tiff", ".tiff": "pilatus_tiff"},
    "spe": "winview_spe",
    "spec": "spec",
    "xdi": "xdi",
    "xrdml": "xrdml",
}
#: Files of tests/data/real that are not instrument files.
NOT_DATA = (".md", ".txt", ".rst", ".py", ".json")
#: Of a long real series, the files a seed takes (the run stays a series).
SERIES_FILES = 2


@dataclass
class Seed:
    """Files that make runs, and which of them the mutations damage.

    Attributes
    ----------
    name : str
        Unique, e.g. ``'real/spec/pressure_calibration_scans_1_2.dat'``.
    format : str
        The ingestor expected to read it (``'msgpack'`` for exported runs).
    files : dict
        File name -> its bytes; all are written into one folder per mutant.
    target : str
        The name of the file mutated.
    ingestor : str or None
        An ingestor forced on detection (for one that never wins sniffing:
        ``tiff_series_dask`` reads what ``tiff_series`` reads).
    """

    name: str
    format: str
    files: dict
    target: str
    ingestor: str | None = None
    kind: str = field(default="files")

    @property
    def data(self):
        """The bytes of the file mutated."""
        return self.files[self.target]


def real_seeds():
    """One seed per real data file (of a long series, its first files)."""
    seeds = []
    for folder in sorted(REAL.iterdir()):
        expected = REAL_FORMATS.get(folder.name)
        if expected is None:
            continue
        paths = sorted(path for path in folder.rglob("*") if path.is_file() and not path.name.startswith("LICENSE")
                       and not path.name.endswith(NOT_DATA))
        by_parent = {}
        for path in paths:
            by_parent.setdefault(path.parent, []).append(path)
        for parent, members in by_parent.items():
            if parent != folder:  # a series in a subfolder: a short series of it
                members = members[:SERIES_FILES]
                seeds.append(_real_seed(folder, members, members[-1], expected))
                continue
            for path in members:
                seeds.append(_real_seed(folder, [path], path, expected))
    # A file of a suffix the table does not know (added since) is no seed until it does.
    return [seed for seed in seeds if seed.format is not None]


def _real_seed(folder, members, target, expected):
    fmt = expected.get(target.suffix.lower()) if isinstance(expected, dict) else expected
    return Seed(
        name=f"real/{target.relative_to(REAL)}",
        format=fmt,
        files={path.name: path.read_bytes() for path in members},
        target=target.name,
    )


# -- generated seeds -------------------------------------------------------------------


def _tiff_bytes(folder, image, **kwargs):
    import tifffile

    path = os.path.join(folder, "generated.tif")
    tifffile.imwrite(path, image, **kwargs)
    with open(path, "rb") as file:
        return file.read()


def _area_detector_tiff(folder, number):
    """An NDFileTIFF frame: ADCore's private tags (65000-65003) and two NDAttributes."""
    image = np.arange(12, dtype=np.uint16).reshape(3, 4) + number
    extratags = [
        (65000, "d", 1, 1000.5 + number, True),
        (65001, "I", 1, number, True),
        (65002, "I", 1, 1_000_000 + number, True),
        (65003, "I", 1, 500_000_000, True),
        (65010, "s", 0, f"Temperature:{20 + number}.5", True),
        (65011, "s", 0, "Operator:staff", True),
        (271, "s", 0, "Simulated detector", True),
        (272, "s", 0, "Basic simulator", True),
    ]
    return _tiff_bytes(folder, image, extratags=extratags, software="EPICS areaDetector", metadata=None)


def _pilatus_header(index):
    taken = datetime.datetime(2012, 5, 4, 15, 43, 28) + datetime.timedelta(seconds=0.1 * index)
    return "\r\n".join([
        "# Detector: PILATUS 100K, S/N 1-0111",
        f"# {taken.isoformat(timespec='milliseconds')}",
        "# Pixel_size 172e-6 m x 172e-6 m",
        "# Exposure_time 0.0970000 s",
        "# Exposure_period 0.1000000 s",
        "# Count_cutoff 1077896 counts",
        "# Wavelength 1.0332 A",
        "# Detector_distance 0.20000 m",
        "# Beam_xy (243.12, 97.50) pixels",
        "# Flux 1.2e12 ph/s",
        f"# Start_angle {0.1 * index:.4f} deg.",
        "# Angle_increment 0.1000 deg.",
        "# N_oscillations 1",
    ])


def _cbf(folder, index):
    import fabio.cbfimage

    image = np.random.default_rng(index).poisson(20, size=(12, 10)).astype(np.int32)
    path = os.path.join(folder, "generated.cbf")
    fabio.cbfimage.CbfImage(
        data=image,
        header={"_array_data.header_convention": "PILATUS_1.2", "_array_data.header_contents": _pilatus_header(index)},
    ).write(path)
    with open(path, "rb") as file:
        return file.read()


def _edf(folder, index):
    import fabio.edfimage

    image = np.arange(20, dtype=np.uint16).reshape(4, 5) * (index + 1)
    header = {
        "motor_mne": "eta del", "motor_pos": f"{10 + index:.3f} 20.0",
        "counter_mne": "sec mon", "counter_pos": f"1.0 {1000 + index}",
        "title": "ascan eta 10 11 1 1", "time_of_day": f"{1288809574 + index}",
    }
    path = os.path.join(folder, "generated.edf")
    fabio.edfimage.EdfImage(data=image, header=header).write(path)
    with open(path, "rb") as file:
        return file.read()


SPEC_TEXT = """\
#F /home/specuser/data/sample.spec
#E 1288809574
#D Wed Nov 03 13:39:34 2010
#C sample  User = specuser
#O0 Two Theta  Theta  Chi  Phi
#o0 tth th chi phi

#S 1  ascan  tth 10 11  4 1
#D Wed Nov 03 13:42:03 2010
#T 1  (Seconds)
#P0 10 5 90 0
#N 5
#L Two Theta  Epoch  Seconds  I0  Detector
10  150 1 1000 12
10.25  151 1 1001 15
10.5  153 1 1002 40
10.75  154 1 1003 22
11  156 1 1004 13

#S 2  mesh  th 0 1 2  chi 89 90 1  0.5
#D Wed Nov 03 13:45:00 2010
#M 20000  (I0)
#P0 11 0 89 0
#N 4
#L Theta  Chi  Epoch  Detector
0  89 330 5
0.5  89 331 6
1  89 332 7
0  90 333 8
0.5  90 334 9
1  90 335 10
"""

CSV_TEXT = "# exported by a lab script\n# wavelength: 0.1665 A\ntth,intensity,error\n" + "".join(
    f"{10 + 0.5 * i:.2f},{100 + (i * 37) % 91},{3 + i % 4}\n" for i in range(40)
)

XY_TEXT = "# 2theta intensity\n" + "".join(f"{5 + 0.02 * i:.4f} {1000 * np.exp(-((i - 25) / 6) ** 2) + 10:.3f}\n"
                                             for i in range(60))


def _hdf5_bytes(folder, name, write):
    import h5py

    path = os.path.join(folder, name)
    with h5py.File(path, "w") as file:
        write(file)
    with open(path, "rb") as file:
        return file.read()


def _nexus(file):
    entry = file.create_group("entry")
    entry.attrs["NX_class"] = "NXentry"
    entry.attrs["default"] = "data"
    entry["start_time"] = "2024-05-01T10:00:00"
    data = entry.create_group("data")
    data.attrs["NX_class"] = "NXdata"
    data.attrs["signal"] = "counts"
    data.attrs["axes"] = ["x"]
    data["x"] = np.linspace(0, 1, 11)
    data["counts"] = np.arange(11.0) ** 2


def _area_detector_hdf5(file):
    """NDFileHDF5's default layout: frames in /entry/data/data, NDAttributes beside them."""
    entry = file.create_group("entry")
    entry.attrs["NX_class"] = "NXentry"
    data = entry.create_group("data")
    data.attrs["NX_class"] = "NXdata"
    dataset = data.create_dataset("data", data=np.arange(3 * 4 * 5, dtype=np.uint16).reshape(3, 4, 5),
                                  chunks=(1, 4, 5))
    dataset.attrs["signal"] = 1
    instrument = entry.create_group("instrument")
    instrument.attrs["NX_class"] = "NXinstrument"
    detector = instrument.create_group("detector")
    detector.attrs["NX_class"] = "NXdetector"
    detector["data"] = dataset
    attributes = instrument.create_group("NDAttributes")
    attributes.attrs["NX_class"] = "NXcollection"
    attributes["NDArrayUniqueId"] = np.arange(1, 4, dtype=np.int32)
    attributes["NDArrayTimeStamp"] = 1000.0 + np.arange(3)
    attributes["NDArrayEpicsTSSec"] = 1_000_000 + np.arange(3, dtype=np.uint32)
    attributes["NDArrayEpicsTSnSec"] = np.zeros(3, np.uint32)
    attributes["Temperature"] = np.array([20.5, 20.6, 20.7])


def _eiger_files(folder):
    """A SIMPLON-like master with one plain data file linked from /entry/data."""
    import h5py

    frames = np.arange(2 * 6 * 5, dtype=np.uint32).reshape(2, 6, 5)

    def data_file(file):
        data = file.create_group("entry").create_group("data")
        data.attrs["NX_class"] = "NXdata"
        dataset = data.create_dataset("data", data=frames, chunks=(1, 6, 5))
        dataset.attrs["image_nr_low"] = np.uint64(1)
        dataset.attrs["image_nr_high"] = np.uint64(2)

    def master(file):
        entry = file.create_group("entry")
        entry.attrs["NX_class"] = "NXentry"
        data = entry.create_group("data")
        data.attrs["NX_class"] = "NXdata"
        data["data_000001"] = h5py.ExternalLink("gen_data_000001.h5", "/entry/data/data")
        detector = entry.create_group("instrument").create_group("detector")
        detector.attrs["NX_class"] = "NXdetector"
        detector["description"] = b"Dectris EIGER2 XE 16M"
        detector["count_time"] = np.float32(0.01)
        detector["frame_time"] = np.float32(0.01)
        detector["x_pixel_size"] = np.float32(75e-6)
        detector["y_pixel_size"] = np.float32(75e-6)
        specific = detector.create_group("detectorSpecific")
        specific["nimages"] = np.uint32(2)
        specific["ntrigger"] = np.uint32(1)
        specific["x_pixels_in_detector"] = np.uint32(5)
        specific["y_pixels_in_detector"] = np.uint32(6)
        specific["data_collection_date"] = b"2024-05-01T10:00:00.000+01:00"
        specific["software_version"] = b"1.8.0"

    return {
        "gen_master.h5": _hdf5_bytes(folder, "gen_master.h5", master),
        "gen_data_000001.h5": _hdf5_bytes(folder, "gen_data_000001.h5", data_file),
    }


def generated_seeds(folder):
    """Small files of every format, written with the libraries the instruments' formats use.

    Parameters
    ----------
    folder : str
        Scratch folder for the writers (the seeds keep the bytes).
    """
    import tifffile  # noqa: F401  (fails here, not in a writer, if missing)

    os.makedirs(folder, exist_ok=True)
    series = {f"scan_{n:04d}.tif": _tiff_bytes(folder, np.full((4, 3), n, np.uint16)) for n in (1, 2, 3)}
    ad_series = {f"ad_{n:04d}.tif": _area_detector_tiff(folder, n) for n in (1, 2)}
    pilatus_tiffs = {
        f"lyso_{n:05d}.tif": _tiff_bytes(folder, np.full((8, 6), n, np.int32),
                                         description=_pilatus_header(n) + "\r\n", metadata=None)
        for n in (1, 2)
    }
    seeds = [
        Seed("generated/tiff_series", "tiff_series", series, "scan_0002.tif"),
        Seed("generated/tiff_series_dask", "tiff_series_dask", series, "scan_0003.tif", ingestor="tiff_series_dask"),
        Seed("generated/tiff_stack", "tiff_stack",
             {"stack.tif": _tiff_bytes(folder, np.arange(60, dtype=np.uint16).reshape(5, 4, 3),
                                       photometric="minisblack")}, "stack.tif"),
        Seed("generated/area_detector_tiff", "area_detector_tiff", ad_series, "ad_0002.tif"),
        Seed("generated/pilatus_tiff", "pilatus_tiff", pilatus_tiffs, "lyso_00001.tif"),
        Seed("generated/pilatus_cbf", "pilatus_cbf", {f"lyso_{n:05d}.cbf": _cbf(folder, n) for n in (1, 2)},
             "lyso_00002.cbf"),
        Seed("generated/esrf_edf", "esrf_edf", {"frame_0000.edf": _edf(folder, 0)}, "frame_0000.edf"),
        Seed("generated/spec", "spec", {"sample.spec": SPEC_TEXT.encode()}, "sample.spec"),
        Seed("generated/column_text.csv", "column_text", {"pattern.csv": CSV_TEXT.encode()}, "pattern.csv"),
        Seed("generated/column_text.xy", "column_text", {"pattern.xy": XY_TEXT.encode()}, "pattern.xy"),
        Seed("generated/nexus_hdf5", "nexus_hdf5", {"scan.nxs": _hdf5_bytes(folder, "scan.nxs", _nexus)}, "scan.nxs"),
        Seed("generated/area_detector_hdf5", "area_detector_hdf5",
             {"ad_000001.h5": _hdf5_bytes(folder, "ad_000001.h5", _area_detector_hdf5)}, "ad_000001.h5"),
    ]
    eiger = _eiger_files(folder)
    seeds.append(Seed("generated/eiger_hdf5 (master)", "eiger_hdf5", eiger, "gen_master.h5"))
    seeds.append(Seed("generated/eiger_hdf5 (data file)", "eiger_hdf5", eiger, "gen_data_000001.h5"))
    seeds.extend(msgpack_seeds(folder, [seeds[2], seeds[7]]))
    return seeds


def msgpack_seeds(folder, sources):
    """Runs of other seeds exported with :func:`intake_ingest.msgpack.export`, one seed per file."""
    from intake_ingest.detect import detect
    from intake_ingest.msgpack import export
    from intake_ingest.run import BlueskyRun
    from intake_ingest.registry import get_ingestor

    seeds = []
    for source in sources:
        source_folder = os.path.join(folder, "msgpack_sources", source.name.replace("/", "_"))
        os.makedirs(source_folder, exist_ok=True)
        for name, data in source.files.items():
            with open(os.path.join(source_folder, name), "wb") as file:
                file.write(data)
        out = os.path.join(folder, "msgpack", source.name.replace("/", "_"))
        for planned in detect(source_folder, progress=False).runs:
            run = BlueskyRun(get_ingestor(planned.ingestor)(planned.argument, **planned.kwargs))
            for path in export(run.canonical(fill="yes"), out, overwrite=True):
                with open(path, "rb") as file:
                    name = f"{source.format}_{len(seeds)}.msgpack"
                    seeds.append(Seed(f"generated/msgpack ({source.format} run {len(seeds) + 1})", "msgpack",
                                      {name: file.read()}, name, kind="msgpack"))
    return seeds


def all_seeds(folder):
    """The real seeds, then the generated ones (written under ``folder``)."""
    return real_seeds() + generated_seeds(folder)
