"""Access to districts from Kemensos's billing routes: a district the caller's platform role
shows (every district for Kemensos, their province's for a provincial viewer), suspended ones
included; 404 for any other, exactly like an unknown slug."""

from __future__ import annotations

import sqlalchemy as sa

from slrt.auth.policy import current_principal
from slrt.platform.db import one_or_404
from slrt.platform.tenant import NOT_FOUND, Tenant


def access_visible_tenant_by_slug(slug: str) -> Tenant:
    stmt = sa.select(Tenant).where(Tenant.slug == slug)
    provinces = current_principal().visible_provinces()
    if provinces is not None:
        stmt = stmt.where(Tenant.province_code.in_(sorted(provinces)))
    return one_or_404(stmt, NOT_FOUND)
