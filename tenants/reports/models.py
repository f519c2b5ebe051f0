"""The `district_aggregates` table: one district's dashboard figures on one day.

A PLATFORM table of counts only: no names, NIKs, ticket numbers or record ids, so Kemensos and
provincial viewers may read it across districts without touching any district's personal data.
`aggregates` computes the figures and says what each one counts.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column

from slrt.platform.db import Base


class DistrictAggregate(Base):
    """One district's figures on one day (platform table: aggregates only, no personal data)."""

    __tablename__ = "district_aggregates"

    district_id: Mapped[int] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[dt.date] = mapped_column(sa.Date, primary_key=True)
    computed_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))
    intakes_total: Mapped[int] = mapped_column(sa.Integer)
    intakes_last_30_days: Mapped[int] = mapped_column(sa.Integer)
    referrals_total: Mapped[int] = mapped_column(sa.Integer)
    referrals_answered: Mapped[int] = mapped_column(sa.Integer)
    referrals_on_time: Mapped[int] = mapped_column(sa.Integer)
    referrals_overdue: Mapped[int] = mapped_column(sa.Integer)
    active_villages: Mapped[int] = mapped_column(sa.Integer)
    open_cases: Mapped[int] = mapped_column(sa.Integer)
    intakes_by_kind: Mapped[dict[str, int]] = mapped_column(postgresql.JSONB)
    intakes_by_channel: Mapped[dict[str, int]] = mapped_column(postgresql.JSONB)
    referrals_by_outcome: Mapped[dict[str, int]] = mapped_column(postgresql.JSONB)
    # [{"program": name, "total": n, "pending": n, "in_progress": n, "fulfilled": n, ...}]
    referrals_by_program: Mapped[list[dict[str, Any]]] = mapped_column(postgresql.JSONB)

    __table_args__ = (sa.Index("ix_district_aggregates_day", "day"),)
