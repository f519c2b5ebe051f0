"""The reconciliation of one village for one period (by default the latest with DTSEN records
there), for its village meeting:

- families in DTSEN but not in the registry (no household of their KK, no person of their
  head's NIK);
- families in the registry but not listed in DTSEN for the period (only when the period has
  records for the village: an absent file says nothing);
- families whose desil changed since the previous quarter;
- persons DTSEN lists whose NIK the registry does not know;
- the village's usul and sanggah (what the meeting also decides on).

The same result feeds the pages (one list at a time, paginated) and the spreadsheet (a sheet per
list, formula-safe).
"""

from __future__ import annotations

import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.errors import Msg
from slrt.platform.tabular.write import CsvWriter, XlsxWriter
from slrt.tenants.dtsen.models import DtsenMember, DtsenRecord, Submission
from slrt.tenants.dtsen.periods import Quarter
from slrt.tenants.flow.workflow import label as state_label
from slrt.tenants.regions.models import Village
from slrt.tenants.registry.models import Household, Person, Relation


@dataclass(frozen=True)
class Section:
    key: str
    title: Msg
    sheet: str  # the spreadsheet's sheet name (31 characters at most)
    header: tuple[str, ...]


SECTIONS: dict[str, Section] = {
    s.key: s
    for s in (
        Section(
            "not_in_registry",
            Msg("Di DTSEN, belum ada di registri", "In DTSEN, not in the registry"),
            "Di DTSEN belum di registri",
            ("no_kk", "nik_kepala", "nama_kepala", "desil", "periode"),
        ),
        Section(
            "not_in_dtsen",
            Msg("Di registri, tidak terdaftar di DTSEN", "In the registry, not listed in DTSEN"),
            "Di registri tidak di DTSEN",
            ("no_kk", "nik_kepala", "nama_kepala", "alamat", "status_terakhir"),
        ),
        Section(
            "desil_changed",
            Msg("Desil berubah sejak triwulan sebelumnya", "Desil changed since the last quarter"),
            "Desil berubah",
            ("no_kk", "nik_kepala", "nama_kepala", "desil_sebelumnya", "desil_sekarang"),
        ),
        Section(
            "unknown_members",
            Msg("NIK di DTSEN yang tidak dikenal registri", "DTSEN NIKs the registry lacks"),
            "NIK tidak dikenal",
            ("nik", "nama", "no_kk", "hubungan"),
        ),
        Section(
            "submissions",
            Msg("Usul dan sanggah", "Proposals and objections"),
            "Usul dan sanggah",
            ("jenis", "nik", "nama", "no_kk", "alasan", "status", "verval", "batas_verifikasi"),
        ),
    )
}


@dataclass
class Reconciliation:
    village: Village
    period: str | None
    previous: str
    periods: list[str]
    lists: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return sum(len(rows) for rows in self.lists.values())

    def count(self, key: str) -> int:
        return len(self.lists.get(key, []))


def periods_of(village: Village) -> list[str]:
    return list(
        db.session.execute(
            sa.select(DtsenRecord.period)
            .where(DtsenRecord.village_code == village.code)
            .distinct()
            .order_by(DtsenRecord.period.desc())
        ).scalars()
    )


def _identity(record: DtsenRecord) -> str:
    return str(record.household_id) if record.household_id else record.family_key


def latest_per_family(village: Village, period: str) -> dict[str, DtsenRecord]:
    """The latest record of each family of the village in `period`."""
    rows = db.session.execute(
        sa.select(DtsenRecord)
        .where(DtsenRecord.village_code == village.code, DtsenRecord.period == period)
        .order_by(DtsenRecord.recorded_at, DtsenRecord.id)
    ).scalars()
    latest: dict[str, DtsenRecord] = {}
    for record in rows:
        latest[_identity(record)] = record  # later rows replace earlier ones
    return latest


def _heads(household_ids: list[uuid.UUID]) -> dict[uuid.UUID, Person]:
    people = db.session.execute(
        sa.select(Person)
        .where(Person.household_id.in_(household_ids), Person.erased_at.is_(None))
        .order_by(
            Person.household_id,
            (Person.relation == Relation.kepala_keluarga).desc(),
            Person.created_at,
        )
    ).scalars()
    heads: dict[uuid.UUID, Person] = {}
    for person in people:
        heads.setdefault(person.household_id, person)
    return heads


def reconcile(village: Village, period: str | None = None) -> Reconciliation:
    periods = periods_of(village)
    if period is None or Quarter.parse(period) is None:
        period = periods[0] if periods else None
    quarter = Quarter.parse(period) if period else None
    previous = str(quarter.previous) if quarter else ""
    result = Reconciliation(village, period, previous, periods)
    result.lists["submissions"] = _submissions(village)
    if period is None:
        for key in ("not_in_registry", "not_in_dtsen", "desil_changed", "unknown_members"):
            result.lists[key] = []
        return result
    latest = latest_per_family(village, period)
    listed = [r for r in latest.values() if r.listed]
    result.lists["not_in_registry"] = _not_in_registry(listed)
    result.lists["not_in_dtsen"] = _not_in_dtsen(village, listed, period)
    result.lists["desil_changed"] = _desil_changed(listed, latest_per_family(village, previous))
    result.lists["unknown_members"] = _unknown_members(village, period)
    return result


def _desil_changed(
    listed: list[DtsenRecord], before: dict[str, DtsenRecord]
) -> list[dict[str, Any]]:
    """Families listed with a desil in both quarters, with a different one (a family is the
    same across quarters by its household, else its KK number, else its key)."""
    index: dict[Any, DtsenRecord] = {}
    for record in before.values():
        for ref in (record.household_id, record.kk_number, record.family_key):
            if ref:
                index.setdefault(ref, record)
    rows = []
    for record in sorted(listed, key=lambda r: r.kk_number or r.family_key):
        earlier = next(
            (
                index[ref]
                for ref in (record.household_id, record.kk_number, record.family_key)
                if ref and ref in index
            ),
            None,
        )
        if earlier is None or not (earlier.listed and earlier.desil and record.desil):
            continue
        if earlier.desil != record.desil:
            rows.append(
                {
                    "no_kk": record.kk_number,
                    "nik_kepala": record.head_nik,
                    "nama_kepala": record.head_name,
                    "desil_sebelumnya": earlier.desil,
                    "desil_sekarang": record.desil,
                    "household_id": record.household_id,
                    "record_id": record.id,
                }
            )
    return rows


def _not_in_registry(listed: list[DtsenRecord]) -> list[dict[str, Any]]:
    candidates = [r for r in listed if r.household_id is None]
    kks = {r.kk_number for r in candidates if r.kk_number}
    niks = {r.head_nik for r in candidates if r.head_nik}
    known_kks = set(
        db.session.execute(
            sa.select(Household.kk_number).where(Household.kk_number.in_(kks))
        ).scalars()
    )
    known_niks = set(
        db.session.execute(sa.select(Person.nik).where(Person.nik.in_(niks))).scalars()
    )
    return [
        {
            "no_kk": r.kk_number,
            "nik_kepala": r.head_nik,
            "nama_kepala": r.head_name,
            "desil": r.desil,
            "periode": r.period,
            "record_id": r.id,
        }
        for r in sorted(candidates, key=lambda r: (r.kk_number or "", r.head_nik or ""))
        if r.kk_number not in known_kks and r.head_nik not in known_niks
    ]


def _not_in_dtsen(village: Village, listed: list[DtsenRecord], period: str) -> list[dict[str, Any]]:
    households = list(
        db.session.execute(
            sa.select(Household)
            .where(Household.village_code == village.code, Household.kk_number.is_not(None))
            .order_by(Household.kk_number)
        ).scalars()
    )
    listed_ids = {r.household_id for r in listed if r.household_id}
    listed_kks = {r.kk_number for r in listed if r.kk_number}
    missing = [h for h in households if h.id not in listed_ids and h.kk_number not in listed_kks]
    heads = _heads([h.id for h in missing])
    rows = []
    for household in missing:
        head = heads.get(household.id)
        rows.append(
            {
                "no_kk": household.kk_number,
                "nik_kepala": head.nik if head else None,
                "nama_kepala": head.name if head else None,
                "alamat": household.address,
                "status_terakhir": _status_words(household),
                "household_id": household.id,
            }
        )
    return rows


def _status_words(household: Household) -> str:
    if household.dtks_status == "in_dtks":
        return f"terdaftar, desil {household.desil}" if household.desil else "terdaftar"
    if household.dtks_status == "not_in_dtks":
        return "tidak terdaftar"
    return "belum dicek"


def _unknown_members(village: Village, period: str) -> list[dict[str, Any]]:
    known = sa.select(Person.id).where(Person.nik == DtsenMember.nik).exists()
    rows = db.session.execute(
        sa.select(DtsenMember)
        .where(
            DtsenMember.village_code == village.code,
            DtsenMember.period == period,
            DtsenMember.nik.is_not(None),
            ~known,
        )
        .order_by(DtsenMember.kk_number, DtsenMember.nik)
    ).scalars()
    return [
        {
            "nik": m.nik,
            "nama": m.name,
            "no_kk": m.kk_number,
            "hubungan": m.relation,
            "record_id": m.record_id,
        }
        for m in rows
    ]


def _submissions(village: Village) -> list[dict[str, Any]]:
    rows = db.session.execute(
        sa.select(Submission)
        .where(Submission.village_code == village.code)
        .order_by(Submission.received_on.desc(), Submission.id)
    ).scalars()
    return [
        {
            "jenis": s.kind,
            "nik": s.nik,
            "nama": s.name,
            "no_kk": s.kk_number,
            "alasan": s.reason,
            "status": str(state_label("submission", s.status)),
            "status_en": state_label("submission", s.status).en,
            "verval": {"eligible": "layak", "not_eligible": "tidak layak"}.get(
                s.verval_result or "", ""
            ),
            "batas_verifikasi": s.due_on,
            "submission_id": s.id,
        }
        for s in rows
    ]


def spreadsheet(result: Reconciliation, file_format: str) -> bytes:
    """The reconciliation as XLSX (a summary sheet, then one sheet per list) or CSV (one table,
    the list named in its first column)."""
    with tempfile.TemporaryDirectory(prefix="slrt-rekonsiliasi-") as tmp:
        path = Path(tmp) / f"rekonsiliasi.{file_format}"
        if file_format == "csv":
            width = max(len(s.header) for s in SECTIONS.values())
            csv_out = CsvWriter(path, ["daftar", *[f"kolom_{i + 1}" for i in range(width)]])
            for section in SECTIONS.values():
                csv_out.write([section.key, *section.header])
                for row in result.lists.get(section.key, []):
                    csv_out.write([section.key, *(row.get(c) for c in section.header)])
            csv_out.close()
        else:
            xlsx = XlsxWriter(
                path, ["desa_kelurahan", "kode", "periode", "daftar", "jumlah"], "Ringkasan"
            )
            for section in SECTIONS.values():
                xlsx.write(
                    [
                        result.village.name,
                        result.village.code,
                        result.period or "",
                        str(section.title),
                        result.count(section.key),
                    ]
                )
            for section in SECTIONS.values():
                xlsx.add_sheet(section.sheet, section.header)
                for row in result.lists.get(section.key, []):
                    xlsx.write([row.get(c) for c in section.header])
            xlsx.close()
        return path.read_bytes()
