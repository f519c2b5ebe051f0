"""Accounts (global) and memberships (per district).

An account signs in once; a membership ties it to one district with a role, a region scope
(the whole district, some kecamatan, or some desa/kelurahan) and, for agency officers, an agency.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column
from uuid6 import uuid7

from slrt.platform.db import Base, TenantScoped, Timestamps, tenant_fk
from slrt.platform.field_crypto import EncryptedText


class AccountStatus(enum.StrEnum):
    active = "active"
    disabled = "disabled"


class Account(Timestamps, Base):
    __tablename__ = "accounts"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid7)
    name: Mapped[str] = mapped_column(sa.String(200))
    email: Mapped[str] = mapped_column(sa.String(254))  # stored lower-cased
    email_verified: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    phone: Mapped[str | None] = mapped_column(sa.String(32))
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    status: Mapped[str] = mapped_column(sa.String(16), default=AccountStatus.active.value)
    # Encrypted at rest (SLRT_FIELD_KEY): a database dump alone cannot mint TOTP codes.
    totp_secret: Mapped[str | None] = mapped_column(EncryptedText)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))

    __table_args__ = (
        sa.UniqueConstraint("email", name="uq_accounts_email"),
        sa.CheckConstraint("email = lower(email)", name="email_lowercase"),
        sa.CheckConstraint("status IN ('active', 'disabled')", name="status_values"),
    )

    @property
    def active(self) -> bool:
        return self.status == AccountStatus.active


class ExternalIdentity(Base):
    """A login at an outside OpenID provider linked to an account (issuer + subject)."""

    __tablename__ = "external_identities"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid7)
    account_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    issuer: Mapped[str] = mapped_column(sa.String(500))
    subject: Mapped[str] = mapped_column(sa.String(255))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    created_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )

    __table_args__ = (
        sa.UniqueConstraint("issuer", "subject", name="uq_external_identities_issuer_subject"),
    )


class PlatformRoleGrant(Base):
    """Kemensos admin / viewer (national) or provincial viewer (one province)."""

    __tablename__ = "platform_role_grants"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid7)
    account_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(sa.String(32))
    province_code: Mapped[str | None] = mapped_column(sa.String(2))
    created_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )

    __table_args__ = (
        sa.CheckConstraint(
            "role IN ('kemensos_admin', 'kemensos_viewer', 'provincial_viewer')", name="role_values"
        ),
        sa.CheckConstraint(
            "(role = 'provincial_viewer') = (province_code IS NOT NULL)",
            name="province_only_for_provincial",
        ),
        sa.UniqueConstraint(
            "account_id", "role", "province_code", name="uq_platform_role_grants_account_role"
        ),
    )


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


class SigningKey(Base):
    """Keys that sign access and ID tokens. Rotation adds a new active key; older keys stay in
    the JWKS (status 'retiring') until every token they signed has expired."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(sa.String(10))
    private_pem: Mapped[str] = mapped_column(sa.Text)
    public_jwk: Mapped[dict] = mapped_column(postgresql.JSONB)
    status: Mapped[str] = mapped_column(sa.String(16), default="active")
    created_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )
    retired_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))

    __table_args__ = (
        sa.CheckConstraint("status IN ('active', 'retiring', 'retired')", name="status_values"),
    )
