"""Shared pieces of the service-flow API: village checks and names, and the access helpers that
apply tenant, region and agency scope (anything out of scope is 404)."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from flask import g

from slrt.auth.policy import current_principal
from slrt.platform import db, regions
from slrt.platform.api import PATH_LOOKUPS
from slrt.platform.errors import Msg, Problem, field_problem
from slrt.tenants.cases import Case, Referral
from slrt.tenants.regions import Village, resolve_village_code
from slrt.tenants.registry import Household, Person


def check_village(code: str, field: str = "village_code") -> str:
    """An active desa/kelurahan of the current district inside the caller's region (422/403)."""
    code = resolve_village_code((code or "").strip(), field=field).code
    if not current_principal().covers(code):
        raise field_problem(
            403,
            field,
            Msg(
                f"Desa/kelurahan {code} di luar wilayah tugas Anda.",
                f"Village {code} is outside your region.",
            ),
        )
    return code


def village_name(code: str | None) -> str | None:
    """The district's own name for a village (renamed and local villages included), loaded once
    per request for all villages so list views stay one query."""
    if not code:
        return None
    names = g.get("flow_village_names")
    if names is None:
        names = dict(db.session.execute(sa.select(Village.code, Village.name)).all())
        g.flow_village_names = names
    return names.get(code) or regions.name_of(code)


# --- access helpers: one per kind of record, region (and agency) scope applied ------------------

NOT_FOUND = {
    "person": Msg("Orang tidak ditemukan.", "Person not found."),
    "household": Msg("Keluarga (KK) tidak ditemukan.", "Household not found."),
    "case": Msg("Kasus tidak ditemukan.", "Case not found."),
    "referral": Msg("Rujukan tidak ditemukan.", "Referral not found."),
}


def _one(stmt: sa.Select, what: str, lock: bool) -> Any:
    if lock:
        stmt = stmt.with_for_update()
    obj = db.session.execute(stmt).scalar_one_or_none()
    if obj is None:
        raise Problem(404, NOT_FOUND[what])
    return obj


def access_person_by_id(person_id: uuid.UUID, *, lock: bool = False) -> Person:
    principal = current_principal()
    stmt = sa.select(Person).where(
        Person.id == person_id, principal.region_clause(Person.village_code)
    )
    return _one(stmt, "person", lock)


def access_household_by_id(household_id: uuid.UUID, *, lock: bool = False) -> Household:
    principal = current_principal()
    stmt = sa.select(Household).where(
        Household.id == household_id, principal.region_clause(Household.village_code)
    )
    return _one(stmt, "household", lock)


def case_scope(stmt: sa.Select) -> sa.Select:
    return stmt.where(current_principal().region_clause(Case.village_code))


def access_case_by_id(case_id: uuid.UUID, *, lock: bool = False) -> Case:
    return _one(case_scope(sa.select(Case).where(Case.id == case_id)), "case", lock)


def referral_scope(stmt: sa.Select) -> sa.Select:
    """Region scope, and for agency officers only their agency's referrals."""
    principal = current_principal()
    stmt = stmt.where(principal.region_clause(Referral.village_code))
    if principal.agency_id is not None or principal.role_key == "agency_officer":
        # An officer bound to no agency sees nothing rather than everything; a referral reaches
        # the agency when it is sent, not when it is decided.
        stmt = stmt.where(Referral.agency_id == principal.agency_id, Referral.status != "pending")
    return stmt


def access_referral_by_id(referral_id: uuid.UUID, *, lock: bool = False) -> Referral:
    return _one(
        referral_scope(sa.select(Referral).where(Referral.id == referral_id)), "referral", lock
    )


# Path ids are resolved before request bodies are validated (slrt.platform.api): a foreign or
# out-of-region id answers 404 whatever the body.
PATH_LOOKUPS.update(
    household_id=access_household_by_id,
    person_id=access_person_by_id,
    case_id=access_case_by_id,
    referral_id=access_referral_by_id,
)
