"""`slrt tenants ...`: onboarding and status of districts."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from slrt.platform import db
from slrt.platform.errors import Problem
from slrt.platform.tenant import Tenant
from slrt.tenants.onboarding import onboard_tenant


@click.group("tenants", cls=AppGroup)
def tenants() -> None:
    """Districts (kabupaten/kota) on the platform."""


def _problem_text(exc: Problem) -> str:
    if exc.errors:
        return "; ".join(e["message"] for e in exc.errors)
    return str(exc.detail)


@tenants.command("create")
@click.argument("codes", nargs=-1, required=True)
def create(codes: tuple[str, ...]) -> None:
    """Onboard districts by Kemendagri code, e.g. `slrt tenants create 73.72 33.24`."""
    failed = False
    for code in codes:
        try:
            tenant, created = onboard_tenant(code)
            db.session.commit()
        except Problem as exc:
            db.session.rollback()
            click.echo(f"{code}: {_problem_text(exc)}", err=True)
            failed = True
            continue
        verb = "created" if created else "already exists"
        click.echo(f"{tenant.code} {tenant.name} ({tenant.slug}): {verb}")
    if failed:
        raise SystemExit(1)


@tenants.command("list")
def list_() -> None:
    """List districts."""
    for tenant in db.session.execute(sa.select(Tenant).order_by(Tenant.code)).scalars():
        click.echo(f"{tenant.code}\t{tenant.slug}\t{tenant.status}\t{tenant.name}")
