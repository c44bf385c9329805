"""The usual scan's rows are converted by the ingestor itself; silx reads only the others.

A scan whose every data line holds one number per ``#L`` column is converted with
``float`` (through numpy) instead of writing its block out for silx to read again; scans
with MCA spectra, ``None``, words or lines of other lengths still go through silx and the
line checks. Both ways must give the same table, which is checked here on every scan of
real files.
"""

import pathlib
import warnings

import numpy as np
import pytest
import spec2nexus

from intake_ingest import BlueskyRun
from intake_ingest.files import expand
from intake_ingest.ingestors import spec as spec_module
from intake_ingest.ingestors.spec import ingest_spec

SPEC2NEXUS_DATA = pathlib.Path(spec2nexus.__file__).parent / "data"

HEADER = b"""#F rows.spec
#E 1700000000
#D Tue Nov 14 10:00:00 2023
#O0 m0  m1

#S 1 ascan m0 0 1 2 1
#D Tue Nov 14 10:00:01 2023
#P0 0.5 1.5
#N 3
#L m0  det  mon
"""


def table_through_silx(source, header, block):
    """The table as every scan was read before: silx's, checked against the lines."""
    lines = spec_module.scan_lines(block, header.first_line)
    silx_table, _ = spec_module._silx_table(source, header, block)
    rows = spec_module._sort_rows(source, header, lines.data)
    return spec_module._checked_table(source, header, silx_table, rows)


@pytest.mark.parametrize(
    "file_name",
    ["APS_spec_data.dat", "CdOsO", "33bm_spec.dat", "lmn40.spe", "20220311-161530.dat",
     "spec_from_spock.spc", "usaxs-bluesky-specwritercallback.dat", "user6idd.dat"],  # fmt: skip
)
def test_converted_rows_are_silx_rows_on_every_scan_of_real_files(file_name):
    (source,) = expand(str(SPEC2NEXUS_DATA / file_name))
    converted = 0
    for header in spec_module.read_scan_index(source):
        block = spec_module._read_block(source, header)
        lines = spec_module.scan_lines(block, header.first_line)
        table = spec_module._converted_rows(lines.data, len(header.labels))
        if table is None or lines.mca:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = table_through_silx(source, header, block)
        assert table.dtype == expected.dtype and table.shape == expected.shape, header.key
        np.testing.assert_array_equal(table, expected, err_msg=f"{file_name} scan {header.key}")
        assert not table.flags.writeable
        converted += 1
    assert converted > 0



@pytest.mark.parametrize(
    "file_name",
    ["APS_spec_data.dat", "CdOsO", "33bm_spec.dat", "lmn40.spe", "20220311-161530.dat",
     "spec_from_spock.spc", "usaxs-bluesky-specwritercallback.dat", "user6idd.dat"],  # fmt: skip
)
def test_plain_tables_are_the_converted_rows_of_the_lines(file_name):
    """The one-pass reading of the usual scan gives what scan_lines and _converted_rows give,
    and leaves every other scan (MCA lines, a short or odd line, no rows) to them."""
    (source,) = expand(str(SPEC2NEXUS_DATA / file_name))
    for header in spec_module.read_scan_index(source):
        block = spec_module._read_block(source, header)
        lines = spec_module.scan_lines(block, header.first_line)
        expected = None if lines.mca else spec_module._converted_rows(lines.data, len(header.labels))
        plain = spec_module._plain_table(block, len(header.labels))
        if expected is None or not header.labels:
            assert plain is None, header.key
            continue
        assert plain is not None, header.key  # real files: the one-pass reading takes their usual scans
        table, header_after_data = plain
        assert table.dtype == expected.dtype and table.shape == expected.shape, header.key
        np.testing.assert_array_equal(table, expected, err_msg=f"{file_name} scan {header.key}")
        assert header_after_data == lines.header_after_data, header.key
        assert not table.flags.writeable


@pytest.mark.parametrize(
    "lines, taken",
    [
        (["1 2", "3 4"], True),
        (["1 2", "#C a comment", "3 4", ""], True),
        (["1 2", "3 4", "#C after the data"], True),
        (["1 2\r", "\r", "3 4\r", "#C x\r"], True),
        (["1\t2", "3 \t 4"], True),
        (["+1e5 -2E-3", "inf -nan", "1e500 .5"], True),
        (["#C before", "1 2", "", "   ", "3 4", "\r", "#C after", "\r"], True),
        (["1 2", "#C between", "3 4", "   \r"], True),
        (["1 2", "3"], False),  # a short line
        (["1 2", "3 nan"], True),
        (["1 2", "3 None"], False),  # SpecWriterCallback's missing value
        (["1 2", "3 4x"], False),
        (["1 2", "@A 1 2 3"], False),  # an MCA line
        (["1 2", "  #C not a control line"], False),
        (["#C no rows"], False),
        (["1_000 2", "3 4"], False),  # float() takes it, loadtxt not: read the other way
        (["1\xa02", "3 4"], True),  # a no-break space: a separator for str.split and for loadtxt
        (["1\x1c2", "3\x0c4"], True),  # other whitespace str.split separates at
        (["1 2 3", "4 5 6"], False),  # a column too many
        (["1", "2"], False),  # one column too few
        (["1 2", "3 4 #5"], False),  # '#' inside a line is no comment
    ],
)
def test_plain_tables_of_odd_blocks(lines, taken):
    """Where the one-pass reading gives a table, it is the lines' table; where it does not,
    the scan is read as before."""
    block = ("#S 1  ascan  m0 0 1 1 0.1\n#L m0  det\n" + "\n".join(lines) + "\n").encode("latin-1")
    scanned = spec_module.scan_lines(block)
    expected = None if scanned.mca else spec_module._converted_rows(scanned.data, 2)
    plain = spec_module._plain_table(block, 2)
    assert (plain is not None) is taken
    if expected is None:
        assert plain is None
    elif plain is not None:
        np.testing.assert_array_equal(plain[0], expected)
        assert plain[1] == scanned.header_after_data

def ingest_without_silx(monkeypatch, path):
    def no_silx(*args):
        raise AssertionError("silx read the scan's data")

    monkeypatch.setattr(spec_module, "_silx_table", no_silx)
    return BlueskyRun(ingest_spec(path, scan="1.1")).primary.read()


def test_a_scan_of_numbers_is_not_read_again_by_silx(tmp_path, monkeypatch):
    path = tmp_path / "rows.spec"
    path.write_bytes(HEADER + b"0 10 100\n0.5 2e1 1E2\n1 -3.5 .5\n")
    data = ingest_without_silx(monkeypatch, str(path))
    np.testing.assert_array_equal(data["det"], [10, 20, -3.5])
    np.testing.assert_array_equal(data["mon"], [100, 100, 0.5])


@pytest.mark.parametrize(
    "rows",
    [
        b"0 10 100\n0.5 None 100\n1 30 100\n",  # Bluesky's missing reading
        b"0 10 100\n0.5 20 100\n1 30\n",  # cut off while written
        b"@A 1 2 3\n0 10 100\n@A 4 5 6\n0.5 20 100\n",  # MCA spectra
    ],
    ids=["none", "cut-off", "mca"],
)
def test_other_scans_are_read_by_silx_and_checked_line_by_line(tmp_path, monkeypatch, rows):
    path = tmp_path / "rows.spec"
    path.write_bytes(HEADER + rows)
    with pytest.raises(AssertionError, match="silx read the scan's data"):
        ingest_without_silx(monkeypatch, str(path))
