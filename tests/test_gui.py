"""intake's own GUI (panel) browses our catalogs: runs as sub-catalogs, streams as sources."""

import intake_ingest


def test_intake_gui_lists_our_entries_and_describes_a_run(example_catalogs):
    from intake.interface.gui import GUI

    cat = intake_ingest.open_catalog(str(example_catalogs / "beamline.yml"))
    gui = GUI(cats={"beamline": cat})
    gui.catsel.value = ["beamline"]
    listed = [option.split("└─>")[-1] for option in gui.catsel.options]
    assert {"scans", "darks_and_flats", "scan_0001", "stack", "session", "native_copies", "detectors"} <= set(listed)

    run_option = next(option for option in gui.catsel.options if option.endswith("scan_0001"))
    gui.catsel.value = [run_option]
    assert gui.sourcesel.options == ["primary"]
    gui.sourcesel.value = ["primary"]
    description = gui.sourceinf.value
    assert "bluesky-event-stream" in description
    assert "dtype_numpy: <u2" in description
    assert cat.scan_0001.uid in description

    # A globbing catalog's runs are listed as catalogs of their own.
    scans_option = next(option for option in gui.catsel.options if option.endswith("scans"))
    gui.catsel.value = [scans_option]
    assert sum(option.split("└─>")[-1] in set(cat.scans) for option in gui.catsel.options) == 2
