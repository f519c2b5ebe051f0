"""The spreadsheet pipeline: encodings, delimiters, hostile files, spreadsheet damage, error
reports, formula neutralisation, idempotent re-runs. No database needed: the sink is a dict."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import multiprocessing
import random
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from slrt.platform.errors import Msg
from slrt.platform.tabular.imports import run_import
from slrt.platform.tabular.read import FileRejected, iter_rows
from slrt.platform.tabular.validate import Column, Sheet
from slrt.platform.tabular.write import CsvWriter, XlsxWriter

SHEET = Sheet(
    [
        Column("no_kk", "id16", required=True, aliases=("nomor kk", "kk"), label="Nomor KK"),
        Column("nik", "id16", required=True, label="NIK"),
        Column("nama", required=True, max_length=100, label="Nama"),
        Column(
            "jenis_kelamin",
            "choice",
            choices={"l": "L", "p": "P", "laki-laki": "L", "perempuan": "P"},
            label="Jenis kelamin",
        ),
        Column("tanggal_lahir", "date", label="Tanggal lahir"),
    ]
)
HEADER = ["No KK", "NIK", "Nama", "Jenis Kelamin", "Tanggal Lahir", "Catatan"]


class DictSink:
    """An upsert keyed by NIK, counting what changed (the registry's sink does this in SQL)."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.calls = 0

    def __call__(self, batch):
        self.calls += 1
        counts = {"inserted": 0, "updated": 0, "unchanged": 0}
        for _, values in batch:
            old = self.rows.get(values["nik"])
            if old is None:
                counts["inserted"] += 1
            elif old == values:
                counts["unchanged"] += 1
            else:
                counts["updated"] += 1
            self.rows[values["nik"]] = dict(values)
        return counts


def read_report_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))[1:]


MESSY_ROWS = [
    # row 2: good
    ["7372010101010001", "7372015507800001", "Andi", "L", "23/04/1980", "ok"],
    # row 3: NIK in scientific notation
    ["7372010101010001", "3.32E+15", "Budi", "L", "04/04/1980", ""],
    # row 4: lost leading zero / digit (15 digits), and a date that reads two ways
    ["737201010101001", "7372015507800002", "Citra", "P", "05/04/1980", ""],
    # row 5: Excel serial date
    ["7372010101010002", "7372015507800003", "Dedi", "L", "29315", ""],
    # row 6: good: ISO after DD/MM/YYYY (each date cell is read on its own)
    ["7372010101010002", "7372015507800004", "Eka", "P", "1980-04-03", ""],
    # row 7: month/day (US) order
    ["7372010101010003", "7372015507800005", "Fajar", "L", "04/23/1980", ""],
    # row 8: two problems in one row: missing name, unknown sex
    ["7372010101010003", "7372015507800006", "", "X", "01/01/1990", ""],
    # row 9: good, with a Windows-1252 letter
    ["7372010101010004", "7372015507800007", "Séptiani", "perempuan", "15/08/1975", ""],
    # row 10: blank (skipped, not an error)
    ["", "", "", "", "", ""],
    # row 11: a formula in a bad cell: the report must neutralise it
    ["7372010101010005", "7372015507800008", "Gita", "=1+1", "21/02/1991", ""],
    # row 12: two-digit year
    ["7372010101010005", "7372015507800009", "Hadi", "L", "03/04/80", ""],
]

EXPECTED_ERRORS = [
    ("3", "nik", "3.32E+15", "notasi ilmiah"),
    ("4", "no_kk", "737201010101001", "hanya 15 digit"),
    ("4", "tanggal_lahir", "05/04/1980", "bisa dibaca 05-04-1980 atau 04-05-1980"),
    ("5", "tanggal_lahir", "29315", "nomor seri Excel"),
    ("7", "tanggal_lahir", "04/23/1980", "bulan/hari"),
    ("8", "nama", "", "wajib diisi"),
    ("8", "jenis_kelamin", "X", "tidak dikenal"),
    ("11", "jenis_kelamin", "'=1+1", "tidak dikenal"),
    ("12", "tanggal_lahir", "03/04/80", "tahun dua digit"),
]


def _write_csv(path: Path, rows, *, delimiter: str, encoding: str) -> Path:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    w.writerow(HEADER)
    w.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


@pytest.mark.parametrize("overlap", [False, True], ids=["inline", "read-ahead"])
def test_messy_csv_gives_the_right_error_report_and_good_rows(
    tmp_path: Path, overlap: bool
) -> None:
    """Read in another process (overlap) or not, the same rows, report, counts and checkpoints:
    what the reading found (encoding, delimiter, ignored columns, every error) crosses over."""
    src = _write_csv(tmp_path / "data.txt", MESSY_ROWS, delimiter=";", encoding="cp1252")
    sink = DictSink()
    progress = []
    outcome = run_import(
        src,
        SHEET,
        sink,
        tmp_path,
        checkpoint=lambda *a, **k: progress.append((a, k)),
        overlap=overlap,
    )
    assert (outcome.kind, outcome.encoding, outcome.delimiter) == ("csv", "cp1252", ";")
    assert outcome.ignored_columns == ["Catatan"]
    assert sorted(sink.rows) == ["7372015507800001", "7372015507800004", "7372015507800007"]
    assert sink.rows["7372015507800004"]["tanggal_lahir"] == dt.date(1980, 4, 3)
    assert sink.rows["7372015507800007"] == {
        "no_kk": "7372010101010004",
        "nik": "7372015507800007",
        "nama": "Séptiani",
        "jenis_kelamin": "P",
        "tanggal_lahir": dt.date(1975, 8, 15),
    }
    assert (outcome.rows, outcome.good, outcome.bad, outcome.errors) == (10, 3, 7, 9)
    report = read_report_csv(outcome.report.csv_path)
    assert [(r[0], r[1], r[2]) for r in report] == [e[:3] for e in EXPECTED_ERRORS]
    for row, expected in zip(report, EXPECTED_ERRORS, strict=True):
        assert expected[3] in row[3], row
        assert row[4]  # English message present
    xlsx = load_workbook(outcome.report.xlsx_path, read_only=True)
    xrows = list(xlsx.active.iter_rows(values_only=True))
    assert xrows[0][0] == "baris / row"
    assert [(str(r[0]), r[1], r[2] or "") for r in xrows[1:]] == [e[:3] for e in EXPECTED_ERRORS]
    # the last checkpoint carries the counts and the resume row
    _args, kwargs = progress[-1]
    assert kwargs["counts"]["good_rows"] == 3 and kwargs["state"]["row"] == 9


def test_messy_xlsx_catches_numbers_and_date_cells(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(HEADER[:5])
    ws.append(["7372010101010001", "7372015507800001", "Andi", "L", dt.datetime(1980, 4, 3)])
    ws.append(["7372010101010001", 7372015507800002, "Budi", "L", dt.datetime(1980, 4, 4)])
    ws.append(["7372010101010001", 3.32e15, "Citra", "P", dt.datetime(1980, 4, 5)])
    ws.append(["7372010101010002", "7372015507800004", "Dedi", "L", 29315])
    ws.append(["7372010101010002", "7372015507800005", "Eka", "P", "03/04/1980"])
    ws.append([None, None, None, None, None])
    ws.append(["7372010101010003", "7372015507800006", "Fajar", "L", dt.datetime(1990, 1, 1)])
    path = tmp_path / "upload.bin"  # the name says nothing; the content decides
    wb.save(path)
    sink = DictSink()
    outcome = run_import(path, SHEET, sink, tmp_path)
    assert outcome.kind == "xlsx"
    assert sorted(sink.rows) == ["7372015507800001", "7372015507800006"]
    assert sink.rows["7372015507800001"]["tanggal_lahir"] == dt.date(1980, 4, 3)
    report = read_report_csv(outcome.report.csv_path)
    assert [(r[0], r[1]) for r in report] == [
        ("3", "nik"),
        ("4", "nik"),
        ("5", "tanggal_lahir"),
        ("6", "tanggal_lahir"),
    ]
    assert "tersimpan sebagai angka" in report[0][3]
    assert "3.32E+15" in report[1][3]
    assert "nomor seri Excel" in report[2][3]
    # a slashed text date after date cells: refused for reading two ways, not for being "mixed"
    assert "bisa dibaca 03-04-1980 atau 04-03-1980" in report[3][3]


def test_utf8_with_bom_and_comma(tmp_path: Path) -> None:
    src = _write_csv(tmp_path / "a.csv", MESSY_ROWS[:1], delimiter=",", encoding="utf-8-sig")
    sink = DictSink()
    outcome = run_import(src, SHEET, sink, tmp_path)
    assert (outcome.encoding, outcome.delimiter, outcome.good) == ("utf-8-sig", ",", 1)


def test_rerun_changes_nothing_and_resume_skips_written_rows(tmp_path: Path) -> None:
    rows = [
        ["7372010101010001", f"73720155078{i:05d}", f"Nama {i}", "L", "13/04/1980", ""]
        for i in range(1, 26)
    ]
    src = _write_csv(tmp_path / "a.csv", rows, delimiter=",", encoding="utf-8")
    sink = DictSink()
    first = run_import(src, SHEET, sink, tmp_path, batch_size=10)
    assert first.written == {"inserted": 25, "updated": 0, "unchanged": 0}
    again = run_import(src, SHEET, sink, tmp_path, batch_size=10)
    assert again.written == {"inserted": 0, "updated": 0, "unchanged": 25}
    fresh = DictSink()
    resumed = run_import(
        src,
        SHEET,
        fresh,
        tmp_path,
        batch_size=10,
        resume_after=11,
        written_before={"inserted": 10, "updated": 0, "unchanged": 0},
    )
    assert len(fresh.rows) == 15  # rows 12..26 only
    assert resumed.written == {"inserted": 25, "updated": 0, "unchanged": 0}


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _rejected(path: Path, **kw) -> str:
    with pytest.raises(FileRejected) as err:
        _info, rows = iter_rows(path, **kw)
        list(rows)
    return str(err.value.msg) + " | " + err.value.msg.en


def test_hostile_files_are_refused_with_a_clear_message(tmp_path: Path) -> None:
    bomb = _zip(
        tmp_path / "bomb.xlsx",
        {
            "[Content_Types].xml": b"<Types/>",
            "xl/workbook.xml": b"<workbook/>",
            "xl/worksheets/sheet1.xml": b"\0" * (50 * 1024 * 1024),
        },
    )
    assert "zip bomb" in _rejected(bomb)
    docx = _zip(
        tmp_path / "letter.xlsx", {"[Content_Types].xml": b"<T/>", "word/document.xml": b"x"}
    )
    assert "bukan XLSX yang sah" in _rejected(docx)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04" + b"garbage" * 100)
    assert "bukan XLSX yang sah" in _rejected(broken)
    pdf = tmp_path / "data.csv"
    pdf.write_bytes(b"%PDF-1.7\n...")
    assert "bukan CSV atau XLSX" in _rejected(pdf)
    wide = Workbook()
    wide.active.append([f"c{i}" for i in range(61)])
    wide.save(tmp_path / "wide.xlsx")
    assert "Terlalu banyak kolom (61)" in _rejected(tmp_path / "wide.xlsx")
    wide_csv = tmp_path / "wide.csv"
    wide_csv.write_text(",".join(f"c{i}" for i in range(70)) + "\n")
    assert "Terlalu banyak kolom (70)" in _rejected(wide_csv)
    bad_bytes = tmp_path / "enc.csv"
    bad_bytes.write_bytes(b"nik;nama\n7372015507800001;Ab\x81c\n")
    message = _rejected(bad_bytes)
    assert "bukan UTF-8 maupun Windows-1252" in message and "byte 28" in message
    big = tmp_path / "big.csv"
    big.write_bytes(b"a,b\n" + b"1,2\n" * 1000)
    assert "terlalu besar" in _rejected(big, max_bytes=1000)


def test_missing_required_column_is_named(tmp_path: Path) -> None:
    src = tmp_path / "a.csv"
    src.write_text("Nama;Tanggal Lahir\nAndi;01/01/1990\n")
    with pytest.raises(FileRejected) as err:
        run_import(src, SHEET, DictSink(), tmp_path)
    assert "no_kk, nik" in str(err.value.msg)


DANGEROUS = ["=cmd|' /C calc'!A0", "+1+2", "-2+3", "@SUM(A1)", "\tx", "\rx"]


def test_exports_neutralise_formula_injection(tmp_path: Path) -> None:
    c = CsvWriter(tmp_path / "e.csv", ["nilai"])
    x = XlsxWriter(tmp_path / "e.xlsx", ["nilai"])
    for value in [*DANGEROUS, "Andi", -5]:
        c.write([value])
        x.write([value])
    c.close()
    x.close()
    with (tmp_path / "e.csv").open(encoding="utf-8-sig", newline="") as f:
        got = [r[0] for r in csv.reader(f)][1:]
    assert got == ["'" + v for v in DANGEROUS] + ["Andi", "-5"]
    ws = load_workbook(tmp_path / "e.xlsx").active
    cells = [row[0] for row in ws.iter_rows(min_row=2)]
    # (XML reading turns a stored CR into LF; the apostrophe in front is what matters)
    expected = ["'" + v.replace("\r", "\n") for v in DANGEROUS] + ["Andi", -5]
    assert [cell.value for cell in cells] == expected
    assert all(cell.data_type == "s" for cell in cells[: len(DANGEROUS)])


# --- dates as real district files hold them ------------------------------------------------

DATE_SHEET = Sheet(
    [
        Column("nik", "id16", required=True, label="NIK", unique=True),
        Column(
            "tanggal_lahir",
            "date",
            label="Tanggal lahir",
            # what the registry passes: the birth date a NIK carries (women: day + 40)
            settle=lambda v: (
                dt.date(1900 + int(v["nik"][10:12]), int(v["nik"][8:10]), int(v["nik"][6:8]) % 40)
                if v.get("nik")
                else None
            ),
        ),
    ]
)


def _dtks_like_xlsx(path: Path) -> Path:
    """A district file as it comes: the first rows typed into date cells by Excel, later rows
    pasted as text from other systems (ISO, DD-MM-YYYY, Indonesian month names)."""
    wb = Workbook()
    ws = wb.active
    ws.append(["NIK", "Tanggal Lahir"])
    for i in range(10):  # date cells
        ws.append([f"737201{13 + i:02d}0480{i + 1:04d}", dt.datetime(1980, 4, 13 + i)])
    for i in range(10):  # ISO text
        ws.append([f"737201{13 + i:02d}0581{i + 1:04d}", f"1981-05-{13 + i:02d}"])
    months = ["Januari", "Feb", "Maret", "Apr", "Mei", "Juni", "Jul", "Agustus", "Sept", "Okt"]
    for i, month in enumerate(months):  # Indonesian month names, full and abbreviated
        ws.append([f"737201{i + 1:02d}{i + 1:02d}82{i + 1:04d}", f"{i + 1} {month} 1982"])
    for i in range(10):  # DD-MM-YYYY and DD/MM/YYYY with the day above 12
        sep = "-" if i % 2 else "/"
        ws.append([f"737201{13 + i:02d}0383{i + 1:04d}", f"{13 + i:02d}{sep}03{sep}1983"])
    wb.save(path)
    return path


def test_each_date_cell_is_read_on_its_own(tmp_path: Path) -> None:
    """A typical district file mixes date cells and several text forms in one column: every
    unambiguous one is good (before, everything after the first form seen was refused)."""
    sink = DictSink()
    outcome = run_import(_dtks_like_xlsx(tmp_path / "dtks.xlsx"), DATE_SHEET, sink, tmp_path)
    assert read_report_csv(outcome.report.csv_path) == []
    assert (outcome.rows, outcome.good) == (40, 40)
    got = {nik: v["tanggal_lahir"] for nik, v in sink.rows.items()}
    assert got["7372011304800001"] == dt.date(1980, 4, 13)
    assert got["7372011305810001"] == dt.date(1981, 5, 13)
    assert got["7372010808820008"] == dt.date(1982, 8, 8)  # "8 Agustus 1982"
    assert got["7372010909820009"] == dt.date(1982, 9, 9)  # "9 Sept 1982"
    assert got["7372011403830002"] == dt.date(1983, 3, 14)  # "14-03-1983"


@pytest.mark.parametrize(
    ("nik", "cell", "expected", "message"),
    [
        # reads two ways, and the NIK's birth date (3 April 1980) settles it
        ("7372010304800001", "03/04/1980", dt.date(1980, 4, 3), None),
        # the same text next to a NIK born 4 March: the other reading
        ("7372010403800001", "03/04/1980", dt.date(1980, 3, 4), None),
        # a woman's NIK (day + 40) settles it too
        ("7372014304800001", "03/04/1980", dt.date(1980, 4, 3), None),
        # the NIK agrees with neither reading: refused, saying both readings and the NIK's
        ("7372010101800001", "03/04/1980", None, "bisa dibaca 03-04-1980 atau 04-03-1980"),
        ("7372010505800001", "05/05/1980", dt.date(1980, 5, 5), None),  # one reading only
        ("7372011304800001", "13/04/1980", dt.date(1980, 4, 13), None),
        ("7372010304800001", "3 Apr 1980", dt.date(1980, 4, 3), None),
        ("7372010308800001", "3 Agt. 1980", dt.date(1980, 8, 3), None),
        ("7372010308800001", "3 August 1980", None, "nama bulan 'August' tidak dikenal"),
        ("7372010304800001", "04/23/1980", None, "bulan/hari"),
        ("7372010304800001", "31-02-1980", None, "bukan tanggal yang ada"),
        ("7372010304800001", "29315", None, "nomor seri Excel"),
        ("7372010304800001", "3 Apr 80", None, "tahun dua digit"),
        ("7372010304800001", "03-04-80", None, "tahun dua digit"),
    ],
)
def test_a_date_that_reads_two_ways_is_settled_by_the_nik_or_refused(
    tmp_path: Path, nik: str, cell: str, expected: dt.date | None, message: str | None
) -> None:
    src = tmp_path / "a.csv"
    src.write_text(f"NIK;Tanggal Lahir\n{nik};{cell}\n", encoding="utf-8")
    sink = DictSink()
    outcome = run_import(src, DATE_SHEET, sink, tmp_path)
    report = read_report_csv(outcome.report.csv_path)
    if expected is not None:
        assert report == [] and sink.rows[nik]["tanggal_lahir"] == expected
    else:
        assert sink.rows == {} and len(report) == 1
        assert report[0][1] == "tanggal_lahir" and message in report[0][3], report


def test_an_ambiguous_date_without_a_nik_to_settle_it_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "a.csv"
    src.write_text(
        "No KK;NIK;Nama;Tanggal Lahir\n7372010101010001;7372015507800001;Andi;03/04/1980\n",
        encoding="utf-8",
    )
    outcome = run_import(src, SHEET, DictSink(), tmp_path)
    [error] = read_report_csv(outcome.report.csv_path)
    assert error[:3] == ["2", "tanggal_lahir", "03/04/1980"]
    assert "3 April 1980" in error[3] and "reads as 03-04-1980 or 04-03-1980" in error[4]


# --- rows refused whole, and every problem of a row ------------------------------------------


def test_a_repeated_nik_is_refused_naming_the_first_row(tmp_path: Path) -> None:
    rows = [
        ["7372010101010001", "7372015507800001", "Andi", "L", "13/04/1980", ""],
        ["7372010101010002", "7372015507800002", "Budi", "L", "14/04/1980", ""],
        ["7372010101010003", "7372015507800001", "Andi (KK lain)", "L", "13/04/1980", ""],
    ]
    unique_sheet = Sheet([dataclasses.replace(c, unique=c.name == "nik") for c in SHEET.columns])
    src = _write_csv(tmp_path / "a.csv", rows, delimiter=";", encoding="utf-8")
    sink = DictSink()
    outcome = run_import(src, unique_sheet, sink, tmp_path)
    assert sink.rows["7372015507800001"]["nama"] == "Andi"  # the first row stands
    [error] = read_report_csv(outcome.report.csv_path)
    assert error[:3] == ["4", "nik", "7372015507800001"]
    assert "sudah ada di baris 2" in error[3] and "already in row 2" in error[4]


def test_a_row_hears_of_every_problem_it_has(tmp_path: Path) -> None:
    """A bad cell used to stop the row's own checks (for the registry: the NIK's)."""

    def nik_agrees(values: dict[str, Any]) -> list[tuple[str, Any]]:
        if values.get("nik") and values.get("jenis_kelamin") == "L" and values["nik"][6] >= "4":
            return [("nik", Msg("NIK perempuan, jenis kelamin L.", "A woman's NIK, sex L."))]
        return []

    sheet = Sheet(SHEET.columns, row_checks=[nik_agrees])
    rows = [["7372010101010001", "7372015507800001", "", "L", "13/04/1980", ""]]
    src = _write_csv(tmp_path / "a.csv", rows, delimiter=";", encoding="utf-8")
    outcome = run_import(src, sheet, DictSink(), tmp_path)
    report = read_report_csv(outcome.report.csv_path)
    assert [(r[1], r[3]) for r in report] == [
        ("nama", "Nama wajib diisi."),
        ("nik", "NIK perempuan, jenis kelamin L."),
    ]


def test_a_number_typed_with_an_apostrophe_is_named_so(tmp_path: Path) -> None:
    rows = [["'7372010101010001", "\u20197372015507800001", "Andi", "L", "13/04/1980", ""]]
    src = _write_csv(tmp_path / "a.csv", rows, delimiter=";", encoding="utf-8")
    outcome = run_import(src, SHEET, DictSink(), tmp_path)
    report = read_report_csv(outcome.report.csv_path)
    assert [r[1] for r in report] == ["no_kk", "nik"]
    assert "diawali tanda petik (')" in report[0][3] and "apostrophe" in report[0][4]
    assert "diawali tanda petik (\u2019)" in report[1][3]


# --- bytes that break things -------------------------------------------------------------------


def test_control_characters_are_refused_and_no_break_spaces_made_plain(tmp_path: Path) -> None:
    rows = [
        ["7372010101010001", "7372015507800001", "Andi\x00Baso", "L", "13/04/1980", ""],
        ["7372010101010001", "7372015507800002", "Sitti\x07", "P\x1b", "14/04/1980", ""],
        ["7372010101010001", "7372015507800003", "Andi\u00a0Baso\u202fDaeng", "L", "", ""],
    ]
    src = _write_csv(tmp_path / "a.csv", rows, delimiter=";", encoding="utf-8")
    sink = DictSink()
    outcome = run_import(src, SHEET, sink, tmp_path)
    report = read_report_csv(outcome.report.csv_path)
    assert [(r[0], r[1]) for r in report] == [("2", "nama"), ("3", "nama"), ("3", "jenis_kelamin")]
    assert "karakter kontrol" in report[0][3] and "U+0000" in report[0][3]
    assert "control character (U+0007" in report[1][4]
    # the report itself stays readable: the control character is shown, not written raw
    assert report[0][2] == "Andi\u2400Baso"
    assert sink.rows["7372015507800003"]["nama"] == "Andi Baso Daeng"


def test_stored_control_characters_are_escaped_in_exports(tmp_path: Path) -> None:
    c = CsvWriter(tmp_path / "e.csv", ["nama"])
    x = XlsxWriter(tmp_path / "e.xlsx", ["nama"])
    for value in ["Andi\x01Baso", "\x00", "=A1\x1f", "baris\nbaru\ttab"]:
        c.write([value])
        x.write([value])
    c.close()
    x.close()  # raised IllegalCharacterError before: the whole export failed
    expected = ["Andi\u2401Baso", "\u2400", "'=A1\u241f", "baris\nbaru\ttab"]
    with (tmp_path / "e.csv").open(encoding="utf-8-sig", newline="") as f:
        assert [r[0] for r in csv.reader(f)][1:] == expected
    ws = load_workbook(tmp_path / "e.xlsx").active
    assert [row[0].value for row in ws.iter_rows(min_row=2)] == expected


# --- memory bombs --------------------------------------------------------------------------

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def excel_xlsx(
    path: Path, rows: list[list[str]], *, padding: Any = (), parts: dict[str, bytes] | None = None
) -> Path:
    """An XLSX shaped as Excel writes it: every text in the shared strings part, cells pointing
    at them by index. `padding` yields more raw bytes for the shared strings part (strings no
    cell uses); `parts` adds or replaces parts."""
    strings: list[str] = []
    index: dict[str, int] = {}
    cells = []
    for r, row in enumerate(rows, start=1):
        refs = []
        for c, value in enumerate(row):
            if value not in index:
                index[value] = len(strings)
                strings.append(value)
            refs.append(f'<c r="{chr(65 + c)}{r}" t="s"><v>{index[value]}</v></c>')
        cells.append(f'<row r="{r}">{"".join(refs)}</row>')
    last = f"{chr(64 + len(rows[0]))}{len(rows)}"
    sheet = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="{MAIN_NS}">'
        f'<dimension ref="A1:{last}"/><sheetData>{"".join(cells)}</sheetData></worksheet>'
    )
    sml = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    types = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.'
        'openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType='
        '"application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
        f'ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="'
        f'{sml}.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="'
        f'{sml}.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="'
        f'{sml}.sharedStrings+xml"/></Types>'
    )
    rels = "http://schemas.openxmlformats.org/package/2006/relationships"
    package_rels = (
        f'<Relationships xmlns="{rels}"><Relationship Id="rId1" Type="{REL_NS}/officeDocument" '
        'Target="xl/workbook.xml"/></Relationships>'
    )
    workbook = (
        f'<workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"><sheets><sheet name="Data" sheetId="1" '
        'r:id="rId1"/></sheets></workbook>'
    )
    workbook_rels = (
        f'<Relationships xmlns="{rels}"><Relationship Id="rId1" Type="{REL_NS}/worksheet" '
        f'Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{REL_NS}/sharedStrings"'
        ' Target="sharedStrings.xml"/></Relationships>'
    )
    from xml.sax.saxutils import escape

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for name, data in {
            "[Content_Types].xml": types.encode(),
            "_rels/.rels": package_rels.encode(),
            "xl/workbook.xml": workbook.encode(),
            "xl/_rels/workbook.xml.rels": workbook_rels.encode(),
            "xl/worksheets/sheet1.xml": sheet.encode(),
            **(parts or {}),
        }.items():
            zf.writestr(name, data)
        with zf.open("xl/sharedStrings.xml", "w") as out:
            out.write(f'<sst xmlns="{MAIN_NS}">'.encode())
            for value in strings:
                out.write(f"<si><t>{escape(value)}</t></si>".encode())
            for chunk in padding:
                out.write(chunk)
            out.write(b"</sst>")
    return path


REGISTRY_ROWS = [["No KK", "NIK", "Nama", "Jenis Kelamin", "Tanggal Lahir"]] + [
    [f"73720101012000{i:02d}", f"73720113048000{i:02d}", f"Warga {i}", "L", "13-04-1980"]
    for i in range(1, 21)
]


def _unused_strings(total_bytes: int) -> Any:
    """Shared strings no cell uses, like text a tool left behind: varied enough to compress
    only about ten to one, so the per-part compression ratio check lets them through."""
    rnd = random.Random(14)
    block = "".join(
        f"<si><t>Warga Kelurahan Lompoe {rnd.randrange(10**6):06d}</t></si>" for _ in range(20000)
    ).encode()
    for _ in range(total_bytes // len(block)):
        yield block


MEASURE_READ = """
import resource, sys
from pathlib import Path
limit = 1536 * 1024**2
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from slrt.platform.tabular.read import FileRejected, iter_rows
try:
    info, rows = iter_rows(Path(sys.argv[1]), max_bytes=20 * 1024**2)
    print("read", sum(1 for _ in rows))
except FileRejected as exc:
    print("refused", exc.msg.en)
except MemoryError:
    print("memory error")
finally:  # the peak of this process's own memory (ru_maxrss would include the parent's)
    status = Path("/proc/self/status").read_text().splitlines()
    print(next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) // 1024)
"""


def test_a_shared_strings_bomb_is_refused_before_it_is_read(tmp_path: Path) -> None:
    """20 rows, ~100 MB of shared strings in a ~12 MB upload: under the upload limit and the
    compression-ratio check, it drove a worker to hundreds of MB (more for shorter strings)."""
    path = excel_xlsx(tmp_path / "dtks.xlsx", REGISTRY_ROWS, padding=_unused_strings(100 * 1024**2))
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("xl/sharedStrings.xml")
    assert info.file_size > 99 * 1024**2 and path.stat().st_size < 15 * 1024**2
    assert info.file_size / info.compress_size < 100  # passes the zip-bomb ratio check
    child = subprocess.run(
        [sys.executable, "-c", MEASURE_READ, str(path)], capture_output=True, text=True, timeout=300
    )
    outcome, peak_mb = child.stdout.strip().splitlines()
    assert outcome.startswith("refused XLSX refused: its shared strings"), child.stdout
    assert "take 99.6 MB" in outcome and "at most 1.1 MB" in outcome
    assert int(peak_mb) < 120, f"peak RSS {peak_mb} MB"


def test_shared_strings_are_capped_by_count_and_length(tmp_path: Path) -> None:
    # a real workbook of this shape reads as before
    plain = excel_xlsx(tmp_path / "plain.xlsx", REGISTRY_ROWS)
    _info, rows = iter_rows(plain)
    got = list(rows)
    assert len(got) == 21 and got[20][1] == [
        "7372010101200020",
        "7372011304800020",
        "Warga 20",
        "L",
        "13-04-1980",
    ]
    # within the byte allowance, but far more strings than cells that could use them
    many = excel_xlsx(tmp_path / "many.xlsx", REGISTRY_ROWS, padding=[b"<si><t/></si>" * 60000])
    assert "more shared strings than cells" in _rejected(many)
    # one text longer than an Excel cell can hold
    long = excel_xlsx(
        tmp_path / "long.xlsx", REGISTRY_ROWS, padding=[b"<si><t>" + b"x" * 40000 + b"</t></si>"]
    )
    assert "longer than 32,767 characters" in _rejected(long)


def test_parts_read_whole_are_capped(tmp_path: Path) -> None:
    rnd = random.Random(3)
    styles = (
        b"<styleSheet><!--"
        + bytes(rnd.choice(b"0123456789") for _ in range(17 * 1024**2))
        + b"--></styleSheet>"
    )
    path = excel_xlsx(tmp_path / "styles.xlsx", REGISTRY_ROWS, parts={"xl/styles.xml": styles})
    message = _rejected(path)
    assert "xl/styles.xml" in message and "terlalu besar setelah dibuka" in message


def test_overlapped_reading_runs_in_another_process_and_writes_stay_the_callers(
    tmp_path: Path,
) -> None:
    """With overlap, the file is read and prepared in another process; each batch comes back
    with what the sink prepared for each of its rows, and is written on the caller's thread, in
    the caller's context, in order, each checkpoint after its own batch with its last row."""
    import contextvars
    import os
    import threading

    marker: contextvars.ContextVar[str] = contextvars.ContextVar("marker", default="unset")
    marker.set("the caller's")
    rows = [
        ["7372010101010001", f"73720155078{i:05d}", f"Nama {i}", "L", "13/04/1980", ""]
        for i in range(1, 26)
    ]
    src = _write_csv(tmp_path / "a.csv", rows, delimiter=",", encoding="utf-8")
    caller, parent = threading.get_ident(), os.getpid()
    writes: list[tuple[bool, str]] = []

    class Sink(DictSink):
        def prepare(self, row: int, values: dict[str, Any]) -> tuple[int, int, str]:
            return os.getpid(), row, values["nik"]

        def __call__(self, batch, prepared):
            assert [(r, v["nik"]) for r, v in batch] == [(r, n) for _, r, n in prepared]
            assert {pid for pid, _, _ in prepared} - {parent} == {pid for pid, _, _ in prepared}
            writes.append((threading.get_ident() == caller, marker.get()))
            return super().__call__(batch)

    checkpoints: list[int] = []
    sink = Sink()
    outcome = run_import(
        src,
        SHEET,
        sink,
        tmp_path,
        batch_size=10,
        overlap=True,
        checkpoint=lambda *a, state, **k: checkpoints.append(state["row"]),
    )
    assert outcome.written == {"inserted": 25, "updated": 0, "unchanged": 0}
    assert len(sink.rows) == 25
    assert checkpoints == [11, 21, 26]  # row 1 is the header
    assert writes == [(True, "the caller's")] * 3
    assert multiprocessing.active_children() == []  # the reading process is gone


def test_a_file_refused_while_read_ahead_is_refused_in_the_caller(tmp_path: Path) -> None:
    """The reading process's refusal crosses over whole: the same bilingual reason."""
    src = tmp_path / "blank.csv"
    src.write_bytes(b";;;\r\n;;;\r\n")
    with pytest.raises(FileRejected) as refused:
        run_import(src, SHEET, DictSink(), tmp_path, overlap=True)
    assert refused.value.msg == "Berkas kosong: tidak ada baris judul."
    assert refused.value.msg.en == "The file is empty: no header row."
    assert multiprocessing.active_children() == []


def test_an_overlapped_write_that_fails_stops_the_import_with_its_error(tmp_path: Path) -> None:
    rows = [
        ["7372010101010001", f"73720155078{i:05d}", f"Nama {i}", "L", "13/04/1980", ""]
        for i in range(1, 26)
    ]
    src = _write_csv(tmp_path / "a.csv", rows, delimiter=",", encoding="utf-8")
    calls: list[int] = []

    def sink(batch):
        calls.append(batch[0][0])
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        return {"inserted": len(batch)}

    with pytest.raises(RuntimeError, match="went away"):
        run_import(src, SHEET, sink, tmp_path, batch_size=10, overlap=True)
    assert calls == [2, 12]  # nothing written after the failed batch
    assert multiprocessing.active_children() == []  # and the reading stopped
