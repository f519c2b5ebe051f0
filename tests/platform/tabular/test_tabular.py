"""The spreadsheet pipeline: encodings, delimiters, hostile files, spreadsheet damage, error
reports, formula neutralisation, idempotent re-runs. No database needed: the sink is a dict."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

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
    ["7372010101010001", "7372015507800001", "Andi", "L", "03/04/1980", "ok"],
    # row 3: NIK in scientific notation
    ["7372010101010001", "3.32E+15", "Budi", "L", "04/04/1980", ""],
    # row 4: lost leading zero / digit (15 digits)
    ["737201010101001", "7372015507800002", "Citra", "P", "05/04/1980", ""],
    # row 5: Excel serial date
    ["7372010101010002", "7372015507800003", "Dedi", "L", "29315", ""],
    # row 6: mixed formats (ISO after DD/MM/YYYY)
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
    ["7372010101010005", "7372015507800008", "Gita", "=1+1", "01/02/1991", ""],
    # row 12: two-digit year
    ["7372010101010005", "7372015507800009", "Hadi", "L", "03/04/80", ""],
]

EXPECTED_ERRORS = [
    ("3", "nik", "3.32E+15", "notasi ilmiah"),
    ("4", "no_kk", "737201010101001", "hanya 15 digit"),
    ("5", "tanggal_lahir", "29315", "nomor seri Excel"),
    ("6", "tanggal_lahir", "1980-04-03", "campuran"),
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


def test_messy_csv_gives_the_right_error_report_and_good_rows(tmp_path: Path) -> None:
    src = _write_csv(tmp_path / "data.txt", MESSY_ROWS, delimiter=";", encoding="cp1252")
    sink = DictSink()
    progress = []
    outcome = run_import(
        src, SHEET, sink, tmp_path, checkpoint=lambda *a, **k: progress.append((a, k))
    )
    assert (outcome.kind, outcome.encoding, outcome.delimiter) == ("csv", "cp1252", ";")
    assert outcome.ignored_columns == ["Catatan"]
    assert sorted(sink.rows) == ["7372015507800001", "7372015507800007"]
    assert sink.rows["7372015507800007"] == {
        "no_kk": "7372010101010004",
        "nik": "7372015507800007",
        "nama": "Séptiani",
        "jenis_kelamin": "P",
        "tanggal_lahir": dt.date(1975, 8, 15),
    }
    assert (outcome.rows, outcome.good, outcome.bad, outcome.errors) == (10, 2, 8, 9)
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
    assert kwargs["counts"]["good_rows"] == 2 and kwargs["state"]["row"] == 9


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
    assert "campuran" in report[3][3]


def test_utf8_with_bom_and_comma(tmp_path: Path) -> None:
    src = _write_csv(tmp_path / "a.csv", MESSY_ROWS[:1], delimiter=",", encoding="utf-8-sig")
    sink = DictSink()
    outcome = run_import(src, SHEET, sink, tmp_path)
    assert (outcome.encoding, outcome.delimiter, outcome.good) == ("utf-8-sig", ",", 1)


def test_rerun_changes_nothing_and_resume_skips_written_rows(tmp_path: Path) -> None:
    rows = [
        ["7372010101010001", f"73720155078{i:05d}", f"Nama {i}", "L", "03/04/1980", ""]
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
