"""Referral deadlines: a referral is overdue when it is still open (sent, received or accepted)
past its due date. One condition, `overdue_clause`, on the partial index `ix_referrals_open_due`:
the API, the reports and the escalation job filter with it; `slrt flow overdue` lists a district's
with `overdue_referrals`.
"""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa

from slrt.platform import db
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
