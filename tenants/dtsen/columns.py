"""Reading SIKS-NG files as they come: which row is the header, which column holds what, and the
validation spec built from the mapping the district confirmed.

No official column specification exists: BNBA ("by name by address") and desil exports differ
between releases and between the people who saved them ("NIK" / "NIK ART", "No KK" / "NOKK" /
"NO_KK" / "Nomor KK", "DESIL" / "Desil Nasional", "KODE DESA" / "KDDESA", or only village names).
So each column is recognised from the usual spellings and from what the district's admin mapped
before (saved per district), and the admin maps the rest; only NIK and name are required.

The header is the first of the top rows that holds a NIK column (exports often open with a title
row). A confirmed mapping turns the header into the field names, so the platform's validation
(`platform.tabular.validate`: NIK damaged by Excel, repeated NIKs, control characters...) reads
the file exactly as it reads the registry template.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.errors import Msg
from slrt.platform.tabular.read import FileRejected, cell_text, is_blank, iter_rows
from slrt.platform.tabular.validate import Column, Sheet, header_key
from slrt.tenants.regions.models import Kecamatan, Village


@dataclass(frozen=True)
class Field:
    name: str
    label: Msg
    aliases: tuple[str, ...]
    required: bool = False


FIELDS: dict[str, Field] = {
    f.name: f
    for f in (
        Field(
            "nik",
            Msg("NIK", "NIK"),
            ("nik", "no nik", "nomor nik", "nik art", "nik anggota keluarga", "nik krt",
             "nik kepala keluarga", "nik kk"),
            required=True,
        ),
        Field(
            "nama",
            Msg("Nama", "Name"),
            ("nama", "nama lengkap", "nama art", "nama anggota keluarga", "nama krt",
             "nama kepala keluarga", "nama penerima"),
            required=True,
        ),
        Field(
            "no_kk",
            Msg("Nomor KK", "KK number"),
            ("no kk", "nokk", "nomor kk", "nomor kartu keluarga", "no kartu keluarga", "kk",
             "nomor kk dukcapil"),
        ),
        Field(
            "desil",
            Msg("Desil", "Desil"),
            ("desil", "desil nasional", "desil kesejahteraan", "peringkat desil", "desil dtsen",
             "desil kk"),
        ),
        Field(
            "hubungan",
            Msg("Hubungan keluarga (SHDK)", "Family relation (SHDK)"),
            ("hubungan", "hubungan keluarga", "shdk", "hub kel", "hubungan dengan kk",
             "hubungan dengan kepala keluarga", "status hubungan", "status dalam keluarga"),
        ),
        Field("alamat", Msg("Alamat", "Address"), ("alamat", "alamat lengkap", "alamat rumah")),
        Field(
            "kode_desa",
            Msg("Kode desa/kelurahan", "Village code"),
            ("kode desa", "kddesa", "kd desa", "kode wilayah", "kode desa kelurahan",
             "kode kelurahan", "kodewilayah", "kode deskel", "kddeskel", "idsls desa"),
        ),
        Field(
            "nama_desa",
            Msg("Nama desa/kelurahan", "Village name"),
            ("desa", "kelurahan", "desa kelurahan", "nama desa", "nama kelurahan", "nmdesa",
             "nm desa", "deskel", "nama desa kelurahan"),
        ),
        Field(
            "nama_kecamatan",
            Msg("Nama kecamatan", "Kecamatan name"),
            ("kecamatan", "nama kecamatan", "nmkec", "nm kec", "kec"),
        ),
    )
}  # fmt: skip
HEADER_SEARCH_ROWS = 20
DESIL_TEXT = re.compile(r"^(?:desil\s*)?0?(\d{1,2})(?:[.,]0+)?$")
VILLAGE_DIGITS = re.compile(r"^(\d{2})\.?(\d{2})\.?(\d{2})\.?(\d{4})$")


def normalise(header: Any) -> str:
    """A header as compared (the registry template's rule), for any cell value."""
    return header_key(cell_text(header))


ALIASES: dict[str, str] = {
    normalise(alias): f.name for f in FIELDS.values() for alias in (f.name, *f.aliases)
}


def recognise(header: Any, saved: dict[str, str]) -> str | None:
    """The field a header names: the district's own mapping first, then the usual spellings."""
    key = normalise(header)
    if not key:
        return None
    found = saved.get(key) or ALIASES.get(key)
    return found if found in FIELDS else None


@dataclass
class Header:
    row: int  # spreadsheet row number of the header
    cells: list[str]
    suggested: list[str | None]  # per column: the field it seems to hold


def find_header(rows: Iterable[tuple[int, list[Any]]], saved: dict[str, str]) -> Header | None:
    """The header among the file's first rows: the first row naming a NIK column, else the
    first non-blank row (the admin then maps its columns by hand). None for an empty file."""
    first: tuple[int, list[Any]] | None = None
    for seen, (number, cells) in enumerate(rows):
        if seen >= HEADER_SEARCH_ROWS:
            break
        if is_blank(cells):
            continue
        first = first or (number, cells)
        if any(recognise(cell, saved) == "nik" for cell in cells):
            return _header(number, cells, saved)
    return _header(*first, saved) if first else None


def _header(number: int, cells: list[Any], saved: dict[str, str]) -> Header:
    texts = [cell_text(c).strip() for c in cells]
    while texts and not texts[-1]:
        texts.pop()
    suggested: list[str | None] = []
    taken: set[str] = set()
    for text in texts:
        field = recognise(text, saved)
        if field in taken:
            field = None  # the first column of a field wins; the admin may choose otherwise
        if field:
            taken.add(field)
        suggested.append(field)
    return Header(number, texts, suggested)


def mapping_problems(mapping: list[str | None], width: int) -> list[Msg]:
    """What is wrong with a mapping of `width` columns: unknown fields, a field chosen twice,
    NIK or name missing."""
    problems: list[Msg] = []
    if len(mapping) != width:
        problems.append(
            Msg(
                f"Pemetaan harus berisi {width} kolom (diterima {len(mapping)}).",
                f"The mapping must have {width} columns (got {len(mapping)}).",
            )
        )
    chosen = [m for m in mapping if m]
    unknown = sorted({m for m in chosen if m not in FIELDS})
    if unknown:
        problems.append(
            Msg(
                f"Isian tidak dikenal: {', '.join(unknown)}.",
                f"Unknown fields: {', '.join(unknown)}.",
            )
        )
    twice = sorted({m for m in chosen if chosen.count(m) > 1 and m in FIELDS})
    for name in twice:
        label = FIELDS[name].label
        problems.append(
            Msg(
                f"{label} dipilih untuk lebih dari satu kolom.",
                f"{label.en} is chosen for more than one column.",
            )
        )
    for field in FIELDS.values():
        if field.required and field.name not in chosen:
            problems.append(
                Msg(
                    f"Pilih kolom yang berisi {field.label}: kolom itu wajib ada.",
                    f"Choose the column holding the {field.label.en}: it is required.",
                )
            )
    return problems


def mapped_rows(
    rows: Iterable[tuple[int, list[Any]]], header_row: int, mapping: list[str | None]
) -> Iterator[tuple[int, list[Any]]]:
    """The file's rows from its header on, the header's cells replaced by the field names
    (unmapped columns by nothing, so they are ignored)."""
    names = [m or "" for m in mapping]
    for number, cells in rows:
        if number < header_row:
            continue
        if number == header_row:
            yield number, names
            continue
        yield number, cells


def parse_desil(value: Any) -> int | None:
    """1-10 from a cell as files write it: 3, 3.0, "03", "Desil 3"; None if it is none."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        return int(value) if value.is_integer() and 1 <= value <= 10 else None
    if isinstance(value, int):
        return value if 1 <= value <= 10 else None
    match = DESIL_TEXT.match(cell_text(value).strip().lower())
    if match is None:
        return None
    number = int(match[1])
    return number if 1 <= number <= 10 else None


def is_head(relation: str | None) -> bool:
    return "kepala" in (relation or "").lower()


class VillageIndex:
    """The district's villages, by code and by name (a name shared by villages of two
    kecamatan needs the kecamatan's name too)."""

    def __init__(self) -> None:
        rows = db.session.execute(
            sa.select(Village.code, Village.name, Kecamatan.name).join(
                Kecamatan,
                sa.and_(
                    Kecamatan.tenant_id == Village.tenant_id,
                    Kecamatan.code == sa.func.left(Village.code, 8),
                ),
            )
        ).all()
        self.codes = {code for code, _, _ in rows}
        self.by_name: dict[str, list[tuple[str, str]]] = {}
        for code, name, kecamatan in rows:
            self.by_name.setdefault(normalise(name), []).append((code, normalise(kecamatan)))

    @staticmethod
    def code_of(text: Any) -> str | None:
        """73.72.01.1004 from "73.72.01.1004" or "7372011004"."""
        match = VILLAGE_DIGITS.match(cell_text(text).strip())
        return ".".join(match.groups()) if match else None

    def resolve(self, values: dict[str, Any]) -> tuple[str | None, Msg | None]:
        """The village a row names (by code, else by name), or the problem with it."""
        raw = values.get("kode_desa")
        if raw:
            code = self.code_of(raw)
            if code is None or code not in self.codes:
                return None, Msg(
                    f"Kode desa/kelurahan '{raw}' tidak ada di kabupaten/kota ini.",
                    f"Village code '{raw}' does not exist in this district.",
                )
            return code, None
        name = values.get("nama_desa")
        if not name:
            return None, None
        found = self.by_name.get(normalise(name), [])
        kecamatan = normalise(values.get("nama_kecamatan"))
        if kecamatan:
            found = [f for f in found if kecamatan in (f[1], f"kecamatan {f[1]}")] or [
                f for f in found if f[1].endswith(kecamatan)
            ]
        if len(found) == 1:
            return found[0][0], None
        if not found:
            return None, Msg(
                f"Desa/kelurahan '{name}' tidak ada di kabupaten/kota ini.",
                f"Village '{name}' does not exist in this district.",
            )
        return None, Msg(
            f"Ada {len(found)} desa/kelurahan bernama '{name}'; petakan juga kolom kecamatan "
            "atau kode desa.",
            f"{len(found)} villages are named '{name}'; map the kecamatan or village code "
            "column too.",
        )


def _desil_check(value: Any) -> Msg | None:
    if parse_desil(value) is None:
        return Msg(
            f"Desil '{value}' tidak dikenali; isi angka 1 sampai 10.",
            f"Desil '{value}' is not recognised; write a number from 1 to 10.",
        )
    return None


def dtsen_sheet(villages: VillageIndex) -> Sheet:
    """The validation spec of a mapped SIKS-NG file (columns named by field)."""

    def village_check(values: dict[str, Any]) -> list[tuple[str, Msg]]:
        _, problem = villages.resolve(values)
        if problem is None:
            return []
        column = "kode_desa" if values.get("kode_desa") else "nama_desa"
        return [(column, problem)]

    return Sheet(
        [
            Column("nik", "id16", required=True, label="NIK", unique=True),
            Column("nama", required=True, label="Nama"),
            Column("no_kk", "id16", label="Nomor KK"),
            Column("desil", label="Desil", max_length=20, check=_desil_check),
            Column("hubungan", label="Hubungan keluarga", max_length=60),
            Column("alamat", label="Alamat", max_length=500),
            Column("kode_desa", label="Kode desa/kelurahan", max_length=20),
            Column("nama_desa", label="Desa/kelurahan", max_length=120),
            Column("nama_kecamatan", label="Kecamatan", max_length=120),
        ],
        row_checks=[village_check],
    )


def sample_values(data: bytes, header_row: int) -> list[str]:
    """The first data row under the header, as text per column: the mapping step shows it so
    the admin sees what a column holds, not only its header."""
    with tempfile.TemporaryDirectory(prefix="slrt-dtsen-") as tmp:
        path = Path(tmp) / "upload"
        path.write_bytes(data)
        try:
            _, rows = iter_rows(path)
            try:
                for number, cells in rows:
                    if number > header_row and not is_blank(cells):
                        return [cell_text(c).strip() for c in cells]
            finally:
                rows.close()
        except FileRejected:
            return []
    return []
