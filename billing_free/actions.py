"""The writes of billing_free, one action each, called alike by Kemensos's API and by
`slrt plans ...`: creating and changing plans, and moving a district to a plan.

Plan changes and plan moves drop the cached quotas of the districts concerned once they commit,
so a district meets its new limits at once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from slrt.billing_free.models import QUOTA_COLUMNS, Plan, PlanAssignment
from slrt.billing_free.plans import (
    current_assignment,
    default_plan,
    district_today,
    ensure_standard_plans,
)
from slrt.billing_free.quotas import forget_snapshot
from slrt.platform import db
from slrt.platform.actor import current_actor
from slrt.platform.audit.models import AuditKind
from slrt.platform.audit.record import changes, record_both, record_platform
from slrt.platform.errors import Msg, field_problem
from slrt.platform.tenant import Tenant
from slrt.platform.transaction import action, after_commit

# --- plans ----------------------------------------------------------------------------------------

EDITABLE = ("name", "description", "duration_days", "is_default", "active", *QUOTA_COLUMNS)


def plan_state(plan: Plan) -> dict[str, Any]:
    """What the audit trail records of a plan."""
    return {k: getattr(plan, k) for k in ("key", *EDITABLE)}


def _forget_plan_users(plan: Plan) -> None:
    """Drop the cached quotas of every district on this plan once its change commits."""
    tenant_ids = list(
        db.session.execute(
            sa.select(PlanAssignment.tenant_ref).where(
                PlanAssignment.plan_id == plan.id, PlanAssignment.ended_at.is_(None)
            )
        ).scalars()
    )
    for tenant_id in tenant_ids:
        after_commit(lambda tenant_id=tenant_id: forget_snapshot(tenant_id))


def _make_default(plan: Plan) -> None:
    """There is always exactly one default plan: the new one replaces the old."""
    db.session.execute(sa.update(Plan).where(Plan.id != plan.id).values(is_default=False))
    plan.is_default = True


@action
def create_plan(data: dict[str, Any]) -> Plan:
    """A new plan, priced Rp 0. A duration in days makes it a trial that ends that many days
    after it is assigned; `is_default` makes it the plan new districts start on."""
    values = dict(data)
    key = values["key"]
    if db.session.execute(sa.select(Plan.id).where(Plan.key == key)).scalar():
        raise field_problem(
            409, "key", Msg(f"Paket '{key}' sudah ada.", f"Plan '{key}' already exists.")
        )
    make_default = values.pop("is_default", False)
    plan = Plan(**values, price_idr=0, is_default=False)
    db.session.add(plan)
    db.session.flush()
    if make_default:
        _make_default(plan)
        db.session.flush()
    record_platform(AuditKind.config, "plan.create", "plan", plan.key, after=plan_state(plan))
    return plan


@action
def update_plan(plan: Plan, values: dict[str, Any]) -> Plan:
    """Change a plan's name, quotas, duration, default or active flag. Lower quotas refuse new
    items only; districts keep everything they have."""
    values = dict(values)
    before = plan_state(plan)
    if values.get("is_default") is False and plan.is_default:
        raise field_problem(
            422,
            "is_default",
            Msg(
                "Pilih paket lain sebagai bawaan; selalu harus ada satu.",
                "Make another plan the default instead; there is always one.",
            ),
        )
    if values.get("active") is False and (values.get("is_default") or plan.is_default):
        raise field_problem(
            422,
            "active",
            Msg(
                "Paket bawaan tidak dapat dinonaktifkan.", "The default plan cannot be deactivated."
            ),
        )
    if values.pop("is_default", False):
        _make_default(plan)
    for name, value in values.items():
        setattr(plan, name, value)
    db.session.flush()
    old, new = changes(before, plan_state(plan))
    record_platform(AuditKind.config, "plan.update", "plan", plan.key, before=old, after=new)
    _forget_plan_users(plan)
    return plan


# --- which plan a district is on ------------------------------------------------------------------


def _expiry(
    plan: Plan, expires_on: dt.date | None, start: dt.datetime, zone: str
) -> dt.date | None:
    if expires_on is not None:
        return expires_on
    if plan.duration_days:
        return district_today(start, zone) + dt.timedelta(days=plan.duration_days)
    return None


def _open_period(
    tenant: Tenant, plan: Plan, reason: str, now: dt.datetime, expires_on: dt.date | None
) -> tuple[PlanAssignment, dict[str, Any] | None]:
    """Close the district's current plan period and open one on `plan`; returns the new period
    and what the old one was (None for a district's first plan)."""
    # Serialise plan changes of one district so two admins cannot both open a period.
    db.session.execute(sa.select(sa.func.pg_advisory_xact_lock(0x504C414E, tenant.id)))
    previous = current_assignment(tenant.id)
    before = None
    if previous is not None:
        old_plan = db.session.get(Plan, previous.plan_id)
        before = {"plan": old_plan.key, "expires_on": previous.expires_on}
        previous.ended_at = now
        db.session.flush()
    actor = current_actor()
    assignment = PlanAssignment(
        tenant_ref=tenant.id,
        plan_id=plan.id,
        started_at=now,
        expires_on=_expiry(plan, expires_on, now, tenant.zone),
        reason=reason,
        actor_label=actor.label[:200],
        actor_account_id=actor.account_id,
    )
    db.session.add(assignment)
    db.session.flush()
    return assignment, before


def _now() -> dt.datetime:
    return db.session.execute(sa.select(sa.func.now())).scalar_one()


@action
def assign_plan(
    tenant: Tenant, plan: Plan, reason: str, *, expires_on: dt.date | None = None
) -> PlanAssignment:
    """Move a district to `plan` (closing its current period), with a reason kept in the plan
    history and in both audit trails. Quotas lower than current use refuse new items only:
    nothing is removed."""
    reason = (reason or "").strip()
    if not reason:
        raise field_problem(
            422,
            "reason",
            Msg("Alasan perubahan paket wajib diisi.", "A reason for the plan change is required."),
        )
    if not plan.active:
        raise field_problem(
            422,
            "plan",
            Msg(f"Paket '{plan.key}' tidak aktif lagi.", f"Plan '{plan.key}' is no longer active."),
        )
    now = _now()
    if expires_on is not None and expires_on <= district_today(now, tenant.zone):
        raise field_problem(
            422,
            "expires_on",
            Msg("Tanggal berakhir harus setelah hari ini.", "The end date must be after today."),
        )
    assignment, before = _open_period(tenant, plan, reason, now, expires_on)
    record_both(
        tenant,
        AuditKind.config,
        "plan.assign",
        "plan",
        plan.key,
        before=before,
        after={"plan": plan.key, "expires_on": assignment.expires_on},
        note=reason,
        platform_action="tenant.plan.assign",
        platform_entity=("tenant", tenant.id),
    )
    after_commit(lambda: forget_snapshot(tenant.id))
    return assignment


def assign_default_plan(tenant: Tenant) -> None:
    """Onboarding hook: a new district starts on the default plan (the onboarding is audited as
    such, so this first period is not audited on its own)."""
    ensure_standard_plans()
    if current_assignment(tenant.id) is None:
        _open_period(
            tenant, default_plan(), "Paket awal saat pendaftaran kabupaten/kota.", _now(), None
        )
