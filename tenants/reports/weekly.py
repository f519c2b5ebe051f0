"""The district dashboard's live figures beside the nightly aggregates: intakes per week by kind
and by channel, villages active each week, referrals answered each week (on time or late), and
the referrals overdue now by kecamatan, village and agency.

Counts only, computed in the current district's context (RLS restricts every read to it) for
the whole district, as the nightly aggregates are: the same figures for everyone who may read
the district's reports. Weeks are the district's own calendar weeks (Monday to Sunday in its
zone), the current one included.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.i18n import current_zone, local_date, local_midnight
from slrt.tenants.flow.deadlines import overdue_clause
from slrt.tenants.flow.models import Case, Referral

WEEKS = 12


@dataclass
class Week:
    start: dt.date
    intakes_by_kind: Counter[str] = field(default_factory=Counter)
    intakes_by_channel: Counter[str] = field(default_factory=Counter)
    active_villages: int = 0
    answered_on_time: int = 0
    answered_late: int = 0

    @property
    def intakes(self) -> int:
        return sum(self.intakes_by_kind.values())

    @property
    def on_time_rate(self) -> float | None:
        answered = self.answered_on_time + self.answered_late
        return round(self.answered_on_time / answered, 4) if answered else None


def week_starts(today: dt.date, weeks: int = WEEKS) -> list[dt.date]:
    """The Mondays of the last `weeks` weeks up to `today`'s week, oldest first."""
    monday = today - dt.timedelta(days=today.weekday())
    return [monday - dt.timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]


def _week_of(column: sa.ColumnElement) -> sa.ColumnElement:
    """The local Monday of an instant, in the district's zone."""
    return sa.cast(sa.func.date_trunc("week", sa.func.timezone(current_zone(), column)), sa.Date)


def weekly(at: dt.datetime | None = None, weeks: int = WEEKS) -> list[Week]:
    """The last `weeks` weeks of the current district, oldest first."""
    at = at or dt.datetime.now(dt.UTC)
    starts = week_starts(local_date(at), weeks)
    since = local_midnight(starts[0])
    by_start = {start: Week(start) for start in starts}
    week = _week_of(Case.created_at)
    cases = db.session.execute(
        sa.select(week, Case.kind, Case.channel, sa.func.count())
        .where(Case.created_at >= since, Case.created_at <= at)
        .group_by(week, Case.kind, Case.channel)
    ).all()
    for start, kind, channel, n in cases:
        if start in by_start:
            by_start[start].intakes_by_kind[kind] += n
            by_start[start].intakes_by_channel[channel] += n
    villages = db.session.execute(
        sa.select(week, sa.func.count(sa.distinct(Case.village_code)))
        .where(Case.created_at >= since, Case.created_at <= at)
        .group_by(week)
    ).all()
    for start, n in villages:
        if start in by_start:
            by_start[start].active_villages = n
    answered = _week_of(Referral.responded_at)
    rows = db.session.execute(
        sa.select(
            answered,
            sa.func.count().filter(Referral.responded_at <= Referral.due_at),
            sa.func.count().filter(
                sa.or_(Referral.due_at.is_(None), Referral.responded_at > Referral.due_at)
            ),
        )
        .where(Referral.responded_at >= since, Referral.responded_at <= at)
        .group_by(answered)
    ).all()
    for start, on_time, late in rows:
        if start in by_start:
            by_start[start].answered_on_time = on_time
            by_start[start].answered_late = late
    return [by_start[start] for start in starts]


@dataclass(frozen=True)
class Overdue:
    """Referrals overdue now, counted by kecamatan code, village code and agency name (most
    overdue first)."""

    total: int
    by_kecamatan: list[tuple[str, int]]
    by_village: list[tuple[str, int]]
    by_agency: list[tuple[str, int]]


def overdue_now(at: dt.datetime | None = None) -> Overdue:
    rows = db.session.execute(
        sa.select(Referral.village_code, Referral.agency_name, sa.func.count())
        .where(overdue_clause(at))
        .group_by(Referral.village_code, Referral.agency_name)
    ).all()
    kecamatan: Counter[str] = Counter()
    village: Counter[str] = Counter()
    agency: Counter[str] = Counter()
    for code, agency_name, n in rows:
        kecamatan[code[:8]] += n
        village[code] += n
        agency[agency_name] += n

    def ranked(counts: Counter[str]) -> list[tuple[str, int]]:
        return sorted(counts.items(), key=lambda item: (-item[1], item[0]))

    return Overdue(sum(village.values()), ranked(kecamatan), ranked(village), ranked(agency))
