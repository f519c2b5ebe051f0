"""Agencies (OPD) of a district: the offices that receive referrals to their programs.

Agency officers are memberships bound to an agency (memberships.agency_id, a composite foreign
key into this table), so an officer can only ever be bound to an agency of the same district.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.errors import Msg, Problem, field_problem
from slrt.tenants.agencies.models import Agency

AGENCY_NOT_FOUND = Msg("OPD tidak ditemukan.", "Agency not found.")


def access_agency_by_id(agency_id: uuid.UUID) -> Agency:
    """The current district's agency with this id; another district's id answers 404."""
    agency = db.session.execute(
        sa.select(Agency).where(Agency.id == agency_id)
    ).scalar_one_or_none()
    if agency is None:
        raise Problem(404, AGENCY_NOT_FOUND)
    return agency


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
