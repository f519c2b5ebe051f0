"""`slrt audit ...`: checking that nobody rewrote the audit trail."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from slrt.platform import db
from slrt.platform.audit.chain import ChainReport, verify_district, verify_platform
from slrt.platform.commands.support import district
from slrt.platform.tenancy import tenant_context
from slrt.platform.tenant import Tenant


@click.group("audit", cls=AppGroup)
def audit() -> None:
    """The audit trail."""


def _echo(report: ChainReport) -> None:
    head = f"head #{report.head_seq} {report.head_hash}" if report.head_seq else "empty"
    state = "ok" if report.ok else "BROKEN"
    click.echo(f"{report.scope}: {state}, {report.events} event(s), {head}")
    for problem in report.problems:
        click.echo(f"  {problem}")


@audit.command("verify")
@click.argument("districts", nargs=-1)
def verify(districts: tuple[str, ...]) -> None:
    """Recompute the hash chains of the platform trail and of every district's trail (or only
    the DISTRICTS named, by slug or code) and report any edited event or gap. Exits 1 when a
    chain is broken. Note the printed heads somewhere outside the system: a later run whose
    head no longer reaches them shows that the newest events were cut off."""
    if districts:
        tenants = [district(ref) for ref in districts]
    else:
        tenants = list(db.session.execute(sa.select(Tenant).order_by(Tenant.slug)).scalars())
    reports = [verify_platform()] if not districts else []
    for tenant in tenants:
        with tenant_context(tenant.ref()):  # applies to the open (read-only) transaction
            reports.append(verify_district(tenant.slug))
    for report in reports:
        _echo(report)
    if not all(r.ok for r in reports):
        raise SystemExit(1)
