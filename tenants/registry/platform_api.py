"""Kemensos view of NIKs registered in several districts: /api/v1/nik-signals.

Built only from `nik_registrations` (keyed hash x district code): it says how many districts and
which ones, never a name, a NIK or a record of any district.
"""

from __future__ import annotations

import sqlalchemy as sa
from marshmallow import fields
from sqlalchemy.dialects import postgresql

from slrt.auth.permissions import PP
from slrt.auth.policy import current_principal, require
from slrt.platform import db
from slrt.platform.api import PlatformBlueprint, Schema, Text
from slrt.platform.errors import Problem, field_errors
from slrt.platform.region_codes import REGENCY_CODE
from slrt.tenants.registry.models import NikRegistration
from slrt.tenants.registry.nik import nik_hash, nik_problems

blp = PlatformBlueprint(
    "nik_signals", __name__, "/nik-signals", description="NIKs registered in several districts"
)


class SignalSchema(Schema):
    nik_hash = Text(dump_only=True)
    district_count = fields.Integer(dump_only=True)
    district_codes = fields.List(Text(), dump_only=True)


class SignalQuerySchema(Schema):
    district_code = Text(validate=REGENCY_CODE)


class LookupSchema(Schema):
    nik = Text(required=True)


def signals_query() -> sa.Select:
    """Registrations per NIK hash; a provincial viewer sees only its province's districts."""
    codes = sa.func.array_agg(
        postgresql.aggregate_order_by(NikRegistration.district_code, NikRegistration.district_code)
    )
    stmt = sa.select(
        NikRegistration.nik_hash,
        sa.func.count().label("district_count"),
        codes.label("district_codes"),
    ).group_by(NikRegistration.nik_hash)
    provinces = current_principal().visible_provinces()
    if provinces is not None:
        stmt = stmt.where(
            sa.or_(*(NikRegistration.district_code.like(p + ".%") for p in provinces))
            if provinces
            else sa.false()
        )
    return stmt


def shared_niks(district_code: str | None = None) -> sa.Select:
    """NIK hashes registered in more than one district (optionally: involving one district)."""
    stmt = signals_query().having(sa.func.count() > 1)
    if district_code:
        stmt = stmt.having(sa.func.bool_or(NikRegistration.district_code == district_code))
    return stmt


@blp.route("")
@blp.arguments(SignalQuerySchema, location="query")
@blp.response(200, SignalSchema(many=True))
@blp.paginate()
@require(PP.REPORTS_READ)
@db.reads_from_replica
def list_signals(query: dict, pagination_parameters) -> list[dict]:
    """NIK hashes registered in more than one district (optionally: involving one district)."""
    sub = shared_niks(query.get("district_code")).subquery()
    pagination_parameters.item_count = db.session.execute(
        sa.select(sa.func.count()).select_from(sub)
    ).scalar()
    rows = db.session.execute(
        sa.select(sub)
        .order_by(sub.c.nik_hash)
        .offset(pagination_parameters.first_item)
        .limit(pagination_parameters.page_size)
    ).all()
    return [dict(r._mapping) for r in rows]


@blp.route("/lookup", methods=["POST"])
@blp.arguments(LookupSchema)
@blp.response(200, SignalSchema)
@require(PP.REPORTS_READ)
def lookup(data: dict) -> dict:
    """In how many districts (and which) is this NIK registered? Only the hash is compared."""
    return nik_signal(data["nik"])


def nik_signal(nik: str) -> dict:
    """In how many districts (and which) one NIK is registered, by its keyed hash (422 for a
    malformed NIK)."""
    problems = nik_problems(nik)
    if problems:
        raise Problem(422, errors=field_errors("nik", problems))
    digest = nik_hash(nik.strip())
    row = db.session.execute(signals_query().where(NikRegistration.nik_hash == digest)).first()
    if row is None:
        return {"nik_hash": digest, "district_count": 0, "district_codes": []}
    return dict(row._mapping)
