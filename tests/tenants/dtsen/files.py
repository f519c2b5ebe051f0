"""Generated SIKS-NG files in the shapes districts receive, and the Parepare registry they are
matched against (kelurahan Lompoe, 73.72.01.1004).

The registry: Andi's family (KK ...0001), Baco's family (KK ...0002, with his son Rudi), and
Hasnah's family (KK ...0003), whom DTSEN does not list.

- `bnba_xlsx`: a BNBA export for the previous quarter as XLSX: a title row above the header,
  headers spelled "NIK", "NAMA LENGKAP", "NO_KK", "HUBUNGAN KELUARGA", "KDDESA" (digits only),
  "DESIL NASIONAL" and a column nobody maps; Andi's family matched by KK; Baco's family under a
  new KK number whose head's NIK the registry lacks, found only through Rudi's NIK; Wa Ode's
  family, unknown to the registry; one NIK stored as a number by Excel.
- `desil_csv`: a desil file for this quarter as CSV with semicolons, headers "KK DTSEN" (which
  the district maps by hand), "NIK", "Nama", "Desil": Andi's family moves from desil 3 to 2.
"""

from __future__ import annotations

import csv
import io

from openpyxl import Workbook

from slrt.platform.i18n import local_today
from slrt.tenants.dtsen.periods import Quarter

LOMPOE = "73.72.01.1004"
BASE = "/api/v1/t/parepare"

ANDI_KK = "7372010101200001"
ANDI = "7372010305800001"
SITTI = "7372014708850002"
BACO_KK = "7372010101200002"
BACO_NEW_KK = "7372010101209999"
BACO = "7372011201700003"
RUDI = "7372011506050004"
HASNAH_KK = "7372010101200003"
HASNAH = "7372014101500005"
WA_ODE_KK = "7372010101200077"
WA_ODE = "7372015505900007"
WA_ODE_CHILD = "7372010202100008"
BACO_IN_DTSEN = "7372011201700013"  # the head DTSEN lists for Baco's family: not in the registry

# Parepare's own day (WITA): in the evening UTC it is already tomorrow there.
TODAY = local_today("Asia/Makassar")
THIS = Quarter.of(TODAY)
PREVIOUS = THIS.previous


def registry(client, user) -> dict[str, str]:
    """The three families of Lompoe, registered through the API; returns household ids."""
    ids = {}
    for kk, people in (
        (ANDI_KK, [(ANDI, "Andi Baso", "kepala_keluarga"), (SITTI, "Sitti Aminah", "istri")]),
        (BACO_KK, [(BACO, "Baco Lamude", "kepala_keluarga"), (RUDI, "Rudi", "anak")]),
        (HASNAH_KK, [(HASNAH, "Hasnah", "kepala_keluarga")]),
    ):
        household = client.post(
            f"{BASE}/households",
            json={"kk_number": kk, "address": "Jl. Lompoe", "village_code": LOMPOE},
            headers=user.headers,
        )
        assert household.status_code == 201, household.json
        ids[kk] = household.json["id"]
        for nik, name, relation in people:
            person = client.post(
                f"{BASE}/persons",
                json={
                    "nik": nik,
                    "name": name,
                    "household_id": household.json["id"],
                    "relation": relation,
                },
                headers=user.headers,
            )
            assert person.status_code == 201, person.json
    return ids


BNBA_HEADER = [
    "NO",
    "NIK",
    "NAMA LENGKAP",
    "NO_KK",
    "HUBUNGAN KELUARGA",
    "ALAMAT",
    "KDDESA",
    "DESIL NASIONAL",
    "KETERANGAN PADAN",
]


def bnba_rows() -> list[list[object]]:
    return [
        [1, ANDI, "ANDI BASO", ANDI_KK, "KEPALA KELUARGA", "JL LOMPOE", "7372011004", 3, "PADAN"],
        [2, SITTI, "SITTI AMINAH", ANDI_KK, "ISTRI", "JL LOMPOE", "7372011004", 3, "PADAN"],
        [3, BACO_IN_DTSEN, "BACO", BACO_NEW_KK, "KEPALA KELUARGA", "JL LOMPOE", "7372011004",
         4, "PADAN"],
        [4, RUDI, "RUDI", BACO_NEW_KK, "ANAK", "JL LOMPOE", "7372011004", 4, "PADAN"],
        [5, WA_ODE, "WA ODE", WA_ODE_KK, "KEPALA KELUARGA", "JL LAPADDE", "7372011004", 1,
         "PADAN"],
        [6, WA_ODE_CHILD, "LA ODE", WA_ODE_KK, "ANAK", "JL LAPADDE", "7372011004", 1, "PADAN"],
        # Excel turned this NIK into a number: refused, never repaired.
        [7, 7372010101900009, "RUSAK ANGKA", WA_ODE_KK, "FAMILI LAIN", "", "7372011004", 1, ""],
    ]  # fmt: skip


def bnba_xlsx() -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append([f"DATA BNBA DTSEN KOTA PAREPARE PERIODE {PREVIOUS}"])
    ws.append(BNBA_HEADER)
    for row in bnba_rows():
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


DESIL_HEADER = ["KK DTSEN", "NIK", "Nama", "Desil"]


def desil_csv() -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";")
    writer.writerow(DESIL_HEADER)
    writer.writerow([ANDI_KK, ANDI, "ANDI BASO", "Desil 2"])
    writer.writerow(["", RUDI, "RUDI", "04"])  # no KK: found by the member's own NIK
    writer.writerow([WA_ODE_KK, WA_ODE, "WA ODE", "1"])
    return buf.getvalue().encode("utf-8-sig")
