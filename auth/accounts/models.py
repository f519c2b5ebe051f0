"""Accounts (global): the person who signs in once for every district, the outside-provider
identities linked to an account, and the platform roles (Kemensos admin or viewer, provincial
viewer) granted to it. What an account may do inside one district is its membership there
(`slrt.auth.memberships.models`)."""

from __future__ import annotations

import datetime as dt
import enum
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column
from uuid6 import uuid7

from slrt.platform.db import Base, Timestamps
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
