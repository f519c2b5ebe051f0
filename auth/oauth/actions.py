"""The write layer of the OpenID provider: registering and changing OAuth clients (the Kemensos
admin API and `slrt clients create` call the same functions), rotating the signing keys, and the
transactions around Authlib's endpoints (authorization with the consent it records, token,
revocation), which commit even when Authlib answers with an error: a refused reuse of a code or a
refresh token has revoked a token family that must stay revoked."""

from __future__ import annotations

import re
import secrets
import uuid
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Response

from slrt.auth.accounts.models import Account
from slrt.auth.oauth import tokens
from slrt.auth.oauth.access import resolve_tenant_slug
from slrt.auth.oauth.models import (
    ClientKind,
    Consent,
    OAuthClient,
    RefreshToken,
    SigningKey,
    token_hash,
    utcnow,
)
from slrt.auth.oauth.provider import server
from slrt.auth.permissions import P
from slrt.platform import db
from slrt.platform.audit.models import AuditKind
from slrt.platform.audit.record import changes, record_platform
from slrt.platform.errors import Msg, Problem, field_error
from slrt.platform.tenant import Tenant
from slrt.platform.transaction import action

CLIENT_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,79}$")


def redirect_uri_errors(uris: list[str], field: str = "redirect_uris") -> list[dict[str, str]]:
    """Absolute https URIs, or http on loopback (native apps, development); no fragments."""
    errors = []
    for i, uri in enumerate(uris):
        parts = urlsplit(uri)
        loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
        if (
            parts.fragment
            or not parts.netloc
            or not (parts.scheme == "https" or (parts.scheme == "http" and loopback))
        ):
            errors.append(
                field_error(
                    f"{field}.{i}",
                    Msg(
                        f"'{uri}' harus URL https lengkap (http hanya untuk 127.0.0.1/localhost), tanpa #.",
                        f"'{uri}' must be a full https URL (http only for 127.0.0.1/localhost), no #.",
                    ),
                )
            )
    return errors


@action
def create_client(
    *,
    name: str,
    kind: str,
    redirect_uris: list[str] | None = None,
    post_logout_redirect_uris: list[str] | None = None,
    tenant: Tenant | None = None,
    permissions: list[str] | None = None,
    client_id: str | None = None,
    scope: str = "openid profile email phone",
) -> tuple[OAuthClient, str | None]:
    """Validate and add a client; returns it with its secret (None for public clients). The
    secret is shown once; only its hash is stored."""
    redirect_uris = list(redirect_uris or [])
    post_logout_redirect_uris = list(post_logout_redirect_uris or [])
    permissions = sorted(set(permissions or []))
    errors: list[dict[str, str]] = []
    if kind not in {k.value for k in ClientKind}:
        errors.append(
            field_error(
                "kind",
                Msg(
                    "Harus public, confidential atau machine.",
                    "Must be public, confidential or machine.",
                ),
            )
        )
    if client_id is not None and not CLIENT_ID_RE.match(client_id):
        errors.append(
            field_error(
                "client_id",
                Msg(
                    "Hanya huruf kecil, angka, titik, garis; 3-80 karakter.",
                    "Lower-case letters, digits, dot, dash, underscore; 3-80 characters.",
                ),
            )
        )
    if kind == ClientKind.machine:
        if tenant is None:
            errors.append(
                field_error(
                    "tenant",
                    Msg(
                        "Klien mesin terikat pada satu kabupaten/kota.",
                        "A machine client is bound to one district.",
                    ),
                )
            )
        unknown = [p for p in permissions if p not in {x.value for x in P}]
        if unknown:
            errors.append(
                field_error(
                    "permissions",
                    Msg(
                        f"Izin tidak dikenal: {', '.join(unknown)}",
                        f"Unknown permissions: {', '.join(unknown)}",
                    ),
                )
            )
        if redirect_uris:
            errors.append(
                field_error(
                    "redirect_uris",
                    Msg(
                        "Klien mesin tidak memakai pengalihan.",
                        "Machine clients take no redirect URIs.",
                    ),
                )
            )
    else:
        if tenant is not None or permissions:
            errors.append(
                field_error(
                    "tenant",
                    Msg(
                        "Hanya klien mesin yang terikat kabupaten/kota dan izin; klien lain bertindak atas nama pengguna.",
                        "Only machine clients have a district and permissions; others act for a user.",
                    ),
                )
            )
        if not redirect_uris:
            errors.append(
                field_error(
                    "redirect_uris",
                    Msg("Sebutkan minimal satu redirect URI.", "Give at least one redirect URI."),
                )
            )
    errors += redirect_uri_errors(redirect_uris)
    errors += redirect_uri_errors(post_logout_redirect_uris, "post_logout_redirect_uris")
    if (
        client_id
        and db.session.execute(
            sa.select(OAuthClient.id).where(OAuthClient.client_id == client_id)
        ).first()
    ):
        errors.append(
            field_error(
                "client_id", Msg("client_id ini sudah dipakai.", "This client_id is taken.")
            )
        )
    if errors:
        raise Problem(422, errors=errors)
    secret = None if kind == ClientKind.public else secrets.token_urlsafe(32)
    client = OAuthClient(
        client_id=client_id or "slrt-" + secrets.token_hex(8),
        secret_hash=token_hash(secret) if secret else None,
        name=name,
        kind=kind,
        redirect_uris=redirect_uris,
        post_logout_redirect_uris=post_logout_redirect_uris,
        scope=scope,
        first_party=False,
        bound_tenant_id=tenant.id if tenant else None,
        permissions=permissions,
        status="active",
    )
    db.session.add(client)
    db.session.flush()
    record_platform(
        AuditKind.config,
        "oauth_client.create",
        "oauth_client",
        client.client_id,
        tenant_ref=client.bound_tenant_id,
        after={
            "name": name,
            "kind": kind,
            "redirect_uris": redirect_uris,
            "permissions": permissions,
        },
    )
    return client, secret


@action
def register_client(
    *,
    name: str,
    kind: str,
    redirect_uris: list[str] | None = None,
    post_logout_redirect_uris: list[str] | None = None,
    tenant_slug: str | None = None,
    permissions: list[str] | None = None,
    client_id: str | None = None,
) -> tuple[OAuthClient, str | None]:
    """Register a client, a machine client's district named by its slug (422 if unknown)."""
    return create_client(
        name=name,
        kind=kind,
        redirect_uris=redirect_uris,
        post_logout_redirect_uris=post_logout_redirect_uris,
        tenant=resolve_tenant_slug(tenant_slug) if tenant_slug else None,
        permissions=permissions,
        client_id=client_id,
    )


@action
def update_client(client: OAuthClient, data: dict[str, Any]) -> OAuthClient:
    """Rename, change redirect URIs, or disable a client (`data` holds only what changes). A
    disabled machine client's tokens stop working on the next request."""
    errors = redirect_uri_errors(data.get("redirect_uris", []))
    errors += redirect_uri_errors(
        data.get("post_logout_redirect_uris", []), "post_logout_redirect_uris"
    )
    if errors:
        raise Problem(422, errors=errors)
    before = {k: getattr(client, k) for k in data}
    for key, value in data.items():
        setattr(client, key, value)
    b, a = changes(before, dict(data))
    record_platform(
        AuditKind.config, "oauth_client.update", "oauth_client", client.client_id, before=b, after=a
    )
    return client


@action
def rotate_signing_key() -> tuple[SigningKey, int]:
    """Make a new signing key active (older keys keep verifying until their tokens expire) and
    drop the keys nothing valid was signed with any more; returns the key and how many went."""
    retired = tokens.retire_expired_keys()
    key = tokens.rotate_signing_keys()
    record_platform(AuditKind.security, "signing_key.rotate", "signing_key", key.kid)
    return key, retired


@action
def ensure_signing_key() -> None:
    """The first signing key exists before any client caches the JWKS."""
    tokens.active_signing_key()


def revoke_account_refresh_tokens(account_id: uuid.UUID) -> None:
    """Revoke every live refresh token of an account (in the caller's transaction)."""
    db.session.execute(
        sa.update(RefreshToken)
        .where(RefreshToken.account_id == account_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def save_consent(account: Account, client: OAuthClient, scope: str) -> None:
    """Remember that the account allowed the client these scopes (added to earlier ones)."""
    row = db.session.get(Consent, (account.id, client.client_id))
    if row is None:
        db.session.add(Consent(account_id=account.id, client_id=client.client_id, scope=scope))
    else:
        row.scope = " ".join(sorted(set(row.scope.split()) | set(scope.split())))


@action
def authorization_response(account: Account, grant: Any, *, consented: bool = False) -> Response:
    """The account allows the client: record the consent it just gave (`consented`) and answer
    with the authorization code (Authlib stores it)."""
    if consented:
        save_consent(account, grant.client, grant.request.scope or "")
    return server.create_authorization_response(grant_user=account, grant=grant)


@action
def token_response(request: Any = None) -> Response:
    """Authlib's token endpoint for this request (or a built one, for the web client's
    in-process exchange); committed in every case, as a refused reuse has revoked a family."""
    return server.create_token_response(request)


@action
def revocation_response(request: Any = None) -> Response:
    """Authlib's revocation endpoint for this request (or a built one, for the web client's
    sign-out)."""
    return server.create_endpoint_response("revocation", request)
