"""`slrt flow ...`: the service flow from the command line (overdue referrals, demo tokens)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from slrt.platform.commands.support import district, fail_with
from slrt.platform.errors import Problem
from slrt.platform.tenancy import tenant_context


@click.group("flow", cls=AppGroup)
def flow() -> None:
    """The service flow: cases and referrals."""


@flow.command("overdue")
@click.argument("slug")
def overdue(slug: str) -> None:
    """List a district's open referrals past their due date, e.g. `slrt flow overdue parepare`."""
    from slrt.tenants.flow.deadlines import overdue_referrals

    tenant = district(slug)
    with tenant_context(tenant.ref()):
        rows = overdue_referrals()
        for r in rows:
            click.echo(
                f"{r.id}  due {r.due_at:%Y-%m-%d}  {r.status:<9} {r.village_code}  "
                f"{r.program_name} -> {r.agency_name}"
            )
    click.echo(f"{len(rows)} overdue referral(s)")


@flow.command("demo-token")
@click.argument("email")
def demo_token(email: str) -> None:
    """Print a short-lived API access token for a DEMO account (…@demo.slrt.id), for trying the
    API with curl. Refused for any other account and when SLRT_DEMO is not 1."""
    from slrt.tenants.flow.actions import issue_demo_token

    try:
        token = issue_demo_token(email)
    except Problem as exc:
        fail_with(exc)
    click.echo(token)
