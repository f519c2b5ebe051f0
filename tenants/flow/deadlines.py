"""Referral deadlines: a referral is overdue when it is still open (sent, received or accepted)
past its due date. One condition, `overdue_clause`, on the partial index `ix_referrals_open_due`:
the API, the pages, the reports and the escalation job filter with it; `slrt flow overdue` lists a
district's with `overdue_referrals`; `overdue_groups` counts them per village, kecamatan or agency
(the API's overdue summary and the overdue page).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from slrt.platform import db, region_codes
from slrt.tenants.flow.models import Referral


def overdue_clause(at: dt.datetime | None = None) -> sa.ColumnElement[bool]:
    at = at or dt.datetime.now(dt.UTC)
    return sa.and_(Referral.status.in_(Referral.OPEN), Referral.due_at < at)


def overdue_referrals(
    at: dt.datetime | None = None,
    *,
    village_code: str | None = None,
    kecamatan_code: str | None = None,
    agency_id: uuid.UUID | None = None,
) -> list[Referral]:
    """Open referrals of the current tenant past their due date, oldest deadline first."""
    stmt = sa.select(Referral).where(overdue_clause(at))
    if village_code:
        stmt = stmt.where(Referral.village_code == village_code)
    if kecamatan_code:
        stmt = stmt.where(Referral.village_code.like(kecamatan_code + ".%"))
    if agency_id:
        stmt = stmt.where(Referral.agency_id == agency_id)
    return list(db.session.execute(stmt.order_by(Referral.due_at, Referral.id)).scalars())


def overdue_groups(group_by: str, scope: Callable[[sa.Select], sa.Select]) -> list[dict[str, Any]]:
    """Overdue referrals (inside `scope`, the caller's region and agency) counted per "village",
    "kecamatan" or "agency", most overdue first: key, name, overdue, oldest_due_at."""
    from slrt.tenants.regions.access import village_name

    if group_by == "agency":
        key = sa.cast(Referral.agency_id, sa.String)
        label = sa.func.min(Referral.agency_name)
    elif group_by == "kecamatan":
        key = sa.func.substr(Referral.village_code, 1, 8)
        label = sa.null()
    else:
        key = Referral.village_code
        label = sa.null()
    rows = db.session.execute(
        scope(
            sa.select(
                key.label("key"),
                label.label("name"),
                sa.func.count().label("overdue"),
                sa.func.min(Referral.due_at).label("oldest_due_at"),
            ).where(overdue_clause())
        )
        .group_by(key)
        .order_by(sa.func.min(Referral.due_at), key)
    ).all()
    out = []
    for row in rows:
        item = dict(row._mapping)
        if item["name"] is None:
            item["name"] = (
                village_name(item["key"])
                if group_by == "village"
                else (region_codes.name_of(item["key"]))
            )
        out.append(item)
    return out
