"""The writes to a district's service points: adding the SLRT secretariat or a Puskesos, and
changing or (de)activating one. One active secretariat per district and one active Puskesos per
village; a Puskesos takes a unit of the plan's Puskesos quota while it is active."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from slrt.billing_free.plans import Quota
from slrt.billing_free.quotas import check_count
from slrt.platform import db
from slrt.platform.audit.record import apply_and_audit, create_and_audit
from slrt.platform.errors import Msg, field_problem
from slrt.platform.transaction import action
from slrt.tenants.regions.models import Village
from slrt.tenants.service_points.models import ServicePoint, ServicePointKind

FIELDS = (
    "kind",
    "name",
    "village_id",
    "address",
    "phone",
    "decree_number",
    "decree_date",
    "opened_on",
    "active",
)


def _check(point: ServicePoint) -> None:
    """Validate the state a create or update would leave (before writing anything)."""
    village = None
    if point.village_id is not None:
        village = db.session.execute(
            sa.select(Village).where(Village.id == point.village_id)
        ).scalar_one_or_none()
        if village is None:
            raise field_problem(
                422,
                "village_id",
                Msg(
                    "Desa/kelurahan tidak ditemukan di kabupaten/kota ini.", "No such village here."
                ),
            )
    if point.kind == ServicePointKind.puskesos and village is None:
        raise field_problem(
            422,
            "village_id",
            Msg("Puskesos harus berada di satu desa/kelurahan.", "A Puskesos needs its village."),
        )
    if not point.active:
        return
    if village is not None and not village.active:
        raise field_problem(
            422,
            "village_id",
            Msg(f"{village.name} sudah tidak aktif.", f"{village.name} is deactivated."),
        )
    clash = sa.select(ServicePoint).where(
        ServicePoint.active.is_(True), ServicePoint.kind == point.kind
    )
    if point.id is not None:
        clash = clash.where(ServicePoint.id != point.id)
    if point.kind == ServicePointKind.secretariat:
        other = db.session.execute(clash).scalars().first()
        if other is not None:
            raise field_problem(
                409,
                "kind",
                Msg(
                    f"Sekretariat SLRT aktif sudah ada ({other.name}); nonaktifkan dulu.",
                    f"An active SLRT secretariat already exists ({other.name}); deactivate it first.",
                ),
            )
    else:
        other = (
            db.session.execute(clash.where(ServicePoint.village_id == point.village_id))
            .scalars()
            .first()
        )
        if other is not None:
            raise field_problem(
                409,
                "village_id",
                Msg(
                    f"{village.name} sudah memiliki Puskesos aktif ({other.name}).",
                    f"{village.name} already has an active Puskesos ({other.name}).",
                ),
            )


@action
def create_service_point(data: dict[str, Any]) -> ServicePoint:
    point = ServicePoint(active=True, **data)
    _check(point)
    if point.kind == ServicePointKind.puskesos:
        check_count(Quota.PUSKESOS)  # the plan's Puskesos units (403 naming limit and use)
    return create_and_audit(point, FIELDS, "service_point.create")


@action
def update_service_point(point: ServicePoint, data: dict[str, Any]) -> ServicePoint:
    with db.session.no_autoflush:
        counted = point.kind == ServicePointKind.puskesos and point.active
        for key, value in data.items():
            setattr(point, key, value)
        _check(point)
        if not counted and point.kind == ServicePointKind.puskesos and point.active:
            check_count(Quota.PUSKESOS)  # reactivating or turning into a Puskesos takes a unit
    db.session.expire(point)  # let apply_and_audit see the stored state as "before"
    apply_and_audit(point, data, FIELDS, "service_point.update")
    return point
