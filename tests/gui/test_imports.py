"""The package, and the GUI's view-models, never import panel: only the app does."""

import subprocess
import sys


def test_import_intake_ingest_does_not_import_panel():
    code = (
        "import sys, intake_ingest, intake_ingest.gui, intake_ingest.cli; "
        "from intake_ingest.gui import SelectionModel, IngestModel, BrowseModel; "
        "heavy = [name for name in ('panel', 'bokeh', 'holoviews', 'hvplot') if name in sys.modules]; "
        "print(heavy)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_the_app_is_imported_when_asked_for():
    code = "import sys, intake_ingest.gui as gui; gui.App; print('panel' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "True"
