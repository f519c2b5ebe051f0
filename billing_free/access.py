"""Access from Kemensos's billing routes: a district the caller's platform role shows (every
district for Kemensos, their province's for a provincial viewer), suspended ones included, and
404 for any other, exactly like an unknown slug; and the plan a request body names (422)."""

from __future__ import annotations

import sqlalchemy as sa

from slrt.auth.policy import current_principal
from slrt.billing_free.models import Plan
from slrt.platform import db
from slrt.platform.db import one_or_404
from slrt.platform.errors import Msg, field_problem
from slrt.platform.tenant import NOT_FOUND, Tenant


def access_visible_tenant_by_slug(slug: str) -> Tenant:
    stmt = sa.select(Tenant).where(Tenant.slug == slug)
    provinces = current_principal().visible_provinces()
    if provinces is not None:
        stmt = stmt.where(Tenant.province_code.in_(sorted(provinces)))
    return one_or_404(stmt, NOT_FOUND)


def resolve_plan_key(key: str, *, field: str = "plan") -> Plan:
    """For request bodies: the plan a key names, or 422 naming the field."""
    plan = db.session.execute(sa.select(Plan).where(Plan.key == key)).scalar_one_or_none()
    if plan is None:
        raise field_problem(
            422, field, Msg(f"Paket '{key}' tidak ada.", f"There is no plan '{key}'.")
        )
    return plan
