"""External data: a run's frames as StreamResource/StreamDatum, read back where they are.

Reading back goes the way a tiled server does: the StreamResource and StreamDatums go
through bluesky's consolidator for their mimetype (what TiledWriter does), and the data
source it makes is opened by the tiled adapter for that mimetype (tiled's own for TIFF,
this package's for CBF and EDF).
"""

import collections
import pathlib
import shutil
import warnings

import numpy as np
import pytest
import tifffile

pytest.importorskip("tiled.adapters.sequence", reason="tiled[server] is not installed")
pytest.importorskip("bluesky.consolidators", reason="bluesky is not installed")

from bluesky.consolidators import consolidator_factory  # noqa: E402
from tiled.mimetypes import DEFAULT_ADAPTERS_BY_MIMETYPE  # noqa: E402
from tiled.structures.data_source import Asset, DataSource  # noqa: E402

from intake_ingest import IngestError  # noqa: E402
from intake_ingest.detect import detect  # noqa: E402
from intake_ingest.registry import get_ingestor  # noqa: E402
from intake_ingest.tiled import adapters, consolidators  # noqa: E402
from intake_ingest.tiled.external import external_documents  # noqa: E402
from intake_ingest.tiled.locators import locator, numbered_template  # noqa: E402

from ..conftest import validate  # noqa: E402

REAL = pathlib.Path(__file__).resolve().parent.parent / "data" / "real"
_Node = collections.namedtuple("Node", ["metadata_", "specs"])


def inline_frames(documents):
    """The frames of a run's image key, as the inline events hold them."""
    frames = []
    for name, doc in documents:
        if name == "event":
            frames += [value for value in doc["data"].values() if np.ndim(value) >= 2]
        elif name == "event_page":
            frames += [frame for value in doc["data"].values() if np.ndim(value) >= 3 for frame in value]
    return np.stack(frames)


def read_back(documents):
    """Each external data key's frames, read as a tiled server would; {data_key: array}."""
    consolidators.register()
    descriptors, resources, consolidated = {}, {}, {}
    for name, doc in documents:
        if name == "descriptor":
            descriptors[doc["uid"]] = doc
        elif name == "stream_resource":
            resources[doc["uid"]] = doc
        elif name == "stream_datum":
            if doc["stream_resource"] not in consolidated:
                resource = resources[doc["stream_resource"]]
                consolidated[doc["stream_resource"]] = consolidator_factory(resource, descriptors[doc["descriptor"]])
            consolidated[doc["stream_resource"]].consume_stream_datum(doc)
    arrays = {}
    for consolidator in consolidated.values():
        source = consolidator.get_data_source()
        data_source = DataSource(  # as the server stores it
            structure_family=source.structure_family,
            structure=source.structure,
            mimetype=source.mimetype,
            parameters=source.parameters,
            assets=[Asset(data_uri=a.data_uri, is_directory=a.is_directory, parameter=a.parameter, num=a.num) for a in source.assets],
        )
        adapter_class = collections.ChainMap(adapters.ADAPTERS_BY_MIMETYPE, DEFAULT_ADAPTERS_BY_MIMETYPE)[source.mimetype]
        adapter = adapter_class.from_catalog(data_source, _Node({}, []), **consolidator.adapter_parameters())
        arrays[consolidator.data_key] = adapter.read()
    return arrays


def externalised(run):
    """(inline documents, external documents) of a planned run."""
    inline = list(get_ingestor(run.ingestor)(run.argument, **run.kwargs))
    external = list(external_documents(iter(inline), locator(run.ingestor, run.argument, run.kwargs)))
    return inline, external


def check_run(run):
    inline, external = externalised(run)
    for name, doc in external:
        validate(name, doc)
    names = [name for name, _ in external]
    assert names.count("stream_resource") == 1 and "stream_datum" in names
    descriptor = next(doc for name, doc in external if name == "descriptor")
    (key,) = [key for key, data_key in descriptor["data_keys"].items() if data_key.get("external")]
    assert descriptor["data_keys"][key]["external"] == "STREAM:"
    for name, doc in external:
        if name in ("event", "event_page"):
            assert key not in doc["data"] and key not in doc["timestamps"]
    resource = next(doc for name, doc in external if name == "stream_resource")
    assert resource["data_key"] == key and resource["uri"].startswith("file://localhost/")
    assert resource["run_start"] == external[0][1]["uid"]
    # every event's seq_num is covered once, in order
    covered = [n for name, doc in external if name == "stream_datum" for n in range(doc["seq_nums"]["start"], doc["seq_nums"]["stop"])]
    assert covered == list(range(1, len(covered) + 1))
    np.testing.assert_array_equal(read_back(external)[key], inline_frames(inline))
    return resource


@pytest.mark.parametrize("folder, n_runs", [("edf", 1), ("pilatus", 4)])
def test_real_image_runs_read_back_in_place(folder, n_runs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # strain_0001.edf's trailing bytes
        plan = detect([str(REAL / folder)])
        runs = [run for run in plan.runs if locator(run.ingestor, run.argument, run.kwargs) is not None]
        checked = 0
        for run in runs:
            if run.files[0].path.endswith("fred_header.cbf"):  # a truncated file: not a run
                continue
            check_run(run)
            checked += 1
    assert checked == n_runs  # EDF; Pilatus TIFF, its series and two CBF files


def test_tiff_series_and_stack(tiff_series, tiff_stack, tmp_path):
    pattern, images, paths = tiff_series
    plan = detect([str(pathlib.Path(paths[0]).parent), str(pathlib.Path(tiff_stack[0]).parent)])
    assert sorted(run.ingestor for run in plan.runs) == ["tiff_series", "tiff_stack"]
    for run in plan.runs:
        resource = check_run(run)
        if run.ingestor == "tiff_series":
            assert resource["mimetype"] == "multipart/related;type=image/tiff"
            assert resource["parameters"]["template"] == "scan_{:04d}.tiff"
        else:
            assert resource["mimetype"] == "image/tiff"


def test_a_series_numbered_without_padding_keeps_the_ingestors_order(tmp_path):
    rng = np.random.default_rng(3)
    for number in (8, 9, 10, 11):
        tifffile.imwrite(tmp_path / f"img_{number}.tif", rng.integers(0, 9, (6, 5), dtype=np.uint8))
    (run,) = detect([str(tmp_path)]).runs
    resource = check_run(run)
    assert resource["parameters"]["template"] == "img_{:d}.tif"


def test_documents_are_the_same_each_time(tiff_series):
    (run,) = detect([str(pathlib.Path(tiff_series[2][0]).parent)]).runs
    # The ingestor's descriptor uid is new each time; what says where the frames are is not.
    first, second = ([doc for name, doc in externalised(run)[1] if name == "stream_resource"] for _ in range(2))
    assert first == second and first[0]["uid"].startswith(externalised(run)[1][0][1]["uid"])


def test_numbering_a_template_cannot_name_is_an_error_naming_the_file(tmp_path):
    for name in ("img_1.tif", "img_02.tif", "img_003.tif"):
        tifffile.imwrite(tmp_path / name, np.zeros((4, 4), np.uint8))
    (run,) = detect([str(tmp_path)]).runs
    with pytest.raises(IngestError, match=r"img_\d+\.tif: its series writes file numbers with differing zero padding"):
        externalised(run)
    (first,) = [source for source in run.files if source.path.endswith("img_1.tif")]
    assert numbered_template([first]) == (str(tmp_path), "img_{:d}.tif", [1])


def test_files_and_run_that_disagree_are_an_error(tiff_series):
    (run,) = detect([str(pathlib.Path(tiff_series[2][0]).parent)]).runs
    inline = list(get_ingestor(run.ingestor)(run.argument))
    fewer = locator(run.ingestor, run.files[:9], {})  # the run has 10 frames
    with pytest.raises(IngestError, match=r"scan_0001\.tiff: stream 'primary' has more events than the 9 frames"):
        list(external_documents(iter(inline), fewer))
    more = locator(run.ingestor, run.files[:10], {})
    with pytest.raises(IngestError, match=r"stream 'primary' has 9 events but the files of 'image' hold 10 frames"):
        list(external_documents(iter(inline[:-2] + inline[-1:]), more))  # the last event left out


def test_files_not_on_this_machine_are_refused(memory_folder):
    fs, root = memory_folder
    with fs.open(f"{root}/a_001.tiff", "wb") as file:
        tifffile.imwrite(file, np.zeros((4, 4), np.uint8))
    with pytest.raises(IngestError, match=r"a_001\.tiff: is not a local file"):
        locator("tiff_series", f"memory://{root}/a_001.tiff")


def test_streams_of_scalars_stay_inline():
    run = detect([str(REAL / "spec")]).runs[0]
    inline = list(get_ingestor(run.ingestor)(run.argument, **run.kwargs))
    assert list(external_documents(iter(inline), locator(run.ingestor, run.argument, run.kwargs))) == inline


@pytest.mark.parametrize("folder, ingestor", [("mca", "mca"), ("area_detector_hdf5", "area_detector_hdf5"), ("spe", "winview_spe")])
def test_arrays_no_other_reader_takes_are_read_by_the_ingestor_in_place(folder, ingestor):
    run = next(run for run in detect([str(REAL / folder)]).runs if run.ingestor == ingestor)
    inline, external = externalised(run)
    for name, doc in external:
        validate(name, doc)
    resources = [doc for name, doc in external if name == "stream_resource"]
    assert resources and {doc["mimetype"] for doc in resources} == {"application/x-intake-ingest"}
    arrays = read_back(external)
    assert set(arrays) == {doc["data_key"] for doc in resources}
    for key, array in arrays.items():
        expected = [
            value
            for name, doc in inline
            for value in ([doc["data"][key]] if name == "event" else doc["data"][key] if name == "event_page" else [])
            if key in doc.get("data", {})
        ]
        np.testing.assert_array_equal(array, np.stack(expected))
