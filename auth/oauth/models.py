"""Tables of the OpenID provider: OAuth clients, authorization codes, refresh tokens, consents.

All are platform tables: an account signs in once for every district, and a machine client names
its one district in `bound_tenant_id` (not `tenant_id`: the row is not owned by the district, it is
the platform's record of who may call it). Secrets, codes and refresh tokens are stored only as
SHA-256 hashes; they are long random strings, so a plain hash is enough and keeps lookups exact.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import uuid

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column
from uuid6 import uuid7

from slrt.platform.db import Base, Timestamps


def token_hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class ClientKind(enum.StrEnum):
    public = "public"  # browser or native app: no secret, PKCE only
    confidential = "confidential"  # server-side app with a secret
    machine = "machine"  # client_credentials, bound to one district with a permission set


class OAuthClient(Timestamps, Base):
    __tablename__ = "oauth_clients"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid7)
    client_id: Mapped[str] = mapped_column(sa.String(80), unique=True)
    secret_hash: Mapped[str | None] = mapped_column(sa.String(64))
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(16))
    redirect_uris: Mapped[list[str]] = mapped_column(postgresql.ARRAY(sa.Text), default=list)
    post_logout_redirect_uris: Mapped[list[str]] = mapped_column(
        postgresql.ARRAY(sa.Text), default=list
    )
    scope: Mapped[str] = mapped_column(sa.String(500), default="openid profile email phone")
    # First-party clients (the web UI) skip the consent screen.
    first_party: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    bound_tenant_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE")
    )
    permissions: Mapped[list[str]] = mapped_column(postgresql.ARRAY(sa.String(40)), default=list)
    status: Mapped[str] = mapped_column(sa.String(16), default="active")

    __table_args__ = (
        sa.CheckConstraint("kind IN ('public', 'confidential', 'machine')", name="kind_values"),
        sa.CheckConstraint("status IN ('active', 'disabled')", name="status_values"),
        sa.CheckConstraint(
            "(kind = 'machine') = (bound_tenant_id IS NOT NULL)", name="machine_bound_to_tenant"
        ),
        sa.CheckConstraint("(kind = 'public') = (secret_hash IS NULL)", name="secret_by_kind"),
    )

    # --- authlib ClientMixin -------------------------------------------------------------------

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.redirect_uris[0] if len(self.redirect_uris or []) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return ""
        allowed = set(self.scope.split())
        return " ".join(s for s in scope.split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in (self.redirect_uris or [])  # exact match, no prefixes

    def check_client_secret(self, client_secret: str) -> bool:
        import hmac

        return bool(self.secret_hash) and hmac.compare_digest(
            self.secret_hash, token_hash(client_secret or "")
        )

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.status != "active":
            return False
        if self.kind == ClientKind.public:
            return method == "none"
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and self.kind != ClientKind.machine

    def check_grant_type(self, grant_type: str) -> bool:
        if self.kind == ClientKind.machine:
            return grant_type == "client_credentials"
        return grant_type in ("authorization_code", "refresh_token")


class AuthorizationCode(Base):
    """A one-time code; kept after use so a second use is detected (and revokes its tokens)."""

    __tablename__ = "oauth_authorization_codes"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid7)
    code_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    client_id: Mapped[str] = mapped_column(sa.String(80))
    account_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    redirect_uri: Mapped[str] = mapped_column(sa.Text)
    scope: Mapped[str] = mapped_column(sa.String(500))
    nonce: Mapped[str | None] = mapped_column(sa.String(255))
    code_challenge: Mapped[str] = mapped_column(sa.String(128))
    code_challenge_method: Mapped[str] = mapped_column(sa.String(10))
    auth_time: Mapped[int] = mapped_column(sa.BigInteger)
    expires_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )

    # --- authlib AuthorizationCodeMixin --------------------------------------------------------
    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None


class RefreshToken(Base):
    """One refresh token of a family. Each use rotates it (a new row, same family); presenting a
    rotated token again is reuse and revokes the whole family."""

    __tablename__ = "oauth_refresh_tokens"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid7)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    family_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, index=True)
    client_id: Mapped[str] = mapped_column(sa.String(80))
    account_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    scope: Mapped[str] = mapped_column(sa.String(500))
    expires_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))
    rotated_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )

    def check_client(self, client: OAuthClient) -> bool:
        return client.client_id == self.client_id

    def get_scope(self) -> str:
        return self.scope

    def is_usable(self) -> bool:
        return self.revoked_at is None and self.rotated_at is None and self.expires_at > utcnow()


class Consent(Base):
    """An account's approval of a third-party client for a set of scopes."""

    __tablename__ = "oauth_consents"

    account_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    client_id: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    scope: Mapped[str] = mapped_column(sa.String(500))
    created_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
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


class RevokedAccessToken(Base):
    """An access token revoked before its expiry, by its `jti`. Each process keeps these in
    memory (loaded from here, then told of new ones through Redis) for the per-request check,
    which reads this table while Redis is out of reach. Rows go once the token would have
    expired anyway (`slrt auth purge`)."""

    __tablename__ = "revoked_access_tokens"

    jti: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), index=True)
    revoked_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )
