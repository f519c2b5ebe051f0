"""Lokus designations: Kemensos designates districts as SLRT lokus in waves (tahap), by decree.

A district can be designated several times over the years (a new wave, an extension); each
designation is kept (append-only for the app role): a wrong entry is corrected by recording the
right one with a note, so the history of decrees stays intact.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from slrt.platform.db import Base, TenantScoped, utcnow_column


class LokusDesignation(TenantScoped, Base):
    __tablename__ = "lokus_designations"

    wave: Mapped[int] = mapped_column(sa.Integer)  # tahap
    year: Mapped[int] = mapped_column(sa.Integer)
    decree_number: Mapped[str] = mapped_column(sa.String(120))
    decree_date: Mapped[dt.date] = mapped_column(sa.Date)
    note: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[Any] = utcnow_column()

    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "year", "wave", name="uq_lokus_designations_year_wave"),
        sa.CheckConstraint("wave BETWEEN 1 AND 99", name="wave_range"),
        sa.CheckConstraint("year BETWEEN 2000 AND 2100", name="year_range"),
    )


LOKUS_FIELDS = ("wave", "year", "decree_number", "decree_date", "note")
