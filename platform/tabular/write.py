"""Writing spreadsheets (exports, error reports) in constant memory, safe to open in Excel.

Formula injection: a cell whose text starts with `=`, `+`, `-`, `@`, a tab or a carriage return
is evaluated by spreadsheet programs. Every text cell written here goes through `neutralise`,
which prefixes such text with an apostrophe (OWASP's advice); in XLSX the cell is also typed as
a string, so it is never a formula. Numbers and dates are written as such. `neutralise` is the
platform's one guard: spreadsheets written elsewhere (usage statements) call it too.

Control characters: XML cannot hold them, so one in a stored name would make every XLSX export
fail. They are refused at every input now (`slrt.platform.text`), but data stored before may
still hold some: `neutralise` writes each as its visible Unicode picture (NUL as U+2400 "␀",
U+0001 as "␁", ...), in CSV and XLSX alike, so the export works and the reader sees where the
record needs correcting.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from slrt.platform.text import visible_controls

DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def neutralise(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe; control
    characters become their visible pictures."""
    if not isinstance(value, str):
        return value
    value = visible_controls(value)
    if value.startswith(DANGEROUS_PREFIXES):
        return "'" + value
    return value


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "ya" if value else "tidak"
    return neutralise(str(value)) if not isinstance(value, int | float) else value


class CsvWriter:
    """UTF-8 with BOM (Excel then reads the encoding right), semicolon-free comma CSV."""

    def __init__(self, path: Path, header: Sequence[str]) -> None:
        self._f = path.open("w", encoding="utf-8-sig", newline="")
        self._w = csv.writer(self._f)
        self._w.writerow([neutralise(h) for h in header])

    def write(self, row: Sequence[Any]) -> None:
        self._w.writerow([_csv_value(v) for v in row])

    def close(self) -> None:
        self._f.close()


class XlsxWriter:
    """openpyxl write-only mode: rows go to a temporary file as they come (constant memory)."""

    def __init__(self, path: Path, header: Sequence[str], title: str = "Data") -> None:
        self.path = path
        self._wb = Workbook(write_only=True)
        self._ws = self._wb.create_sheet(title[:31])
        self.write(header)

    def _cell(self, value: Any) -> Any:
        if value is None or isinstance(value, bool | int | float | dt.date | dt.datetime):
            return value
        cell = WriteOnlyCell(self._ws, value=neutralise(str(value)))
        cell.data_type = "s"  # text stays text, even if it looks like a formula
        return cell

    def write(self, row: Sequence[Any]) -> None:
        self._ws.append([self._cell(v) for v in row])

    def add_sheet(self, title: str, header: Sequence[str]) -> None:
        """Start another sheet; later rows go there (reports with several tables)."""
        self._ws = self._wb.create_sheet(title[:31])
        self.write(header)

    def close(self) -> None:
        self._wb.save(self.path)


ERROR_HEADER = [
    "baris / row",
    "kolom / column",
    "nilai / value",
    "pesan",
    "message",
    "nilai di sistem / stored value",
]


class ErrorReport:
    """The error report of an import, written to CSV and XLSX side by side as errors arrive."""

    def __init__(self, directory: Path, stem: str = "laporan-kesalahan") -> None:
        self.csv_path = directory / f"{stem}.csv"
        self.xlsx_path = directory / f"{stem}.xlsx"
        self._csv = CsvWriter(self.csv_path, ERROR_HEADER)
        self._xlsx = XlsxWriter(self.xlsx_path, ERROR_HEADER, "Kesalahan")
        self.count = 0

    def add(self, errors: Iterable[Any]) -> None:
        for e in errors:
            row = [e.row, e.column, e.value, e.message, e.message_en, getattr(e, "stored", "")]
            self._csv.write(row)
            self._xlsx.write(row)
            self.count += 1

    def close(self) -> None:
        self._csv.close()
        self._xlsx.close()
