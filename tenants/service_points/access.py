"""Access to service points (the district SLRT secretariat and the village Puskesos units):
`access_service_point_by_id` (404 for missing and foreign alike) and `active_puskesos_in`.

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
