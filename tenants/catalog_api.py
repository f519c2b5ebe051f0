"""The national program catalog, kept by Kemensos: /api/v1/platform/programs, and rule tools
for catalog editors (/api/v1/platform/rule-fields, /api/v1/platform/rules/check)."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from marshmallow import fields, validate, validates_schema
from marshmallow.exceptions import ValidationError

from slrt.auth.permissions import PP
from slrt.auth.policy import require
from slrt.platform import db
from slrt.platform.api import (
    PlatformBlueprint,
    Schema,
    Text,
    bool_arg,
    check_if_match,
    like_pattern,
    page_of,
)
from slrt.platform.errors import Msg
from slrt.tenants.programs import (
    NationalProgram,
    access_national_program_by_id,
    create_national_program,
    update_national_program,
)
from slrt.tenants.programs_api import CODE, FUNDING, SECTOR, CatalogFieldsSchema
from slrt.tenants.rules_api import (
    RuleCheckResultSchema,
    RuleCheckSchema,
    RuleFieldSchema,
    check_rule,
    parse_rule_or_422,
    rule_field_rows,
)

blp = PlatformBlueprint(
    "catalog", __name__, "/platform", description="Kemensos: the national program catalog"
)


class NationalProgramSchema(CatalogFieldsSchema):
    id = fields.UUID(dump_only=True)


class NationalProgramCreateSchema(Schema):
    code = Text(required=True, validate=CODE)
    name = Text(required=True, validate=validate.Length(min=2, max=200))
    description = Text(validate=validate.Length(max=4000), allow_none=True)
    sector = Text(required=True, validate=SECTOR)
    owner = Text(required=True, validate=validate.Length(min=2, max=200))
    funding = Text(load_default="apbn", validate=FUNDING)
    required_documents = fields.List(
        Text(validate=validate.Length(min=1, max=120)),
        load_default=list,
        validate=validate.Length(max=30),
    )
    deadline_days = fields.Integer(required=True, validate=validate.Range(min=1, max=365))
    rule_text = Text(validate=validate.Length(max=2000), allow_none=True)


class NationalProgramUpdateSchema(Schema):
    name = Text(validate=validate.Length(min=2, max=200))
    description = Text(validate=validate.Length(max=4000), allow_none=True)
    sector = Text(validate=SECTOR)
    owner = Text(validate=validate.Length(min=2, max=200))
    funding = Text(validate=FUNDING)
    required_documents = fields.List(
        Text(validate=validate.Length(min=1, max=120)), validate=validate.Length(max=30)
    )
    deadline_days = fields.Integer(validate=validate.Range(min=1, max=365))
    rule_text = Text(validate=validate.Length(max=2000), allow_none=True)
    active = fields.Boolean()

    @validates_schema
    def _not_empty(self, data: dict[str, Any], **kw: Any) -> None:
        if not data:
            raise ValidationError(Msg("Tidak ada yang diubah.", "Nothing to change."))


class NationalQuerySchema(Schema):
    sector = Text(validate=SECTOR)
    active = bool_arg()
    q = Text()


def _rule(data: dict[str, Any]) -> None:
    if "rule_text" in data:
        data["rule_ast"] = parse_rule_or_422(data["rule_text"])
        data["rule_text"] = (data["rule_text"] or "").strip() or None


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
    data.setdefault("rule_text", None)
    _rule(data)
    program = create_national_program(data)
    db.session.commit()
    return program


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
    _rule(data)
    update_national_program(program, data)
    db.session.commit()
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
