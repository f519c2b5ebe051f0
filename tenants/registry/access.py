"""Access to households and persons: the current district's rows inside the caller's region, or
404 (a foreign id, an out-of-region id and a missing id look alike)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from slrt.auth.policy import current_principal
from slrt.platform.db import one_or_404, reuse_in_request
from slrt.platform.errors import Msg
from slrt.tenants.registry.models import Household, Person

PERSON_NOT_FOUND = Msg("Orang tidak ditemukan.", "Person not found.")
HOUSEHOLD_NOT_FOUND = Msg("Keluarga (KK) tidak ditemukan.", "Household not found.")


# Built once, the id bound at execution: the person read is the commonest request there is.
_PERSON_BY_ID = sa.select(Person).where(Person.id == sa.bindparam("row_id"))
_HOUSEHOLD_BY_ID = sa.select(Household).where(Household.id == sa.bindparam("row_id"))


@reuse_in_request
def access_person_by_id(person_id: uuid.UUID, *, lock: bool = False) -> Person:
    stmt = current_principal().in_region(_PERSON_BY_ID, Person.village_code)
    return one_or_404(stmt, PERSON_NOT_FOUND, lock=lock, params={"row_id": person_id})


@reuse_in_request
def access_household_by_id(household_id: uuid.UUID, *, lock: bool = False) -> Household:
    stmt = current_principal().in_region(_HOUSEHOLD_BY_ID, Household.village_code)
    return one_or_404(stmt, HOUSEHOLD_NOT_FOUND, lock=lock, params={"row_id": household_id})
