"""Access to a district's kecamatan and desa/kelurahan, and the helpers other features resolve
villages with: `access_kecamatan_by_id`, `access_village_by_id`, `access_village_by_code` (404
for missing and foreign alike), `resolve_village_code` (422 naming the field), `check_village`
(also 403 outside the caller's region), `villages_in_scope`, `village_facts` and `village_name`.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from slrt.auth.policy import current_principal
from slrt.platform import db, region_codes
from slrt.platform.api import like_pattern
from slrt.platform.db import one_or_404, reuse_in_request
from slrt.platform.errors import Msg, field_problem
from slrt.platform.freshness import LocalCache, watch
from slrt.platform.tenancy import current_tenant
from slrt.tenants.regions.models import Kecamatan, Village

# --- access helpers -------------------------------------------------------------------------

VILLAGE_NOT_FOUND = Msg("Desa/kelurahan tidak ditemukan.", "Village not found.")

KECAMATAN_NOT_FOUND = Msg("Kecamatan tidak ditemukan.", "Kecamatan not found.")


@reuse_in_request
def access_kecamatan_by_id(kecamatan_id: uuid.UUID) -> Kecamatan:
    return one_or_404(sa.select(Kecamatan).where(Kecamatan.id == kecamatan_id), KECAMATAN_NOT_FOUND)


def kecamatan_by_code(code: str) -> Kecamatan | None:
    return db.session.execute(
        sa.select(Kecamatan).where(Kecamatan.code == code)
    ).scalar_one_or_none()


@reuse_in_request
def access_village_by_id(village_id: uuid.UUID) -> Village:
    """The current district's village with this id; another district's id answers 404."""
    return one_or_404(sa.select(Village).where(Village.id == village_id), VILLAGE_NOT_FOUND)


def _village_with_code(code: str) -> sa.Select:
    return sa.select(Village).where(Village.code == (code or "").strip())


def village_by_code(code: str) -> Village | None:
    return db.session.execute(_village_with_code(code)).scalar_one_or_none()


def access_village_by_code(code: str) -> Village:
    """The current district's village with this Kemendagri code (404 if it has none)."""
    return one_or_404(_village_with_code(code), VILLAGE_NOT_FOUND)


def resolve_village_code(
    code: str, *, field: str = "village_code", active_only: bool = True
) -> Village:
    """For request bodies: the village a submitted code names, or 422 naming the field."""
    village = village_by_code(code)
    if village is None or (active_only and not village.active):
        district = current_tenant().name
        if village is None:
            message = Msg(
                f"Kode desa/kelurahan '{code}' tidak ada di {district}.",
                f"Village code '{code}' does not exist in {district}.",
            )
        else:
            message = Msg(
                f"Desa/kelurahan {village.code} {village.name} sudah tidak aktif.",
                f"Village {village.code} {village.name} is deactivated.",
            )
        raise field_problem(422, field, message)
    return village


def village_version(village: Village) -> str:
    """A short token of the village as last changed, carried by forms that change several
    villages at once to notice a change made meanwhile (like an ETag)."""
    return f"{int(village.updated_at.timestamp() * 1_000_000):x}"


def villages_query(query: dict[str, Any]) -> sa.Select:
    """The district's villages a list asks for (API and pages alike): by kecamatan (code or
    id), kind, intervention, funding source, active, source, part of the name or code, and
    `mine` (inside the caller's region)."""
    stmt = sa.select(Village)
    if query.get("kecamatan"):
        stmt = stmt.where(Village.code.like(query["kecamatan"] + ".%"))
    if query.get("kecamatan_id"):
        stmt = stmt.where(Village.kecamatan_id == query["kecamatan_id"])
    if query.get("kind"):
        stmt = stmt.where(Village.kind == query["kind"])
    if query.get("intervention") is not None:
        stmt = stmt.where(Village.is_intervention.is_(query["intervention"]))
    if query.get("funding_source"):
        stmt = stmt.where(Village.funding_source == query["funding_source"])
    if query.get("active") is not None:
        stmt = stmt.where(Village.active.is_(query["active"]))
    if query.get("source"):
        stmt = stmt.where(Village.source == query["source"])
    if query.get("q"):
        pattern = like_pattern(query["q"])
        stmt = stmt.where(sa.or_(Village.name.ilike(pattern), Village.code.like(pattern)))
    if query.get("mine"):
        stmt = stmt.where(current_principal().region_clause(Village.code))
    return stmt


def villages_in_scope(principal: Any, *, active_only: bool = True) -> sa.Select:
    """SELECT of the villages inside the caller's region scope (whole district, some kecamatan
    or some villages), ordered by code."""
    stmt = sa.select(Village).where(principal.region_clause(Village.code))
    if active_only:
        stmt = stmt.where(Village.active.is_(True))
    return stmt.order_by(Village.code)


def village_facts(village: Village | None) -> dict[str, Any]:
    """The village facts the eligibility rules know (see tenants.rule_fields)."""
    if village is None:
        return {"village_is_intervention": None, "village_kind": None}
    return {"village_is_intervention": village.is_intervention, "village_kind": village.kind}


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


# Each district's village names, kept in the process (slrt.platform.freshness: a rename or a new
# local village is seen on the next request): showing a record names its village without a query.
_NAMES: LocalCache[int, dict[str, str]] = LocalCache("village-names", max_entries=1024)
watch(Village.__tablename__)


def village_name(code: str | None) -> str | None:
    """The district's own name for a village (renamed and local villages included)."""
    if not code:
        return None
    names = _NAMES.get(
        current_tenant().id,
        lambda: dict(db.session.execute(sa.select(Village.code, Village.name)).all()),
    )
    return names.get(code) or region_codes.name_of(code)
