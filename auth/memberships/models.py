"""Roles, memberships and invitations of a district.

An account signs in once; a membership ties it to one district with a role, a region scope
(the whole district, some kecamatan, or some desa/kelurahan) and, for agency officers, an agency.
An invitation offers such a membership to someone by email or phone until it is accepted.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column

from slrt.platform.db import Base, TenantScoped, Timestamps, tenant_fk


class Role(TenantScoped, Timestamps, Base):
    """A district's role: a named permission set. Built-in roles are created at onboarding."""

    __tablename__ = "roles"

    key: Mapped[str] = mapped_column(sa.String(40))
    name: Mapped[str] = mapped_column(sa.String(120))
    name_en: Mapped[str | None] = mapped_column(sa.String(120))
    permissions: Mapped[list[str]] = mapped_column(postgresql.ARRAY(sa.String(40)))
    builtin: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    __table_args__ = (sa.UniqueConstraint("tenant_id", "key", name="uq_roles_tenant_key"),)


class ScopeKind(enum.StrEnum):
    district = "district"
    kecamatan = "kecamatan"
    village = "village"


class MembershipStatus(enum.StrEnum):
    active = "active"
    revoked = "revoked"


class Membership(TenantScoped, Timestamps, Base):
    __tablename__ = "memberships"

    account_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("accounts.id", ondelete="RESTRICT"))
    role_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    scope_kind: Mapped[str] = mapped_column(sa.String(16), default=ScopeKind.district.value)
    # Kemendagri codes: kecamatan (PP.KK.CC) or desa/kelurahan (PP.KK.CC.XDDD); empty for district.
    scope_codes: Mapped[list[str]] = mapped_column(postgresql.ARRAY(sa.String(13)), default=list)
    agency_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    status: Mapped[str] = mapped_column(sa.String(16), default=MembershipStatus.active.value)

    __table_args__ = (
        tenant_fk("role_id", "roles", ondelete="RESTRICT"),
        # Agency officers are bound to an agency of the same district (tenants.agencies).
        tenant_fk("agency_id", "agencies", ondelete="RESTRICT"),
        sa.UniqueConstraint("tenant_id", "account_id", name="uq_memberships_tenant_account"),
        sa.Index("ix_memberships_account", "account_id"),
        sa.CheckConstraint(
            "scope_kind IN ('district', 'kecamatan', 'village')", name="scope_kind_values"
        ),
        sa.CheckConstraint(
            "(scope_kind = 'district') = (cardinality(scope_codes) = 0)",
            name="scope_codes_match_kind",
        ),
        sa.CheckConstraint("status IN ('active', 'revoked')", name="status_values"),
    )


class Invitation(TenantScoped, Timestamps, Base):
    __tablename__ = "invitations"

    token_hash: Mapped[str] = mapped_column(sa.String(64))
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
        sa.UniqueConstraint("tenant_id", "token_hash"),
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
