"""Access to service points (the district SLRT secretariat and the village Puskesos units):
`access_service_point_by_id` (404 for missing and foreign alike), `active_puskesos_in` and
`staff_query` (who works at one).

Their staff are memberships (auth): a Puskesos's staff are the members whose region scope is
its village.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.db import one_or_404, reuse_in_request
from slrt.platform.errors import Msg
from slrt.tenants.service_points.models import ServicePoint, ServicePointKind

SERVICE_POINT_NOT_FOUND = Msg("Titik layanan tidak ditemukan.", "Service point not found.")


@reuse_in_request
def access_service_point_by_id(service_point_id: uuid.UUID) -> ServicePoint:
    return one_or_404(
        sa.select(ServicePoint).where(ServicePoint.id == service_point_id), SERVICE_POINT_NOT_FOUND
    )


def active_puskesos_in(village_id: uuid.UUID) -> ServicePoint | None:
    return db.session.execute(
        sa.select(ServicePoint).where(
            ServicePoint.kind == ServicePointKind.puskesos,
            ServicePoint.village_id == village_id,
            ServicePoint.active.is_(True),
        )
    ).scalar_one_or_none()


def staff_query(point: ServicePoint) -> sa.Select:
    """Who works at a service point, as (Membership, Account, Role) rows by name: for a
    Puskesos, the active members whose region scope is its village; for the secretariat, the
    active members scoped to the whole district."""
    from slrt.auth.accounts.models import Account
    from slrt.auth.memberships.models import Membership, MembershipStatus, Role
    from slrt.tenants.regions.models import Village

    stmt = (
        sa.select(Membership, Account, Role)
        .join(Account, Account.id == Membership.account_id)
        .join(Role, sa.and_(Role.tenant_id == Membership.tenant_id, Role.id == Membership.role_id))
        .where(Membership.status == MembershipStatus.active)
    )
    if point.kind == ServicePointKind.puskesos:
        code = db.session.execute(
            sa.select(Village.code).where(Village.id == point.village_id)
        ).scalar_one()
        stmt = stmt.where(
            Membership.scope_kind == "village", sa.literal(code) == sa.any_(Membership.scope_codes)
        )
    else:
        stmt = stmt.where(Membership.scope_kind == "district")
    return stmt.order_by(Account.name, Membership.id)
