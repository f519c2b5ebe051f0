"""The national program catalog, kept by Kemensos: /api/v1/platform/programs, and rule tools
for catalog editors (/api/v1/platform/rule-fields, /api/v1/platform/rules/check)."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from marshmallow import fields

from slrt.auth.permissions import PP
from slrt.auth.policy import require
from slrt.platform.api import (
    PlatformBlueprint,
    Schema,
    Text,
    bool_arg,
    check_if_match,
    like_pattern,
    nullable_as,
    page_of,
)
from slrt.tenants.programs import actions
from slrt.tenants.programs.access import access_national_program_by_id
from slrt.tenants.programs.api import (
    FUNDING,
    SECTOR,
    CatalogChangeFieldsSchema,
    CatalogCreateFieldsSchema,
    CatalogFieldsSchema,
)
from slrt.tenants.programs.models import NationalProgram
from slrt.tenants.programs.rule_schemas import (
    RuleCheckResultSchema,
    RuleCheckSchema,
    RuleFieldSchema,
    check_rule,
    rule_field_rows,
)

blp = PlatformBlueprint(
    "catalog", __name__, "/platform", description="Kemensos: the national program catalog"
)


@nullable_as(NationalProgram)
class NationalProgramSchema(CatalogFieldsSchema):
    id = fields.UUID(dump_only=True)


class NationalProgramCreateSchema(CatalogCreateFieldsSchema):
    funding = Text(load_default="apbn", validate=FUNDING)


class NationalProgramUpdateSchema(CatalogChangeFieldsSchema):
    active = fields.Boolean()


class NationalQuerySchema(Schema):
    sector = Text(validate=SECTOR)
    active = bool_arg()
    q = Text()


@blp.route("/programs")
@blp.arguments(NationalQuerySchema, location="query")
@blp.response(200, NationalProgramSchema(many=True))
@blp.paginate()
@require(PP.CATALOG_MANAGE)
def list_catalog(query: dict, pagination_parameters) -> list[NationalProgram]:
    """The national catalog by code; filter by sector and active."""
    stmt = sa.select(NationalProgram)
    if query.get("sector"):
        stmt = stmt.where(NationalProgram.sector == query["sector"])
    if query.get("active") is not None:
        stmt = stmt.where(NationalProgram.active.is_(query["active"]))
    if query.get("q"):
        pattern = like_pattern(query["q"])
        stmt = stmt.where(
            sa.or_(NationalProgram.name.ilike(pattern), NationalProgram.code.ilike(pattern))
        )
    return page_of(stmt, pagination_parameters, NationalProgram.code, NationalProgram.id)


@blp.route("/programs", methods=["POST"])
@blp.arguments(NationalProgramCreateSchema)
@blp.response(201, NationalProgramSchema)
@require(PP.CATALOG_MANAGE)
def create_catalog_program(data: dict) -> NationalProgram:
    """Add a national program (districts can then enable it)."""
    return actions.create_national_program(data)


@blp.route("/programs/<uuid:national_program_id>")
@blp.etag
@blp.response(200, NationalProgramSchema)
@require(PP.CATALOG_MANAGE)
def get_catalog_program(national_program_id: uuid.UUID) -> NationalProgram:
    """One national program."""
    return access_national_program_by_id(national_program_id)


@blp.route("/programs/<uuid:national_program_id>", methods=["PATCH"])
@blp.etag
@blp.arguments(NationalProgramUpdateSchema)
@blp.response(200, NationalProgramSchema)
@require(PP.CATALOG_MANAGE)
def patch_catalog_program(data: dict, national_program_id: uuid.UUID) -> NationalProgram:
    """Change a national program (send If-Match). Every district that enabled it gets a new
    version of its copy (a district's own deadline is kept); referrals keep their version."""
    program = access_national_program_by_id(national_program_id)
    check_if_match(blp, program, NationalProgramSchema)
    actions.update_national_program(program, data)
    return program


@blp.route("/rule-fields")
@blp.response(200, RuleFieldSchema(many=True))
@require(PP.CATALOG_MANAGE)
def catalog_rule_fields() -> list[dict[str, Any]]:
    """The facts an eligibility rule may test."""
    return rule_field_rows()


@blp.route("/rules/check", methods=["POST"])
@blp.arguments(RuleCheckSchema)
@blp.response(200, RuleCheckResultSchema)
@require(PP.CATALOG_MANAGE)
def catalog_check_rule(data: dict) -> dict[str, Any]:
    """Validate a rule and optionally evaluate it for a set of facts; nothing is stored."""
    return check_rule(data)
