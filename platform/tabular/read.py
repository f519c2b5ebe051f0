"""Reading spreadsheets that districts upload: CSV (comma or semicolon; UTF-8 with or without BOM,
or Windows-1252) and XLSX, streamed row by row in constant memory, hostile files refused.

Nothing is guessed silently:
- The encoding is proven, not guessed: a BOM means UTF-8; otherwise the whole file must decode as
  strict UTF-8, else as strict Windows-1252, else it is refused naming the byte offset. The
  encoding used is reported back (`TabularFile.encoding`) so the user sees it.
- The type is decided by content, never by the file name: an XLSX must be a real ZIP holding a
  workbook; a ZIP that is something else, or binary that is not a ZIP, is refused.
- Before an XLSX is opened: total uncompressed size, member count and the compression ratio of
  every large member are checked (zip bombs), and the sheet's declared dimension is checked for
  too many columns or rows. openpyxl parses the XML with defusedxml (installed), so entity
  expansion attacks fail too.
- Memory stays bounded whatever the parts hold. Worksheets are streamed; every other part that
  openpyxl reads whole (workbook, styles, theme, properties) may unpack to `MAX_PART_BYTES`; the
  shared strings, which openpyxl keeps in memory, may unpack to a little more than the
  worksheets could ever point at (`SHARED_STRINGS_PER_SHEET_BYTE` per byte of worksheet, plus
  `SHARED_STRINGS_SLACK`, at most `MAX_SHARED_STRINGS_BYTES`), checked from the ZIP directory
  before anything is parsed. They are then read by our own streaming reader, which also caps
  their number (one per cell the worksheets can hold) and each string's length (Excel's own
  limit for a cell). A 20-row sheet with 100 MB of strings is refused before they are read.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slrt.platform.config import setting
from slrt.platform.errors import Msg

MAX_COLUMNS = 60
MAX_ROWS = 1_100_000  # a million rows must be practical; more is surely a mistake
MAX_UNCOMPRESSED = 2 * 1024**3  # bytes, all members of an XLSX together
MAX_RATIO = 100  # uncompressed / compressed, for members above RATIO_FLOOR bytes
RATIO_FLOOR = 1024 * 1024
MAX_MEMBERS = 2000
MAX_PART_BYTES = 16 * 1024**2  # each part openpyxl parses whole (not worksheets, not media)
MAX_SHARED_STRINGS_BYTES = 256 * 1024**2
SHARED_STRINGS_PER_SHEET_BYTE = 16  # a cell is ~30 bytes of sheet; its text rarely 16 times that
SHARED_STRINGS_SLACK = 1024 * 1024
MIN_CELL_BYTES = 16  # the smallest cell pointing at a shared string: <c t="s"><v>1</v></c>
MAX_STRING_CHARS = 32767  # Excel's limit for the text of one cell
_CHUNK = 1024 * 1024
SHARED_STRINGS_TYPE = (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
)
WORKSHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
# Parts that may be parsed whole (media, e.g. a logo picture, are never read).
_PARSED_SUFFIXES = (".xml", ".rels", ".vml")


class FileRejected(Exception):
    """The whole file is refused; `msg` says why in Indonesian and English."""

    def __init__(self, msg: Msg) -> None:
        super().__init__(msg.en)
        self.msg = msg

    def __reduce__(self) -> tuple[type[FileRejected], tuple[Msg]]:
        return FileRejected, (self.msg,)  # raised again after crossing from the reading process


@dataclass
class TabularFile:
    kind: str  # "csv" or "xlsx"
    encoding: str | None = None  # csv only
    delimiter: str | None = None  # csv only
    header: list[str] = field(default_factory=list)


def sniff_kind(path: Path) -> str:
    with path.open("rb") as f:
        head = f.read(8)
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith((b"\xd0\xcf\x11\xe0", b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"\x1f\x8b")):
        raise FileRejected(
            Msg(
                "Berkas bukan CSV atau XLSX (format lama .xls, PDF, gambar atau arsip tidak "
                "diterima). Simpan ulang sebagai .xlsx atau .csv.",
                "The file is neither CSV nor XLSX (old .xls, PDF, images or archives are not "
                "accepted). Save it again as .xlsx or .csv.",
            )
        )
    if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise FileRejected(Msg("Berkas biner tidak dikenal.", "Unknown binary file."))
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise FileRejected(
            Msg(
                "CSV berformat UTF-16 tidak diterima; simpan sebagai 'CSV UTF-8'.",
                "UTF-16 CSV is not accepted; save as 'CSV UTF-8'.",
            )
        )
    return "csv"


# --- CSV ---------------------------------------------------------------------------------------


def detect_encoding(path: Path) -> str:
    """'utf-8-sig' (BOM), 'utf-8' or 'cp1252', proven by a strict decode of the whole file."""
    with path.open("rb") as f:
        if f.read(3) == codecs.BOM_UTF8:
            _strict_decode(path, "utf-8-sig", bom=True)
            return "utf-8-sig"
    try:
        _strict_decode(path, "utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        _strict_decode(path, "cp1252")
        return "cp1252"
    except UnicodeDecodeError as exc:
        raise FileRejected(
            Msg(
                f"Pengodean teks tidak dikenali (bukan UTF-8 maupun Windows-1252) di sekitar "
                f"byte {exc.start}. Simpan ulang sebagai 'CSV UTF-8'.",
                f"Unrecognised text encoding (neither UTF-8 nor Windows-1252) near byte "
                f"{exc.start}. Save again as 'CSV UTF-8'.",
            )
        ) from None


def _strict_decode(path: Path, encoding: str, bom: bool = False) -> None:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    offset = 0
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                raise UnicodeDecodeError(
                    exc.encoding, exc.object, offset + exc.start, offset + exc.end, exc.reason
                ) from None
            offset += len(chunk)
        decoder.decode(b"", final=True)


def sniff_delimiter(first_line: str) -> str:
    """Comma or semicolon, from the header line (Excel in an Indonesian locale writes ';')."""
    try:
        return csv.Sniffer().sniff(first_line, delimiters=",;").delimiter
    except csv.Error:
        return ";" if first_line.count(";") > first_line.count(",") else ","


def iter_csv(path: Path, info: TabularFile) -> Iterator[tuple[int, list[Any]]]:
    info.encoding = detect_encoding(path)
    with path.open("r", encoding=info.encoding, newline="") as f:
        first = f.readline()
        info.delimiter = sniff_delimiter(first)
        f.seek(0)
        reader = csv.reader(f, delimiter=info.delimiter)
        try:
            for row in reader:
                if len(row) > MAX_COLUMNS:
                    raise _too_many_columns(len(row))
                if reader.line_num > MAX_ROWS + 1:
                    raise _too_many_rows()
                yield reader.line_num, row
        except csv.Error as exc:
            raise FileRejected(
                Msg(
                    f"CSV rusak di baris {reader.line_num}: {exc}.",
                    f"Malformed CSV at line {reader.line_num}: {exc}.",
                )
            ) from None


# --- XLSX --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class XlsxParts:
    """What the ZIP directory says about a workbook's parts (sizes are the unpacked ones)."""

    sizes: dict[str, int]
    worksheets: tuple[str, ...]
    shared_strings: tuple[str, ...]

    @property
    def sheet_bytes(self) -> int:
        return sum(self.sizes.get(name, 0) for name in self.worksheets)

    @property
    def shared_strings_allowed(self) -> int:
        return min(
            MAX_SHARED_STRINGS_BYTES,
            SHARED_STRINGS_SLACK + SHARED_STRINGS_PER_SHEET_BYTE * self.sheet_bytes,
        )

    @property
    def strings_allowed(self) -> int:
        """How many shared strings the worksheets could point at (one per cell), and a few."""
        return 1000 + self.sheet_bytes // MIN_CELL_BYTES


def _content_types(zf: zipfile.ZipFile) -> dict[str, str]:
    """Part name (without the leading slash) -> declared content type (the Override entries,
    which are what openpyxl follows)."""
    from defusedxml.ElementTree import fromstring

    info = zf.getinfo("[Content_Types].xml")
    if info.file_size > MAX_PART_BYTES:
        raise _part_too_large(info.filename, info.file_size, MAX_PART_BYTES)
    root = fromstring(zf.read(info))
    return {
        node.get("PartName", "").lstrip("/"): node.get("ContentType", "")
        for node in root
        if node.tag.endswith("}Override")
    }


def check_xlsx_container(path: Path) -> XlsxParts:
    not_xlsx = Msg(
        "Berkas bukan XLSX yang sah (isinya bukan buku kerja Excel).",
        "The file is not a valid XLSX (its content is not an Excel workbook).",
    )
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            names = {i.filename for i in infos}
            if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
                raise FileRejected(not_xlsx)
            if len(infos) > MAX_MEMBERS:
                raise FileRejected(
                    Msg("XLSX berisi terlalu banyak bagian.", "The XLSX has too many parts.")
                )
            total = 0
            for info in infos:
                total += info.file_size
                ratio = info.file_size / max(info.compress_size, 1)
                if info.file_size > RATIO_FLOOR and ratio > MAX_RATIO:
                    raise _zip_bomb()
            if total > MAX_UNCOMPRESSED:
                raise _zip_bomb()
            try:
                types = _content_types(zf)
            except FileRejected:
                raise
            except Exception:  # defusedxml refuses entities; a broken manifest is not XLSX
                raise FileRejected(not_xlsx) from None
    except zipfile.BadZipFile:
        raise FileRejected(not_xlsx) from None
    sizes = {i.filename: i.file_size for i in infos}
    parts = XlsxParts(
        sizes=sizes,
        worksheets=tuple(n for n, t in types.items() if t == WORKSHEET_TYPE and n in sizes),
        shared_strings=tuple(n for n, t in types.items() if t == SHARED_STRINGS_TYPE),
    )
    for name, size in sizes.items():
        if name in parts.shared_strings:
            if size > parts.shared_strings_allowed:
                raise _too_much_text(name, size, parts)
        elif (
            name not in parts.worksheets
            and name.endswith(_PARSED_SUFFIXES)
            and size > MAX_PART_BYTES
        ):
            raise _part_too_large(name, size, MAX_PART_BYTES)
    return parts


def _mb(size: int) -> str:
    return f"{size / 1024**2:.1f} MB" if size >= 1024**2 else f"{max(1, size // 1024)} KB"


def _part_too_large(name: str, size: int, limit: int) -> FileRejected:
    return FileRejected(
        Msg(
            f"XLSX ditolak: bagian '{name}' terlalu besar setelah dibuka ({_mb(size)}; paling "
            f"besar {_mb(limit)}). Simpan ulang dari Excel sebagai buku kerja baru atau kirim "
            f"sebagai CSV.",
            f"XLSX refused: part '{name}' is too large once unpacked ({_mb(size)}; at most "
            f"{_mb(limit)}). Save it from Excel as a new workbook or send it as CSV.",
        )
    )


def _too_much_text(name: str, size: int, parts: XlsxParts) -> FileRejected:
    return FileRejected(
        Msg(
            f"XLSX ditolak: teks bersama ('{name}') berukuran {_mb(size)}, jauh melebihi yang "
            f"dapat dipakai lembar kerjanya ({_mb(parts.sheet_bytes)}; paling besar "
            f"{_mb(parts.shared_strings_allowed)}). Salin data ke buku kerja baru atau kirim "
            f"sebagai CSV.",
            f"XLSX refused: its shared strings ('{name}') take {_mb(size)}, far more than its "
            f"worksheets can use ({_mb(parts.sheet_bytes)}; at most "
            f"{_mb(parts.shared_strings_allowed)}). Copy the data to a new workbook or send it "
            f"as CSV.",
        )
    )


def _too_many_strings(parts: XlsxParts) -> FileRejected:
    return FileRejected(
        Msg(
            f"XLSX ditolak: teks bersama lebih banyak dari sel yang dapat memakainya (paling "
            f"banyak {parts.strings_allowed:,}).".replace(",", "."),
            f"XLSX refused: more shared strings than cells that could use them (at most "
            f"{parts.strings_allowed:,}).",
        )
    )


def _string_too_long() -> FileRejected:
    return FileRejected(
        Msg(
            f"XLSX ditolak: ada teks lebih panjang dari {MAX_STRING_CHARS:,} karakter, batas satu "
            f"sel Excel.".replace(",", "."),
            f"XLSX refused: a text is longer than {MAX_STRING_CHARS:,} characters, the limit of "
            f"one Excel cell.",
        )
    )


def read_shared_strings(source: Any, parts: XlsxParts) -> list[str]:
    """The shared strings, streamed: refused past `parts.strings_allowed` strings or a string
    longer than `MAX_STRING_CHARS`; parsed elements are dropped as soon as they are read."""
    from defusedxml.ElementTree import iterparse
    from openpyxl.cell.text import Text
    from openpyxl.xml.constants import SHEET_MAIN_NS

    string_tag = f"{{{SHEET_MAIN_NS}}}si"
    strings: list[str] = []
    root = None
    for event, node in iterparse(source, events=("start", "end")):
        if root is None:
            root = node
        if event != "end" or node.tag != string_tag:
            continue
        text = Text.from_tree(node).content.replace("x005F_", "")  # as openpyxl reads it
        if len(text) > MAX_STRING_CHARS:
            raise _string_too_long()
        strings.append(text)
        if len(strings) > parts.strings_allowed:
            raise _too_many_strings(parts)
        root.clear()  # the strings read so far are kept as text, not as elements
    return strings


def _open_workbook(path: Path, handle: Any, *, strings: bool = True) -> Any:
    """openpyxl's read-only workbook after `check_xlsx_container`, with the shared strings read
    by `read_shared_strings` (or not at all, when only the dimension is wanted)."""
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.xml.constants import SHARED_STRINGS

    parts = check_xlsx_container(path)

    class CappedReader(ExcelReader):
        def read_strings(self) -> None:
            part = self.package.find(SHARED_STRINGS)
            if part is None or not strings:
                return
            name = part.PartName[1:]
            if name not in parts.shared_strings:  # declared other than as checked: refuse
                raise FileRejected(
                    Msg("XLSX dengan struktur tidak dikenal.", "XLSX of an unknown structure.")
                )
            with self.archive.open(name) as source:
                self.shared_strings = read_shared_strings(source, parts)

    reader = CappedReader(handle, read_only=True, data_only=True, keep_links=False)
    reader.read()
    return reader.wb


def _zip_bomb() -> FileRejected:
    return FileRejected(
        Msg(
            "XLSX ditolak: isinya membengkak jauh melebihi ukuran berkas (kemungkinan zip bomb).",
            "XLSX refused: its content expands far beyond the file size (likely a zip bomb).",
        )
    )


def _too_many_columns(n: int) -> FileRejected:
    return FileRejected(
        Msg(
            f"Terlalu banyak kolom ({n}); paling banyak {MAX_COLUMNS}.",
            f"Too many columns ({n}); at most {MAX_COLUMNS}.",
        )
    )


def _too_many_rows() -> FileRejected:
    return FileRejected(
        Msg(
            f"Terlalu banyak baris; paling banyak {MAX_ROWS:,} per berkas.".replace(",", "."),
            f"Too many rows; at most {MAX_ROWS:,} per file.",
        )
    )


def iter_xlsx(path: Path, info: TabularFile) -> Iterator[tuple[int, list[Any]]]:
    # A file object, not the path: openpyxl would judge a path by its extension, and the
    # content is checked here.
    handle = path.open("rb")
    try:
        wb = _open_workbook(path, handle)
    except FileRejected:
        handle.close()
        raise
    except Exception as exc:  # openpyxl raises many types on malformed parts
        handle.close()
        raise FileRejected(
            Msg(
                f"XLSX tidak dapat dibaca: {type(exc).__name__}.",
                f"The XLSX cannot be read: {type(exc).__name__}.",
            )
        ) from None
    try:
        ws = wb.worksheets[0]
        # The declared dimension, checked before reading any row (it may be absent or wrong;
        # the per-row checks below still hold).
        if ws.max_column and ws.max_column > MAX_COLUMNS:
            raise _too_many_columns(ws.max_column)
        if ws.max_row and ws.max_row > MAX_ROWS + 1:
            raise _too_many_rows()
        for number, row in enumerate(ws.iter_rows(values_only=True), start=1):
            if len(row) > MAX_COLUMNS:
                raise _too_many_columns(len(row))
            if number > MAX_ROWS + 1:
                raise _too_many_rows()
            yield number, list(row)
    finally:
        wb.close()
        handle.close()


def check_size(path: Path, max_bytes: int | None = None) -> None:
    limit = max_bytes or int(setting("SLRT_MAX_UPLOAD_BYTES") or 20971520)
    size = path.stat().st_size
    if size > limit:
        raise FileRejected(
            Msg(
                f"Berkas terlalu besar ({size:,} byte; paling besar {limit:,} byte).".replace(
                    ",", "."
                ),
                f"The file is too large ({size:,} bytes; at most {limit:,} bytes).",
            )
        )
    if size == 0:
        raise FileRejected(Msg("Berkas kosong.", "The file is empty."))


def iter_rows(
    path: Path, *, max_bytes: int | None = None
) -> tuple[TabularFile, Iterator[tuple[int, list[Any]]]]:
    """Open a spreadsheet by content; yield (spreadsheet row number, cells) lazily."""
    check_size(path, max_bytes)
    kind = sniff_kind(path)
    info = TabularFile(kind=kind)
    rows = iter_xlsx(path, info) if kind == "xlsx" else iter_csv(path, info)
    return info, rows


def estimate_rows(path: Path) -> int | None:
    """Data rows (header excluded) for the progress total: newlines of a CSV, the declared
    dimension of an XLSX (None when it has none). An estimate: quoted newlines count too."""
    try:
        if sniff_kind(path) == "xlsx":
            with path.open("rb") as handle:
                wb = _open_workbook(path, handle, strings=False)
                rows = wb.worksheets[0].max_row
                wb.close()
            return max(0, rows - 1) if rows else None
        lines = 0
        with path.open("rb") as f:
            while chunk := f.read(_CHUNK):
                lines += chunk.count(b"\n")
        return max(0, lines - 1)
    except Exception:  # the import itself reads the file again and says what is wrong
        return None


def is_blank(cells: list[Any]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def cell_text(value: Any) -> str:
    """How a cell value appears in an error report."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)
