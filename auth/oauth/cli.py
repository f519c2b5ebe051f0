"""`slrt accounts ...`, `slrt clients ...`, `slrt keys ...`."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from slrt.auth.accounts.cli import _fail, _tenant
from slrt.auth.accounts.models import Account
from slrt.platform import db
from slrt.platform.audit.models import AuditKind
from slrt.platform.audit.record import record_platform
from slrt.platform.errors import Problem


@click.group("clients", cls=AppGroup)
def clients() -> None:
    """OAuth clients of the SLRT OpenID provider."""


@clients.command("create")
@click.option("--name", required=True)
@click.option("--kind", type=click.Choice(["public", "confidential", "machine"]), required=True)
@click.option("--client-id", default=None)
@click.option("--redirect-uri", "redirect_uris", multiple=True)
@click.option("--post-logout-redirect-uri", "post_logout", multiple=True)
@click.option("--tenant", "tenant_slug", default=None, help="district slug (machine clients)")
@click.option(
    "--permission", "permissions", multiple=True, help="e.g. audit.read (machine clients)"
)
def create(name, kind, client_id, redirect_uris, post_logout, tenant_slug, permissions) -> None:
    """Register an OAuth client; prints its id and (once) its secret."""
    from slrt.auth.oauth.actions import create_client

    tenant = _tenant(tenant_slug) if tenant_slug else None
    try:
        client, secret = create_client(
            name=name,
            kind=kind,
            client_id=client_id,
            redirect_uris=list(redirect_uris),
            post_logout_redirect_uris=list(post_logout),
            tenant=tenant,
            permissions=list(permissions),
        )
    except Problem as exc:
        _fail(exc)
    db.session.commit()
    click.echo(f"client_id: {client.client_id}")
    if secret:
        click.echo(f"client_secret: {secret}  (shown once)")


@click.group("keys", cls=AppGroup)
def keys() -> None:
    """Signing keys of access and ID tokens."""


@keys.command("rotate")
def rotate() -> None:
    """Make a new signing key active; older keys keep verifying until their tokens expire."""
    from slrt.auth.oauth.tokens import retire_expired_keys, rotate_signing_keys

    retired = retire_expired_keys()
    key = rotate_signing_keys()
    record_platform(AuditKind.security, "signing_key.rotate", "signing_key", key.kid)
    db.session.commit()
    click.echo(f"active key: {key.kid} (retired {retired} expired key(s))")


@keys.command("rewrap-fields")
def rewrap_fields() -> None:
    """Re-encrypt the secrets stored at rest (TOTP secrets) under the first SLRT_FIELD_KEY key,
    after a new key was put first; the old key can be dropped afterwards."""
    from slrt.platform.field_crypto import rewrap_field

    # type_coerce: read and write the stored tokens as they are, without the column's decryption.
    raw = sa.type_coerce(Account.totp_secret, sa.Text)
    rows = db.session.execute(
        sa.select(Account.id, raw).where(Account.totp_secret.is_not(None)).with_for_update()
    ).all()
    for account_id, token in rows:
        db.session.execute(
            sa.update(Account)
            .where(Account.id == account_id)
            .values({raw: sa.type_coerce(rewrap_field(token), sa.Text)})
        )
    db.session.commit()
    click.echo(f"re-encrypted {len(rows)} TOTP secret(s) under the first SLRT_FIELD_KEY key")


@click.group("auth", cls=AppGroup)
def auth() -> None:
    """Housekeeping of the OpenID provider."""


@auth.command("purge")
def purge() -> None:
    """Delete expired refresh-token families (revoked or not) and spent authorization codes."""
    from slrt.auth.oauth.purge import purge_expired_oauth_rows

    result = purge_expired_oauth_rows()
    click.echo(
        f"deleted {result.refresh_tokens} refresh token(s) and "
        f"{result.authorization_codes} authorization code(s)"
    )
