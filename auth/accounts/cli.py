"""`slrt accounts create-admin|invite`: Kemensos admins and invitations into a district from the
server's command line, through the same actions as the API; plus the helpers the auth commands
share (a refused action as a command error, a district by slug)."""

from __future__ import annotations

import secrets
import uuid

import click
from flask.cli import AppGroup

from slrt.platform.commands.support import district, fail_with
from slrt.platform.errors import Problem
from slrt.platform.tenancy import tenant_context


@click.group("accounts", cls=AppGroup)
def accounts() -> None:
    """Accounts and invitations."""


@accounts.command("create-admin")
@click.option("--email", required=True)
@click.option("--name", default="Admin Kemensos", show_default=True)
@click.option("--password", default=None, help="Default: a generated one, printed once.")
def create_admin(email: str, name: str, password: str | None) -> None:
    """Create a Kemensos admin account (or give an existing account that role)."""
    from slrt.auth.accounts.actions import create_kemensos_admin

    generated = password is None
    password = password or secrets.token_urlsafe(15)
    try:
        account, created = create_kemensos_admin(email, name, password)
    except Problem as exc:
        fail_with(exc)
    click.echo(f"Kemensos admin: {account.email}")
    if generated and created:
        click.echo(f"password: {password}")


@accounts.command("invite")
@click.argument("tenant_slug")
@click.option("--email", default=None)
@click.option("--phone", default=None)
@click.option("--name", default=None)
@click.option(
    "--role", "role_key", required=True, help="e.g. district_admin, supervisor, facilitator"
)
@click.option(
    "--scope-kind", type=click.Choice(["district", "kecamatan", "village"]), default="district"
)
@click.option(
    "--scope-code", "scope_codes", multiple=True, help="kecamatan or desa code; repeatable"
)
@click.option(
    "--agency-id", type=click.UUID, default=None, help="UUID of the agency (agency officers)"
)
def invite(
    tenant_slug: str,
    email: str | None,
    phone: str | None,
    name: str | None,
    role_key: str,
    scope_kind: str,
    scope_codes: tuple[str, ...],
    agency_id: uuid.UUID | None,
) -> None:
    """Invite someone into a district; prints the single-use link (valid 7 days)."""
    from slrt.auth.memberships.actions import invite_member
    from slrt.auth.policy import operator_principal

    tenant = district(tenant_slug)
    with tenant_context(tenant.ref()):
        try:
            _, link = invite_member(
                operator_principal(),
                role_key=role_key,
                email=email,
                phone=phone,
                name=name,
                scope_kind=scope_kind,
                scope_codes=list(scope_codes),
                agency_id=agency_id,
            )
        except Problem as exc:
            fail_with(exc)
    click.echo(f"invitation link (single use, 7 days): {link}")
