"""The panel views: three tabs (Select, Ingest, Browse) over the plain-Python view-models.

Every widget callback is a method taking the event (or nothing), so tests call them
after setting widget values, with no browser.
"""

import os
import socket
import threading

import numpy as np
import pandas as pd
import panel as pn

from ..cli.tables import plan_order as plan_display_order
from ..registry import ingestor_names
from .browsing import BrowseModel, is_catalog_argument, value_range
from .ingesting import IngestModel
from .selection import SelectionModel

__all__ = ["App", "BrowseView", "IngestView", "SelectView"]

_EXTENSIONS_LOADED = False


def _load_extensions():
    global _EXTENSIONS_LOADED
    if not _EXTENSIONS_LOADED:
        pn.extension("tabulator", "filedropper")
        _EXTENSIONS_LOADED = True


def _frame(rows, columns):
    """Rows (dicts) as a DataFrame with these columns; missing values in text columns shown blank.

    Columns of numbers or booleans keep their dtype (a boolean column is shown as a
    checkbox); whole numbers with gaps (``scan_id`` of the runs that have one) become
    pandas' nullable ``Int64``, where they would otherwise turn float and show as ``3.0``.
    """
    frame = pd.DataFrame(rows, columns=columns)
    for column in frame.columns:
        values = frame[column]
        if values.isna().any():
            # pandas has already made ints with gaps floats: the rows say what they were.
            given = [row.get(column) for row in rows if row.get(column) is not None]
            if given and all(isinstance(value, (int, np.integer)) and not isinstance(value, bool) for value in given):
                frame[column] = pd.array([row.get(column) for row in rows], dtype="Int64")
                continue
            present = values.dropna()
            if present.map(lambda value: isinstance(value, (int, float)) and not isinstance(value, bool)).all():
                continue  # other numbers with gaps: NaN is shown blank
            frame[column] = values.astype(object).where(values.notna(), "")
    return frame


def _show(table, rows, columns):
    """Show rows in a Tabulator: :func:`_frame`, integers formatted as integers with gaps blank."""
    from bokeh.models.widgets.tables import NumberFormatter

    frame = _frame(rows, columns)
    formatters = dict(table.formatters)
    for column in frame.columns:
        if str(frame[column].dtype) == "Int64":
            # Without this, panel's integer format groups thousands (scan 1,024) and shows gaps as '-'.
            formatters[column] = NumberFormatter(format="0", nan_format="", null_format="", text_align="right")
    if formatters != table.formatters:
        table.formatters = formatters
    table.value = frame


def _message(pane, text, kind="info"):
    pane.object = text
    pane.alert_type = kind
    pane.visible = bool(text)


class SelectView(pn.viewable.Viewer):
    """Select files (typed, picked on the server, or dropped), detect, edit the plan, save a catalog."""

    PLAN_COLUMNS = ["group", "include", "ingestor", "files", "first", "kwargs", "candidates", "confidence", "reason"]
    #: Plan rows per page of the plan table.
    PLAN_PAGE_SIZE = 15

    def __init__(self, model, **params):
        super().__init__(**params)
        self.model = model
        self.paths_input = pn.widgets.TextAreaInput(
            label="Files, folders, globs or URLs (one per line)",
            placeholder="/data/beamtime/\n/data/scan_*.tif\nzip://*.tif::file:///data/run.zip",
            height=90,
            sizing_mode="stretch_width",
        )
        self.add_button = pn.widgets.Button(label="Add", color="primary", width=90)
        self.file_selector = pn.widgets.FileSelector(os.getcwd(), sizing_mode="stretch_width", height=320)
        self.add_picked_button = pn.widgets.Button(label="Add picked files", width=140)
        self.dropper = pn.widgets.FileDropper(multiple=True, label="Drop files here", width=420, height=150)
        self.selected = pn.widgets.MultiSelect(
            label="Selected", options=list(model.paths), size=6, sizing_mode="stretch_width"
        )
        self.remove_button = pn.widgets.Button(label="Remove", width=90)
        self.clear_button = pn.widgets.Button(label="Clear", width=90)
        self.detect_button = pn.widgets.Button(label="Detect", color="success", width=120)
        self.summary = pn.pane.Markdown("", sizing_mode="stretch_width")
        names = ingestor_names()
        self.plan_table = pn.widgets.Tabulator(
            _frame([], self.PLAN_COLUMNS),
            show_index=False,
            sizing_mode="stretch_width",
            editors={
                "ingestor": {"type": "list", "values": names},
                **{column: None for column in self.PLAN_COLUMNS if column not in ("ingestor", "include")},
            },
            formatters={"include": {"type": "tickCross"}},
            titles={"kwargs": "arguments"},
            layout="fit_data_stretch",
            pagination="local",
            page_size=self.PLAN_PAGE_SIZE,
        )
        self.left_out = pn.widgets.Tabulator(
            _frame([], ["file", "why"]), show_index=False, disabled=True, sizing_mode="stretch_width", height=160
        )
        self.left_out_ingestor = pn.widgets.Select(
            label="Read the selected left-out files with", options=names, width=240
        )
        self.left_out_button = pn.widgets.Button(label="Add as runs", width=120)
        self.catalog_path = pn.widgets.TextInput(label="Catalog spec to write", value="catalog.yml", width=300)
        self.save_button = pn.widgets.Button(label="Save catalog as YAML", width=180)
        self.status = pn.pane.Alert("", alert_type="info", visible=False, sizing_mode="stretch_width")

        self.add_button.on_click(self.on_add)
        self.add_picked_button.on_click(self.on_add_picked)
        self.dropper.param.watch(self.on_drop, "value")
        self.remove_button.on_click(self.on_remove)
        self.clear_button.on_click(self.on_clear)
        self.detect_button.on_click(self.on_detect)
        self.plan_table.on_edit(self.on_plan_edit)
        self.left_out_button.on_click(self.on_left_out)
        self.save_button.on_click(self.on_save)
        self.refresh()

    # -- showing the model ---------------------------------------------------------

    def refresh(self):
        self.selected.options = list(self.model.paths)
        _show(self.plan_table, plan_display_order(self.model.rows()), self.PLAN_COLUMNS)
        left_out = [{"file": row["file"], "why": row["reason"]} for row in self.model.unrecognised_rows()]
        left_out += [
            {"file": row["file"], "why": f"ambiguous: {row['candidates']}"} for row in self.model.ambiguous_rows()
        ]
        _show(self.left_out, left_out, ["file", "why"])
        self.summary.object = f"**Plan:** {self.model.summary()}"

    # -- callbacks ------------------------------------------------------------------

    def on_add(self, event=None):
        self.model.add_text(self.paths_input.value or "")
        self.paths_input.value = ""
        self.refresh()

    def on_add_picked(self, event=None):
        self.model.add(*self.file_selector.value)
        self.refresh()

    def on_drop(self, event=None):
        files = self.dropper.value or {}
        saved = [self.model.add_bytes(name, data) for name, data in files.items()]
        if saved:
            _message(self.status, f"{len(saved)} dropped file(s) saved in {self.model.scratch_dir}")
        self.refresh()

    def on_remove(self, event=None):
        for path in self.selected.value:
            self.model.remove(path)
        self.refresh()

    def on_clear(self, event=None):
        self.model.clear()
        self.refresh()

    def on_detect(self, event=None):
        self.on_add()  # whatever is typed and not yet added counts
        try:
            self.detect_button.loading = True
            self.model.detect()
        except Exception as error:
            _message(self.status, f"Detection failed: {error}", "danger")
        else:
            _message(self.status, "")
        finally:
            self.detect_button.loading = False
        self.refresh()

    def on_plan_edit(self, event):
        group_id = int(self.plan_table.value.iloc[event.row]["group"])
        try:
            if event.column == "ingestor":
                self.model.set_ingestor(group_id, event.value)
            elif event.column == "include":
                self.model.set_included(group_id, bool(event.value))
        except Exception as error:
            _message(self.status, f"Group {group_id}: {error}", "danger")
        self.refresh()

    def on_left_out(self, event=None):
        for url in self.left_out.value.iloc[self.left_out.selection]["file"]:
            try:
                self.model.choose_for_file(url, self.left_out_ingestor.value)
            except Exception as error:
                _message(self.status, str(error), "danger")
        self.left_out.selection = []
        self.refresh()

    def on_save(self, event=None):
        # A relative name is relative to where the server runs, which the browser does not
        # show: the message names the file in full.
        path = (self.catalog_path.value or "").strip()
        if path and "://" not in path:
            path = os.path.abspath(os.path.expanduser(path))
        try:
            spec = self.model.save_catalog(path)
        except Exception as error:
            _message(self.status, f"Not saved: {error}", "danger")
        else:
            _message(self.status, f"Catalog saved to {path}: {len(spec['sources'])} source(s)", "success")

    def __panel__(self):
        return pn.Column(
            pn.Row(self.paths_input, pn.Column(self.add_button, self.detect_button)),
            pn.Card(
                self.file_selector,
                self.add_picked_button,
                title="Pick files on this computer",
                collapsed=True,
                sizing_mode="stretch_width",
            ),
            pn.Row(
                self.dropper,
                self.selected,
                pn.Column(self.remove_button, self.clear_button),
                sizing_mode="stretch_width",
            ),
            self.status,
            self.summary,
            self.plan_table,
            pn.pane.Markdown("**Left out** (files no ingestor recognised, or two claim equally)"),
            self.left_out,
            pn.Row(self.left_out_ingestor, self.left_out_button),
            pn.Row(self.catalog_path, self.save_button),
            sizing_mode="stretch_width",
        )


class IngestView(pn.viewable.Viewer):
    """Ingest the selected plan into memory or msgpack files, with a progress bar and per-run results."""

    RESULT_COLUMNS = ["run", "status", "ingestor", "first", "kwargs", "uid", "message"]

    #: Ingest in a thread (set when the app is served), so that progress reaches the browser.
    background = False

    def __init__(self, model, selection, on_browse=None, **params):
        super().__init__(**params)
        self.model = model
        self.selection = selection
        self.on_browse_target = on_browse
        self.target = pn.widgets.RadioButtonGroup(
            label="Ingest into", options={"in memory": "memory", "msgpack folder": "msgpack"}, value="memory"
        )
        self.folder = pn.widgets.TextInput(label="msgpack folder (or fsspec URL)", value="", width=360)
        self.overwrite = pn.widgets.Checkbox(label="overwrite runs already written", value=False)
        self.check = pn.widgets.Checkbox(
            label="read each run now (reports unreadable runs, and partial ones)", value=True
        )
        self.ingest_button = pn.widgets.Button(label="Ingest", color="primary", width=120)
        self.progress = pn.indicators.Progress(value=0, max=100, active=False, sizing_mode="stretch_width")
        self.progress_text = pn.pane.Str("", width=160)
        self._run_count = 0
        self.summary = pn.pane.Markdown("", sizing_mode="stretch_width")
        self.results = pn.widgets.Tabulator(
            _frame([], self.RESULT_COLUMNS),
            show_index=False,
            disabled=True,
            sizing_mode="stretch_width",
            height=300,
            titles={"kwargs": "arguments"},
        )
        self.browse_button = pn.widgets.Button(label="Browse the result", width=160, disabled=True)
        self.ingest_button.on_click(self.on_ingest)
        self.browse_button.on_click(self.on_browse)

    def on_progress(self, fraction):
        """Show how many of the plan's runs are made (ingesting reports the fraction done)."""
        total = self._run_count
        if total:
            done = int(round(fraction * total))
            self.progress.param.update(max=total, value=done)
            self.progress_text.object = f"{done} of {total} run(s)"
        else:
            self.progress.value = int(round(100 * fraction))

    def on_ingest(self, event=None):
        plan = self.selection.selected_plan()
        if not plan.runs:
            self.summary.object = "Nothing to ingest: detect files in the Select tab and include some runs."
            return
        self.ingest_button.disabled = True
        self.browse_button.disabled = True
        self._run_count = len(plan.runs)
        self.on_progress(0.0)
        self.progress.active = True
        if self.background:
            # Served: the server's event loop stays free to send the progress bar's updates.
            threading.Thread(target=self._ingest, args=(plan,), name="intake-ingest-gui", daemon=True).start()
        else:
            self._ingest(plan)

    def _ingest(self, plan):
        try:
            self.model.ingest(
                plan,
                to=self.target.value,
                folder=self.folder.value or None,
                overwrite=self.overwrite.value,
                check=self.check.value,
                progress=self.on_progress,
            )
        except Exception as error:  # bad target: nothing was ingested
            self.summary.object = f"**Not ingested:** {error}"
        else:
            # Runs read whole (written to msgpack, or read now) say how they ended: a
            # run without a RunStop is "partial", an early end its exit status.
            self.summary.object = f"**{self.model.summary()}**"
            self.browse_button.disabled = not any(result.ok for result in self.model.results)
        finally:
            try:
                # In the plan table's order; shown before the button is enabled again, so
                # whoever waits for the button (a user, a test) sees this ingest's results.
                _show(self.results, plan_display_order(self.model.rows()), self.RESULT_COLUMNS)
            finally:
                self.progress.active = False
                self.ingest_button.disabled = False

    def on_browse(self, event=None):
        if self.on_browse_target is not None:
            self.on_browse_target(self.model.browse_target())

    def __panel__(self):
        return pn.Column(
            pn.Row(self.target, self.folder),
            self.overwrite,
            self.check,
            pn.Row(self.ingest_button, self.browse_button),
            pn.Row(self.progress, self.progress_text, sizing_mode="stretch_width"),
            self.summary,
            self.results,
            sizing_mode="stretch_width",
        )


class BrowseView(pn.viewable.Viewer):
    """A catalog's runs (searchable), the selected run's metadata, data keys, images and line plots."""

    CMAPS = ["gray", "viridis", "magma", "inferno", "fire", "coolwarm"]
    #: A column called "name" is sent back empty by the browser's table: "key" it is.
    KEY_COLUMNS = ["key", "dtype", "shape", "units", "kind", "source"]

    def __init__(self, model, **params):
        super().__init__(**params)
        self.model = model
        self.run_view = None
        self.catalog_input = pn.widgets.TextInput(
            label="Catalog (YAML file, msgpack folder or glob)", placeholder="beamline.yml", width=420
        )
        self.open_button = pn.widgets.Button(label="Open", color="primary", width=90)
        self.search_input = pn.widgets.TextInput(
            label="Search", placeholder='plan_name=ascan scan_id>=10   or   {"ingestor": "tiff_stack"}', width=520
        )
        self.status = pn.pane.Alert("", alert_type="info", visible=False, sizing_mode="stretch_width")
        self.runs = pn.widgets.Tabulator(
            _frame([], ["uid", "time", "ingestor", "entry"]),
            show_index=False,
            disabled=True,
            selectable=1,
            sizing_mode="stretch_width",
            height=260,
            pagination="local",
            page_size=50,
        )
        self.details = pn.pane.JSON({}, depth=2, sizing_mode="stretch_width")
        self.stream = pn.widgets.Select(label="Stream", options=[], width=180)
        self.data_keys = pn.widgets.Tabulator(
            _frame([], self.KEY_COLUMNS),
            show_index=False,
            disabled=True,
            sizing_mode="stretch_width",
            height=200,
        )
        self.image_key = pn.widgets.Select(label="Image", options=[], width=180)
        self.frame = pn.widgets.IntSlider(label="Frame", start=0, end=1, value=0, width=300)
        self.clim = pn.widgets.RangeSlider(label="Colour scale", start=0.0, end=1.0, value=(0.0, 1.0), width=300)
        self.cmap = pn.widgets.Select(label="Colour map", options=self.CMAPS, value="gray", width=120)
        self.image = pn.pane.HoloViews(None)
        self.x_column = pn.widgets.Select(label="x", options=[], width=180)
        self.y_columns = pn.widgets.MultiChoice(label="y", options=[], width=420)
        self.lines = pn.pane.HoloViews(None, sizing_mode="stretch_width", min_height=320)
        self.no_image = pn.pane.Alert(
            "This stream has no images (no data key with two or more dimensions per event): "
            "its scalar columns are in the Lines tab.",
            alert_type="secondary",
            visible=False,
            sizing_mode="stretch_width",
        )
        self.image_controls = pn.Row(self.image_key, self.frame, self.clim, self.cmap)
        self.plot_tabs = pn.Tabs(
            ("Image", pn.Column(self.no_image, self.image_controls, self.image, sizing_mode="stretch_width")),
            ("Lines", pn.Column(pn.Row(self.x_column, self.y_columns), self.lines, sizing_mode="stretch_width")),
            sizing_mode="stretch_width",
        )
        self.frame_data = None
        self._reset_clim = True
        self._updating_lines = False

        self.open_button.on_click(self.on_open)
        self.catalog_input.param.watch(self.on_open, "value")
        self.search_input.param.watch(self.on_search, "value")
        self.runs.param.watch(self.on_select_run, "selection")
        self.stream.param.watch(self.on_stream, "value")
        self.image_key.param.watch(self.on_image_key, "value")
        self.frame.param.watch(self.on_frame, "value")
        self.clim.param.watch(self.on_style, "value")
        self.cmap.param.watch(self.on_style, "value")
        self.x_column.param.watch(self.on_lines, "value")
        self.y_columns.param.watch(self.on_lines, "value")
        self.refresh()

    # -- showing the model ---------------------------------------------------------

    def refresh(self):
        self.runs.selection = []
        _show(self.runs, self.model.rows(), self.model.columns())

    def open(self, catalog):
        """Open a catalog object or what a user typed; shows its runs."""
        try:
            self.model.open(catalog)
        except Exception as error:
            _message(self.status, f"Cannot open {catalog}: {error}", "danger")
            return
        _message(self.status, f"{self.model.name}: {len(self.model.runs)} run(s)", "success")
        self.search_input.value = ""
        self.refresh()
        self.show_run(None)

    # -- callbacks ------------------------------------------------------------------

    def on_open(self, event=None):
        if self.catalog_input.value.strip():
            self.open(self.catalog_input.value.strip())

    def on_search(self, event=None):
        try:
            self.model.search(self.search_input.value)
        except Exception as error:
            _message(self.status, f"Search: {error}", "danger")
            return
        _message(self.status, f"{len(self.model.matched)} of {len(self.model.runs)} run(s) match", "info")
        self.refresh()
        self.show_run(None)

    def on_select_run(self, event=None):
        if not self.runs.selection:
            return
        try:
            self.show_run(self.model.select(int(self.runs.selection[0])))
        except Exception as error:  # a run that cannot be read: say so, keep the app usable
            _message(self.status, f"Cannot show the run: {error}", "danger")

    def show_run(self, run_view):
        self.run_view = run_view
        if run_view is None:
            self.details.object = {}
            self.stream.options = []
            self.on_stream()
            return
        self.details.object = {"entry": run_view.entry, **run_view.metadata()}
        streams = run_view.streams()
        self.stream.options = streams
        preferred = "primary" if "primary" in streams else (streams[0] if streams else None)
        if self.stream.value == preferred:
            self.on_stream()
        else:
            self.stream.value = preferred

    def on_stream(self, event=None):
        stream, view = self.stream.value, self.run_view
        if view is None or stream is None:
            _show(self.data_keys, [], self.KEY_COLUMNS)
            self.image_key.options, self.x_column.options, self.y_columns.options = [], [], []
            self.image.object = self.lines.object = None
            return
        rows = [{**row, "key": row["name"], "shape": str(tuple(row["shape"]))} for row in view.data_keys(stream)]
        _show(self.data_keys, rows, self.KEY_COLUMNS)
        images = view.image_keys(stream)
        self.image_key.options = images
        if images and self.image_key.value == images[0]:
            self.on_image_key()
        else:
            self.image_key.value = images[0] if images else None
        if not images:
            self.frame_data = None
            self.image.object = None
        # A stream of scalars only: say so where the image would be, and show its lines.
        self.no_image.visible = not images
        self.image_controls.visible = bool(images)
        self.plot_tabs.active = 0 if images else 1
        scalars = view.scalar_keys(stream)
        x, ys = view.plot_columns(stream)  # the run's hints: detectors against the scan dimension
        # The choices change together: a plot of the new x against the old stream's y is never drawn.
        self._updating_lines = True
        try:
            self.x_column.options = ["time", *scalars]
            self.y_columns.options = [name for name in scalars if name != "seq_num"]
            self.x_column.value = x if x is not None else "time"
            self.y_columns.value = ys
        finally:
            self._updating_lines = False
        self.on_lines()

    def on_image_key(self, event=None):
        view, stream, key = self.run_view, self.stream.value, self.image_key.value
        if view is None or key is None:
            self.frame_data = None
            self.image.object = None
            return
        count = view.frame_count(stream, key)
        self._reset_clim = True  # a new image: the colour scale spans its first frame
        if self.frame.value != 0:
            self.frame.value = 0  # on_frame draws it
        else:
            self.on_frame()
        self.frame.end = max(count - 1, 1)
        self.frame.disabled = count <= 1

    def on_frame(self, event=None):
        view, stream, key = self.run_view, self.stream.value, self.image_key.value
        if view is None or key is None:
            return
        self.frame_data = view.image_frame(stream, key, self.frame.value)
        low, high = value_range(self.frame_data)
        if self._reset_clim:
            self._reset_clim = False
            self.clim.param.update(start=low, end=high, value=(low, high), step=(high - low) / 200)
        else:
            # Another frame of the same image: the chosen colour scale is kept, so frames
            # compare; the slider's bounds grow to this frame's values.
            start, end = min(low, self.clim.start), max(high, self.clim.end)
            self.clim.param.update(start=start, end=end, step=(end - start) / 200)
        self.on_style()

    def on_style(self, event=None):
        hv = _holoviews()
        if self.frame_data is None:
            self.image.object = None
            return
        height, width = self.frame_data.shape
        image = hv.Image(
            (np.arange(width), np.arange(height), self.frame_data),
            kdims=["column", "row"],
            vdims=[self.image_key.value or "value"],
        )
        frame_width, frame_height = _frame_size(width, height)
        self.image.object = image.opts(
            cmap=self.cmap.value,
            clim=tuple(self.clim.value),
            colorbar=True,
            invert_yaxis=True,
            frame_width=frame_width,
            frame_height=frame_height,
            tools=["hover"],
            # Pixel centres are at whole numbers: rounded, the pointer's place is the pixel's row and column.
            hover_tooltips=[("column", "$x{0}"), ("row", "$y{0}"), image.vdims[0].name],
            title=f"{self.image_key.value} frame {self.frame.value}",
        )

    def on_lines(self, event=None):
        _holoviews()
        import hvplot.pandas  # noqa: F401 (registers .hvplot on DataFrames)

        if self._updating_lines:
            return
        view, stream = self.run_view, self.stream.value
        if view is None or stream is None or not self.y_columns.value:
            self.lines.object = None
            return
        frame = view.scalar_columns(stream).reset_index()
        x = self.x_column.value if self.x_column.value in frame.columns else None
        self.lines.object = frame.hvplot.line(x=x, y=list(self.y_columns.value), responsive=True, height=320)

    def __panel__(self):
        return pn.Column(
            pn.Row(self.catalog_input, self.open_button),
            self.search_input,
            self.status,
            self.runs,
            pn.Row(
                pn.Column(self.details, height=300, scroll=True, sizing_mode="stretch_width"),
                pn.Column(self.stream, self.data_keys, sizing_mode="stretch_width"),
                sizing_mode="stretch_width",
            ),
            self.plot_tabs,
            sizing_mode="stretch_width",
        )


class App(pn.viewable.Viewer):
    """The intake-ingest web app: Select files, Ingest them, Browse catalogs.

    Parameters
    ----------
    path_or_catalog : str, list of str or Catalog, optional
        Files, folders, globs or URLs to select (and detect) now; or a catalog to
        browse: a catalog object, a YAML spec, msgpack files, or a folder of them.

    In Jupyter, display the app; elsewhere, :meth:`serve` it.
    """

    def __init__(self, path_or_catalog=None, **params):
        super().__init__(**params)
        _load_extensions()
        self.selection = SelectionModel()
        self.ingesting = IngestModel()
        self.browsing = BrowseModel()
        self.select_view = SelectView(self.selection)
        self.ingest_view = IngestView(self.ingesting, self.selection, on_browse=self.browse)
        self.browse_view = BrowseView(self.browsing)
        self.tabs = pn.Tabs(
            pn.Column(self.select_view, name="Select", sizing_mode="stretch_width"),
            pn.Column(self.ingest_view, name="Ingest", sizing_mode="stretch_width"),
            pn.Column(self.browse_view, name="Browse", sizing_mode="stretch_width"),
            dynamic=False,
            sizing_mode="stretch_width",
        )
        if path_or_catalog is not None:
            if is_catalog_argument(path_or_catalog):
                self.browse(path_or_catalog)
            else:
                paths = [path_or_catalog] if isinstance(path_or_catalog, (str, os.PathLike)) else path_or_catalog
                self.selection.add(*paths)
                self.select_view.on_detect()

    def browse(self, catalog):
        """Open a catalog in the Browse tab and show that tab."""
        if isinstance(catalog, (str, os.PathLike)):
            self.browse_view.catalog_input.value = os.fspath(catalog)  # opens it
        else:
            self.browse_view.open(catalog)
        self.tabs.active = 2

    def __panel__(self):
        return pn.Column(pn.pane.Markdown("## intake-ingest"), self.tabs, sizing_mode="stretch_width")

    def serve(self, port=0, show=False, *, threaded=True, start=True, **kwargs):
        """Serve the app on 127.0.0.1 (only this computer can connect).

        Every browser tab shows this same app (and its state), so what is done in the
        browser is visible from Python too.

        Parameters
        ----------
        port : int
            0 picks a free port.
        show : bool
            Open a browser tab.
        threaded : bool
            Run the server in a thread and return at once (``server.stop()`` ends it);
            False blocks until the server stops (Ctrl-C).
        **kwargs
            For :func:`panel.serve`.

        Returns
        -------
        panel.io.threads.StoppableThread or bokeh Server
            With :attr:`port` set to the port it listens on.
        """
        port = int(port) or _free_port()
        self.ingest_view.background = True
        kwargs.setdefault("title", "intake-ingest")
        kwargs.setdefault("websocket_origin", [f"127.0.0.1:{port}", f"localhost:{port}"])
        server = pn.serve(self, port=port, address="127.0.0.1", show=show, threaded=threaded, start=start, **kwargs)
        if server is not None:
            try:
                server.port = port
            except AttributeError:
                pass
        self.port = port
        return server


def _holoviews():
    """holoviews, with its bokeh plotting backend loaded (options need one)."""
    import holoviews as hv
    import holoviews.plotting.bokeh  # noqa: F401 (registers the bokeh renderer)

    if hv.Store.current_backend not in hv.Store.renderers:
        hv.Store.set_current_backend("bokeh")
    return hv


def _frame_size(width, height, longest=480):
    """The plot frame's (width, height) in screen pixels for an image: square pixels, longest side ``longest``."""
    scale = longest / max(width, height)
    return max(int(round(width * scale)), 1), max(int(round(height * scale)), 1)


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
