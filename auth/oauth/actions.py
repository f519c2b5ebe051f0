"""Registering OAuth clients (used by `slrt clients create` and the Kemensos admin API)."""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

import sqlalchemy as sa

from slrt.auth.oauth.models import ClientKind, OAuthClient, token_hash
from slrt.auth.permissions import P
from slrt.platform import db
from slrt.platform.audit.models import AuditKind
from slrt.platform.audit.record import record_platform
from slrt.platform.errors import Msg, Problem, field_error
from slrt.platform.tenant import Tenant

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
