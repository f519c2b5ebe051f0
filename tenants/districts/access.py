"""Access to districts for Kemensos's routes and pages: a district by its id (404 when there is
none; `access_visible_tenant_by_id` also 404 for a district outside a provincial viewer's
province) and its lokus designations, read in the district's own context."""

from __future__ import annotations

import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.db import one_or_404
from slrt.platform.tenancy import tenant_context
from slrt.platform.tenant import NOT_FOUND, Tenant
from slrt.tenants.districts.models import LokusDesignation


def access_tenant_by_id(tenant_id: int) -> Tenant:
    return one_or_404(sa.select(Tenant).where(Tenant.id == tenant_id), NOT_FOUND)


def access_visible_tenant_by_id(tenant_id: int) -> Tenant:
    """A district the caller's platform role shows (every one for Kemensos, their province's
    for a provincial viewer), suspended ones included; any other answers 404 like a missing
    one."""
    from slrt.auth.policy import current_principal

    stmt = sa.select(Tenant).where(Tenant.id == tenant_id)
    provinces = current_principal().visible_provinces()
    if provinces is not None:
        stmt = stmt.where(Tenant.province_code.in_(sorted(provinces) or [""]))
    return one_or_404(stmt, NOT_FOUND)


def designations_of(tenant: Tenant) -> list[LokusDesignation]:
    """The district's designations, oldest first."""
    with tenant_context(tenant.ref()):
        return list(
            db.session.execute(
                sa.select(LokusDesignation).order_by(
                    LokusDesignation.year, LokusDesignation.wave, LokusDesignation.id
                )
            ).scalars()
        )
