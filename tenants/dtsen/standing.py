"""A family's DTSEN standing: its history (every record, newest first), its current standing (the
latest official record), whether that is stale, and the words the assessment, the rules'
explanations and the letters use for it.

A family is a registry household: its records are those matched to it and those of its KK number
that came in before the household was registered. The household's own `dtks_status`, `desil`
and `dtks_checked_on` are kept equal to the latest record (`sync_households`), so every reader
of those fields sees the current official value.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.errors import Msg
from slrt.platform.i18n import local_today
from slrt.platform.tenancy import current_tenant
from slrt.tenants.dtsen.models import DtsenRecord
from slrt.tenants.dtsen.periods import quarters_old
from slrt.tenants.dtsen.settings import dtsen_settings
from slrt.tenants.registry.models import Household

SOURCE_LABELS: dict[str, Msg] = {
    "import": Msg("Berkas SIKS-NG", "SIKS-NG file"),
    "result": Msg("Hasil usulan dari SIKS-NG", "SIKS-NG result of a proposal"),
    "check": Msg("Pengecekan petugas", "Checked by staff"),
}


@dataclass(frozen=True)
class Standing:
    listed: bool
    desil: int | None
    period: str
    source: str
    recorded_at: dt.datetime
    quarters_old: int
    stale_after: int  # the district's setting

    @property
    def stale(self) -> bool:
        return self.quarters_old > self.stale_after

    @property
    def label(self) -> Msg:
        """ "Terdaftar di DTSEN, desil 2 (periode 2026-Q3)", stale ones said so."""
        if self.listed and self.desil:
            text = Msg(
                f"Terdaftar di DTSEN, desil {self.desil}", f"Listed in DTSEN, desil {self.desil}"
            )
        elif self.listed:
            text = Msg("Terdaftar di DTSEN", "Listed in DTSEN")
        else:
            text = Msg("Tidak terdaftar di DTSEN", "Not listed in DTSEN")
        return Msg(f"{text} (periode {self.period})", f"{text.en} (period {self.period})")

    @property
    def stale_note(self) -> Msg | None:
        if not self.stale:
            return None
        return Msg(
            f"data lama: periode {self.period} sudah {self.quarters_old} triwulan yang lalu, "
            f"lebih dari batas {self.stale_after} triwulan",
            f"stale: period {self.period} is {self.quarters_old} quarters old, more than the "
            f"limit of {self.stale_after}",
        )

    @property
    def fact_note(self) -> Msg:
        """What the rules' explanation adds to a condition on DTSEN facts."""
        note = Msg(f"DTSEN periode {self.period}", f"DTSEN period {self.period}")
        stale = self.stale_note
        if stale is not None:
            note = Msg(f"{note}; {stale}", f"{note.en}; {stale.en}")
        return note


def family_clause(household: Household) -> sa.ColumnElement[bool]:
    """The records of a household's family: matched to it, or of its KK number."""
    clause = DtsenRecord.household_id == household.id
    if household.kk_number:
        clause = sa.or_(clause, DtsenRecord.kk_number == household.kk_number)
    return clause


NEWEST_FIRST = (
    DtsenRecord.period.desc(),
    DtsenRecord.recorded_at.desc(),
    DtsenRecord.id.desc(),
)


def history(household: Household) -> list[DtsenRecord]:
    """Every record of the family, newest first."""
    return list(
        db.session.execute(
            sa.select(DtsenRecord).where(family_clause(household)).order_by(*NEWEST_FIRST)
        ).scalars()
    )


def latest_record(household: Household) -> DtsenRecord | None:
    return db.session.execute(
        sa.select(DtsenRecord).where(family_clause(household)).order_by(*NEWEST_FIRST).limit(1)
    ).scalar_one_or_none()


def standing_of_record(record: DtsenRecord, today: dt.date | None = None) -> Standing:
    return Standing(
        listed=record.listed,
        desil=record.desil if record.listed else None,
        period=record.period,
        source=record.source,
        recorded_at=record.recorded_at,
        quarters_old=quarters_old(record.period, today or local_today()),
        stale_after=dtsen_settings()["stale_quarters"],
    )


def standing_of(household: Household | None) -> Standing | None:
    """The family's current official standing, or None when no record exists."""
    if household is None:
        return None
    record = latest_record(household)
    return standing_of_record(record) if record is not None else None


def describe(household: Household | None) -> Msg | None:
    """The family's DTSEN standing in words for letters and pages: the latest official record
    with its period (and whether it is stale), else what staff recorded on the household before
    records were kept, else None."""
    standing = standing_of(household)
    if standing is not None:
        stale = standing.stale_note
        if stale is None:
            return standing.label
        return Msg(f"{standing.label}; {stale}", f"{standing.label.en}; {stale.en}")
    if household is None or household.dtks_status == "unknown":
        return None
    checked = household.dtks_checked_on.isoformat() if household.dtks_checked_on else "-"
    if household.dtks_status == "in_dtks":
        desil = f", desil {household.desil}" if household.desil else ""
        return Msg(
            f"Terdaftar di DTSEN{desil} (dicek {checked}, bukan dari berkas resmi)",
            f"Listed in DTSEN{desil} (checked {checked}, not from an official file)",
        )
    return Msg(
        f"Tidak terdaftar di DTSEN (dicek {checked}, bukan dari berkas resmi)",
        f"Not listed in DTSEN (checked {checked}, not from an official file)",
    )


def fact_notes(household: Household | None) -> dict[str, Msg]:
    """Per DTSEN fact, the note an explanation of a condition on it carries (period, stale)."""
    standing = standing_of(household)
    if standing is None:
        return {}
    note = standing.fact_note
    return {"in_dtks": note, "in_dtsen": note, "desil": note}


# The household's current-value fields follow its family's latest record (set-wise: one
# statement for a whole batch of households).
SYNC_HOUSEHOLDS = sa.text(
    """
    UPDATE households h
       SET dtks_status = CASE WHEN r.listed THEN 'in_dtks' ELSE 'not_in_dtks' END,
           desil = CASE WHEN r.listed THEN r.desil END,
           dtks_checked_on = CAST(:today AS date),
           updated_at = now()
      FROM (SELECT DISTINCT ON (hh.id) hh.id AS household_id, rec.listed, rec.desil
              FROM households hh
              JOIN dtsen_records rec
                ON rec.tenant_id = hh.tenant_id
               AND (rec.household_id = hh.id OR rec.kk_number = hh.kk_number)
             WHERE hh.tenant_id = :tenant_id AND hh.id = ANY(CAST(:ids AS uuid[]))
             ORDER BY hh.id, rec.period DESC, rec.recorded_at DESC, rec.id DESC) r
     WHERE h.tenant_id = :tenant_id
       AND h.id = r.household_id
       AND (h.dtks_status, h.desil)
           IS DISTINCT FROM (CASE WHEN r.listed THEN 'in_dtks' ELSE 'not_in_dtks' END,
                             CASE WHEN r.listed THEN r.desil END)
    RETURNING h.id
    """
)


def sync_households(household_ids: Sequence[uuid.UUID]) -> int:
    """Bring the households' dtks_status/desil to their latest records; returns how many
    changed."""
    if not household_ids:
        return 0
    changed = db.session.execute(
        SYNC_HOUSEHOLDS,
        {
            "tenant_id": current_tenant().id,
            "ids": list(household_ids),
            "today": local_today(),
        },
    ).all()
    wanted = set(household_ids)
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, Household) and obj.id in wanted:
            db.session.expire(obj)  # the statement above changed it behind the ORM's back
    return len(changed)
