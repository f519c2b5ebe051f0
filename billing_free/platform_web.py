"""The Kemensos console's plan pages: every plan (all Rp 0) with its quotas and how many
districts are on it (/kemensos/plans), creating and changing a plan, and a district's plan with
its history and the form that moves it to another (/kemensos/districts/<id>/plan). Reading needs
the platform's report permission (a provincial viewer sees its own province's districts);
changing needs platform.plans.manage. Every write is the billing_free action the API calls.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import redirect, render_template, url_for

from slrt.auth.permissions import PP
from slrt.auth.policy import current_principal, require
from slrt.billing_free import actions
from slrt.billing_free.access import resolve_plan_key
from slrt.billing_free.api import current_plan_body
from slrt.billing_free.models import Plan, PlanAssignment
from slrt.billing_free.plans import QUOTA_COLUMN, QUOTA_LABELS, plan_by_key
from slrt.billing_free.schemas import PlanAssignSchema, PlanSchema, PlanUpdateSchema
from slrt.platform import db
from slrt.platform.errors import Msg, Problem
from slrt.platform.web import (
    Form,
    PlatformPages,
    form_values,
    notice,
    parse_form,
    problem_form,
)
from slrt.tenants.districts.access import access_visible_tenant_by_id

bp = PlatformPages(
    "kemensos_plans",
    __name__,
    lookups={"key": plan_by_key, "tenant_id": access_visible_tenant_by_id},
)

QUOTAS = [(column, Msg(*QUOTA_LABELS[quota])) for quota, column in QUOTA_COLUMN.items()]
FLAGS = ("is_default", "active")


def _districts_per_plan() -> dict[int, int]:
    return dict(
        db.session.execute(
            sa.select(PlanAssignment.plan_id, sa.func.count())
            .where(PlanAssignment.ended_at.is_(None))
            .group_by(PlanAssignment.plan_id)
        ).all()
    )


@bp.get("/plans")
@require(PP.REPORTS_READ)
def plans():
    rows = db.session.execute(
        sa.select(Plan).order_by(Plan.is_default.desc(), Plan.name, Plan.id)
    ).scalars()
    return render_template(
        "billing_free/kemensos_plans.html",
        plans=list(rows),
        quotas=QUOTAS,
        districts=_districts_per_plan(),
        can_manage=current_principal().can(str(PP.PLANS_MANAGE)),
    )


def _plan_body(values: dict[str, Any]) -> dict[str, Any]:
    """The posted plan form as the API's JSON: checkboxes as booleans, an empty duration as
    "no end"."""
    body = {k: v for k, v in values.items() if k not in ("version", "force")}
    for flag in FLAGS:
        body[flag] = values.get(flag) == "1"
    body["duration_days"] = values.get("duration_days") or None
    return body


def _parse_plan(schema: Any, values: dict[str, Any]) -> tuple[dict[str, Any] | None, Form]:
    data, form = parse_form(schema, _plan_body(values))
    form.values = values  # shown again as typed
    return data, form


def _plan_page(plan: Plan | None, form: Form | None = None, status: int = 200, **kw: Any):
    return render_template(
        "billing_free/kemensos_plan.html",
        plan=plan,
        form=form,
        quotas=QUOTAS,
        version=plan.updated_at.isoformat() if plan else "",
        can_manage=current_principal().can(str(PP.PLANS_MANAGE)),
        **kw,
    ), status


@bp.get("/plans/new")
@require(PP.PLANS_MANAGE)
def new_plan_form():
    return _plan_page(None)


@bp.post("/plans/new")
@require(PP.PLANS_MANAGE)
def new_plan():
    data, form = _parse_plan(PlanSchema(), form_values())
    if data is None:
        return _plan_page(None, form, 422)
    try:
        plan = actions.create_plan(data)
    except Problem as exc:
        return _plan_page(None, problem_form(exc, form.values), exc.code)
    notice(Msg(f"Paket {plan.name} dibuat.", f"Plan {plan.name} was created."))
    return redirect(url_for("kemensos_plans.plans"))


@bp.get("/plans/<key>")
@require(PP.REPORTS_READ)
def plan(key: str):
    return _plan_page(plan_by_key(key))


@bp.post("/plans/<key>")
@require(PP.PLANS_MANAGE)
def change_plan(key: str):
    plan = plan_by_key(key)
    values = form_values()
    if values.get("version") != plan.updated_at.isoformat() and values.get("force") != "1":
        # Changed by someone else since this form was read: show theirs, offer to apply mine.
        return _plan_page(plan, Form(values, {}), 409, conflict=True)
    data, form = _parse_plan(PlanUpdateSchema(), values)
    if data is None:
        return _plan_page(plan, form, 422)
    try:
        actions.update_plan(plan, data)
    except Problem as exc:
        return _plan_page(plan, problem_form(exc, values), exc.code)
    notice(Msg(f"Paket {plan.name} diubah.", f"Plan {plan.name} was changed."))
    return redirect(url_for("kemensos_plans.plans"))


# --- a district's plan -------------------------------------------------------------------------


def _district_plan_page(tenant_id: int, form: Form | None = None, status: int = 200):
    tenant = access_visible_tenant_by_id(tenant_id)
    body = current_plan_body(tenant.id)
    options = db.session.execute(
        sa.select(Plan.key, Plan.name).where(Plan.active.is_(True)).order_by(Plan.name)
    ).all()
    return render_template(
        "billing_free/kemensos_district_plan.html",
        tenant=tenant,
        body=body,
        options=[(k, n) for k, n in options],
        form=form,
        can_manage=current_principal().can(str(PP.PLANS_MANAGE)),
    ), status


@bp.get("/districts/<int:tenant_id>/plan")
@require(PP.REPORTS_READ)
def district_plan(tenant_id: int):
    return _district_plan_page(tenant_id)


@bp.post("/districts/<int:tenant_id>/plan")
@require(PP.PLANS_MANAGE)
def assign_plan(tenant_id: int):
    tenant = access_visible_tenant_by_id(tenant_id)
    data, form = parse_form(PlanAssignSchema())
    if data is None:
        return _district_plan_page(tenant_id, form, 422)
    try:
        plan = resolve_plan_key(data["plan"])
        actions.assign_plan(tenant, plan, data["reason"], expires_on=data.get("expires_on"))
    except Problem as exc:
        return _district_plan_page(tenant_id, problem_form(exc, form.values), exc.code)
    notice(
        Msg(
            f"{tenant.name} kini memakai paket {plan.name}.",
            f"{tenant.name} is now on {plan.name}.",
        )
    )
    return redirect(url_for("kemensos_plans.district_plan", tenant_id=tenant.id))
