"""Shared pieces of the service-flow API: the blueprint class, pagination, village checks and
the access helpers that apply tenant, region and agency scope (anything out of scope is 404).
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from flask import request
from flask_smorest import Blueprint

from slrt.auth.policy import current_principal
from slrt.platform import db, regions
from slrt.platform.api import TenantBlueprint
from slrt.platform.errors import Msg, Problem
from slrt.platform.tenancy import current_tenant
from slrt.tenants.cases import Case, Referral
from slrt.tenants.registry import Household, Person


class FlowBlueprint(TenantBlueprint):
    def _check_precondition(self) -> None:
        """flask-smorest checks If-Match before the view; `check_if_match` does it inside the view,
        after authorization and the access helper, so strangers and foreign ids see 404."""


def check_if_match(blp: Blueprint, obj: Any, schema: Any) -> None:
    if not request.if_match:
        raise Problem(
            428,
            Msg(
                "Kirim header If-Match berisi ETag yang Anda baca terakhir.",
                "Send an If-Match header with the ETag you last read.",
            ),
        )
    blp.check_etag(obj, schema)


def page_of(stmt: sa.Select, pagination_parameters: Any, *order_by: Any) -> list[Any]:
    total = db.session.execute(
        sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())
    ).scalar()
    pagination_parameters.item_count = total
    stmt = (
        stmt.order_by(*order_by)
        .offset(pagination_parameters.first_item)
        .limit(pagination_parameters.page_size)
    )
    return list(db.session.execute(stmt).scalars())


def field_problem(status: int, field: str, message: Msg) -> Problem:
    return Problem(
        status, errors=[{"field": field, "message": str(message), "message_en": message.en}]
    )


def check_village(code: str, field: str = "village_code") -> str:
    """A desa/kelurahan of the current district inside the caller's region, else 422/403."""
    code = (code or "").strip()
    tenant = current_tenant()
    try:
        from slrt.tenants.regions import village_by_code  # district configuration (issue 4)
    except ImportError:  # pragma: no cover - before the configuration module lands
        village_by_code = None
    if village_by_code is not None:
        village = village_by_code(code)
        known = village is not None and village.active
    else:
        known = bool(regions.VILLAGE_RE.match(code)) and regions.name_of(code) is not None
    if not known or not code.startswith(tenant.code + "."):
        raise field_problem(
            422,
            field,
            Msg(
                f"Kode desa/kelurahan '{code}' tidak ada di {tenant.name}.",
                f"Village code '{code}' does not exist in {tenant.name}.",
            ),
        )
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


def kecamatan_of(village_code: str) -> str:
    return village_code[:8]


def village_name(code: str | None) -> str | None:
    return regions.name_of(code) if code else None


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
        # An officer bound to no agency sees nothing rather than everything.
        stmt = stmt.where(Referral.agency_id == principal.agency_id)
    return stmt


def access_referral_by_id(referral_id: uuid.UUID, *, lock: bool = False) -> Referral:
    return _one(
        referral_scope(sa.select(Referral).where(Referral.id == referral_id)), "referral", lock
    )
