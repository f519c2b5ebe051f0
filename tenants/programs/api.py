"""A district's program catalog: /api/v1/t/<tenant>/programs, /national-programs, /rule-fields,
/rules/check; and the catalog schemas Kemensos's routes (`platform_api`) share."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from marshmallow import fields, validate

from slrt.auth.permissions import P
from slrt.auth.policy import require
from slrt.platform import db
from slrt.platform.api import (
    PatchSchema,
    Schema,
    TenantBlueprint,
    Text,
    bool_arg,
    check_if_match,
    nullable_as,
    page_of,
)
from slrt.tenants.agencies.access import resolve_agency_id
from slrt.tenants.programs import actions
from slrt.tenants.programs.access import (
    access_national_program_by_id,
    access_program_by_id,
    access_program_version,
    access_version_by_id,
    current_version,
    programs_query,
    resolve_national_program_id,
)
from slrt.tenants.programs.models import Funding, NationalProgram, Program, ProgramVersion, Sector
from slrt.tenants.programs.rule_schemas import (
    EvaluationSchema,
    FactsSchema,
    RuleCheckResultSchema,
    RuleCheckSchema,
    RuleFieldSchema,
    check_rule,
    rule_field_rows,
)
from slrt.tenants.programs.rules import evaluate

blp = TenantBlueprint(
    "programs",
    __name__,
    "",
    description="Program catalog of the district, eligibility rules",
    lookups={
        "program_id": access_program_by_id,
        "version_id": access_version_by_id,
        "national_program_id": access_national_program_by_id,
    },
)

SECTOR = validate.OneOf([s.value for s in Sector])
FUNDING = validate.OneOf([f.value for f in Funding])
CODE = validate.Regexp(
    r"^[A-Z0-9][A-Z0-9-]{1,19}$",
    error="Kode 2-20 huruf besar, angka atau '-', mis. JAMKESDA.",
)


class CatalogFieldsSchema(Schema):
    """What every program has (national or local)."""

    code = Text(dump_only=True)
    name = Text(dump_only=True)
    description = Text(dump_only=True)
    sector = Text(dump_only=True, metadata={"enum": [s.value for s in Sector]})
    owner = Text(dump_only=True)
    funding = Text(dump_only=True, metadata={"enum": [f.value for f in Funding]})
    required_documents = fields.List(Text(), dump_only=True)
    deadline_days = fields.Integer(dump_only=True)
    rule_text = Text(dump_only=True, allow_none=True)
    rule_ast = fields.Dict(dump_only=True, allow_none=True)
    active = fields.Boolean(dump_only=True)
    version = fields.Integer(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


@nullable_as(Program)
class ProgramSchema(CatalogFieldsSchema):
    id = fields.UUID(dump_only=True)
    kind = Text(dump_only=True, metadata={"enum": ["national", "local"]})
    national_program_id = fields.UUID(dump_only=True, allow_none=True)
    agency_id = fields.UUID(dump_only=True)


@nullable_as(ProgramVersion)
class ProgramVersionSchema(Schema):
    id = fields.UUID(dump_only=True)
    program_id = fields.UUID(dump_only=True)
    version = fields.Integer(dump_only=True)
    name = Text(dump_only=True)
    agency_id = fields.UUID(dump_only=True)
    deadline_days = fields.Integer(dump_only=True)
    rule_text = Text(dump_only=True, allow_none=True)
    national_version = fields.Integer(dump_only=True, allow_none=True)
    snapshot = fields.Dict(dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class CatalogCreateFieldsSchema(Schema):
    """What a new program is written with, national or local; each kind sets its own default
    `funding` (APBN for Kemensos's catalog, APBD for a district's own programs)."""

    code = Text(required=True, validate=CODE)
    name = Text(required=True, validate=validate.Length(min=2, max=200))
    description = Text(validate=validate.Length(max=4000), allow_none=True)
    sector = Text(required=True, validate=SECTOR)
    owner = Text(required=True, validate=validate.Length(min=2, max=200))
    funding = Text(validate=FUNDING)
    required_documents = fields.List(
        Text(validate=validate.Length(min=1, max=120)),
        load_default=list,
        validate=validate.Length(max=30),
    )
    deadline_days = fields.Integer(required=True, validate=validate.Range(min=1, max=365))
    rule_text = Text(validate=validate.Length(max=2000), allow_none=True)


class CatalogChangeFieldsSchema(PatchSchema):
    """The same fields in a change of a program, national or local: all optional."""

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


class LocalProgramCreateSchema(CatalogCreateFieldsSchema):
    funding = Text(load_default=Funding.apbd.value, validate=FUNDING)
    agency_id = fields.UUID(required=True, metadata={"description": "The agency that handles it"})


class ProgramUpdateSchema(CatalogChangeFieldsSchema):
    agency_id = fields.UUID()
    active = fields.Boolean()


class EnableNationalSchema(Schema):
    national_program_id = fields.UUID(required=True)
    agency_id = fields.UUID(required=True, metadata={"description": "The local agency handling it"})


class ProgramQuerySchema(Schema):
    kind = Text(validate=validate.OneOf(["national", "local"]))
    sector = Text(validate=SECTOR)
    funding = Text(validate=FUNDING)
    active = bool_arg()
    agency_id = fields.UUID()
    q = Text(metadata={"description": "Part of the name or code"})


class EvaluateSchema(Schema):
    facts = fields.Nested(FactsSchema, required=True)
    version_id = fields.UUID(metadata={"description": "Evaluate an earlier version's rule"})


class NationalForDistrictSchema(CatalogFieldsSchema):
    id = fields.UUID(dump_only=True)
    enabled_program_id = fields.UUID(
        dump_only=True, allow_none=True, metadata={"description": "The district's program, if any"}
    )
    enabled = fields.Boolean(dump_only=True)


class NationalQuerySchema(Schema):
    sector = Text(validate=SECTOR)
    enabled = bool_arg()


# --- programs ---------------------------------------------------------------------------------


@blp.route("/programs")
@blp.arguments(ProgramQuerySchema, location="query")
@blp.response(200, ProgramSchema(many=True))
@blp.paginate()
@require(P.PROGRAMS_READ)
def list_programs(query: dict, pagination_parameters) -> list[Program]:
    """The district's programs by code; filter by kind, sector, funding, active, agency."""
    return page_of(programs_query(query), pagination_parameters, Program.code, Program.id)


@blp.route("/programs", methods=["POST"])
@blp.arguments(LocalProgramCreateSchema)
@blp.response(201, ProgramSchema)
@require(P.PROGRAMS_MANAGE)
def create_program(data: dict) -> Program:
    """Add a district program (APBD...) with its eligibility rule."""
    return actions.create_local_program(data)


@blp.route("/programs/national", methods=["POST"])
@blp.arguments(EnableNationalSchema)
@blp.response(201, ProgramSchema)
@blp.alt_response(200, schema=ProgramSchema, description="Was enabled before: re-activated")
@require(P.PROGRAMS_MANAGE)
def enable_program(data: dict) -> Any:
    """Enable a program of the Kemensos catalog here, handled by a local agency. Enabling one
    that was disabled re-activates it (no duplicate)."""
    national = resolve_national_program_id(data["national_program_id"])
    agency = resolve_agency_id(data["agency_id"])
    program, created = actions.enable_national_program(national, agency)
    return program, 201 if created else 200


@blp.route("/programs/<uuid:program_id>")
@blp.etag
@blp.response(200, ProgramSchema)
@require(P.PROGRAMS_READ)
def get_program(program_id: uuid.UUID) -> Program:
    """One program."""
    return access_program_by_id(program_id)


@blp.route("/programs/<uuid:program_id>", methods=["PATCH"])
@blp.etag
@blp.arguments(ProgramUpdateSchema)
@blp.response(200, ProgramSchema)
@require(P.PROGRAMS_MANAGE)
def patch_program(data: dict, program_id: uuid.UUID) -> Program:
    """Change a program (send If-Match); every change makes a new immutable version. For an
    enabled national program only the agency, the deadline and `active` are the district's."""
    program = access_program_by_id(program_id)
    check_if_match(blp, program, ProgramSchema)
    return actions.update_program(program, data)


@blp.route("/programs/<uuid:program_id>/versions")
@blp.response(200, ProgramVersionSchema(many=True))
@blp.paginate()
@require(P.PROGRAMS_READ)
def list_program_versions(program_id: uuid.UUID, pagination_parameters) -> list[ProgramVersion]:
    """Every version of a program, newest first."""
    program = access_program_by_id(program_id)
    stmt = sa.select(ProgramVersion).where(ProgramVersion.program_id == program.id)
    return page_of(stmt, pagination_parameters, ProgramVersion.version.desc())


@blp.route("/programs/<uuid:program_id>/versions/<uuid:version_id>")
@blp.response(200, ProgramVersionSchema)
@require(P.PROGRAMS_READ)
def get_program_version(program_id: uuid.UUID, version_id: uuid.UUID) -> ProgramVersion:
    """One version of a program (what a referral made under it saw)."""
    return access_program_version(access_program_by_id(program_id), version_id)


@blp.route("/programs/<uuid:program_id>/evaluate", methods=["POST"])
@blp.arguments(EvaluateSchema)
@blp.response(200, EvaluationSchema)
@require(P.PROGRAMS_READ)
def evaluate_program(data: dict, program_id: uuid.UUID) -> dict[str, Any]:
    """Does a person with these facts meet the program's rule? Explains every condition."""
    program = access_program_by_id(program_id)
    if data.get("version_id"):
        version = access_program_version(program, data["version_id"])
    else:
        version = current_version(program)
    return evaluate(version.rule_ast, data["facts"]).as_dict()


# --- the national catalog as seen from the district ------------------------------------------


@blp.route("/national-programs")
@blp.arguments(NationalQuerySchema, location="query")
@blp.response(200, NationalForDistrictSchema(many=True))
@blp.paginate()
@require(P.PROGRAMS_READ)
def list_national_programs(query: dict, pagination_parameters) -> list[dict[str, Any]]:
    """Active programs of the Kemensos catalog, with whether this district has enabled each."""
    enabled = dict(
        db.session.execute(
            sa.select(Program.national_program_id, Program.id).where(
                Program.national_program_id.is_not(None), Program.active.is_(True)
            )
        ).all()
    )
    stmt = sa.select(NationalProgram).where(NationalProgram.active.is_(True))
    if query.get("sector"):
        stmt = stmt.where(NationalProgram.sector == query["sector"])
    if query.get("enabled") is True:
        stmt = stmt.where(NationalProgram.id.in_(list(enabled)))
    elif query.get("enabled") is False:
        stmt = stmt.where(NationalProgram.id.not_in(list(enabled)))
    rows = page_of(stmt, pagination_parameters, NationalProgram.code, NationalProgram.id)
    return [_with_enabled(row, enabled.get(row.id)) for row in rows]


@blp.route("/national-programs/<uuid:national_program_id>")
@blp.response(200, NationalForDistrictSchema)
@require(P.PROGRAMS_READ)
def get_national_program(national_program_id: uuid.UUID) -> dict[str, Any]:
    """One program of the Kemensos catalog."""
    national = access_national_program_by_id(national_program_id)
    local = db.session.execute(
        sa.select(Program.id).where(
            Program.national_program_id == national.id, Program.active.is_(True)
        )
    ).scalar_one_or_none()
    return _with_enabled(national, local)


def _with_enabled(national: NationalProgram, program_id: uuid.UUID | None) -> dict[str, Any]:
    row = {name: getattr(national, name) for name in ("id", *CatalogFieldsSchema().fields)}
    row.update(enabled_program_id=program_id, enabled=program_id is not None)
    return row


# --- rules --------------------------------------------------------------------------------------


@blp.route("/rule-fields")
@blp.response(200, RuleFieldSchema(many=True))
@require(P.PROGRAMS_READ)
def list_rule_fields() -> list[dict[str, Any]]:
    """The facts an eligibility rule may test, with their types and meaning."""
    return rule_field_rows()


@blp.route("/rules/check", methods=["POST"])
@blp.arguments(RuleCheckSchema)
@blp.response(200, RuleCheckResultSchema)
@require(P.PROGRAMS_READ)
def check_rule_here(data: dict) -> dict[str, Any]:
    """Validate a rule (422 with line and column when it is wrong) and optionally evaluate it
    for a set of facts; nothing is stored."""
    return check_rule(data)
