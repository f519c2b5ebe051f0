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

from slrt.platform import db
from slrt.platform.audit import AuditKind, record, record_platform
from slrt.platform.db import Base, TenantScoped, utcnow_column
from slrt.platform.errors import Problem
from slrt.platform.tenancy import tenant_context
from slrt.platform.tenant import Tenant


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


FIELDS = ("wave", "year", "decree_number", "decree_date", "note")


def designate(tenant: Tenant, data: dict[str, Any]) -> LokusDesignation:
    """Record a designation for `tenant` (platform action, audited in both trails)."""
    with tenant_context(tenant.ref()):
        clash = db.session.execute(
            sa.select(LokusDesignation).where(
                LokusDesignation.year == data["year"], LokusDesignation.wave == data["wave"]
            )
        ).scalar_one_or_none()
        if clash is not None:
            raise Problem(
                409,
                errors=[
                    {
                        "field": "wave",
                        "message": (
                            f"{tenant.name} sudah ditetapkan pada tahap {data['wave']} tahun "
                            f"{data['year']} (SK {clash.decree_number})."
                        ),
                        "message_en": (
                            f"{tenant.name} is already designated in wave {data['wave']} of "
                            f"{data['year']} (decree {clash.decree_number})."
                        ),
                    }
                ],
            )
        designation = LokusDesignation(**{k: data.get(k) for k in FIELDS})
        db.session.add(designation)
        db.session.flush()
        after = {k: getattr(designation, k) for k in FIELDS}
        record(
            AuditKind.config, "lokus.designate", "lokus_designation", designation.id, after=after
        )
        db.session.flush()
    record_platform(
        AuditKind.config,
        "tenant.lokus_designate",
        "lokus_designation",
        designation.id,
        tenant_ref=tenant.id,
        after=after,
    )
    return designation


def designations_of(tenant: Tenant) -> list[LokusDesignation]:
    with tenant_context(tenant.ref()):
        return list(
            db.session.execute(
                sa.select(LokusDesignation).order_by(
                    LokusDesignation.year, LokusDesignation.wave, LokusDesignation.id
                )
            ).scalars()
        )
