"""The column text ingestor, on files written the way their producing programs write them."""

import base64
import csv
import datetime
import hashlib
import os
import pathlib
import warnings

import event_model
import intake
import numpy as np
import pytest

from intake_ingest import BlueskyIngestCatalog, BlueskyRun, IngestError, IngestWarning, MissingFileError
from intake_ingest.drivers.column_text import ColumnTextRun
from intake_ingest.files import expand
from intake_ingest.ingestors import _column_table, column_text
from intake_ingest.ingestors.column_text import COLUMN_TEXT, ingest_column_text, sniff_column_text
from intake_ingest.registry import HEAD_BYTES, get_spec

RNG = np.random.default_rng(7)
TWO_THETA = np.round(np.linspace(10.0, 12.0, 101), 4)
INTENSITY = np.round(1000 + 500 * np.exp(-((TWO_THETA - 11.0) ** 2) / 0.01) + RNG.normal(0, 5, 101), 3)
SIGMA = np.round(np.sqrt(INTENSITY), 4)


def names(documents):
    return [name for name, _ in documents]


def page(documents):
    (event_page,) = [doc for name, doc in documents if name == "event_page"]
    return event_page


def events(documents):
    """The rows as events, as a catalog's canonical() gives them."""
    return list(event_model.unpack_event_page(page(documents)))


def column(documents, key):
    return page(documents)["data"][key]


# ------------------------------------------------------------------ files in real conventions


@pytest.fixture
def pyfai_xy(tmp_path):
    """A 1D integration as pyFAI's ``DefaultAiWriter.save1D`` writes it (no error column).

    Layout from pyFAI ``src/pyFAI/io/__init__.py``: the integrator's ``make_headers``
    list ('== pyFAI calibration ==', 'Distance Sample to Detector: %s m', 'PONI: %.3e,
    %.3e m', ...) each prefixed '# ', the 'Mask applied'... lines, '# --> <filename>',
    then ``f"#{str(dim1_unit):14s} {'I':14s}"`` and rows ``f"{t:14.6e}  {i:14.6e}"``.
    """
    path = tmp_path / "LaB6_0001.xy"
    header = [
        "== pyFAI calibration ==",
        "Distance Sample to Detector: 0.1965 m",
        "PONI: 1.000e-01, 1.020e-01 m",
        "Rotations: 0.001000 -0.002000 0.000000 rad",
        "",
        "== Fit2d calibration ==",
        "Distance Sample-beamCenter: 196.500 mm",
        "Center: x=1020.000, y=1000.000 pix",
        "Tilt: 0.128 deg  TiltPlanRot: 63.435 deg",
        "",
        "Detector Pilatus1M\t Spline= None\t PixelSize= 1.720e-04, 1.720e-04 m",
        "   Detector has a mask: False ",
        "   Detector has a dark current: False ",
        "   detector has a flat field: False ",
        "",
        "Wavelength: 1.0332e-10 m",
        "Mask applied: False",
        "Dark current applied: False",
        "Flat field applied: False",
        "Polarization factor: 0.99",
        "Normalization factor: 1.0",
    ]
    with open(path, "w") as file:
        file.write("\n".join(f"# {line}" for line in header))
        file.write(f"\n# --> {path}\n")
        file.write(f"#{'2th_deg':14s} {'I':14s}\n")
        file.write("\n".join(f"{t:14.6e}  {i:14.6e}" for t, i in zip(TWO_THETA, INTENSITY)))
        file.write("\n")
    return path


@pytest.fixture
def topas_xye(tmp_path):
    """A Topas .xye as GSAS-II's ``ExportPowderXYE`` writes it (exports/G2export_csv.py):

    a C-style comment block ``/*``, ``# <histogram name>``, ``*/`` ("the ugly c comment
    delimiter used in topas"), then x, y, esd, each ``FormatPadValue(val, (15, 6))``.
    """
    path = tmp_path / "LaB6_0001.xye"
    with open(path, "w") as file:
        file.write("/*\n# LaB6_0001.tif Azm=   0.00\n*/\n")
        for values in zip(TWO_THETA, INTENSITY, SIGMA):
            file.write("".join(f"{value:15.6f}" for value in values) + "\n")
    return path


def write_fit2d_chi(path, n_declared=None, count_line=None):
    """A fit2d .chi file as GSAS-II's ``ExportPowderCHI`` writes it (exports/G2export_FIT2D.py):

    the title, ``2-Theta Angle (Degrees)``, ``Intensity``, ``"       " + str(npoints)``,
    then ``" %5.7e   %5.7e"`` rows. fit2d itself may add the number of data sets to the
    count line (``2000 1``).
    """
    n_declared = len(TWO_THETA) if n_declared is None else n_declared
    with open(path, "w") as file:
        file.write("LaB6_0001.tif\n2-Theta Angle (Degrees)\nIntensity\n")
        file.write(count_line if count_line is not None else f"       {n_declared}\n")
        for x, y in zip(TWO_THETA, INTENSITY):
            file.write(f" {x:5.7e}   {y:5.7e}\n")
    return path


@pytest.fixture
def fit2d_chi(tmp_path):
    return write_fit2d_chi(tmp_path / "LaB6_0001.chi")


@pytest.fixture
def gsas_csv(tmp_path):
    """A powder CSV as GSAS-II's ``ExportPowderCSV`` writes it (exports/G2export_csv.py):

    ``WriteList`` writes the quoted header ``"x","y_obs","weight","y_calc","y_bkg"``, then
    each value ``FormatValue(val, (13, 3))`` (weight ``(13, 5)``) joined by ','.
    """
    path = tmp_path / "LaB6_0001.csv"
    table = np.column_stack([TWO_THETA, INTENSITY, 1 / INTENSITY, INTENSITY - 3, np.full(101, 950.0)])
    with open(path, "w") as file:
        file.write('"x","y_obs","weight","y_calc","y_bkg"\n')
        for row in table:
            file.write(",".join(f"{value:13.{5 if i == 2 else 3}f}" for i, value in enumerate(row)) + "\n")
    return path, table


@pytest.fixture
def lab_csv(tmp_path):
    """A temperature log a lab script writes with Python's csv module (dialect 'excel': ',' and CRLF).

    The header names its units the usual ways: '(K)', '[mbar]', '/W'; the first column is
    ``time.time()`` (Unix seconds), the last a status text.
    """
    path = tmp_path / "furnace.csv"
    start = 1714557600.0  # 2024-05-01T10:00:00Z
    rows = [
        (start + 2.5 * n, 295.0 + 0.75 * n, 1.5e-3 + 1e-5 * n, n % 3, "ramp" if n < 5 else "hold")
        for n in range(8)
    ]
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["time", "temperature (K)", "pressure [mbar]", "heater/W", "status"])
        writer.writerows(rows)
    return path, rows


@pytest.fixture
def savetxt_dat(tmp_path):
    """numpy.savetxt's defaults: ``fmt='%.18e'``, ``delimiter=' '``, no header."""
    path = tmp_path / "scan.dat"
    table = np.column_stack([TWO_THETA, INTENSITY, SIGMA])
    np.savetxt(path, table)
    return path, table


@pytest.fixture
def european_csv(tmp_path):
    """A spreadsheet saved as "CSV UTF-8" in a German locale: list separator ';', decimal commas."""
    path = tmp_path / "Messung.csv"
    rows = [(n, 20.5 + n / 4, 1013.25 - n) for n in range(6)]
    with open(path, "w", encoding="utf-8") as file:
        file.write("Zeit (s);Temperatur (°C);Druck (hPa)\n")
        for t, temperature, pressure in rows:
            file.write(f"{t};{temperature:.2f};{pressure:.2f}\n".replace(".", ","))
    return path, np.array(rows, dtype=float)


# ------------------------------------------------------------------ documents


def test_pyfai_xy_documents(pyfai_xy, validated):
    documents = validated(ingest_column_text(str(pyfai_xy)))
    assert names(documents) == ["start", "descriptor", "event_page", "stop"]
    start, descriptor = documents[0][1], documents[1][1]

    expected_uid = base64.urlsafe_b64encode(hashlib.sha256(str(pyfai_xy).encode()).digest()).decode()
    assert start["uid"] == expected_uid
    assert start["time"] == os.path.getmtime(pyfai_xy)
    assert start["ingestor"] == "column_text" and start["source"] == str(pyfai_xy)
    assert start["distance_sample_to_detector"] == 0.1965
    assert start["wavelength"] == 1.0332e-10
    assert start["polarization_factor"] == 0.99
    assert start["units"]["distance_sample_to_detector"] == "m"
    assert start["units"]["distance_sample_beamcenter"] == "mm"
    assert start["poni"] == "1.000e-01, 1.020e-01 m"
    assert start["mask_applied"] == "False"
    assert "== pyFAI calibration ==" in start["comments"]
    assert f"--> {pyfai_xy}" in start["comments"]
    assert "num_points" not in start  # counting rows would mean reading the whole file

    assert list(descriptor["data_keys"]) == ["X2th_deg", "I"]
    assert descriptor["data_keys"]["X2th_deg"]["label"] == "2th_deg"  # an SQL identifier starts with a letter
    assert descriptor["data_keys"]["I"] == {
        "dtype": "number", "dtype_numpy": "<f8", "shape": [], "source": str(pyfai_xy)
    }
    expected = np.loadtxt(pyfai_xy)
    np.testing.assert_array_equal(column(documents, "X2th_deg"), expected[:, 0])
    np.testing.assert_array_equal(column(documents, "I"), expected[:, 1])
    assert [event["seq_num"] for event in events(documents)] == list(range(1, 102))
    mtime = os.path.getmtime(pyfai_xy)
    assert all(event["time"] == mtime and event["timestamps"]["I"] == mtime for event in events(documents))
    stop = documents[-1][1]
    assert stop["exit_status"] == "success" and stop["num_events"] == {"primary": 101}


def test_topas_xye_with_comment_block(topas_xye, validated):
    documents = validated(ingest_column_text(str(topas_xye)))
    start, descriptor = documents[0][1], documents[1][1]
    assert start["comments"] == ["LaB6_0001.tif Azm=   0.00"]
    assert list(descriptor["data_keys"]) == ["col_0", "col_1", "col_2"]
    expected = np.loadtxt(topas_xye, skiprows=3)
    for index in range(3):
        np.testing.assert_array_equal(column(documents, f"col_{index}"), expected[:, index])


def test_fit2d_chi_header(fit2d_chi, validated):
    documents = validated(ingest_column_text(str(fit2d_chi)))
    start, descriptor = documents[0][1], documents[1][1]
    assert start["title"] == "LaB6_0001.tif"
    assert start["num_points"] == 101  # declared on the fourth line: known without reading rows
    assert descriptor["data_keys"]["X2_Theta_Angle"]["units"] == "Degrees"
    assert "units" not in descriptor["data_keys"]["Intensity"]
    expected = np.loadtxt(fit2d_chi, skiprows=4)
    np.testing.assert_array_equal(column(documents, "X2_Theta_Angle"), expected[:, 0])
    np.testing.assert_array_equal(column(documents, "Intensity"), expected[:, 1])


def test_fit2d_chi_with_data_set_count_and_wrong_point_count(tmp_path, validated):
    path = write_fit2d_chi(tmp_path / "a.chi", count_line="   101 1\n")
    documents = validated(ingest_column_text(str(path)))
    assert documents[0][1]["num_points"] == 101 and len(events(documents)) == 101

    path = write_fit2d_chi(tmp_path / "b.chi", n_declared=200)
    with pytest.warns(IngestWarning, match="declares 200 points but the file holds 101 rows") as record:
        documents = validated(ingest_column_text(str(path)))
    assert str(path) in str(record[0].message)
    assert len(events(documents)) == 101


def test_gsas_csv_with_quoted_header_row(gsas_csv, validated):
    path, table = gsas_csv
    documents = validated(ingest_column_text(str(path)))
    descriptor = documents[1][1]
    assert list(descriptor["data_keys"]) == ["x", "y_obs", "weight", "y_calc", "y_bkg"]
    expected = np.loadtxt(path, delimiter=",", skiprows=1)
    for index, key in enumerate(descriptor["data_keys"]):
        np.testing.assert_array_equal(column(documents, key), expected[:, index])
    np.testing.assert_allclose(expected, table, atol=1e-3)


def test_lab_csv_units_text_column_and_time_column(lab_csv, validated):
    path, rows = lab_csv
    documents = validated(ingest_column_text(str(path)))
    descriptor = documents[1][1]
    data_keys = descriptor["data_keys"]
    # 'time' is what every event and the xarray view call the event time: the column is renamed.
    assert list(data_keys) == ["time_column", "temperature", "pressure", "heater", "status"]
    assert data_keys["temperature"]["units"] == "K"
    assert data_keys["pressure"]["units"] == "mbar"
    assert data_keys["heater"]["units"] == "W"
    assert data_keys["heater"]["dtype_numpy"] == "<i8" and data_keys["heater"]["dtype"] == "number"
    assert data_keys["status"]["dtype"] == "string" and data_keys["status"]["dtype_numpy"] == "<U4"

    evs = events(documents)
    assert [event["time"] for event in evs] == [row[0] for row in rows]  # Unix seconds: the row times
    assert evs[3]["timestamps"]["temperature"] == rows[3][0]
    assert [event["data"]["status"] for event in evs] == [row[4] for row in rows]
    np.testing.assert_array_equal(column(documents, "pressure"), [row[2] for row in rows])
    assert documents[-1][1]["time"] == rows[-1][0]

    dataset = BlueskyRun(ingest_column_text(str(path))).primary.read()
    np.testing.assert_array_equal(dataset["time"], [row[0] for row in rows])
    np.testing.assert_array_equal(dataset["temperature"], [row[1] for row in rows])
    assert dataset["status"].values.tolist() == [row[4] for row in rows]


def test_iso_date_time_column_gives_the_event_times(tmp_path, validated):
    # pandas' DataFrame.to_csv of a frame indexed by a UTC DatetimeIndex named 'timestamp'.
    path = tmp_path / "log.csv"
    stamps = ["2024-05-01 10:00:00+00:00", "2024-05-01 10:00:01.500000+00:00", "2024-05-01 10:00:03+00:00"]
    path.write_text("timestamp,value\n" + "".join(f"{s},{n}\n" for n, s in enumerate(stamps)))
    documents = validated(ingest_column_text(str(path)))
    assert [event["time"] for event in events(documents)] == [1714557600.0, 1714557601.5, 1714557603.0]
    assert documents[1][1]["data_keys"]["timestamp"]["dtype"] == "string"

    naive = tmp_path / "naive.csv"
    naive.write_text("datetime;value\n2024-05-01T10:00:00;1\n")
    documents = validated(ingest_column_text(str(naive)))
    assert events(documents)[0]["time"] == datetime.datetime(2024, 5, 1, 10).timestamp()  # local time


def test_relative_time_column_is_data_and_events_take_the_file_time(tmp_path, validated):
    path = tmp_path / "relative.txt"
    path.write_text("# time (s)  signal\n0.0 1\n0.5 2\n1.0 3\n")
    documents = validated(ingest_column_text(str(path)))
    assert documents[1][1]["data_keys"]["time_column"]["units"] == "s"
    mtime = os.path.getmtime(path)
    assert [event["time"] for event in events(documents)] == [mtime] * 3
    np.testing.assert_array_equal(column(documents, "time_column"), [0.0, 0.5, 1.0])


def test_whitespace_file_without_header(savetxt_dat, validated):
    path, table = savetxt_dat
    documents = validated(ingest_column_text(str(path)))
    assert documents[0][1].keys() == {"uid", "time", "ingestor", "source"}
    assert list(documents[1][1]["data_keys"]) == ["col_0", "col_1", "col_2"]
    np.testing.assert_array_equal(np.column_stack([column(documents, f"col_{i}") for i in range(3)]), table)
    np.testing.assert_array_equal(np.loadtxt(path), table)


def test_european_csv_with_decimal_commas(european_csv, validated):
    path, table = european_csv
    documents = validated(ingest_column_text(str(path)))
    data_keys = documents[1][1]["data_keys"]
    assert list(data_keys) == ["Zeit", "Temperatur", "Druck"]
    assert [data_keys[key].get("units") for key in data_keys] == ["s", "°C", "hPa"]
    assert data_keys["Zeit"]["dtype_numpy"] == "<i8" and data_keys["Druck"]["dtype_numpy"] == "<f8"
    for index, key in enumerate(data_keys):
        np.testing.assert_array_equal(column(documents, key), table[:, index])
    # numpy reads the same numbers once told the separators
    converters = {i: lambda text: float(text.replace(",", ".")) for i in range(3)}
    np.testing.assert_array_equal(
        np.loadtxt(path, delimiter=";", skiprows=1, converters=converters, encoding="utf-8"), table
    )


def test_tab_separated_header_names_with_spaces(tmp_path, validated):
    # Excel's "Text (Tab delimited)": names with spaces, an empty field in the third row.
    path = tmp_path / "table.tsv"
    path.write_text(
        "Sample name\tTemperature (K)\tCounts\nLaB6 NIST\t300\t12\nSi 640f\t310.5\t\nCeO2\t320\t15\n"
    )
    documents = validated(ingest_column_text(str(path)))
    data_keys = documents[1][1]["data_keys"]
    assert list(data_keys) == ["Sample_name", "Temperature", "Counts"]
    assert data_keys["Sample_name"]["label"] == "Sample name" and "label" not in data_keys["Counts"]
    assert data_keys["Sample_name"]["dtype"] == "string"
    assert column(documents, "Sample_name").tolist() == ["LaB6 NIST", "Si 640f", "CeO2"]
    np.testing.assert_array_equal(column(documents, "Temperature"), [300, 310.5, 320])
    np.testing.assert_array_equal(column(documents, "Counts"), [12, np.nan, 15])  # empty: NaN


def test_names_from_a_comment_line_with_units_and_duplicates(tmp_path, validated):
    path = tmp_path / "scan.txt"
    path.write_text("% Sample: Si 640f\n% 2theta (deg)  d [A]  I  I  uid\n10 8.8 1 2 3\n11 8.0 2 3 4\n")
    documents = validated(ingest_column_text(str(path)))
    data_keys = documents[1][1]["data_keys"]
    assert list(data_keys) == ["X2theta", "d", "I", "I_2", "uid_column"]
    assert data_keys["X2theta"]["units"] == "deg" and data_keys["d"]["units"] == "A"
    assert data_keys["X2theta"]["label"] == "2theta" and data_keys["I_2"]["label"] == "I"
    assert documents[0][1]["sample"] == "Si 640f"


def test_title_rows_are_comments_and_unnamed_columns_get_numbers(tmp_path, validated):
    # A title row, then pandas' to_csv header: its index column has an empty name.
    path = tmp_path / "frame.csv"
    path.write_text("Furnace run 12\n# exported by pandas\n,T (K),T (K)\n0,300,301\n1,310,311\n")
    documents = validated(ingest_column_text(str(path)))
    assert documents[0][1]["comments"] == ["Furnace run 12", "exported by pandas"]
    data_keys = documents[1][1]["data_keys"]
    assert list(data_keys) == ["col_0", "T", "T_2"]
    assert data_keys["T_2"]["units"] == "K"


def test_header_keys_that_the_run_start_uses_are_renamed(tmp_path, validated):
    path = tmp_path / "keys.dat"
    path.write_text(
        "# Time: 12:30\n# Scan ID: 17\n# Sample: 5\n# Units: SI\n# Source = rotating anode\n"
        "! Temperature = 300 K\n; Comment line\n1 2\n"
    )
    start = validated(ingest_column_text(str(path)))[0][1]
    assert start["header_time"] == "12:30"
    assert start["scan_id"] == 17
    assert start["sample"] == "5"  # the schema wants a string
    assert start["header_units"] == "SI"
    assert start["header_source"] == "rotating anode" and start["source"] == str(path)
    assert start["temperature"] == 300 and start["units"] == {"temperature": "K"}
    assert start["comments"] == ["Comment line"]


def test_delimiter_can_be_given(tmp_path, validated):
    path = tmp_path / "pipes.txt"
    path.write_text("a|b\n1|2\n3|4\n")
    documents = validated(ingest_column_text(str(path), delimiter="|"))
    np.testing.assert_array_equal(column(documents, "b"), [2, 4])
    with pytest.raises(IngestError, match="one character"):
        next(ingest_column_text(str(path), delimiter="||"))
    with pytest.raises(IngestError, match="no such text encoding"):
        next(ingest_column_text(str(path), encoding="utf-99"))


def test_byte_order_mark_and_crlf(tmp_path, validated):
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffx,y\r\n1,2\r\n3,4\r\n".encode("utf-8"))
    documents = validated(ingest_column_text(str(path)))
    assert list(documents[1][1]["data_keys"]) == ["x", "y"]
    np.testing.assert_array_equal(column(documents, "y"), [2, 4])


def test_uid_is_deterministic(pyfai_xy, tmp_path):
    first = next(ingest_column_text(str(pyfai_xy)))[1]["uid"]
    assert next(ingest_column_text(str(pyfai_xy)))[1]["uid"] == first
    other = tmp_path / "other.xy"
    other.write_bytes(pyfai_xy.read_bytes())
    assert next(ingest_column_text(str(other)))[1]["uid"] != first


# ------------------------------------------------------------------ the RunStart reads only the header


def test_run_start_is_made_from_the_header_alone(pyfai_xy, monkeypatch):
    parsed = []
    monkeypatch.setattr(column_text, "read_column_text", lambda *a, **k: parsed.append(a) or 1 / 0)
    monkeypatch.setattr(_column_table, "read_bytes", lambda *a, **k: parsed.append(a) or 1 / 0)
    name, start = next(ingest_column_text(str(pyfai_xy)))
    assert name == "start" and parsed == []
    assert start["wavelength"] == 1.0332e-10


def test_run_start_reads_no_further_than_the_first_block(memory_folder, count_memory_opens, monkeypatch):
    from fsspec.implementations.memory import MemoryFileSystem

    fs, root = memory_folder
    header = "# Sample: LaB6\n# x y\n"
    body = "".join(f"{n} {n * n}\n" for n in range(20_000))  # 250 kB
    fs.pipe(f"{root}/big.xy", (header + body).encode())
    bytes_read = []

    class CountingFile:
        def __init__(self, file):
            self.file = file

        def read(self, size=-1):
            data = self.file.read(size)
            bytes_read.append(len(data))
            return data

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.file.close()

    opening = MemoryFileSystem.open
    monkeypatch.setattr(MemoryFileSystem, "open", lambda *a, **k: CountingFile(opening(*a, **k)))
    count_memory_opens.clear()
    documents = ingest_column_text(f"memory://{root}/big.xy")
    name, start = next(documents)
    assert name == "start" and start["sample"] == "LaB6"
    assert sum(count_memory_opens.values()) == 1  # one open, no whole-file read
    assert sum(bytes_read) == 64 * 2**10  # one block of a 250 kB file
    assert len(page(list(documents))["seq_num"]) == 20_000


def test_bad_content_after_the_header_fails_after_the_run_start(tmp_path):
    path = tmp_path / "damaged.dat"
    path.write_bytes(b"# Sample: LaB6\n1 2\n3 4\n" + bytes(range(256)))
    documents = ingest_column_text(str(path))
    assert next(documents)[1]["sample"] == "LaB6"
    with pytest.raises(IngestError, match="binary") as info:
        list(documents)
    assert info.value.path == str(path)


# ------------------------------------------------------------------ bad input


def test_ragged_row_names_file_and_line(pyfai_xy):
    lines = pyfai_xy.read_text().splitlines()
    lines[40] = lines[40].split()[0]  # a writer killed mid-row
    pyfai_xy.write_text("\n".join(lines) + "\n")
    with pytest.raises(IngestError) as info:
        list(ingest_column_text(str(pyfai_xy)))
    assert info.value.path == str(pyfai_xy)
    assert "line 41 has 1 column, not 2" in info.value.reason


def test_header_row_with_another_column_count_names_the_lines(tmp_path):
    path = tmp_path / "short.csv"
    path.write_text("a,b,c\n1,2\n3,4\n")
    with pytest.raises(IngestError, match=r"line 2 has 2 columns but the header row \(line 1\) names 3"):
        list(ingest_column_text(str(path)))
    path.write_text("a,b\n1,2\n3,4,5\n")
    with pytest.raises(IngestError, match="line 3 has 3 columns, not 2"):
        list(ingest_column_text(str(path)))


def test_empty_and_header_only_files_give_runs_without_events(tmp_path, validated):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.warns(IngestWarning, match="holds no data rows"):
        documents = validated(ingest_column_text(str(empty)))
    assert names(documents) == ["start", "stop"]
    assert documents[-1][1]["num_events"] == {}

    comments_only = tmp_path / "comments.dat"
    comments_only.write_text("# Sample: LaB6\n# x y\n")
    with pytest.warns(IngestWarning):
        documents = validated(ingest_column_text(str(comments_only)))
    assert names(documents) == ["start", "stop"] and documents[0][1]["sample"] == "LaB6"

    header_row = tmp_path / "started.csv"  # a logger that wrote its header, then nothing
    header_row.write_text("time,temperature (K)\r\n")
    with pytest.warns(IngestWarning):
        documents = validated(ingest_column_text(str(header_row)))
    assert names(documents) == ["start", "descriptor", "stop"]
    assert documents[1][1]["data_keys"]["temperature"]["units"] == "K"
    with pytest.warns(IngestWarning):
        dataset = BlueskyRun(ingest_column_text(str(header_row))).primary.read()
    assert set(dataset.data_vars) == {"time_column", "temperature", "seq_num", "uid"}
    assert dataset.sizes["time"] == 0


def test_non_utf8_file_names_file_and_line(tmp_path, validated):
    path = tmp_path / "latin.dat"
    path.write_bytes("# Sample: LaB6\n# Température: 25 °C\n1 2\n".encode("latin-1"))
    documents = ingest_column_text(str(path))
    next(documents)  # the RunStart is lenient, so a folder of files still lists
    with pytest.raises(IngestError, match="not UTF-8 text: byte 0xe9 on line 2") as info:
        list(documents)
    assert info.value.path == str(path)
    assert "encoding=" in info.value.reason

    documents = validated(ingest_column_text(str(path), encoding="latin-1"))
    assert documents[0][1]["température"] == 25 and documents[0][1]["units"]["température"] == "°C"


def test_binary_file_sniffs_zero_and_fails_when_forced(tmp_path):
    path = tmp_path / "image.dat"
    path.write_bytes(b"II*\x00" + bytes(range(256)) * 16)
    (source,) = expand(str(path))
    assert sniff_column_text(path.read_bytes()[:HEAD_BYTES], source) == 0.0
    documents = ingest_column_text(str(path))
    assert next(documents)[0] == "start"
    with pytest.raises(IngestError, match="is a binary file") as info:
        list(documents)
    assert info.value.path == str(path) and "Traceback" not in str(info.value)


def test_missing_file_and_several_files(tmp_path, pyfai_xy, topas_xye):
    with pytest.raises(MissingFileError):
        next(ingest_column_text(str(tmp_path / "gone.xy")))
    with pytest.raises(IngestError, match="matches 2 files"):
        next(ingest_column_text(str(tmp_path / "LaB6_0001.xy*")))


def test_file_deleted_after_listing(pyfai_xy):
    documents = ingest_column_text(str(pyfai_xy))
    next(documents)
    pyfai_xy.unlink()
    with pytest.raises(MissingFileError) as info:
        list(documents)
    assert info.value.path == str(pyfai_xy)


# ------------------------------------------------------------------ sniffing


def _confidence(path):
    (source,) = expand(str(path))
    with open(path, "rb") as file:
        return COLUMN_TEXT.confidence(file.read(HEAD_BYTES), source)


def test_sniff_recognises_the_column_files(
    pyfai_xy, topas_xye, fit2d_chi, gsas_csv, lab_csv, savetxt_dat, european_csv
):
    for path in [pyfai_xy, topas_xye, fit2d_chi, gsas_csv[0], lab_csv[0], savetxt_dat[0], european_csv[0]]:
        assert _confidence(path) == 0.5, path


def test_sniff_leaves_spec_files_to_the_spec_ingestor():
    import spec2nexus

    data = pathlib.Path(spec2nexus.__file__).parent / "data"
    for name in ["33bm_spec.dat", "APS_spec_data.dat", "user6idd.dat", "03_06_JanTest.dat"]:
        assert _confidence(data / name) == 0.1, name


def test_sniff_rejects_prose_and_other_names(tmp_path):
    readme = tmp_path / "README.txt"
    readme.write_text("This folder holds the LaB6 calibration.\nAsk Alice before deleting anything.\n")
    assert _confidence(readme) == 0.0
    image = tmp_path / "pattern.tif"
    image.write_text("1 2\n3 4\n")
    assert _confidence(image) == 0.0  # not a name the ingestor reads
    inconsistent = tmp_path / "mixed.dat"
    inconsistent.write_text("1 2\n3 4 5\n6\n")
    assert _confidence(inconsistent) == 0.0


def test_sniff_long_header_and_cut_head(tmp_path):
    long_header = tmp_path / "long.dat"
    long_header.write_text("".join(f"# parameter_{n}: {n}\n" for n in range(400)) + "1 2\n")
    assert _confidence(long_header) == 0.2
    # prose longer than the head (a real licence text) is no long header
    licence = REAL / "LICENSE_diffpy.rst"
    (source,) = expand(str(licence))
    assert len(licence.read_bytes()) > HEAD_BYTES
    assert sniff_column_text(licence.read_bytes()[:HEAD_BYTES], source) == 0.0
    cut = tmp_path / "cut.xy"
    # the head ends inside a row and inside a two-byte character
    cut.write_bytes(("# Probe: Å\n" + "1.5 2.5\n" * 600).encode()[: HEAD_BYTES - 1] + "Å".encode()[:1])
    assert _confidence(cut) == 0.5


def test_registry_and_detection_find_the_ingestor(pyfai_xy):
    from intake_ingest.detect import sniff_file

    assert get_spec("column_text") is COLUMN_TEXT
    (source,) = expand(str(pyfai_xy))
    candidates, _ = sniff_file(source, [COLUMN_TEXT])
    assert candidates == [("column_text", 0.5)]


# ------------------------------------------------------------------ fsspec, driver, catalog


def test_memory_filesystem_gives_the_same_run(pyfai_xy, memory_folder, validated):
    fs, root = memory_folder
    fs.pipe(f"{root}/LaB6_0001.xy", pyfai_xy.read_bytes())
    url = f"memory://{root}/LaB6_0001.xy"
    documents = validated(ingest_column_text(url))
    local = list(ingest_column_text(str(pyfai_xy)))
    assert documents[0][1]["source"] == url
    assert documents[0][1]["wavelength"] == local[0][1]["wavelength"]
    np.testing.assert_array_equal(column(documents, "I"), column(local, "I"))


def test_http_url(pyfai_xy, http_server, validated):
    documents = validated(ingest_column_text(f"{http_server}/{pyfai_xy.name}"))
    np.testing.assert_array_equal(column(documents, "I"), np.loadtxt(pyfai_xy)[:, 1])


def test_driver_round_trip(fit2d_chi):
    driver = intake.registry["bluesky-column-text"]
    assert driver is ColumnTextRun
    run = driver(filename=str(fit2d_chi))
    assert isinstance(run, BlueskyRun)
    assert run.describe()["metadata"]["start"]["num_points"] == 101
    dataset = run.primary.read()
    expected = np.loadtxt(fit2d_chi, skiprows=4)
    np.testing.assert_array_equal(dataset["X2_Theta_Angle"], expected[:, 0])
    np.testing.assert_array_equal(dataset["Intensity"], expected[:, 1])
    assert dataset["X2_Theta_Angle"].attrs.get("units", "Degrees") == "Degrees"
    assert run.uid == next(ingest_column_text(str(fit2d_chi)))[1]["uid"]


def test_driver_passes_options(european_csv, tmp_path):
    path, table = european_csv
    run = ColumnTextRun(filename=str(path), delimiter=";", encoding="utf-8")
    np.testing.assert_array_equal(run.primary.read()["Druck"], table[:, 2])


def test_ingest_catalog_over_a_folder(pyfai_xy, topas_xye, fit2d_chi, tmp_path, folder_snapshot):
    (tmp_path / "notes.txt").write_text("# nothing measured yet\n")
    before = folder_snapshot(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IngestWarning)
        catalog = BlueskyIngestCatalog(str(tmp_path / "*"), "column_text")
        sources = {catalog[uid].metadata["start"]["source"]: uid for uid in catalog}
        assert set(sources) == {str(p) for p in [pyfai_xy, topas_xye, fit2d_chi, tmp_path / "notes.txt"]}
        assert len(catalog.search({"wavelength": 1.0332e-10})) == 1
        xye = catalog[sources[str(topas_xye)]].primary.read()
    np.testing.assert_array_equal(xye["col_2"], np.loadtxt(topas_xye, skiprows=3)[:, 2])
    assert folder_snapshot(tmp_path) == before  # nothing is written to the source files


def test_canonical_gives_one_event_per_row(savetxt_dat, validated):
    path, table = savetxt_dat
    run = ColumnTextRun(filename=str(path))
    documents = validated(run.canonical(fill="yes"))
    assert names(documents) == ["start", "descriptor"] + ["event"] * len(table) + ["stop"]
    rows = [[doc["data"][f"col_{i}"] for i in range(3)] for name, doc in documents if name == "event"]
    np.testing.assert_array_equal(rows, table)
    assert [doc["seq_num"] for name, doc in documents if name == "event"] == list(range(1, len(table) + 1))


def test_detection_over_a_folder_gives_spec_files_to_spec(pyfai_xy, lab_csv, tmp_path):
    pytest.importorskip("intake_ingest.ingestors.spec")  # the SPEC ingestor (another module)
    import shutil

    import spec2nexus

    from intake_ingest.detect import detect

    spec_file = pathlib.Path(spec2nexus.__file__).parent / "data" / "33bm_spec.dat"
    shutil.copy(spec_file, tmp_path / "33bm_spec.dat")
    (tmp_path / "README.txt").write_text("Powder patterns of the LaB6 standard.\n")
    plan = detect(str(tmp_path), progress=False)
    chosen = {run.files[0].url: run.ingestor for run in plan.runs}
    assert chosen[str(pyfai_xy)] == "column_text"
    assert chosen[str(lab_csv[0])] == "column_text"
    assert set(chosen.values()) == {"column_text", "spec"}  # the SPEC file's scans go to spec
    assert [item.url for item in plan.unrecognised] == [str(tmp_path / "README.txt")]
    assert plan.ambiguous == []


# ------------------------------------------------------------------ real files (tests/data/real/column_text)

REAL = pathlib.Path(__file__).parent.parent / "data" / "real" / "column_text"

#: Each real file: data rows (counted with ``grep -c`` of the rows), lines before them.
REAL_FILES = {
    "CeO2_635um_zscan_200umSlit_chanClose_exported.xy": (151, 1),
    "CeO2_635um_accum_0.xy": (5631, 0),
    "CeO2_mean_q.chi": (3000, 1),
    "zro2_mo_proc.chi": (5630, 0),
}


@pytest.mark.parametrize("file_name", sorted(REAL_FILES))
def test_real_files_equal_a_plain_text_read(file_name, validated):
    path = REAL / file_name
    n_rows, n_header_lines = REAL_FILES[file_name]
    expected = np.loadtxt(path, skiprows=n_header_lines)
    assert expected.shape == (n_rows, 2)
    documents = validated(ingest_column_text(str(path)))
    assert names(documents) == ["start", "descriptor", "event_page", "stop"]
    data = page(documents)["data"]
    assert len(data) == 2
    for key, values in zip(data, expected.T):
        np.testing.assert_array_equal(data[key], values)
    assert documents[-1][1]["num_events"] == {"primary": n_rows}
    (source,) = expand(str(path))
    assert sniff_column_text(path.read_bytes()[:HEAD_BYTES], source) == 0.5


def test_real_lab_diffractometer_export_settings_line(validated):
    path = REAL / "CeO2_635um_zscan_200umSlit_chanClose_exported.xy"
    start = validated(ingest_column_text(str(path)))[0][1]
    # 'Id: "" Comment: "" Operator: "Lab Manager" Anode: "Mo" Scantype: "Z" TimePerStep: "0.1"
    assert start["operator"] == "Lab Manager" and start["anode"] == "Mo" and start["scantype"] == "Z"
    assert start["timeperstep"] == 0.1 and start["id"] == "" and start["comment"] == ""
    assert "comments" not in start


def test_real_integrated_chi_names_its_columns(validated):
    documents = validated(ingest_column_text(str(REAL / "CeO2_mean_q.chi")))
    assert list(documents[1][1]["data_keys"]) == ["chi_Q", "chi_I"]


# ------------------------------------------------------------------ Dioptas .chi, text columns (written here)


@pytest.fixture
def dioptas_chi(tmp_path):
    """A pattern as Dioptas saves it to ``.chi``: fit2d's layout with a blank y-label line.

    Line 1 is the image path and the x unit (``<image>: 2-theta``), line 2 the x label,
    line 3 blank, line 4 the number of points, then ``%.7E`` pairs (as Dioptas's own test
    file ``dioptas/tests/data/pattern_001.chi`` has them; GPL-3, so not copied here).
    """
    path = tmp_path / "LaB6_p49_001.chi"
    lines = ["C:\\data\\LaB6_p49_001.tif: 2-theta", "2-Theta Angle (Degrees)", "", f"{len(TWO_THETA):>11d}"]
    lines += [f"{x: .7E}  {y: .7E}" for x, y in zip(TWO_THETA, INTENSITY)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_dioptas_chi_with_a_blank_label_line(dioptas_chi, validated):
    documents = validated(ingest_column_text(str(dioptas_chi)))
    start, descriptor = documents[0][1], documents[1][1]
    assert start["title"] == "C:\\data\\LaB6_p49_001.tif: 2-theta"
    assert start["num_points"] == len(TWO_THETA)
    assert list(descriptor["data_keys"]) == ["X2_Theta_Angle", "col_1"]
    assert descriptor["data_keys"]["X2_Theta_Angle"]["units"] == "Degrees"
    expected = np.loadtxt(dioptas_chi, skiprows=4)
    np.testing.assert_array_equal(column(documents, "X2_Theta_Angle"), expected[:, 0])
    np.testing.assert_array_equal(column(documents, "col_1"), expected[:, 1])
    (source,) = expand(str(dioptas_chi))
    assert sniff_column_text(dioptas_chi.read_bytes()[:HEAD_BYTES], source) == 0.5


def test_fit2d_chi_with_a_blank_title(tmp_path, validated):
    path = tmp_path / "untitled.chi"
    path.write_text("\n2-Theta Angle (Degrees)\nIntensity\n       2\n 1.0 5.0\n 2.0 6.0\n")
    start, descriptor = (doc for _, doc in validated(ingest_column_text(str(path)))[:2])
    assert "title" not in start and start["num_points"] == 2
    assert list(descriptor["data_keys"]) == ["X2_Theta_Angle", "Intensity"]


def test_chi_header_with_both_labels_blank_and_rows_that_only_look_like_one(tmp_path, validated):
    path = tmp_path / "unlabelled.chi"
    path.write_text("LaB6_0001.tif\n\n\n       2\n 1.0 5.0\n 2.0 6.0\n")
    start, descriptor = (doc for _, doc in validated(ingest_column_text(str(path)))[:2])
    assert start["title"] == "LaB6_0001.tif" and start["num_points"] == 2
    assert list(descriptor["data_keys"]) == ["col_0", "col_1"]

    path = tmp_path / "numbers.dat"  # a row of numbers, two blank lines, a count: data, not a title
    path.write_text("1.0 5.0\n\n\n       2\n 1.0 5.0\n")
    with pytest.raises(IngestError, match="line 4 has 1 column, not 2 as line 1"):
        list(ingest_column_text(str(path)))


@pytest.fixture
def sample_log_csv(tmp_path):
    """A sample changer's log as Python's csv module writes it: more text columns than numbers."""
    path = tmp_path / "changer.csv"
    rows = [
        ("A1", "LaB6", "NIST 660c", "ok", "295.1", "2024-05-01T10:00:00"),
        ("A2", "CeO2", "", "failed", "n/a", "2024-05-01T10:05:00"),
        ("A3", "Si", "NIST 640f", "ok", "296", "2024-05-01T10:10:00"),
    ]
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["position", "sample", "standard", "status", "temperature (K)", "timestamp"])
        writer.writerows(rows)
    return path, rows


def test_csv_of_mostly_text_rows_is_read_with_string_data_keys(sample_log_csv, validated):
    path, rows = sample_log_csv
    documents = validated(ingest_column_text(str(path)))
    assert names(documents) == ["start", "descriptor", "event_page", "stop"]
    data_keys = documents[1][1]["data_keys"]
    assert list(data_keys) == ["position", "sample", "standard", "status", "temperature", "timestamp"]
    assert {key: data_key["dtype"] for key, data_key in data_keys.items()} == dict.fromkeys(data_keys, "string")
    assert data_keys["temperature"]["units"] == "K"
    data = page(documents)["data"]
    for index, key in enumerate(data_keys):
        assert data[key].tolist() == [row[index] for row in rows]  # 'n/a' keeps the column text
    expected_times = [datetime.datetime.fromisoformat(row[5]).timestamp() for row in rows]
    assert page(documents)["time"] == expected_times
    assert BlueskyRun(ingest_column_text(str(path))).primary.read()["status"].values.tolist() == [
        "ok", "failed", "ok"
    ]


def test_mixed_columns_are_numbers_only_where_every_value_is_one(tmp_path, validated):
    path = tmp_path / "mixed.csv"
    path.write_text("name,count,value,flag\nx,1,1.5,1\ny,2,,yes\nz,3,2.5e3,0\n")
    documents = validated(ingest_column_text(str(path)))
    data_keys = documents[1][1]["data_keys"]
    assert {key: data_key["dtype_numpy"] for key, data_key in data_keys.items()} == {
        "name": "<U1", "count": "<i8", "value": "<f8", "flag": "<U3"
    }
    data = page(documents)["data"]
    np.testing.assert_array_equal(data["value"], [1.5, np.nan, 2500.0])
    assert data["flag"].tolist() == ["1", "yes", "0"]


def test_text_lines_without_numbers_above_a_header_row_stay_comments(tmp_path, validated):
    # a line of words under another with as many commas is not a data row: it has no number
    path = tmp_path / "titled.csv"
    path.write_text("run twelve, LaB6, room temperature\noperator, J. Doe, beamline\nx,y,z\n1,2,3\n4,5,6\n")
    documents = validated(ingest_column_text(str(path)))
    assert documents[0][1]["comments"] == ["run twelve, LaB6, room temperature", "operator, J. Doe, beamline"]
    assert list(documents[1][1]["data_keys"]) == ["x", "y", "z"]
    np.testing.assert_array_equal(column(documents, "z"), [3, 6])


def _event_columns(documents):
    pages = [doc for name, doc in documents if name == "event_page"]
    events = [doc for name, doc in documents if name == "event"]
    if pages:
        return pages[0]["data"]
    return {key: [event["data"][key] for event in events] for key in events[0]["data"]}


def test_cr_only_line_endings_are_read_like_lf(tmp_path, validated):
    # Classic Mac OS programs end lines with a lone CR.
    text = "# title: old mac export\r# two_theta intensity\r10.0 5\r10.5 7\r11.0 9\r"
    cr_path, lf_path = tmp_path / "mac.xy", tmp_path / "unix.xy"
    cr_path.write_bytes(text.encode())
    lf_path.write_bytes(text.replace("\r", "\n").encode())
    crlf_path = tmp_path / "dos.xy"
    crlf_path.write_bytes(text.replace("\r", "\r\n").encode())
    expected = validated(ingest_column_text(str(lf_path)))
    for path in (cr_path, crlf_path):
        documents = validated(ingest_column_text(str(path)))
        assert documents[0][1]["title"] == expected[0][1]["title"] == "old mac export"
        assert documents[1][1]["data_keys"].keys() == expected[1][1]["data_keys"].keys() == {"two_theta", "intensity"}
        np.testing.assert_array_equal(_event_columns(documents)["intensity"], [5, 7, 9])


def test_cr_held_at_a_block_end_is_one_line_ending(tmp_path, monkeypatch):
    path = tmp_path / "dos.txt"
    path.write_bytes(b"# a: 1\r\n# b: 2\r\n1 2\r\n")

    class SmallBlocks:
        def __init__(self, file):
            self.file = file

        def read(self, size):
            return self.file.read(7)  # "# a: 1\r" then "\n# b: 2" ...

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.file.close()

    source = expand(str(path))[0]
    monkeypatch.setattr(source.fs, "open", lambda p, mode: SmallBlocks(open(p, mode)))
    assert list(column_text._head_lines(source, "utf-8")) == ["# a: 1", "# b: 2", "1 2"]


@pytest.mark.parametrize("field", ['"' + "x" * 140_000 + '"', "9" * 140_000])
def test_field_over_128_kib_is_an_error_naming_the_file_and_line(tmp_path, field):
    path = tmp_path / "huge.csv"
    path.write_text(f"a,b\n1,2\n3,{field}\n")
    with pytest.raises(IngestError, match=r"line 3 has a field over 128 KiB") as info:
        list(ingest_column_text(str(path)))
    assert info.value.path == str(path)
    assert not isinstance(info.value, csv.Error)
