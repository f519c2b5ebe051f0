"""Access to districts for Kemensos's routes: a district by its id (404 when there is none) and
its lokus designations, read in the district's own context."""

from __future__ import annotations

import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.db import one_or_404
from slrt.platform.tenancy import tenant_context
from slrt.platform.tenant import NOT_FOUND, Tenant
from slrt.tenants.districts.models import LokusDesignation


def access_tenant_by_id(tenant_id: int) -> Tenant:
    return one_or_404(sa.select(Tenant).where(Tenant.id == tenant_id), NOT_FOUND)


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
