"""Row-level validation of uploaded spreadsheets, with spreadsheet damage caught, never repaired.

A `Sheet` spec names the columns (with header aliases) and what each holds. `validate_rows` turns
the raw rows of tabular_read into (row number, clean values) for good rows and `CellError`s for
bad ones; every bad row is reported, with every problem in it.

Damage that Excel does to identity numbers and dates, each with its own message:
- NIK/KK stored as a number: Excel keeps 15 significant digits, so a 16-digit number has already
  lost its last digit; it shows as 3.32E+15 (scientific notation) or as a 15-digit number (a
  leading zero or a digit gone). Such values are refused, never padded or "fixed".
- Dates as Excel serial numbers (e.g. 29315) are refused, not converted.
- Dates in mixed formats in one column (some real date cells or ISO, some DD/MM/YYYY text) are
  refused from the first deviation: Excel converts only the dates it can read in its own locale,
  so a mixed column is the sign of silently swapped days and months. Two-digit years and
  month/day order are refused too.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from slrt.platform.errors import Msg
from slrt.platform.tabular.read import FileRejected, cell_text, is_blank

SCIENTIFIC = re.compile(r"^[0-9]+([.,][0-9]+)?[eE][+-]?[0-9]+$")
DECIMAL = re.compile(r"^[0-9]+[.,][0-9]+$")
DIGITS = re.compile(r"^[0-9]+$")
DATE_FORMATS = {
    "iso": (re.compile(r"^\d{4}-\d{2}-\d{2}$"), "%Y-%m-%d", "YYYY-MM-DD"),
    "dmy-slash": (re.compile(r"^\d{1,2}/\d{1,2}/\d{4}$"), "%d/%m/%Y", "DD/MM/YYYY"),
    "dmy-dash": (re.compile(r"^\d{1,2}-\d{1,2}-\d{4}$"), "%d-%m-%Y", "DD-MM-YYYY"),
}
TWO_DIGIT_YEAR = re.compile(r"^\d{1,2}[/.-]\d{1,2}[/.-]\d{2}$")


@dataclass(frozen=True)
class CellError:
    row: int
    column: str
    value: str
    message: str  # Indonesian
    message_en: str


@dataclass
class Column:
    name: str  # the canonical header, as written in the template
    kind: str = "text"  # text, id16, date, choice
    required: bool = False
    aliases: tuple[str, ...] = ()
    max_length: int = 200
    choices: dict[str, str] = field(default_factory=dict)  # accepted (lower) -> stored value
    label: str | None = None  # as named in messages, e.g. "NIK"
    # Further check of a clean value (e.g. the registry's NIK validator): Msg on failure.
    check: Callable[[Any], Msg | None] | None = None

    @property
    def title(self) -> str:
        return self.label or self.name


@dataclass
class Sheet:
    columns: list[Column]
    # Checks across a row's clean values: (column name, Msg) per problem.
    row_checks: list[Callable[[dict[str, Any]], list[tuple[str, Msg]]]] = field(
        default_factory=list
    )


def _norm(header: Any) -> str:
    return re.sub(r"[\s_.\-/]+", " ", str(header or "")).strip().lower()


def map_header(sheet: Sheet, header: list[Any]) -> tuple[dict[int, Column], list[str]]:
    """Column position -> Column; also the headers that matched nothing (ignored)."""
    lookup: dict[str, Column] = {}
    for col in sheet.columns:
        for name in (col.name, *col.aliases):
            lookup[_norm(name)] = col
    positions: dict[int, Column] = {}
    seen: dict[str, int] = {}
    ignored = []
    for i, raw in enumerate(header):
        col = lookup.get(_norm(raw))
        if col is None:
            if _norm(raw):
                ignored.append(str(raw))
            continue
        if col.name in seen:
            raise FileRejected(
                Msg(
                    f"Kolom '{col.name}' muncul dua kali di baris judul.",
                    f"Column '{col.name}' appears twice in the header row.",
                )
            )
        seen[col.name] = i
        positions[i] = col
    missing = [c.name for c in sheet.columns if c.required and c.name not in seen]
    if missing:
        names = ", ".join(missing)
        raise FileRejected(
            Msg(
                f"Kolom wajib tidak ada di baris judul: {names}.",
                f"Required columns missing from the header row: {names}.",
            )
        )
    return positions, ignored


class DateColumnState:
    """Remembers the first date format seen in a column, to catch mixed formats."""

    def __init__(self) -> None:
        self.format: str | None = None
        self.first_row: int | None = None


def _id16(col: Column, value: Any) -> tuple[Any, Msg | None]:
    t = col.title
    if isinstance(value, bool):
        value = str(value)
    if isinstance(value, int | float):
        # As Excel displays it: 16-digit numbers in scientific notation (3.32E+15).
        shown = f"{float(value):.2E}" if abs(value) >= 1e15 else str(value)
        return None, Msg(
            f"{t} tersimpan sebagai angka ({shown}); Excel hanya menyimpan 15 digit sehingga "
            f"digit terakhir atau angka 0 di depan hilang. Format kolom sebagai Teks lalu "
            f"ketik ulang {t} dari dokumen.",
            f"{t} is stored as a number ({shown}); Excel keeps only 15 digits, so the last "
            f"digit or a leading zero is lost. Format the column as Text and re-type the {t} "
            f"from the document.",
        )
    text = str(value).strip()
    if SCIENTIFIC.match(text):
        return None, Msg(
            f"{t} dalam notasi ilmiah ({text}): digitnya sudah hilang di Excel. Format kolom "
            f"sebagai Teks lalu ketik ulang {t} dari dokumen.",
            f"{t} is in scientific notation ({text}): its digits were lost in Excel. Format the "
            f"column as Text and re-type the {t} from the document.",
        )
    if DECIMAL.match(text):
        return None, Msg(
            f"{t} berbentuk angka desimal ({text}); {t} harus 16 digit tanpa tanda baca.",
            f"{t} looks like a decimal number ({text}); a {t} is 16 digits, no punctuation.",
        )
    if not DIGITS.match(text):
        return None, Msg(
            f"{t} hanya boleh berisi angka (tanpa spasi, titik atau huruf).",
            f"{t} may contain digits only (no spaces, dots or letters).",
        )
    if len(text) == 15:
        return None, Msg(
            f"{t} hanya 15 digit (seharusnya 16): angka 0 di depan atau satu digit hilang, "
            f"biasanya karena kolom diformat sebagai angka. Ketik ulang dari dokumen.",
            f"{t} has only 15 digits (16 expected): a leading zero or a digit was lost, usually "
            f"because the column was formatted as a number. Re-type it from the document.",
        )
    if len(text) != 16:
        return None, Msg(
            f"{t} harus 16 digit (berisi {len(text)}).",
            f"{t} must be 16 digits (has {len(text)}).",
        )
    return text, None


def _date(col: Column, value: Any, state: DateColumnState, row: int) -> tuple[Any, Msg | None]:
    t = col.title
    if isinstance(value, dt.datetime | dt.date):
        fmt, parsed = "excel-date", value.date() if isinstance(value, dt.datetime) else value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        return None, _serial(t, value)
    else:
        text = str(value).strip()
        if DIGITS.match(text) or DECIMAL.match(text):
            return None, _serial(t, text)
        if TWO_DIGIT_YEAR.match(text):
            return None, Msg(
                f"{t} '{text}' memakai tahun dua digit; tulis tahun lengkap (DD/MM/YYYY).",
                f"{t} '{text}' has a two-digit year; write the full year (DD/MM/YYYY).",
            )
        fmt = next((k for k, (rx, _, _) in DATE_FORMATS.items() if rx.match(text)), None)
        if fmt is None:
            return None, Msg(
                f"{t} '{text}' bukan tanggal yang dikenali; gunakan DD/MM/YYYY atau YYYY-MM-DD.",
                f"{t} '{text}' is not a recognised date; use DD/MM/YYYY or YYYY-MM-DD.",
            )
        try:
            parsed = dt.datetime.strptime(text, DATE_FORMATS[fmt][1]).date()
        except ValueError:
            parts = re.split(r"[/-]", text)
            if fmt != "iso" and int(parts[1]) > 12 and int(parts[0]) <= 12:
                return None, Msg(
                    f"{t} '{text}' tampak berurutan bulan/hari (format Amerika); gunakan "
                    f"DD/MM/YYYY.",
                    f"{t} '{text}' looks like month/day order (US format); use DD/MM/YYYY.",
                )
            return None, Msg(
                f"{t} '{text}' bukan tanggal yang ada.", f"{t} '{text}' is not a real date."
            )
    if state.format is None:
        state.format, state.first_row = fmt, row
    elif fmt != state.format:
        names = {"excel-date": "sel tanggal Excel / Excel date cell"} | {
            k: v[2] for k, v in DATE_FORMATS.items()
        }
        return None, Msg(
            f"Format {t} campuran: baris ini {names[fmt]}, baris {state.first_row} "
            f"{names[state.format]}. Excel mungkin telah menukar hari dan bulan; periksa dan "
            f"samakan formatnya.",
            f"Mixed {t} formats: this row is {names[fmt]}, row {state.first_row} is "
            f"{names[state.format]}. Excel may have swapped days and months; check and use one "
            f"format.",
        )
    if parsed.year < 1900 or parsed > dt.date.today():
        return None, Msg(
            f"{t} {parsed.isoformat()} tidak masuk akal.",
            f"{t} {parsed.isoformat()} is not plausible.",
        )
    return parsed, None


def _serial(title: str, value: Any) -> Msg:
    return Msg(
        f"{title} berupa nomor seri Excel ({value}), bukan tanggal. Format sel sebagai tanggal "
        f"atau tulis DD/MM/YYYY.",
        f"{title} is an Excel serial number ({value}), not a date. Format the cell as a date or "
        f"write DD/MM/YYYY.",
    )


def _clean(
    col: Column, value: Any, date_state: DateColumnState | None, row: int
) -> tuple[Any, Msg | None]:
    empty = value is None or (isinstance(value, str) and not value.strip())
    if empty:
        if col.required:
            return None, Msg(f"{col.title} wajib diisi.", f"{col.title} is required.")
        return None, None
    if col.kind == "id16":
        clean, err = _id16(col, value)
    elif col.kind == "date":
        assert date_state is not None
        clean, err = _date(col, value, date_state, row)
    elif col.kind == "choice":
        key = str(value).strip().lower()
        if key in col.choices:
            clean, err = col.choices[key], None
        else:
            allowed = ", ".join(sorted({k for k in col.choices}))
            clean, err = (
                None,
                Msg(
                    f"{col.title} '{value}' tidak dikenal; pilihan: {allowed}.",
                    f"{col.title} '{value}' is not recognised; choices: {allowed}.",
                ),
            )
    else:
        text = cell_text(value).strip()
        if len(text) > col.max_length:
            clean, err = (
                None,
                Msg(
                    f"{col.title} terlalu panjang ({len(text)} karakter; paling banyak "
                    f"{col.max_length}).",
                    f"{col.title} is too long ({len(text)} characters; at most {col.max_length}).",
                ),
            )
        else:
            clean, err = text, None
    if err is None and col.check is not None:
        err = col.check(clean)
        if err is not None:
            clean = None
    return clean, err


@dataclass
class Validated:
    row: int
    values: dict[str, Any] | None  # None when the row has errors
    errors: list[CellError]


def validate_rows(
    sheet: Sheet, rows: Iterable[tuple[int, list[Any]]], *, header_out: dict | None = None
) -> Iterator[Validated]:
    """The first non-blank row is the header; every later non-blank row is validated."""
    positions: dict[int, Column] | None = None
    date_states: dict[str, DateColumnState] = {}
    for number, cells in rows:
        if is_blank(cells):
            continue
        if positions is None:
            positions, ignored = map_header(sheet, cells)
            if header_out is not None:
                header_out["ignored_columns"] = ignored
                header_out["header_row"] = number
            date_states = {c.name: DateColumnState() for c in sheet.columns if c.kind == "date"}
            continue
        values: dict[str, Any] = {}
        errors: list[CellError] = []
        for i, col in positions.items():
            raw = cells[i] if i < len(cells) else None
            clean, err = _clean(col, raw, date_states.get(col.name), number)
            if err is not None:
                errors.append(CellError(number, col.name, cell_text(raw), str(err), err.en))
            values[col.name] = clean
        if not errors:
            for check in sheet.row_checks:
                for column, msg in check(values):
                    raw = values.get(column)
                    errors.append(CellError(number, column, cell_text(raw), str(msg), msg.en))
        yield Validated(number, None if errors else values, errors)
    if positions is None:
        raise FileRejected(
            Msg("Berkas kosong: tidak ada baris judul.", "The file is empty: no header row.")
        )
