"""Per-district aggregates for the dashboards (the nightly `reports.aggregates` job).

`district_aggregates` is a PLATFORM table of counts only: no names, NIKs, ticket numbers or
record ids, so Kemensos and provincial viewers may read it across districts without touching
any district's personal data. The job computes one district's figures inside that district's
context (RLS restricts every read to it) and upserts one row per district per day: the
district's own calendar day (WIB, WITA or WIT), not UTC's.

Figures (as of the run):
- intakes: all cases, by kind and by channel, and those of the last 30 days (the district's
  calendar days: today and the 29 before, from its midnight);
- referrals by program and by outcome (pending, in_progress = sent/received/accepted,
  fulfilled, rejected);
- on-time rate: of the referrals the agency answered (accepted or rejected), the share answered
  by their due date; None when nothing was answered yet;
- overdue referrals now, active villages (a case registered in those 30 days), open cases.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import aliased

from slrt.platform import db
from slrt.platform.i18n import local_date, local_midnight
from slrt.platform.tenancy import current_tenant
from slrt.platform.tenant import Tenant
from slrt.tenants.flow.deadlines import overdue_clause
from slrt.tenants.flow.models import Case, Referral
from slrt.tenants.reports.models import DistrictAggregate

ACTIVE_DAYS = 30

OUTCOMES = ("pending", "in_progress", "fulfilled", "rejected")

COUNT_FIELDS = (
    "intakes_total",
    "intakes_last_30_days",
    "referrals_total",
    "referrals_answered",
    "referrals_on_time",
    "referrals_overdue",
    "active_villages",
    "open_cases",
)

BREAKDOWNS = ("intakes_by_kind", "intakes_by_channel", "referrals_by_outcome")


def outcome_of(status: str) -> str:
    if status in Referral.OPEN:
        return "in_progress"
    return status  # pending, fulfilled, rejected


def on_time_rate(on_time: int, answered: int) -> float | None:
    return round(on_time / answered, 4) if answered else None


def _grouped(column: sa.ColumnElement) -> dict[str, int]:
    rows = db.session.execute(sa.select(column, sa.func.count()).group_by(column)).all()
    return {str(key): n for key, n in sorted(rows)}


def window_start(at: dt.datetime) -> dt.datetime:
    """The district's midnight that opens its last `ACTIVE_DAYS` calendar days up to `at`."""
    today = local_date(at, current_tenant().zone)
    return local_midnight(today - dt.timedelta(days=ACTIVE_DAYS - 1), current_tenant().zone)


def compute(at: dt.datetime | None = None) -> dict[str, Any]:
    """The current district's figures at `at` (reads go through RLS: this district only)."""
    at = at or dt.datetime.now(dt.UTC)
    since = window_start(at)
    count = sa.func.count
    cases = db.session.execute(
        sa.select(
            count(),
            count().filter(Case.created_at >= since),
            count().filter(Case.status != "closed"),
            count(sa.distinct(Case.village_code)).filter(Case.created_at >= since),
        )
    ).one()
    by_status = db.session.execute(
        sa.select(Referral.program_name, Referral.status, count()).group_by(
            Referral.program_name, Referral.status
        )
    ).all()
    answered = db.session.execute(
        sa.select(
            count(),
            count().filter(Referral.responded_at <= Referral.due_at),
        ).where(Referral.responded_at.is_not(None))
    ).one()
    overdue = db.session.execute(sa.select(count()).where(overdue_clause(at))).scalar_one()
    outcomes: Counter[str] = Counter({o: 0 for o in OUTCOMES})
    programs: dict[str, Counter[str]] = {}
    for program, status, n in by_status:
        outcomes[outcome_of(status)] += n
        programs.setdefault(program, Counter({o: 0 for o in OUTCOMES}))[outcome_of(status)] += n
    return {
        "intakes_total": cases[0],
        "intakes_last_30_days": cases[1],
        "open_cases": cases[2],
        "active_villages": cases[3],
        "intakes_by_kind": _grouped(Case.kind),
        "intakes_by_channel": _grouped(Case.channel),
        "referrals_total": sum(outcomes.values()),
        "referrals_by_outcome": dict(outcomes),
        "referrals_by_program": [
            {"program": name, "total": sum(c.values()), **dict(c)}
            for name, c in sorted(programs.items())
        ],
        "referrals_answered": answered[0],
        "referrals_on_time": answered[1],
        "referrals_overdue": overdue,
    }


def refresh(at: dt.datetime | None = None) -> DistrictAggregate:
    """Compute the current district's figures and upsert its row for `at`'s day (the district's
    calendar day)."""
    at = at or dt.datetime.now(dt.UTC)
    with db.on_replica(fresh=True):
        figures = compute(at)
    tenant = current_tenant()
    day = local_date(at, tenant.zone)
    values = {"district_id": tenant.id, "day": day, "computed_at": at, **figures}
    db.session.execute(
        postgresql.insert(DistrictAggregate)
        .values(values)
        .on_conflict_do_update(
            index_elements=["district_id", "day"],
            set_={k: v for k, v in values.items() if k not in ("district_id", "day")},
        )
    )
    return db.session.get(
        DistrictAggregate, (values["district_id"], values["day"]), populate_existing=True
    )


def latest(district_ids: list[int] | None = None) -> list[DistrictAggregate]:
    """The most recent row of each district (of the given ones, if any): one step down the
    primary key (district_id, day) per district (a LATERAL join), so the cost does not grow
    with the days of history kept."""
    newest = (
        sa.select(DistrictAggregate)
        .where(DistrictAggregate.district_id == Tenant.id)
        .order_by(DistrictAggregate.day.desc())
        .limit(1)
        .lateral()
    )
    row = aliased(DistrictAggregate, newest)
    stmt = sa.select(row).select_from(Tenant).join(newest, sa.true())
    if district_ids is not None:
        stmt = stmt.where(Tenant.id.in_(district_ids))
    return list(db.session.execute(stmt).scalars())


def as_dict(row: DistrictAggregate) -> dict[str, Any]:
    out: dict[str, Any] = {"day": row.day, "computed_at": row.computed_at}
    for name in (*COUNT_FIELDS, *BREAKDOWNS, "referrals_by_program"):
        out[name] = getattr(row, name)
    out["on_time_rate"] = on_time_rate(row.referrals_on_time, row.referrals_answered)
    return out


def summarise(rows: list[DistrictAggregate]) -> dict[str, Any]:
    """National (or provincial) totals over districts' latest rows."""
    out: dict[str, Any] = {"districts": len(rows)}
    for name in COUNT_FIELDS:
        out[name] = sum(getattr(r, name) for r in rows)
    for name in BREAKDOWNS:
        total: Counter[str] = Counter()
        for r in rows:
            total.update(getattr(r, name) or {})
        out[name] = dict(sorted(total.items()))
    programs: dict[str, Counter[str]] = {}
    for r in rows:
        for entry in r.referrals_by_program or []:
            counts = {k: v for k, v in entry.items() if k != "program"}
            programs.setdefault(entry["program"], Counter()).update(counts)
    out["referrals_by_program"] = [
        {"program": name, **dict(c)} for name, c in sorted(programs.items())
    ]
    out["on_time_rate"] = on_time_rate(out["referrals_on_time"], out["referrals_answered"])
    return out
