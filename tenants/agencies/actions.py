"""The writes to a district's agencies (OPD): adding one and changing or deactivating it. Agencies
are never deleted: programs, referrals and officers keep pointing at them."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.audit.record import apply_and_audit, create_and_audit
from slrt.platform.errors import Msg, field_problem
from slrt.platform.transaction import action
from slrt.tenants.agencies.models import Agency

FIELDS = ("name", "kind", "contact_name", "phone", "email", "address", "active")


def _unique_name(name: str, exclude: uuid.UUID | None = None) -> None:
    stmt = sa.select(Agency.id).where(sa.func.lower(Agency.name) == name.lower())
    if exclude is not None:
        stmt = stmt.where(Agency.id != exclude)
    if db.session.execute(stmt).first() is not None:
        raise field_problem(
            409,
            "name",
            Msg(f"OPD bernama '{name}' sudah ada.", f"An agency named '{name}' already exists."),
        )


def _refuse_if_handling_programs(agency: Agency) -> None:
    """An agency still handling active programs cannot go: referrals would have nowhere to go."""
    from slrt.tenants.programs.models import Program

    codes = list(
        db.session.execute(
            sa.select(Program.code)
            .where(Program.agency_id == agency.id, Program.active.is_(True))
            .order_by(Program.code)
        ).scalars()
    )
    if codes:
        listed = ", ".join(codes)
        raise field_problem(
            409,
            "active",
            Msg(
                f"{agency.name} masih menangani program aktif ({listed}); "
                "alihkan ke OPD lain terlebih dahulu.",
                f"{agency.name} still handles active programs ({listed}); "
                "map them to another agency first.",
            ),
        )


@action
def create_agency(data: dict[str, Any]) -> Agency:
    """A new, active agency; its name is unique in the district (case aside)."""
    _unique_name(data["name"])
    return create_and_audit(Agency(active=True, **data), FIELDS, "agency.create")


@action
def update_agency(agency: Agency, data: dict[str, Any]) -> Agency:
    """Change an agency, or deactivate it once it handles no active program."""
    if "name" in data:
        _unique_name(data["name"], exclude=agency.id)
    if data.get("active") is False and agency.active:
        _refuse_if_handling_programs(agency)
    apply_and_audit(agency, data, FIELDS, "agency.update")
    return agency
