"""Access to a district's agencies (OPD): `access_agency_by_id` (404 for missing and foreign
alike) and `resolve_agency_id`, the active agency a request body names (422 naming the field)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.db import one_or_404, reuse_in_request
from slrt.platform.errors import Msg, field_problem
from slrt.tenants.agencies.models import Agency

AGENCY_NOT_FOUND = Msg("OPD tidak ditemukan.", "Agency not found.")


@reuse_in_request
def access_agency_by_id(agency_id: uuid.UUID) -> Agency:
    """The current district's agency with this id; another district's id answers 404."""
    return one_or_404(sa.select(Agency).where(Agency.id == agency_id), AGENCY_NOT_FOUND)


def resolve_agency_id(agency_id: uuid.UUID | None, *, field: str = "agency_id") -> Agency:
    """For request bodies: the active agency an id names, or 422 naming the field."""
    agency = (
        db.session.execute(sa.select(Agency).where(Agency.id == agency_id)).scalar_one_or_none()
        if agency_id
        else None
    )
    if agency is None or not agency.active:
        message = (
            Msg("OPD tidak ditemukan di kabupaten/kota ini.", "No such agency in this district.")
            if agency is None
            else Msg(f"OPD '{agency.name}' tidak aktif.", f"Agency '{agency.name}' is inactive.")
        )
        raise field_problem(422, field, message)
    return agency
