"""The panel app, built and driven in Python: widget values set, callbacks called, no browser."""

import os
import time
import urllib.request
from types import SimpleNamespace

import numpy as np
import pytest

pn = pytest.importorskip("panel")

from intake_ingest.gui import App  # noqa: E402

from .conftest import group_of  # noqa: E402


def edit(table, row, column, value):
    """What a Tabulator cell edit does: the value changes, then on_edit callbacks run."""
    frame = table.value.copy()
    frame.loc[frame.index[row], column] = value
    table.value = frame
    return SimpleNamespace(row=row, column=column, value=value, old=None)


def shown_figure(pane):
    """The Bokeh figure a HoloViews pane sends to the browser (the pane's own sizing applied)."""
    root = pane.get_root()
    figures = [model for model in root.select({"type": _figure_type()})]
    assert len(figures) == 1, root
    return figures[0]


def _figure_type():
    from bokeh.models import Plot

    return Plot


@pytest.fixture
def app(beamtime):
    app = App(beamtime.folder)
    yield app
    app.selection.close()


def test_the_app_has_three_tabs_and_shows_the_plan(app):
    assert [tab.name for tab in app.tabs] == ["Select", "Ingest", "Browse"]
    assert app.tabs.active == 0
    table = app.select_view.plan_table.value
    rows = app.selection.rows()
    assert len(table) == len(rows) > 3
    assert list(table.columns) == app.select_view.PLAN_COLUMNS
    assert sorted(table["group"]) == [row["group"] for row in rows]
    # 50 SPEC scans beside a TIFF series and a stack: the table's first page still shows
    # the series and the stack (files holding one run come first), then the scans in order.
    page = app.select_view.plan_table.page_size
    assert page < len(table) and app.select_view.plan_table.pagination == "local"
    assert {"tiff_series", "tiff_stack"} <= set(table["ingestor"][:page])
    scans = table[table["ingestor"] == "spec"]
    assert list(scans["kwargs"]) == [f"scan={number}.1" for number in range(1, 51)]
    assert list(scans.index) == list(range(len(table) - 50, len(table)))
    assert app.select_view.plan_table.titles["kwargs"] == "arguments"
    assert list(app.select_view.left_out.value["file"]) == [row["file"] for row in app.selection.unrecognised_rows()]
    assert "1 file(s) unrecognised" in app.select_view.summary.object
    # The whole app renders to bokeh models (what a browser would be sent).
    assert app.__panel__().get_root() is not None


def test_editing_the_plan_table_changes_the_model(app, beamtime):
    view = app.select_view
    frame = view.plan_table.value
    row = int(frame.index[frame["first"] == beamtime.stack][0])
    view.on_plan_edit(edit(view.plan_table, row, "include", False))
    assert app.selection.group(int(frame.loc[row, "group"])).include is False
    assert beamtime.stack not in {run.files[0].path for run in app.selection.selected_plan().runs}

    spec_row = int(frame.index[frame["kwargs"] == "scan=1.1"][0])
    view.on_plan_edit(edit(view.plan_table, spec_row, "ingestor", "tiff_series"))
    assert view.plan_table.value.loc[spec_row, "ingestor"] == "tiff_series"
    assert view.plan_table.value.loc[spec_row, "reason"].startswith("chosen by the user")

    view.on_plan_edit(edit(view.plan_table, spec_row, "ingestor", "nonsense"))
    assert view.status.alert_type == "danger" and "nonsense" in view.status.object
    assert view.plan_table.value.loc[spec_row, "ingestor"] == "tiff_series"  # the table shows the model again


def test_typed_and_dropped_files(beamtime):
    app = App()
    view = app.select_view
    assert len(view.plan_table.value) == 0
    view.paths_input.value = beamtime.stack
    view.on_add()
    assert view.selected.options == [beamtime.stack]
    with open(beamtime.series[0], "rb") as file:
        view.dropper.value = {"dropped_0001.tiff": file.read()}  # the watcher saves it
    assert len(app.selection.paths) == 2 and app.selection.paths[1].startswith(app.selection.scratch_dir)
    view.on_detect()
    assert sorted(view.plan_table.value["ingestor"]) == ["tiff_series", "tiff_stack"]
    view.selected.value = [beamtime.stack]
    view.on_remove()
    assert view.selected.options == app.selection.paths and beamtime.stack not in app.selection.paths
    view.on_clear()
    assert view.selected.options == [] and len(view.plan_table.value) == 0
    view.on_detect()
    assert view.status.alert_type == "danger" and "nothing is selected" in view.status.object
    app.selection.close()


def test_left_out_files_can_be_added_as_runs(app, beamtime):
    view = app.select_view
    view.left_out.selection = [0]
    view.left_out_ingestor.value = "column_text"
    view.on_left_out()
    assert len(view.left_out.value) == 0
    table = view.plan_table.value
    assert list(table[table["first"] == beamtime.junk]["ingestor"]) == ["column_text"]


def test_save_catalog_button(app, tmp_path, monkeypatch):
    view = app.select_view
    view.catalog_path.value = str(tmp_path / "beamline.yml")
    view.on_save()
    assert os.path.exists(tmp_path / "beamline.yml")
    assert view.status.alert_type == "success"
    assert f"saved to {tmp_path / 'beamline.yml'}:" in view.status.object
    # A relative name is written where the server runs, and the message says where in full.
    monkeypatch.chdir(tmp_path / "beamtime")
    view.catalog_path.value = "relative.yml"
    view.on_save()
    assert os.path.exists(tmp_path / "beamtime" / "relative.yml")
    assert f"saved to {tmp_path / 'beamtime' / 'relative.yml'}:" in view.status.object
    view.catalog_path.value = str(tmp_path / "no" / "such" / "folder.yml")
    view.on_save()
    assert view.status.alert_type == "danger"


def test_ingest_tab_reports_each_run_and_browses_the_result(app, beamtime):
    app.selection.set_ingestor(group_of(app.selection, "setup.dat", "scan=1.1"), "tiff_series")
    ingest = app.ingest_view
    seen = []
    ingest.progress.param.watch(lambda event: seen.append(event.new), "value")
    ingest.on_ingest()
    results = ingest.results.value
    assert len(results) == len(app.selection.selected_plan().runs)
    assert list(results["status"]).count("error") == 1
    error = results[results["status"] == "error"].iloc[0]
    # In the plan table's order: the series and the stack first, then the scans 2.1, 3.1, ... 50.1
    # (scan 1.1 was given to tiff_series above: the file's run without arguments comes first).
    assert list(results["first"][:2]) == sorted([beamtime.series[0], beamtime.stack])
    spec_rows = results[results["ingestor"] == "spec"]
    assert list(spec_rows["kwargs"]) == [f"scan={number}.1" for number in range(2, 51)]
    assert error["first"] == beamtime.spec and error["message"].startswith(beamtime.spec)
    total = len(results)
    # The bar counts runs, and says so: one step per run made.
    assert ingest.progress.max == total and seen == list(range(1, total + 1))
    assert ingest.progress_text.object == f"{total} of {total} run(s)"
    assert "1 failed" in ingest.summary.object and not ingest.browse_button.disabled

    ingest.on_browse()
    assert app.tabs.active == 2
    assert len(app.browse_view.runs.value) == len(results) - 1


def test_ingest_to_msgpack_from_the_app(app, tmp_path):
    ingest = app.ingest_view
    ingest.target.value = "msgpack"
    ingest.on_ingest()
    assert "Not ingested" in ingest.summary.object  # no folder given
    ingest.folder.value = str(tmp_path / "copies")
    ingest.on_ingest()
    written = os.listdir(tmp_path / "copies")
    assert len(written) == len(app.selection.selected_plan().runs)
    ingest.on_browse()
    assert app.browse_view.catalog_input.value == str(tmp_path / "copies")
    assert len(app.browse_view.runs.value) == len(written)


def test_browse_tab_search_select_image_and_lines(app, beamtime):
    app.ingest_view.on_ingest()
    app.ingest_view.on_browse()
    browse = app.browse_view
    browse.search_input.value = "ingestor=tiff_stack"
    assert len(browse.runs.value) == 1 and browse.status.object == f"1 of {len(browse.model.runs)} run(s) match"
    browse.runs.selection = [0]
    assert browse.details.object["start"]["ingestor"] == "tiff_stack"
    assert browse.stream.value == "primary" and browse.image_key.value == "image"
    assert not browse.no_image.visible and browse.image_controls.visible and browse.plot_tabs.active == 0
    assert list(browse.data_keys.value["key"]) == ["image"]
    assert browse.frame.end == 4
    np.testing.assert_array_equal(browse.frame_data, beamtime.stack_images[0])
    browse.frame.value = 3
    np.testing.assert_array_equal(browse.frame_data, beamtime.stack_images[3])
    image = browse.image.object
    # The axes are the array's own: column across, row down from the top.
    np.testing.assert_array_equal(image.dimension_values(2, flat=False), beamtime.stack_images[3])
    height, width = beamtime.stack_images[3].shape
    assert image[width - 1, 0] == beamtime.stack_images[3][0, width - 1]  # (column, row)
    figure = shown_figure(browse.image)
    assert (figure.x_range.start, figure.x_range.end) == (-0.5, width - 0.5)  # every column, pixel edges
    assert (figure.y_range.start, figure.y_range.end) == (height - 0.5, -0.5)  # row 0 at the top
    assert figure.frame_width / width == figure.frame_height / height  # square pixels
    assert [type(item).__name__ for item in figure.right] == ["ColorBar"]
    # A figure stretched by its pane showed half the image, and no colour bar (issue 13).
    assert figure.sizing_mode == "fixed" and figure.match_aspect is False
    # The colour scale spans the first frame, and is kept from frame to frame...
    first, fourth = beamtime.stack_images[0], beamtime.stack_images[3]
    assert browse.clim.value == (first.min(), first.max())
    assert (browse.clim.start, browse.clim.end) == (min(first.min(), fourth.min()), max(first.max(), fourth.max()))
    browse.clim.value = (100.0, 200.0)
    browse.cmap.value = "viridis"
    options = browse.image.object.opts.get().kwargs
    assert options["clim"] == (100.0, 200.0) and options["cmap"] == "viridis"

    # ...until another image is shown.
    browse.runs.selection = []
    browse.runs.selection = [0]
    assert browse.frame.value == 0 and browse.clim.value == (first.min(), first.max())

    browse.search_input.value = '{"scan_id": 1}'
    browse.runs.selection = [0]
    assert browse.image_key.options == [] and browse.image.object is None and browse.frame_data is None
    # No image: the Image tab says so, without controls for one, and the Lines tab is shown.
    assert browse.no_image.visible and "no images" in browse.no_image.object
    assert not browse.image_controls.visible and browse.plot_tabs.active == 1
    # Lines: what the run's hints say (the scan's motor), not seq_num.
    assert (browse.x_column.value, list(browse.y_columns.value)) == browse.run_view.plot_columns("primary")
    assert browse.x_column.value == "mr" and len(browse.y_columns.value) == 1
    browse.y_columns.value = ["I0", "mr"]
    curves = browse.lines.object
    assert sorted(curves.keys()) == ["I0", "mr"]
    browse.stream.value = "baseline"
    assert "mr" in list(browse.data_keys.value["key"])

    browse.search_input.value = "plan_name"
    assert browse.status.alert_type == "danger"


def test_app_opens_a_catalog_in_the_browse_tab(example_catalogs):
    app = App(str(example_catalogs / "beamline.yml"))
    assert app.tabs.active == 2
    assert "scan_0001" in list(app.browse_view.runs.value["entry"])
    app.browse_view.catalog_input.value = str(example_catalogs / "missing.yml")
    assert app.browse_view.status.alert_type == "danger"


def test_serve_on_localhost(beamtime):
    app = App(beamtime.stack)
    server = app.serve(port=0, show=False)
    try:
        for _ in range(100):
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{server.port}/", timeout=10).read().decode()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the server did not answer")
        assert "<title>intake-ingest</title>" in page
    finally:
        server.stop()


def test_served_apps_ingest_in_a_thread(app):
    ingest = app.ingest_view
    ingest.background = True
    ingest.on_ingest()
    for _ in range(300):
        if not ingest.ingest_button.disabled:
            break
        time.sleep(0.05)
    assert not ingest.ingest_button.disabled and not ingest.progress.active
    total = len(app.selection.selected_plan().runs)
    assert ingest.progress.value == ingest.progress.max == total
    assert len(ingest.results.value) == total


def test_serve_app_blocks_until_interrupted(beamtime):
    """What ``intake-ingest gui PATH --port N --no-browser`` runs: serves, and exits 0 on Ctrl-C."""
    import signal
    import subprocess
    import sys

    from intake_ingest.gui.app import _free_port

    port = _free_port()
    code = f"import sys; from intake_ingest.gui import serve_app; sys.exit(serve_app({beamtime.stack!r}, {port}, False))"
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(300):
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10).read().decode()
                break
            except OSError:
                assert process.poll() is None, process.communicate()
                time.sleep(0.1)
        else:
            pytest.fail("the server did not answer")
        assert "<title>intake-ingest</title>" in page
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert f"127.0.0.1:{port}" in out


def test_integer_columns_with_gaps_stay_integers(app):
    app.ingest_view.on_ingest()
    app.ingest_view.on_browse()
    runs = app.browse_view.runs
    scan_ids = runs.value["scan_id"]
    assert scan_ids.isna().any() and scan_ids.notna().any()  # TIFF runs have none, SPEC scans do
    assert str(scan_ids.dtype) == "Int64"
    assert sorted(scan_ids.dropna()) == sorted(run.start["scan_id"] for _, run in app.browsing.runs if "scan_id" in run.start)
    formatter = runs.formatters["scan_id"]
    assert (formatter.format, formatter.nan_format) == ("0", "")  # 12, not 12.0 or 1,2; a gap is blank
    assert str(runs.value["num_points"].dtype) == "Int64"


@pytest.fixture
def cut_off_scan(tmp_path, beamtime):
    """A folder: a TIFF series, and the first scan of the SPEC file with its last data line cut in half."""
    import shutil

    folder = tmp_path / "cut"
    shutil.copytree(os.path.dirname(beamtime.series[0]), folder / "series")
    lines = open(beamtime.spec).read().splitlines()
    scan_2 = next(index for index, line in enumerate(lines) if line.startswith("#S 2 "))
    kept = lines[:scan_2]
    while not kept[-1][:1].isdigit():  # back to the scan's last data line
        kept.pop()
    numbers = kept[-1].split()
    kept[-1] = " ".join(numbers[: len(numbers) // 2])  # the writer stopped mid-line
    (folder / "cut.dat").write_text("\n".join(kept) + "\n")
    return folder


@pytest.mark.parametrize("target", ["memory", "msgpack"])
def test_partial_runs_are_reported_as_partial(cut_off_scan, tmp_path, target):
    app = App(str(cut_off_scan))
    try:
        ingest = app.ingest_view
        ingest.target.value = target
        ingest.folder.value = str(tmp_path / "copies")
        with pytest.warns(Warning, match="incomplete line"):
            ingest.on_ingest()
        table = ingest.results.value
        statuses = dict(zip(table["ingestor"], table["status"]))
        assert statuses == {"tiff_series": "ok", "spec": "partial"}, table
        message = table[table["ingestor"] == "spec"]["message"].iloc[0]
        assert "no RunStop" in message
        assert "1 partial" in ingest.summary.object
    finally:
        app.selection.close()


def test_a_run_that_ends_early_is_named_by_its_exit_status():
    from intake_ingest.detect.endings import run_ending

    from .conftest import scan_documents

    assert run_ending(scan_documents()) == ("complete", "")
    assert run_ending(scan_documents(stop=False))[0] == "partial"

    def aborted():
        for name, doc in scan_documents():
            yield name, ({**doc, "exit_status": "abort", "reason": "user pressed ctrl-C"} if name == "stop" else doc)

    assert run_ending(aborted()) == ("abort", "RunStop exit_status 'abort': user pressed ctrl-C")
