"""Invitations into a district: an expiring, single-use link (only its hash is stored)."""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column

from slrt.platform.db import Base, TenantScoped, Timestamps, tenant_fk


class Invitation(TenantScoped, Timestamps, Base):
    __tablename__ = "invitations"

    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    email: Mapped[str | None] = mapped_column(sa.String(254))  # lower-cased
    phone: Mapped[str | None] = mapped_column(sa.String(32))
    name: Mapped[str | None] = mapped_column(sa.String(200))
    role_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    scope_kind: Mapped[str] = mapped_column(sa.String(16))
    scope_codes: Mapped[list[str]] = mapped_column(postgresql.ARRAY(sa.String(13)), default=list)
    agency_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    invited_by: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    expires_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))
    accepted_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    accepted_account_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="SET NULL")
    )
    revoked_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))

    __table_args__ = (
        tenant_fk("role_id", "roles", ondelete="RESTRICT"),
        sa.CheckConstraint("email IS NOT NULL OR phone IS NOT NULL", name="email_or_phone"),
        sa.CheckConstraint(
            "scope_kind IN ('district', 'kecamatan', 'village')", name="scope_kind_values"
        ),
    )

    @property
    def status(self) -> str:
        if self.revoked_at:
            return "revoked"
        if self.accepted_at:
            return "accepted"
        if self.expires_at <= dt.datetime.now(dt.UTC):
            return "expired"
        return "pending"
