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
    # Stored lower-cased. A facilitator without email signs in with the phone number alone.
    email: Mapped[str | None] = mapped_column(sa.String(254))
    email_verified: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # E.164 ("+6281234567890", `phones.normalise_phone`): the other sign-in name, unique.
    phone: Mapped[str | None] = mapped_column(sa.String(32))
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    status: Mapped[str] = mapped_column(sa.String(16), default=AccountStatus.active.value)
    # Encrypted at rest (SLRT_FIELD_KEY): a database dump alone cannot mint TOTP codes.
    totp_secret: Mapped[str | None] = mapped_column(EncryptedText)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # The language the person reads (id/en): mail goes out in it; set when they switch
    # languages while signed in or on their account page. None: Indonesian.
    language: Mapped[str | None] = mapped_column(sa.String(2))
    # Opted in to the daily mail digest of unread notifications.
    digest_opt_in: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    __table_args__ = (
        sa.UniqueConstraint("email", name="uq_accounts_email"),
        sa.Index(
            "uq_accounts_phone", "phone", unique=True, postgresql_where=sa.text("phone IS NOT NULL")
        ),
        sa.CheckConstraint("email = lower(email)", name="email_lowercase"),
        sa.CheckConstraint("email IS NOT NULL OR phone IS NOT NULL", name="email_or_phone"),
        sa.CheckConstraint("status IN ('active', 'disabled')", name="status_values"),
        sa.CheckConstraint("language IN ('id', 'en')", name="language_values"),
    )

    @property
    def active(self) -> bool:
        return self.status == AccountStatus.active

    @property
    def label(self) -> str:
        """How the account is named in audit trails and on pages: its email, else its phone."""
        return self.email or self.phone or str(self.id)


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


class PasswordReset(Base):
    """A "forgot password" link sent by mail: single-use, expiring, only its hash is stored."""

    __tablename__ = "password_resets"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid7)
    account_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    expires_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )
