"""NIK and KK number validation: the one place that knows their structure.

NIK = `PPKKCC DDMMYY SSSS`: the kecamatan where it was first issued (a real code in the bundled
Kemendagri reference), the birth date with 40 added to the day for women, and a serial from 0001.
Each failure is its own bilingual message naming the part that is wrong; the registry API and the
bulk import both call `nik_problems`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache

from slrt.platform.config import setting
from slrt.platform.errors import Msg
from slrt.platform.i18n import local_today
from slrt.platform.region_codes import kecamatan_by_compact
from slrt.platform.secrets_store import get_secret
from slrt.platform.tabular.validate import leading_apostrophe_problem

DIGITS16 = re.compile(r"^\d{16}$")


@dataclass(frozen=True)
class NikParts:
    kecamatan_code: str  # "73.72.01"
    birth_date: dt.date
    sex: str  # "L" (laki-laki) or "P" (perempuan)
    serial: str


def _birth_date(day: int, month: int, yy: int, today: dt.date) -> dt.date | None:
    """The two-digit year is the most recent one not in the future."""
    century = 2000 if 2000 + yy <= today.year else 1900
    try:
        born = dt.date(century + yy, month, day)
    except ValueError:
        return None
    if born > today:
        try:
            born = dt.date(century - 100 + yy, month, day)
        except ValueError:
            return None
    return born


def nik_problems(
    nik: str,
    *,
    sex: str | None = None,
    birth_date: dt.date | None = None,
    today: dt.date | None = None,
) -> list[Msg]:
    """Every way `nik` is wrong (empty list when it is valid and agrees with sex/birth date)."""
    nik = (nik or "").strip()
    quoted = leading_apostrophe_problem("NIK", nik)
    if quoted is not None:
        return [quoted]
    if not DIGITS16.match(nik):
        if re.fullmatch(r"\d[\d.,]*[eE]\+?\d+", nik):
            return [
                Msg(
                    f"NIK '{nik}' tertulis dalam notasi ilmiah (rusak oleh spreadsheet); ketik ulang 16 digitnya.",
                    f"NIK '{nik}' is in scientific notation (spreadsheet damage); re-enter its 16 digits.",
                )
            ]
        return [
            Msg(
                f"NIK harus 16 digit angka (diterima {len(nik)} karakter).",
                f"A NIK must be 16 digits (got {len(nik)} characters).",
            )
        ]
    problems: list[Msg] = []
    if kecamatan_by_compact(nik[:6]) is None:
        problems.append(
            Msg(
                f"Enam digit pertama NIK ({nik[:6]}) bukan kode kecamatan yang ada dalam referensi Kemendagri.",
                f"The first six digits of the NIK ({nik[:6]}) are not a kecamatan code in the Kemendagri reference.",
            )
        )
    parts = parse_nik(nik, today=today)
    if parts is None:
        problems.append(
            Msg(
                f"Bagian tanggal lahir NIK ({nik[6:12]}) bukan tanggal yang sah (untuk perempuan tanggal ditambah 40).",
                f"The birth-date part of the NIK ({nik[6:12]}) is not a real date (women: day + 40).",
            )
        )
    if nik[12:] == "0000":
        problems.append(
            Msg(
                "Nomor urut NIK (4 digit terakhir) tidak boleh 0000.",
                "The serial part of the NIK (last 4 digits) cannot be 0000.",
            )
        )
    if parts is not None:
        if sex is not None and sex != parts.sex:
            problems.append(
                Msg(
                    f"Jenis kelamin ({sex}) tidak sesuai dengan NIK (tanggal {nik[6:8]} berarti {parts.sex}).",
                    f"Sex ({sex}) does not match the NIK (day {nik[6:8]} means {parts.sex}).",
                )
            )
        if birth_date is not None and birth_date != parts.birth_date:
            problems.append(
                Msg(
                    f"Tanggal lahir ({birth_date.isoformat()}) tidak sesuai dengan NIK ({parts.birth_date.isoformat()}).",
                    f"Birth date ({birth_date.isoformat()}) does not match the NIK ({parts.birth_date.isoformat()}).",
                )
            )
    return problems


def parse_nik(nik: str, *, today: dt.date | None = None) -> NikParts | None:
    """The parts of a 16-digit NIK, or None when its date part is not a real date."""
    if not DIGITS16.match(nik or ""):
        return None
    return _parts(nik, today or local_today())


# An import asks for a row's parts several times (its checks, a date the NIK settles, the
# values it stages); the answer depends on the day only through the two-digit year.
@lru_cache(maxsize=8192)
def _parts(nik: str, today: dt.date) -> NikParts | None:
    day, month, yy = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    sex = "L"
    if day > 40:
        day -= 40
        sex = "P"
    born = _birth_date(day, month, yy, today)
    if born is None:
        return None
    code = f"{nik[0:2]}.{nik[2:4]}.{nik[4:6]}"
    return NikParts(kecamatan_code=code, birth_date=born, sex=sex, serial=nik[12:])


def kk_problems(kk: str) -> list[Msg]:
    kk = (kk or "").strip()
    quoted = leading_apostrophe_problem("Nomor KK", kk)
    if quoted is not None:
        return [quoted]
    if not DIGITS16.match(kk):
        return [
            Msg(
                f"Nomor KK harus 16 digit angka (diterima {len(kk)} karakter).",
                f"A KK number must be 16 digits (got {len(kk)} characters).",
            )
        ]
    return []


@cache
def _hash_key() -> bytes:
    return (setting("SLRT_NIK_HASH_KEY") or get_secret("nik_hash_key")).encode()


def nik_hash(nik: str) -> str:
    """Keyed hash (HMAC-SHA256) of a NIK: the same across districts, useless without the key."""
    return nik_hasher()(nik)


def nik_hasher() -> Callable[[str], str]:
    """`nik_hash` for many NIKs: the key is looked up and set up once."""
    keyed = hmac.new(_hash_key(), digestmod=hashlib.sha256)

    def digest(nik: str) -> str:
        one = keyed.copy()
        one.update(nik.encode())
        return one.hexdigest()

    return digest
