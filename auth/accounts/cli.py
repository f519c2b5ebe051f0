"""`slrt accounts ...`, `slrt clients ...`, `slrt keys ...`."""

from __future__ import annotations

import secrets

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from slrt.auth.accounts.models import Account, PlatformRoleGrant
from slrt.auth.accounts.passwords import hash_password, password_problems
from slrt.platform import db
from slrt.platform.audit.models import AuditKind
from slrt.platform.audit.record import record_platform
from slrt.platform.errors import Problem
from slrt.platform.tenancy import tenant_context
from slrt.platform.tenant import Tenant


def _fail(exc: Problem) -> None:
    db.session.rollback()
    text = (
        "; ".join(e["message_en"] for e in exc.errors)
        if exc.errors
        else str(exc.detail.en if hasattr(exc.detail, "en") else exc.detail)
    )
    raise click.ClickException(text)


def _tenant(slug: str) -> Tenant:
    tenant = db.session.execute(sa.select(Tenant).where(Tenant.slug == slug)).scalar_one_or_none()
    if tenant is None:
        raise click.ClickException(f"no district with slug {slug!r} (see `slrt tenants list`)")
    return tenant


@click.group("accounts", cls=AppGroup)
def accounts() -> None:
    """Accounts and invitations."""


@accounts.command("create-admin")
@click.option("--email", required=True)
@click.option("--name", default="Admin Kemensos", show_default=True)
@click.option("--password", default=None, help="Default: a generated one, printed once.")
def create_admin(email: str, name: str, password: str | None) -> None:
    """Create a Kemensos admin account (or give an existing account that role)."""
    email = email.strip().lower()
    generated = password is None
    password = password or secrets.token_urlsafe(15)
    account = db.session.execute(
        sa.select(Account).where(Account.email == email)
    ).scalar_one_or_none()
    if account is None:
        problems = password_problems(password, email=email, name=name)
        if problems:
            raise click.ClickException("; ".join(p.en for p in problems))
        account = Account(
            name=name,
            email=email,
            email_verified=True,
            password_hash=hash_password(password),
            status="active",
        )
        db.session.add(account)
        db.session.flush()
    else:
        generated = False
    exists = db.session.execute(
        sa.select(PlatformRoleGrant.id).where(
            PlatformRoleGrant.account_id == account.id, PlatformRoleGrant.role == "kemensos_admin"
        )
    ).first()
    if not exists:
        db.session.add(PlatformRoleGrant(account_id=account.id, role="kemensos_admin"))
    record_platform(AuditKind.security, "account.grant_kemensos_admin", "account", account.id)
    db.session.commit()
    click.echo(f"Kemensos admin: {email}")
    if generated:
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
@click.option("--agency-id", default=None, help="UUID of the agency (agency officers)")
def invite(tenant_slug, email, phone, name, role_key, scope_kind, scope_codes, agency_id) -> None:
    """Invite someone into a district; prints the single-use link (valid 7 days)."""
    import uuid

    from slrt.auth.memberships.access import role_by_key
    from slrt.auth.memberships.actions import create_invitation
    from slrt.auth.region_scope import scope_errors

    if not email and not phone:
        raise click.ClickException("give --email or --phone")
    tenant = _tenant(tenant_slug)
    with tenant_context(tenant.ref()):
        role = role_by_key(role_key)
        if role is None:
            raise click.ClickException(f"no role {role_key!r} in {tenant.name}")
        errors = scope_errors(tenant.code, scope_kind, list(scope_codes))
        if role_key == "agency_officer" and not agency_id:
            raise click.ClickException("agency officers need --agency-id")
        if agency_id:
            from slrt.tenants.agencies.access import resolve_agency_id

            try:
                resolve_agency_id(uuid.UUID(agency_id))
            except (ValueError, Problem) as exc:
                raise click.ClickException(
                    f"no active agency {agency_id} in {tenant.name}"
                ) from exc
        if errors:
            raise click.ClickException("; ".join(e["message_en"] for e in errors))
        try:
            _, link = create_invitation(
                role=role,
                email=email,
                phone=phone,
                name=name,
                scope_kind=scope_kind,
                scope_codes=list(scope_codes),
                agency_id=uuid.UUID(agency_id) if agency_id else None,
                invited_by=None,
            )
        except Problem as exc:  # e.g. the plan's accounts quota is full
            db.session.rollback()
            raise click.ClickException(str(exc.detail)) from exc
        db.session.commit()
    click.echo(f"invitation link (single use, 7 days): {link}")
