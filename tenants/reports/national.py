"""The national picture for the Kemensos console: one row per district the caller may see, a
province summary, and trends over the days, all from counts (the nightly `district_aggregates`,
counts of active members, lokus designations); never a name, NIK or record of any district.

What each district's own tables add is read across districts only through the named
read-only platform bypass, and only as counts, dates and decree numbers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from slrt.auth.accounts.models import Account
from slrt.auth.memberships.models import Membership
from slrt.platform import db
from slrt.platform.tenancy import platform_bypass
from slrt.platform.tenant import Tenant
from slrt.tenants.districts.models import LokusDesignation
from slrt.tenants.reports.aggregates import latest, on_time_rate
from slrt.tenants.reports.models import DistrictAggregate


@dataclass
class DistrictRow:
    """One district in the national table (counts only)."""

    tenant: Tenant
    wave: int | None = None
    year: int | None = None
    staff_active: int = 0
    last_activity: dt.datetime | None = None
    figures: DistrictAggregate | None = None

    @property
    def intakes_30(self) -> int | None:
        return self.figures.intakes_last_30_days if self.figures else None

    @property
    def referrals(self) -> int | None:
        return self.figures.referrals_total if self.figures else None

    @property
    def overdue(self) -> int | None:
        return self.figures.referrals_overdue if self.figures else None

    @property
    def on_time(self) -> float | None:
        if self.figures is None:
            return None
        return on_time_rate(self.figures.referrals_on_time, self.figures.referrals_answered)


def visible_tenants(provinces: set[str] | None) -> sa.Select:
    """The districts a caller with these visible provinces (None: all) may see."""
    stmt = sa.select(Tenant)
    if provinces is not None:
        stmt = stmt.where(Tenant.province_code.in_(sorted(provinces) or [""]))
    return stmt


def district_rows(tenants: list[Tenant]) -> list[DistrictRow]:
    """The national table's rows for these districts."""
    ids = [t.id for t in tenants]
    rows = {t.id: DistrictRow(t) for t in tenants}
    if not ids:
        return []
    for figures in latest(ids):
        rows[figures.district_id].figures = figures
    with platform_bypass("Kemensos national table: lokus waves, active staff, last sign-in"):
        newest = (
            sa.select(
                LokusDesignation.tenant_id,
                LokusDesignation.wave,
                LokusDesignation.year,
                sa.func.row_number()
                .over(
                    partition_by=LokusDesignation.tenant_id,
                    order_by=(LokusDesignation.year.desc(), LokusDesignation.wave.desc()),
                )
                .label("n"),
            )
            .where(LokusDesignation.tenant_id.in_(ids))
            .subquery()
        )
        designations = db.session.execute(
            sa.select(newest.c.tenant_id, newest.c.wave, newest.c.year).where(newest.c.n == 1)
        ).all()
        staff = db.session.execute(
            sa.select(Membership.tenant_id, sa.func.count(), sa.func.max(Account.last_login_at))
            .join(Account, Account.id == Membership.account_id)
            .where(
                Membership.tenant_id.in_(ids),
                Membership.status == "active",
                Account.status == "active",
            )
            .group_by(Membership.tenant_id)
        ).all()
    db.session.rollback()  # end the read-only transaction before anything else runs
    for tenant_id, wave, year in designations:
        rows[tenant_id].wave, rows[tenant_id].year = wave, year
    for tenant_id, count, last in staff:
        rows[tenant_id].staff_active, rows[tenant_id].last_activity = count, last
    return [rows[t.id] for t in tenants]


# --- sorting and filtering -------------------------------------------------------------------

SORT_KEYS: dict[str, Callable[[DistrictRow], Any]] = {
    "name": lambda r: r.tenant.name,
    "code": lambda r: r.tenant.code,
    "province": lambda r: (r.tenant.province_name, r.tenant.name),
    "wave": lambda r: (r.year or 0, r.wave or 0),
    "status": lambda r: r.tenant.status,
    "staff": lambda r: r.staff_active,
    "intakes": lambda r: r.intakes_30 if r.intakes_30 is not None else -1,
    "referrals": lambda r: r.referrals if r.referrals is not None else -1,
    "on_time": lambda r: r.on_time if r.on_time is not None else -1.0,
    "overdue": lambda r: r.overdue if r.overdue is not None else -1,
    "activity": lambda r: r.last_activity or dt.datetime.min.replace(tzinfo=dt.UTC),
}


@dataclass
class Filters:
    province: str | None = None
    status: str | None = None
    wave: int | None = None
    year: int | None = None
    text: str | None = None
    sort: str = "name"
    descending: bool = False
    given: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_args(cls, args: Any) -> Filters:
        """Query arguments as filters; anything malformed is ignored, never an error."""

        def number(name: str) -> int | None:
            raw = (args.get(name) or "").strip()
            return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 4 else None

        province = (args.get("province") or "").strip()
        status = args.get("status") or None
        sort = args.get("sort") if args.get("sort") in SORT_KEYS else "name"
        return cls(
            province=province if len(province) == 2 and province.isdigit() else None,
            status=status if status in ("active", "suspended") else None,
            wave=number("wave"),
            year=number("year"),
            text=(args.get("q") or "").strip()[:100] or None,
            sort=sort,
            descending=args.get("dir") == "desc",
            given={
                k: v for k, v in args.items() if k in ("province", "status", "wave", "year", "q")
            },
        )

    def apply(self, rows: list[DistrictRow]) -> list[DistrictRow]:
        out = []
        text = self.text.lower() if self.text else None
        for row in rows:
            t = row.tenant
            if self.province and t.province_code != self.province:
                continue
            if self.status and t.status != self.status:
                continue
            if self.wave is not None and row.wave != self.wave:
                continue
            if self.year is not None and row.year != self.year:
                continue
            if text and text not in t.name.lower() and text not in t.code and text not in t.slug:
                continue
            out.append(row)
        return sorted(out, key=SORT_KEYS[self.sort], reverse=self.descending)


# --- the province summary ----------------------------------------------------------------------


@dataclass
class ProvinceRow:
    code: str
    name: str
    districts: int = 0
    lokus: int = 0
    suspended: int = 0
    staff_active: int = 0
    intakes_30: int = 0
    referrals: int = 0
    answered: int = 0
    on_time_count: int = 0
    overdue: int = 0

    @property
    def on_time(self) -> float | None:
        return on_time_rate(self.on_time_count, self.answered)


def province_summary(rows: list[DistrictRow]) -> list[ProvinceRow]:
    by_code: dict[str, ProvinceRow] = {}
    for row in rows:
        t = row.tenant
        p = by_code.setdefault(t.province_code, ProvinceRow(t.province_code, t.province_name))
        p.districts += 1
        p.lokus += row.wave is not None
        p.suspended += t.status == "suspended"
        p.staff_active += row.staff_active
        if row.figures is not None:
            p.intakes_30 += row.figures.intakes_last_30_days
            p.referrals += row.figures.referrals_total
            p.answered += row.figures.referrals_answered
            p.on_time_count += row.figures.referrals_on_time
            p.overdue += row.figures.referrals_overdue
    return sorted(by_code.values(), key=lambda p: p.code)


def national_totals(rows: list[DistrictRow]) -> ProvinceRow:
    total = ProvinceRow("", "")
    for p in province_summary(rows):
        for name in (
            "districts",
            "lokus",
            "suspended",
            "staff_active",
            "intakes_30",
            "referrals",
            "answered",
            "on_time_count",
            "overdue",
        ):
            setattr(total, name, getattr(total, name) + getattr(p, name))
    return total


# --- trends ------------------------------------------------------------------------------------


@dataclass
class TrendPoint:
    day: dt.date
    new_intakes: int | None  # None: the first day, with nothing to grow from
    new_referrals: int | None
    overdue: int
    answered: int
    on_time: int

    @property
    def on_time_rate(self) -> float | None:
        return on_time_rate(self.on_time, self.answered)


def trend(district_ids: list[int], days: int, today: dt.date | None = None) -> list[TrendPoint]:
    """Per day over the last `days` days, summed over the districts: new intakes and referrals
    (the growth of each district's totals since its previous row; unknown on a first row),
    overdue referrals and the referrals answered (on time) so far. Days without any row are
    left out."""
    if not district_ids:
        return []
    today = today or dt.datetime.now(dt.UTC).date()
    since = today - dt.timedelta(days=days)
    a = DistrictAggregate
    per_district = (
        sa.select(
            a.day,
            (
                a.intakes_total
                - sa.func.lag(a.intakes_total).over(partition_by=a.district_id, order_by=a.day)
            ).label("new_intakes"),
            (
                a.referrals_total
                - sa.func.lag(a.referrals_total).over(partition_by=a.district_id, order_by=a.day)
            ).label("new_referrals"),
            a.referrals_overdue,
            a.referrals_answered,
            a.referrals_on_time,
        )
        .where(a.district_id.in_(district_ids), a.day >= since - dt.timedelta(days=1))
        .subquery()
    )
    rows = db.session.execute(
        sa.select(
            per_district.c.day,
            sa.func.sum(_growth(per_district.c.new_intakes)),
            sa.func.sum(_growth(per_district.c.new_referrals)),
            sa.func.sum(per_district.c.referrals_overdue),
            sa.func.sum(per_district.c.referrals_answered),
            sa.func.sum(per_district.c.referrals_on_time),
        )
        .where(per_district.c.day > since)
        .group_by(per_district.c.day)
        .order_by(per_district.c.day)
    ).all()
    return [
        TrendPoint(day, _int(i), _int(r), int(o), int(ans), int(ot))
        for day, i, r, o, ans, ot in rows
    ]


def _growth(column: Any) -> Any:
    """A district's growth since its previous row: unknown (NULL) on its first row, never below
    zero (a lawful erasure lowers a total; that is no negative intake)."""
    return sa.case((column < 0, 0), else_=column)


def _int(value: Any) -> int | None:
    return None if value is None else int(value)
