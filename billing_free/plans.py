"""Plans and which plan a district is on, as read by enforcement, statements and the routes: the
quotas a plan sets, the standard plans, the plan in force and the plan history. The changes
(plans created or edited, districts moved between plans) are the actions in `actions`.

The three standard plans are created by the migration (and again, idempotently, whenever a
district is onboarded, so a fresh database or a test that emptied the tables gets them too).
A district has exactly one current plan (a partial unique index); every change closes the old
period and opens a new one with who and why.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from slrt.billing_free.models import QUOTA_COLUMNS, Plan, PlanAssignment
from slrt.platform import db
from slrt.platform.db import one_or_404
from slrt.platform.errors import Msg
from slrt.platform.i18n import local_date, local_midnight

GIB = 1024**3


def utcnow() -> dt.datetime:
    """The clock of daily quotas and usage days (one place, so a test can move it a day on)."""
    return dt.datetime.now(dt.UTC)


def district_today(now: dt.datetime | None = None, zone: str | None = None) -> dt.date:
    """The day of daily quotas and usage: the district's own calendar day, in its zone (WIB,
    WITA or WIT; the district in context unless `zone` is given, WIB outside any district)."""
    return local_date(now or utcnow(), zone)


def next_district_midnight(now: dt.datetime | None = None, zone: str | None = None) -> dt.datetime:
    """When the district's next day begins (a daily quota is fresh again)."""
    return local_midnight(district_today(now, zone) + dt.timedelta(days=1), zone)


class Quota(enum.StrEnum):
    """The quotas a plan sets; values are the names used in API bodies and headers."""

    ACCOUNTS = "accounts"
    PUSKESOS = "puskesos"
    STORAGE = "storage_bytes"
    API_PER_MINUTE = "api_requests_per_minute"
    CONCURRENT_JOBS = "concurrent_jobs"
    IMPORT_ROWS = "import_rows_per_day"
    EXPORTS = "exports_per_day"


QUOTA_COLUMN = {
    Quota.ACCOUNTS: "max_accounts",
    Quota.PUSKESOS: "max_puskesos",
    Quota.STORAGE: "max_storage_bytes",
    Quota.API_PER_MINUTE: "api_requests_per_minute",
    Quota.CONCURRENT_JOBS: "max_concurrent_jobs",
    Quota.IMPORT_ROWS: "import_rows_per_day",
    Quota.EXPORTS: "exports_per_day",
}
assert set(QUOTA_COLUMN.values()) == set(QUOTA_COLUMNS)

QUOTA_LABELS: dict[Quota, tuple[str, str]] = {
    Quota.ACCOUNTS: ("akun aktif", "active accounts"),
    Quota.PUSKESOS: ("unit Puskesos", "Puskesos units"),
    Quota.STORAGE: ("penyimpanan berkas (byte)", "file storage (bytes)"),
    Quota.API_PER_MINUTE: ("permintaan API per menit", "API requests per minute"),
    Quota.CONCURRENT_JOBS: ("pekerjaan latar berjalan bersamaan", "background jobs at once"),
    Quota.IMPORT_ROWS: ("baris impor per hari", "import rows per day"),
    Quota.EXPORTS: ("ekspor per hari", "exports per day"),
}


# Sized from `make bench` on a 2-core app node (two gunicorn processes): on the slowest such
# machine measured it served about 300 person reads, 200 name searches or 190 agency-inbox
# pages per second (on a faster one 720, 500 and 450), so about 230 mixed API requests
# per second, 14,000 a minute. A plan's API requests per minute let its accounts work at their
# busiest (the lokus package: about 65 people, one request every 6 seconds at a peak, 650 a
# minute, so 600 with the pages, which are not counted, on top), and no district takes more
# than a fifth of one node (3,000 a minute for the largest plan) however its scripts behave.
# Import rows per day: one import job writes at least about 7,000 rows a second (19,000 on the
# faster machine), so 250,000 rows hold a worker for under a minute and 2,000,000 for about five.
STANDARD_PLANS: list[dict[str, Any]] = [
    {
        # Kemensos start-up package: 1 secretariat, 2 Puskesos, about 50 facilitators and
        # 3 supervisors, plus the secretariat's admin, manager, front and back office and a
        # handful of agency officers: 80 accounts leaves room without inviting sprawl.
        "key": "lokus-kemensos",
        "name": "Lokus Kemensos",
        "description": "Paket awal Kemensos untuk kabupaten/kota lokus: 1 sekretariat, "
        "2 Puskesos, sekitar 50 fasilitator dan 3 supervisor.",
        "duration_days": None,
        "is_default": True,
        "max_accounts": 80,
        "max_puskesos": 2,
        "max_storage_bytes": 20 * GIB,
        "api_requests_per_minute": 600,
        "max_concurrent_jobs": 2,
        "import_rows_per_day": 250_000,
        "exports_per_day": 50,
    },
    {
        "key": "mandiri-apbd",
        "name": "Mandiri APBD",
        "description": "Kabupaten/kota yang membiayai SLRT dari APBD sendiri: Puskesos di "
        "banyak desa/kelurahan, staf dan OPD lebih banyak.",
        "duration_days": None,
        "is_default": False,
        "max_accounts": 1000,
        "max_puskesos": 400,
        "max_storage_bytes": 200 * GIB,
        "api_requests_per_minute": 3000,
        "max_concurrent_jobs": 4,
        "import_rows_per_day": 2_000_000,
        "exports_per_day": 300,
    },
    {
        "key": "uji-coba",
        "name": "Uji coba",
        "description": "Uji coba terbatas selama 90 hari sebelum penetapan lokus.",
        "duration_days": 90,
        "is_default": False,
        "max_accounts": 10,
        "max_puskesos": 1,
        "max_storage_bytes": 1 * GIB,
        "api_requests_per_minute": 120,
        "max_concurrent_jobs": 1,
        "import_rows_per_day": 10_000,
        "exports_per_day": 10,
    },
]


def ensure_standard_plans() -> None:
    """Insert the standard plans that do not exist yet (by key); never changes existing ones."""
    has_default = db.session.execute(
        sa.select(sa.func.count()).select_from(Plan).where(Plan.is_default)
    ).scalar()
    for spec in STANDARD_PLANS:
        values = dict(spec, price_idr=0)
        if has_default:
            values["is_default"] = False
        db.session.execute(
            insert(Plan).values(**values).on_conflict_do_nothing(index_elements=["key"])
        )


def plan_by_key(key: str) -> Plan:
    """The plan with this key, or 404."""
    return one_or_404(
        sa.select(Plan).where(Plan.key == key),
        Msg(f"Paket '{key}' tidak ditemukan.", f"Plan '{key}' not found."),
    )


def default_plan() -> Plan:
    plan = db.session.execute(sa.select(Plan).where(Plan.is_default)).scalar_one_or_none()
    if plan is None:
        ensure_standard_plans()
        plan = db.session.execute(sa.select(Plan).where(Plan.is_default)).scalar_one()
    return plan


def current_assignment(tenant_id: int) -> PlanAssignment | None:
    return db.session.execute(
        sa.select(PlanAssignment).where(
            PlanAssignment.tenant_ref == tenant_id, PlanAssignment.ended_at.is_(None)
        )
    ).scalar_one_or_none()


@dataclass(frozen=True)
class EffectivePlan:
    """What enforcement needs: the plan's identity, its quotas and the trial end, if any."""

    key: str
    name: str
    quotas: dict[str, int]
    expires_on: dt.date | None

    def limit(self, quota: Quota) -> int:
        return self.quotas[QUOTA_COLUMN[quota]]

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "quotas": self.quotas,
            "expires_on": self.expires_on.isoformat() if self.expires_on else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EffectivePlan:
        expires = data.get("expires_on")
        return cls(
            key=data["key"],
            name=data["name"],
            quotas=dict(data["quotas"]),
            expires_on=dt.date.fromisoformat(expires) if expires else None,
        )


def effective_plan(tenant_id: int) -> EffectivePlan:
    """The plan whose quotas apply to a district now; a district never assigned one is on the
    default plan. Read on its own short connection (plans are platform tables), so it works
    anywhere: in a request, in a job, or in an after-commit hook such as the jobs' outbox relay,
    where the session can no longer run SQL."""
    plans = Plan.__table__
    assignments = PlanAssignment.__table__
    columns = [plans.c.key, plans.c.name, *(plans.c[c] for c in QUOTA_COLUMNS)]
    with db.engine().connect() as conn:
        row = conn.execute(
            sa.select(*columns, assignments.c.expires_on)
            .select_from(assignments.join(plans, plans.c.id == assignments.c.plan_id))
            .where(assignments.c.tenant_ref == tenant_id, assignments.c.ended_at.is_(None))
        ).first()
        if row is None:
            row = conn.execute(
                sa.select(*columns, sa.null().label("expires_on")).where(plans.c.is_default)
            ).first()
    if row is None:  # no plan rows at all (an empty database): the standard default's quotas
        spec = next(p for p in STANDARD_PLANS if p["is_default"])
        return EffectivePlan(
            key=spec["key"],
            name=spec["name"],
            quotas={c: spec[c] for c in QUOTA_COLUMNS},
            expires_on=None,
        )
    return EffectivePlan(
        key=row.key,
        name=row.name,
        quotas={c: int(row._mapping[c]) for c in QUOTA_COLUMNS},
        expires_on=row.expires_on,
    )


def plan_history(tenant_id: int) -> list[tuple[PlanAssignment, Plan]]:
    return list(
        db.session.execute(
            sa.select(PlanAssignment, Plan)
            .join(Plan, Plan.id == PlanAssignment.plan_id)
            .where(PlanAssignment.tenant_ref == tenant_id)
            .order_by(PlanAssignment.started_at.desc(), PlanAssignment.id.desc())
        ).all()
    )


def plans_during(
    tenant_id: int, start: dt.datetime, end: dt.datetime
) -> list[tuple[PlanAssignment, Plan]]:
    """Plan periods overlapping [start, end), oldest first (for statements)."""
    return list(
        db.session.execute(
            sa.select(PlanAssignment, Plan)
            .join(Plan, Plan.id == PlanAssignment.plan_id)
            .where(
                PlanAssignment.tenant_ref == tenant_id,
                PlanAssignment.started_at < end,
                sa.or_(PlanAssignment.ended_at.is_(None), PlanAssignment.ended_at > start),
            )
            .order_by(PlanAssignment.started_at, PlanAssignment.id)
        ).all()
    )
