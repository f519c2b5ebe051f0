"""`slrt clients create` (OAuth clients), `slrt keys rotate|rewrap-fields` (signing keys and
the secrets encrypted at rest) and `slrt auth purge` (expired OAuth rows)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from slrt.platform.commands.support import fail_with
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
    from slrt.auth.oauth.actions import register_client

    try:
        client, secret = register_client(
            name=name,
            kind=kind,
            client_id=client_id,
            redirect_uris=list(redirect_uris),
            post_logout_redirect_uris=list(post_logout),
            tenant_slug=tenant_slug,
            permissions=list(permissions),
        )
    except Problem as exc:
        fail_with(exc)
    click.echo(f"client_id: {client.client_id}")
    if secret:
        click.echo(f"client_secret: {secret}  (shown once)")


@click.group("keys", cls=AppGroup)
def keys() -> None:
    """Signing keys of access and ID tokens."""


@keys.command("rotate")
def rotate() -> None:
    """Make a new signing key active; older keys keep verifying until their tokens expire."""
    from slrt.auth.oauth.actions import rotate_signing_key

    key, retired = rotate_signing_key()
    click.echo(f"active key: {key.kid} (retired {retired} expired key(s))")


@keys.command("rewrap-fields")
def rewrap_fields() -> None:
    """Re-encrypt the secrets stored at rest (TOTP secrets) under the first SLRT_FIELD_KEY key,
    after a new key was put first; the old key can be dropped afterwards."""
    from slrt.auth.accounts.actions import rewrap_totp_secrets

    count = rewrap_totp_secrets()
    click.echo(f"re-encrypted {count} TOTP secret(s) under the first SLRT_FIELD_KEY key")


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
