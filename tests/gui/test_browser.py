"""End to end in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

``intake-ingest gui FOLDER`` is served on 127.0.0.1; the page must show the detection plan
of the folder's files. Screenshots go to the test's tmp dir and must not be blank; the
image viewer's is looked at: a known test pattern (``picture.py``) must land where its
rows and columns say. Skipped, with the reason, only where Chromium cannot be started at all.
"""

import os
import shutil
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import tifffile
from PIL import Image

from . import picture

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extra")
    if CHROMIUM is None:
        pytest.skip("no chromium executable on PATH (.ci/run installs Debian's chromium)")
    with playwright_api.sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        except Exception as error:  # only an unstartable browser skips, with its reason
            pytest.skip(f"chromium at {CHROMIUM} cannot start: {error}")
        yield browser
        browser.close()


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def mixed_folder(tmp_path):
    """A TIFF series, a multi-page stack, a real SPEC file (spec2nexus's) and a notes file."""
    import spec2nexus

    folder = tmp_path / "beamtime"
    folder.mkdir()
    rng = np.random.default_rng(7)
    for number in [1, 2, 3]:
        tifffile.imwrite(folder / f"scan_{number:04d}.tif", rng.integers(0, 999, (32, 32), dtype=np.uint16))
    tifffile.imwrite(folder / "stack.tif", rng.integers(0, 999, (4, 32, 32), dtype=np.uint16), photometric="minisblack")
    shutil.copy(os.path.join(os.path.dirname(spec2nexus.__file__), "data", "02_03_setup.dat"), folder / "setup.dat")
    (folder / "notes.md").write_text("not data\n")
    return folder


def serve_gui(*arguments):
    """``intake-ingest gui ARGUMENTS`` in a subprocess; returns (process, url) once it listens."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "intake_ingest.cli", "gui", *arguments, "--port", str(port), "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server, f"http://127.0.0.1:{port}/"
        except OSError:
            if server.poll() is not None:
                raise RuntimeError(f"the gui exited: {server.stdout.read().decode()}")
            time.sleep(0.3)
    server.terminate()
    raise RuntimeError("the gui did not start listening within 60 s")


@pytest.fixture
def served_folder(mixed_folder):
    """The app started on a folder given on the command line."""
    server, url = serve_gui(str(mixed_folder))
    yield mixed_folder, url
    server.terminate()
    server.wait(timeout=20)


@pytest.fixture
def served_empty():
    """The app started with nothing selected."""
    server, url = serve_gui()
    yield url
    server.terminate()
    server.wait(timeout=20)


def save_screenshot(page, path):
    """A full-page screenshot, checked not blank; also kept for the docs when asked.

    With ``INTAKE_INGEST_SCREENSHOTS=docs/images`` the docs' GUI page gets fresh pictures.
    """
    page.screenshot(path=str(path), full_page=True)
    assert not_blank(path), f"{path.name} is blank"
    keep = os.environ.get("INTAKE_INGEST_SCREENSHOTS")
    if keep:
        shutil.copy(path, os.path.join(keep, f"gui-{path.name}"))


def not_blank(path):
    from PIL import Image

    image = np.asarray(Image.open(path).convert("L"))
    return image.std() > 5  # a blank page is one flat colour


def test_the_page_shows_the_detection_plan(browser, served_folder, tmp_path):
    folder, url = served_folder
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(url)
    page.wait_for_selector("text=intake-ingest", timeout=60_000)
    page.wait_for_selector("text=tiff_series", timeout=60_000)
    # panel renders into shadow roots: Playwright's locators look inside them.
    assert page.get_by_text("tiff_stack").count() >= 1
    assert page.get_by_text("notes.md").count() >= 1  # reported as unrecognised
    save_screenshot(page, tmp_path / "select.png")
    page.close()


def test_select_ingest_search_and_view_a_run_in_the_browser(
    browser, served_empty, mixed_folder, tmp_path, folder_snapshot
):
    before = folder_snapshot(mixed_folder)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(served_empty)
    # Select: type the folder, add it, detect.
    paths = page.get_by_placeholder("/data/beamtime/", exact=False)
    paths.fill(str(mixed_folder))
    page.get_by_role("button", name="Add", exact=True).click()
    page.get_by_role("button", name="Detect", exact=True).click()
    page.wait_for_selector("text=tiff_stack", timeout=60_000)
    assert page.get_by_text("scan=", exact=False).count() >= 1  # one run per SPEC scan
    assert page.get_by_text("arguments", exact=True).count() >= 1  # the kwargs column's title
    assert page.get_by_text("notes.md", exact=False).count() >= 1  # left out, with why

    page.locator(".bk-tab", has_text="Ingest").click()
    page.get_by_role("button", name="Ingest", exact=True).click()
    browse = page.get_by_role("button", name="Browse the result")
    browse.wait_for(timeout=60_000)
    for _ in range(120):  # ingesting runs in a thread; the button is enabled when it is done
        if browse.is_enabled():
            break
        page.wait_for_timeout(500)
    assert browse.is_enabled(), "ingest did not finish"
    page.get_by_text(" of ", exact=False).filter(has_text="run(s)").first.wait_for(timeout=10_000)  # the bar counts
    save_screenshot(page, tmp_path / "ingest.png")

    browse.click()
    page.wait_for_selector("text=tiff_series", timeout=60_000)
    # scan_id: SPEC scans have one, TIFF runs none; the numbers stay whole (1, not 1.0), gaps blank.
    scan_ids = page.locator('.tabulator-row .tabulator-cell[tabulator-field="scan_id"]')
    scan_ids.first.wait_for(timeout=30_000)
    shown = [text.strip() for text in scan_ids.all_inner_texts()]
    # Runs are listed as 'intake-ingest ls' numbers them (by start time): the SPEC scans
    # (dated 2019 in the file) fill the first page; the TIFF runs' blanks are checked below.
    assert "1" in shown and not [text for text in shown if text and not text.isdigit()], shown
    runs_table = page.locator(".tabulator").filter(has=page.locator('.tabulator-cell[tabulator-field="scan_id"]'))
    last_page = runs_table.locator('.tabulator-page[data-page="last"]')
    if last_page.count() and last_page.first.is_enabled():
        last_page.first.click()
        page.wait_for_timeout(1000)
    shown = [text.strip() for text in scan_ids.all_inner_texts()]
    assert "" in shown and not [text for text in shown if text and not text.isdigit()], shown  # TIFF runs: blank
    search = page.get_by_placeholder('plan_name=ascan scan_id>=10   or   {"ingestor": "tiff_stack"}')
    search.fill('{"ingestor": "tiff_stack"}')
    search.press("Enter")
    page.wait_for_timeout(1500)
    # The runs table's rows are the ones with a start time (the plan's rows have none).
    rows = page.locator(".tabulator-row", has_text="+00:00").filter(has_text="tiff_stack")
    rows.first.wait_for(timeout=30_000)
    page.get_by_text("1 of ", exact=False).first.wait_for(timeout=30_000)
    rows.first.click()
    # The run view: its metadata, data keys, and the first frame in the image viewer.
    page.get_by_text("(32, 32)").first.wait_for(timeout=60_000)  # the image data key's shape
    page.locator("canvas").first.wait_for(timeout=60_000)  # the image plot (bokeh draws on a canvas)
    page.wait_for_timeout(1000)
    save_screenshot(page, tmp_path / "browse.png")
    page.close()
    assert folder_snapshot(mixed_folder) == before  # nothing written to the source folder


def hover(page, x, y):
    """The hover tooltip's {label: value} with the mouse at page position (x, y); {} if none shows."""
    page.mouse.move(0, 0)  # off the plot: the last pixel's tooltip goes, so it is not read again
    page.wait_for_timeout(300)
    page.mouse.move(x, y - page.evaluate("window.scrollY"))
    for _ in range(20):
        labels = [text.rstrip(":") for text in page.locator(".bk-tooltip-row-label").all_inner_texts()]
        values = page.locator(".bk-tooltip-row-value").all_inner_texts()
        if labels and len(labels) == len(values):
            return dict(zip(labels, values))
        page.wait_for_timeout(250)
    return {}


@pytest.fixture
def pattern_catalog(tmp_path):
    """A msgpack folder holding one run: the test pattern as a one-image TIFF series."""
    from intake_ingest.gui import IngestModel, SelectionModel

    source = tmp_path / "pattern"
    source.mkdir()
    tifffile.imwrite(source / "pattern_0001.tif", picture.test_pattern())
    selection = SelectionModel([str(source)])
    selection.detect()
    copies = tmp_path / "copies"
    results = IngestModel().ingest(selection.selected_plan(), to="msgpack", folder=str(copies))
    assert [result.status for result in results] == ["ok"]
    return copies


def test_the_image_viewer_draws_the_whole_image_rows_down_with_a_colour_bar(browser, pattern_catalog, tmp_path):
    server, url = serve_gui(str(pattern_catalog))
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        page.locator(".tabulator-row", has_text="pattern_0001").first.click(timeout=60_000)
        page.get_by_text("(256, 256)").first.wait_for(timeout=60_000)
        box, screenshot = None, tmp_path / "pattern.png"
        for _ in range(40):  # the plot is drawn a little after its data arrive
            page.screenshot(path=str(screenshot), full_page=True)
            rgb = np.asarray(Image.open(screenshot).convert("RGB"))
            box = picture.find_image(rgb)
            if box is not None and box.bottom - box.top > 100:
                break
            page.wait_for_timeout(500)
        assert box is not None, "no image of the pattern's background grey on the page"
        found = picture.locate_pattern(rgb, box)
        across, down = found.scale
        # The whole image, square pixels: 256 columns across as many screen pixels as 256 rows down.
        assert abs(across - down) <= 0.02 * down, (box, found)
        assert box.right - box.left > 256, box  # drawn at least one screen pixel per array pixel

        def near(span, expected, slack=1.0):
            return span is not None and all(abs(got - want) <= slack for got, want in zip(span, expected))

        # Where the bars land, in array pixels from the image's left and top edges.
        assert near(found.bar_columns, picture.BAR_COLUMNS), found  # columns 200-205: right, not cut off
        assert near(found.bar_rows, picture.BAR_ROWS), found  # rows 20-25: near the top, rows go down
        # The marker, twice as wide as tall, in the top left corner: neither flipped nor transposed.
        marker_rows, marker_columns = ((part.start, part.stop) for part in picture.MARKER)
        assert near(found.marker_rows, marker_rows) and near(found.marker_columns, marker_columns), found
        colour_bar = picture.find_colour_bar(rgb, box)
        assert colour_bar is not None and colour_bar[1] - colour_bar[0] >= 8, "no colour bar beside the image"

        # The axes count array rows and columns: hovering over a pixel names its row,
        # column and value (the pattern's, at that row and column), the last row and column included.
        page.evaluate(f"window.scrollTo(0, {box.top - 100})")
        pattern = picture.test_pattern()
        for row, column in [(22, 150), (8, 20), (100, 203), (240, 250)]:
            shown = hover(page, box.left + (column + 0.5) * across, box.top + (row + 0.5) * down)
            assert shown == {"column": str(column), "row": str(row), "image": str(pattern[row, column])}, shown
    finally:
        server.terminate()
        server.wait(timeout=20)
