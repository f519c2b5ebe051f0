"""Agencies (OPD) of a district: the offices that receive referrals to their programs.

Agency officers are memberships bound to an agency (memberships.agency_id, a composite foreign
key into this table), so an officer can only ever be bound to an agency of the same district.
"""

from __future__ import annotations

import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from slrt.platform.db import Base, TenantScoped, Timestamps


class AgencyKind(enum.StrEnum):
    dinas = "dinas"  # Dinas Kesehatan, Dinas Pendidikan, Disdukcapil, Dinas Perkim...
    hospital = "hospital"  # RSUD
    baznas = "baznas"
    other = "other"


class Agency(TenantScoped, Timestamps, Base):
    __tablename__ = "agencies"

    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(16))
    contact_name: Mapped[str | None] = mapped_column(sa.String(200))
    phone: Mapped[str | None] = mapped_column(sa.String(32))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    address: Mapped[str | None] = mapped_column(sa.Text)
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())

    __table_args__ = (
        sa.Index("uq_agencies_tenant_name", "tenant_id", sa.text("lower(name)"), unique=True),
        sa.CheckConstraint("kind IN ('dinas', 'hospital', 'baznas', 'other')", name="kind_values"),
    )
