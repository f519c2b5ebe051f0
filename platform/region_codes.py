"""The bundled Kemendagri 2025 region reference (see data/README.md for its source and licence).

Codes: province `PP`, kabupaten/kota `PP.KK` (kab 01-69, kota 71-99), kecamatan `PP.KK.CC`,
desa/kelurahan `PP.KK.CC.XDDD` with X = 1 kelurahan, 2 desa, 3 desa adat. Loaded once per
process (about 0.2 s) and read-only afterwards.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections import defaultdict
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from marshmallow import validate

DATA_FILE = Path(__file__).resolve().parent / "data" / "wilayah_kemendagri_2025.csv.gz"

PROVINCE_RE = re.compile(r"^\d{2}$")
REGENCY_RE = re.compile(r"^\d{2}\.\d{2}$")
KECAMATAN_RE = re.compile(r"^\d{2}\.\d{2}\.\d{2}$")
VILLAGE_RE = re.compile(r"^\d{2}\.\d{2}\.\d{2}\.[123]\d{3}$")

# The same shapes as API field validators (the OpenAPI document publishes their patterns).
_SHAPE_ERROR = "String does not match expected pattern."
REGENCY_CODE = validate.Regexp(REGENCY_RE, error=_SHAPE_ERROR)
KECAMATAN_CODE = validate.Regexp(KECAMATAN_RE, error=_SHAPE_ERROR)
VILLAGE_CODE = validate.Regexp(VILLAGE_RE, error=_SHAPE_ERROR)

VILLAGE_KINDS = {"1": "kelurahan", "2": "desa", "3": "desa_adat"}


@dataclass(frozen=True)
class Region:
    code: str
    name: str


@dataclass(frozen=True)
class Reference:
    names: dict[str, str]
    children: dict[str, list[str]]


@cache
def reference() -> Reference:
    names: dict[str, str] = {}
    children: dict[str, list[str]] = defaultdict(list)
    with gzip.open(DATA_FILE, "rb") as raw:
        for row in csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8")):
            code = row["kode"].strip()
            names[code] = row["nama"].strip()
            if "." in code:
                children[code.rsplit(".", 1)[0]].append(code)
    for kids in children.values():
        kids.sort()
    return Reference(names=names, children=dict(children))


def name_of(code: str) -> str | None:
    return reference().names.get(code)


def children_of(code: str) -> list[Region]:
    ref = reference()
    return [Region(c, ref.names[c]) for c in ref.children.get(code, [])]


def regency_kind(code: str) -> str:
    """'kabupaten' for KK 01-69, 'kota' for 71-99."""
    return "kota" if int(code[3:5]) >= 71 else "kabupaten"


def village_kind(code: str) -> str:
    return VILLAGE_KINDS[code[9]]


def is_regency(code: str) -> bool:
    return bool(REGENCY_RE.match(code)) and code in reference().names


def is_kecamatan(code: str) -> bool:
    return bool(KECAMATAN_RE.match(code)) and code in reference().names


def regencies() -> list[Region]:
    ref = reference()
    return [Region(c, n) for c, n in ref.names.items() if REGENCY_RE.match(c)]


# Asked for every NIK of an import: the same few thousand kecamatan over and over.
@lru_cache(maxsize=16384)
def kecamatan_by_compact(six_digits: str) -> str | None:
    """'737201' (as in a NIK) -> '73.72.01' when that kecamatan exists in the reference."""
    if not re.fullmatch(r"\d{6}", six_digits):
        return None
    code = f"{six_digits[0:2]}.{six_digits[2:4]}.{six_digits[4:6]}"
    return code if is_kecamatan(code) else None


def short_name(regency_name: str) -> str:
    return re.sub(r"^(Kabupaten|Kota)\s+", "", regency_name).strip()


@cache
def slugs() -> dict[str, str]:
    """A stable URL slug per kabupaten/kota: the bare name ('kendal', 'parepare'); where a
    kabupaten and a kota share a name, the kota is prefixed ('kota-bandung')."""

    def plain(name: str) -> str:
        return re.sub(r"[^a-z0-9]+", "-", short_name(name).lower()).strip("-")

    counts: dict[str, int] = defaultdict(int)
    for region in regencies():
        counts[plain(region.name)] += 1
    result = {}
    for region in regencies():
        slug = plain(region.name)
        if counts[slug] > 1:
            slug = f"{regency_kind(region.code)}-{slug}"
        result[region.code] = slug
    return result


# Indonesia's three time zones by province (IANA names; WIB = UTC+7, WITA = +8, WIT = +9).
WIB, WITA, WIT = "Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"
ZONE_LABELS = {WIB: "WIB", WITA: "WITA", WIT: "WIT"}
_WITA_PROVINCES = {"51", "52", "53", "63", "64", "65", "71", "72", "73", "74", "75", "76"}
_WIT_PROVINCES = {"81", "82", "91", "92", "93", "94", "95", "96"}


def province_zone(province_code: str) -> str:
    """The zone of a province: WIT in Maluku and Papua, WITA from Bali, Nusa Tenggara and South,
    East and North Kalimantan to Sulawesi, WIB elsewhere (Sumatra, Java, West and Central
    Kalimantan)."""
    if province_code in _WIT_PROVINCES:
        return WIT
    if province_code in _WITA_PROVINCES:
        return WITA
    return WIB
