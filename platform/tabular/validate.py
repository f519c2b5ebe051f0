"""Row-level validation of uploaded spreadsheets, with spreadsheet damage caught, never repaired.

A `Sheet` spec names the columns (with header aliases) and what each holds. `validate_rows` turns
the raw rows of tabular_read into (row number, clean values) for good rows and `CellError`s for
bad ones; every bad row is reported with every problem in it (a bad cell does not hide the
row's other checks).

Damage that Excel does to identity numbers and dates, each with its own message:
- NIK/KK stored as a number: Excel keeps 15 significant digits, so a 16-digit number has already
  lost its last digit; it shows as 3.32E+15 (scientific notation) or as a 15-digit number (a
  leading zero or a digit gone). Such values are refused, never padded or "fixed"; so is a
  number typed with a leading apostrophe as plain text (the apostrophe is named).
- Dates are read cell by cell; what one cell says is never taken as a sign about the others
  (real district files mix date cells, ISO text and DD/MM/YYYY text in one column). Accepted:
  date cells, YYYY-MM-DD, DD-MM-YYYY, "3 Agustus 1980" / "3 Agu 1980" (Indonesian month names and
  their abbreviations) and DD/MM/YYYY when it can only be read one way (the day above 12, or day
  and month equal). A slashed date whose day and month are both 12 or less is what an Excel with
  American settings makes of a swapped date, so it is refused as ambiguous, unless the row
  settles it (the column's `settle`: e.g. the birth date a NIK carries equals one reading).
  Refused too: Excel serial numbers (29315), two-digit years, month/day order.
- A column marked `unique` (the NIK) may hold a value once per file: a second row with it is
  refused, naming the first, instead of silently replacing it.
- Control characters in any cell are refused (`slrt.platform.text`); no-break spaces in text
  become plain spaces.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from slrt.platform.errors import Msg
from slrt.platform.i18n import Today
from slrt.platform.tabular.read import FileRejected, cell_text, is_blank
from slrt.platform.text import control_character_problem, plain_spaces

SCIENTIFIC = re.compile(r"^[0-9]+([.,][0-9]+)?[eE][+-]?[0-9]+$")
DECIMAL = re.compile(r"^[0-9]+[.,][0-9]+$")
DIGITS = re.compile(r"^[0-9]+$")
APOSTROPHES = ("'", "\u2018", "\u2019", "`")
ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
DMY_DASH = re.compile(r"^(\d{1,2})-(\d{1,2})-(\d{4})$")
DMY_SLASH = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
NAMED_MONTH = re.compile(r"^(\d{1,2})[\s-]+([^\W\d_]+)\.?[\s-]+(\d{4})$")
TWO_DIGIT_YEAR = re.compile(r"^\d{1,2}([/.-]\d{1,2}[/.-]|[\s-]+[^\W\d_]+\.?[\s-]+)\d{2}$")
# Indonesian month names as people write them: full (first), abbreviated, older spellings.
MONTH_SPELLINGS = (
    ("januari", "jan"),
    ("februari", "pebruari", "feb", "peb"),
    ("maret", "mar"),
    ("april", "apr"),
    ("mei",),
    ("juni", "jun"),
    ("juli", "jul"),
    ("agustus", "agu", "agt", "ags", "agus", "agust"),
    ("september", "sep", "sept"),
    ("oktober", "okt"),
    ("november", "nopember", "nov", "nop"),
    ("desember", "des"),
)
MONTHS = {name: n for n, names in enumerate(MONTH_SPELLINGS, start=1) for name in names}
MONTH_NAMES = {n: names[0].capitalize() for n, names in enumerate(MONTH_SPELLINGS, start=1)}


@dataclass(frozen=True)
class CellError:
    row: int
    column: str
    value: str
    message: str  # Indonesian
    message_en: str
    stored: str = ""  # a conflict: the value stored in the system that the file would replace


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
    # A value may appear in one row of a file only (the NIK: one person, one row).
    unique: bool = False
    # Dates: the date the row's other clean values imply (e.g. the birth date in a NIK), used
    # to settle a cell that reads two ways.
    settle: Callable[[dict[str, Any]], dt.date | None] | None = None

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


def header_key(header: Any) -> str:
    """A header as it is compared with a column's name and aliases: lower case, runs of spaces,
    dots, dashes, slashes and underscores as one space."""
    return re.sub(r"[\s_.\-/]+", " ", str(header or "")).strip().lower()


def map_header(sheet: Sheet, header: list[Any]) -> tuple[dict[int, Column], list[str]]:
    """Column position -> Column; also the headers that matched nothing (ignored)."""
    lookup: dict[str, Column] = {}
    for col in sheet.columns:
        for name in (col.name, *col.aliases):
            lookup[header_key(name)] = col
    positions: dict[int, Column] = {}
    seen: dict[str, int] = {}
    ignored = []
    for i, raw in enumerate(header):
        col = lookup.get(header_key(raw))
        if col is None:
            if header_key(raw):
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


@dataclass(frozen=True)
class Ambiguous:
    """A date cell that reads as two dates (day first, month first): settled by the row or
    refused."""

    text: str
    day_first: dt.date
    month_first: dt.date


def leading_apostrophe_problem(title: str, text: str) -> Msg | None:
    """A number typed with a leading apostrophe (to keep Excel from turning it into a number)
    that reached us as text with the apostrophe in it."""
    if not text.startswith(APOSTROPHES):
        return None
    return Msg(
        f"{title} diawali tanda petik ({text[0]}): hapus tanda petiknya; {title} hanya berisi "
        f"angka. Agar Excel tidak mengubahnya, format kolom sebagai Teks.",
        f"{title} starts with an apostrophe ({text[0]}): remove it; a {title} holds digits "
        f"only. To keep Excel from changing it, format the column as Text.",
    )


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
    if len(text) == 16 and text.isascii() and text.isdigit():
        return text, None  # nearly every cell: the checks below only say what is wrong
    quoted = leading_apostrophe_problem(t, text)
    if quoted is not None:
        return None, quoted
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


def _real_date(t: str, text: str, year: int, month: int, day: int) -> tuple[Any, Msg | None]:
    try:
        return dt.date(year, month, day), None
    except ValueError:
        return None, Msg(
            f"{t} '{text}' bukan tanggal yang ada.", f"{t} '{text}' is not a real date."
        )


def _month_day_order(t: str, text: str) -> Msg:
    return Msg(
        f"{t} '{text}' tampak berurutan bulan/hari (format Amerika); gunakan DD/MM/YYYY.",
        f"{t} '{text}' looks like month/day order (US format); use DD/MM/YYYY.",
    )


def _date(col: Column, value: Any) -> tuple[Any, Msg | None]:
    """One cell on its own: a date, an `Ambiguous` pair for the row to settle, or a problem."""
    t = col.title
    if isinstance(value, dt.datetime | dt.date):
        return (value.date() if isinstance(value, dt.datetime) else value), None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return None, _serial(t, value)
    text = " ".join(str(value).split())
    # The two usual forms first (each pattern below matches text none of the others does).
    if match := DMY_SLASH.match(text):
        return _day_month(t, text, match)
    if match := ISO_DATE.match(text):
        year, month, day = (int(g) for g in match.groups())
        return _real_date(t, text, year, month, day)
    if DIGITS.match(text) or DECIMAL.match(text):
        return None, _serial(t, text)
    if TWO_DIGIT_YEAR.match(text):
        return None, Msg(
            f"{t} '{text}' memakai tahun dua digit; tulis tahun lengkap (DD-MM-YYYY).",
            f"{t} '{text}' has a two-digit year; write the full year (DD-MM-YYYY).",
        )
    if match := NAMED_MONTH.match(text):
        month = MONTHS.get(match[2].lower())
        if month is None:
            return None, Msg(
                f"{t} '{text}': nama bulan '{match[2]}' tidak dikenal; tulis nama bulan dalam "
                f"bahasa Indonesia (mis. 3 Agustus 1980 atau 3 Agu 1980).",
                f"{t} '{text}': month name '{match[2]}' is not recognised; write the Indonesian "
                f"month name (e.g. 3 Agustus 1980 or 3 Agu 1980).",
            )
        return _real_date(t, text, int(match[3]), month, int(match[1]))
    if match := DMY_DASH.match(text):
        day, month, year = (int(g) for g in match.groups())
        if month > 12 and 0 < day <= 12:
            return None, _month_day_order(t, text)
        return _real_date(t, text, year, month, day)
    return None, Msg(
        f"{t} '{text}' bukan tanggal yang dikenali; gunakan DD-MM-YYYY, YYYY-MM-DD atau "
        f"nama bulan (3 Agustus 1980).",
        f"{t} '{text}' is not a recognised date; use DD-MM-YYYY, YYYY-MM-DD or a month name "
        f"(3 Agustus 1980).",
    )


def _day_month(t: str, text: str, match: re.Match[str]) -> tuple[Any, Msg | None]:
    """DD/MM/YYYY: a date when it reads one way only, else `Ambiguous`."""
    first, second, year = (int(g) for g in match.groups())
    if second > 12 and 0 < first <= 12:
        return None, _month_day_order(t, text)
    if first > 12 or second > 12 or first == second or 0 in (first, second):
        return _real_date(t, text, year, second, first)
    return Ambiguous(text, dt.date(year, second, first), dt.date(year, first, second)), None


def _plausible(col: Column, day: dt.date, today: dt.date) -> Msg | None:
    if day.year < 1900 or day > today:
        return Msg(
            f"{col.title} {day.isoformat()} tidak masuk akal.",
            f"{col.title} {day.isoformat()} is not plausible.",
        )
    return None


def _settle(col: Column, cell: Ambiguous, values: dict[str, Any]) -> tuple[Any, Msg | None]:
    """The reading the row confirms (e.g. the NIK's birth date), else the cell is refused."""
    hint = col.settle(values) if col.settle is not None else None
    if hint in (cell.day_first, cell.month_first):
        return hint, None
    t, a, b = col.title, cell.day_first, cell.month_first
    text = Msg(
        f"{t} '{cell.text}' bisa dibaca {a:%d-%m-%Y} atau {b:%d-%m-%Y} (Excel berpengaturan "
        f"Amerika menukar hari dan bulan). Tulis DD-MM-YYYY, YYYY-MM-DD atau dengan nama bulan "
        f"(mis. {a.day} {MONTH_NAMES[a.month]} {a.year}).",
        f"{t} '{cell.text}' reads as {a:%d-%m-%Y} or {b:%d-%m-%Y} (an Excel with American "
        f"settings swaps day and month). Write DD-MM-YYYY, YYYY-MM-DD or the month's name "
        f"(e.g. {a.day} {MONTH_NAMES[a.month]} {a.year}).",
    )
    if hint is not None:
        text = Msg(
            f"{text} Keduanya tidak sesuai dengan tanggal lahir di NIK ({hint:%d-%m-%Y}).",
            f"{text.en} Neither matches the birth date in the NIK ({hint:%d-%m-%Y}).",
        )
    return None, text


def _serial(title: str, value: Any) -> Msg:
    return Msg(
        f"{title} berupa nomor seri Excel ({value}), bukan tanggal. Format sel sebagai tanggal "
        f"atau tulis DD-MM-YYYY.",
        f"{title} is an Excel serial number ({value}), not a date. Format the cell as a date or "
        f"write DD-MM-YYYY.",
    )


def _clean(col: Column, value: Any, today: Today) -> tuple[Any, Msg | None]:
    # Printable text (nearly every cell) holds no control character and no odd space, and
    # isprintable() says so in C: the checks below run only on the rest.
    if isinstance(value, str) and not value.isprintable():
        problem = control_character_problem(value)
        if problem is not None:
            return None, Msg(f"{col.title}: {problem}", f"{col.title}: {problem.en}")
        value = plain_spaces(value)
    if value is None or (isinstance(value, str) and not value.strip()):
        if col.required:
            return None, Msg(f"{col.title} wajib diisi.", f"{col.title} is required.")
        return None, None
    kind = col.kind
    if kind == "text" and isinstance(value, str) and col.check is None:
        # The most common cell, on its own short path (the same rules as the general one).
        text = value.strip()
        if len(text) <= col.max_length:
            return text, None
    if kind == "id16":
        clean, err = _id16(col, value)
    elif kind == "date":
        clean, err = _date(col, value)
        if isinstance(clean, dt.date):
            err = _plausible(col, clean, today())
            clean = None if err else clean
    elif kind == "choice":
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
    if err is None and col.check is not None and not isinstance(clean, Ambiguous):
        err = col.check(clean)
        if err is not None:
            clean = None
    return clean, err


class FirstRows:
    """Where each value of a `unique` column first appeared. Kept in a private temporary SQLite
    database (on disk once it outgrows a small cache), so a file of a million NIKs does not hold
    them all in memory."""

    def __init__(self) -> None:
        self._db = sqlite3.connect("")
        self._db.execute("CREATE TABLE seen (value TEXT PRIMARY KEY, row INTEGER) WITHOUT ROWID")

    def first_row(self, value: str, row: int) -> int | None:
        """None the first time `value` is seen (remembered with `row`), else its first row."""
        if self._db.execute("INSERT OR IGNORE INTO seen VALUES (?, ?)", (value, row)).rowcount:
            return None
        return self._db.execute("SELECT row FROM seen WHERE value = ?", (value,)).fetchone()[0]

    def close(self) -> None:
        self._db.close()


def _repeated(col: Column, value: str, first: int) -> Msg:
    return Msg(
        f"{col.title} {value} sudah ada di baris {first} berkas ini; satu {col.title} hanya "
        f"boleh satu baris. Baris ini tidak diimpor: gabungkan kedua baris.",
        f"{col.title} {value} is already in row {first} of this file; a {col.title} may have "
        f"one row only. This row is not imported: merge the two rows.",
    )


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
    seen = {c.name: FirstRows() for c in sheet.columns if c.unique}
    today = Today()
    try:
        for number, cells in rows:
            if is_blank(cells):
                continue
            if positions is None:
                positions, ignored = map_header(sheet, cells)
                if header_out is not None:
                    header_out["ignored_columns"] = ignored
                    header_out["header_row"] = number
                continue
            yield _validate_row(sheet, positions, seen, number, cells, today)
    finally:
        for first_rows in seen.values():
            first_rows.close()
    if positions is None:
        raise FileRejected(
            Msg("Berkas kosong: tidak ada baris judul.", "The file is empty: no header row.")
        )


def _validate_row(
    sheet: Sheet,
    positions: dict[int, Column],
    seen: dict[str, FirstRows],
    number: int,
    cells: list[Any],
    today: Today,
) -> Validated:
    values: dict[str, Any] = {}
    errors: list[CellError] = []
    width = len(cells)

    def refuse(col: Column, msg: Msg) -> None:
        raw = next((cells[i] for i, c in positions.items() if c is col and i < width), None)
        errors.append(CellError(number, col.name, cell_text(raw), str(msg), msg.en))

    for i, col in positions.items():
        clean, err = _clean(col, cells[i] if i < width else None, today)
        if err is not None:
            refuse(col, err)
        values[col.name] = clean
    # Second pass, with every cell of the row cleaned: dates the row settles, repeated values
    # (only date and unique columns have anything to do here).
    for col in positions.values():
        if col.kind != "date" and not col.unique:
            continue
        value = values[col.name]
        if isinstance(value, Ambiguous):
            value, err = _settle(col, value, values)
            if value is not None:
                err = _plausible(col, value, today()) or (col.check(value) if col.check else None)
            values[col.name] = None if err else value
            if err is not None:
                refuse(col, err)
        if col.unique and values[col.name] is not None:
            first = seen[col.name].first_row(str(values[col.name]), number)
            if first is not None:
                refuse(col, _repeated(col, values[col.name], first))
    if len(errors) > 1:
        order = {col.name: i for i, col in enumerate(positions.values())}
        errors.sort(key=lambda e: order[e.column])  # the cells' problems in the columns' order
    # Checks across the row run on whatever is clean (each check skips what it lacks), so a
    # row with a bad cell still hears of every other problem it has.
    for check in sheet.row_checks:
        for column, msg in check(values):
            errors.append(
                CellError(number, column, cell_text(values.get(column)), str(msg), msg.en)
            )
    return Validated(number, None if errors else values, errors)
