"""Demo data for a newcomer: two districts (and, as features land, their users).

Run by `slrt up` on an empty database; prints how to sign in.
"""

from __future__ import annotations

import sqlalchemy as sa

from slrt.auth.demo import load_demo_accounts, sign_in_lines
from slrt.billing_free.demo import demo_usage
from slrt.platform import db
from slrt.platform.jobs.demo import load_jobs_demo
from slrt.platform.tenant import Tenant
from slrt.platform.transaction import joined
from slrt.tenants.districts.actions import onboard_tenant
from slrt.tenants.districts.demo import configure_demo_districts
from slrt.tenants.dtsen.demo import load_dtsen_demo
from slrt.tenants.field.demo import load_field_demo
from slrt.tenants.flow.demo import flow_sign_in_lines, load_flow_demo
from slrt.tenants.reports.demo import load_schedules_demo

DEMO_TENANTS = ("33.24", "73.72")  # Kabupaten Kendal, Kota Parepare

# Further demo steps (users, programs...) registered by feature modules; each returns lines to print.
DEMO_STEPS: list = [
    configure_demo_districts,
    load_demo_accounts,
    load_flow_demo,
    load_field_demo,
    load_dtsen_demo,
    load_jobs_demo,
    load_schedules_demo,
    demo_usage,
]

# Lines printed by every later `slrt up` once the demo exists (e.g. the demo sign-in details).
DEMO_REMINDERS: list = [sign_in_lines, flow_sign_in_lines]


def load_demo() -> list[str]:
    """Load the demo into an empty database; return the lines to print (empty if not loaded)."""
    if db.session.execute(sa.select(sa.func.count()).select_from(Tenant)).scalar():
        return []
    lines = ["Demo districts:"]
    # The actions the steps call join this one transaction instead of each committing its own.
    with joined():
        for code in DEMO_TENANTS:
            tenant, _ = onboard_tenant(code)
            lines.append(f"  {tenant.name}: /t/{tenant.slug}  (API /api/v1/t/{tenant.slug})")
        for step in DEMO_STEPS:
            lines.extend(step())
    db.session.commit()
    return lines


def main() -> None:
    from slrt.platform.app import create_app

    app = create_app()
    with app.app_context():
        lines = load_demo()
        if not lines:
            for reminder in DEMO_REMINDERS:
                lines.extend(reminder())
        for line in lines:
            print(line)


if __name__ == "__main__":
    main()
