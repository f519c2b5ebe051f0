"""The `service_points` table: the district SLRT secretariat and the village Puskesos units.

Their staff are memberships (auth): a Puskesos's staff are the members whose region scope is
its village. One active secretariat per district and one active Puskesos per village.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from slrt.platform.db import Base, TenantScoped, Timestamps, tenant_fk


class ServicePointKind(enum.StrEnum):
    secretariat = "secretariat"  # Sekretariat SLRT kabupaten/kota
    puskesos = "puskesos"  # Pusat Kesejahteraan Sosial (village)


class ServicePoint(TenantScoped, Timestamps, Base):
    __tablename__ = "service_points"

    kind: Mapped[str] = mapped_column(sa.String(16))
    name: Mapped[str] = mapped_column(sa.String(200))
    village_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    address: Mapped[str | None] = mapped_column(sa.Text)
    phone: Mapped[str | None] = mapped_column(sa.String(32))
    decree_number: Mapped[str | None] = mapped_column(sa.String(120))
    decree_date: Mapped[dt.date | None] = mapped_column(sa.Date)
    opened_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())

    __table_args__ = (
        tenant_fk("village_id", "villages", ondelete="RESTRICT"),
        sa.CheckConstraint("kind IN ('secretariat', 'puskesos')", name="kind_values"),
        sa.CheckConstraint(
            "kind <> 'puskesos' OR village_id IS NOT NULL", name="puskesos_has_village"
        ),
        sa.Index(
            "uq_service_points_one_secretariat",
            "tenant_id",
            unique=True,
            postgresql_where=sa.text("kind = 'secretariat' AND active"),
        ),
        sa.Index(
            "uq_service_points_one_puskesos_per_village",
            "tenant_id",
            "village_id",
            unique=True,
            postgresql_where=sa.text("kind = 'puskesos' AND active"),
        ),
    )
