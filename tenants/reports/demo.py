"""Demo of the scheduled work (a DEMO_STEPS entry): the dashboard aggregates are computed once
for each demo district, so /api/v1/dashboard shows numbers right after `slrt up` (the nightly
job keeps them fresh), and every demo member gets a first in-app notification explaining where
escalations of overdue referrals will appear."""

from __future__ import annotations

import sqlalchemy as sa

from slrt.auth.memberships.models import Membership, MembershipStatus
from slrt.platform import db
from slrt.platform.errors import Msg
from slrt.platform.jobs.scheduler import active_tenants
from slrt.platform.tenancy import tenant_context
from slrt.tenants.notifications.actions import notify
from slrt.tenants.reports.aggregates import refresh


def load_schedules_demo() -> list[str]:
    for tenant in active_tenants():
        with tenant_context(tenant):
            refresh()
            members = list(
                db.session.execute(
                    sa.select(Membership.account_id).where(
                        Membership.status == MembershipStatus.active.value
                    )
                ).scalars()
            )
            notify(
                members,
                "system.welcome",
                Msg("Selamat datang di SLRT", "Welcome to SLRT"),
                Msg(
                    "Rujukan yang melewati tenggat dieskalasi setiap jam: supervisor, lalu "
                    "manajer, lalu Dinas Sosial diberi tahu di sini.",
                    "Overdue referrals are escalated every hour: the supervisor, then the "
                    "manager, then the district are notified here.",
                ),
                dedup_key="demo:welcome",
            )
    return [
        "Dashboard: aggregates computed for the demo districts (/api/v1/dashboard, "
        "/api/v1/t/<slug>/dashboard); refreshed nightly by the scheduler"
    ]
