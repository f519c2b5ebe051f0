"""Registry API: /api/v1/t/<tenant>/households and /persons, and the registry import and the
exports as background jobs (/imports/registry, /exports/...).

Region scope on every operation; every read of households and persons is written to the
personal-data audit (through the registry's actions, like every write).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Response, url_for
from flask_smorest.fields import Upload
from marshmallow import fields, validate

from slrt.auth.permissions import P
from slrt.auth.policy import current_principal, require
from slrt.platform import db
from slrt.platform.api import (
    Schema,
    TenantBlueprint,
    Text,
    check_if_match,
    like_pattern,
    nullable_as,
    page_of,
)
from slrt.platform.audit.reads import personal_data
from slrt.platform.jobs.access import access_job_by_id
from slrt.platform.jobs.api import JobSchema
from slrt.platform.jobs.models import Job
from slrt.platform.region_codes import KECAMATAN_CODE, VILLAGE_CODE
from slrt.platform.tabular.exports import FORMATS
from slrt.platform.tenancy import current_tenant
from slrt.tenants.regions.access import village_name
from slrt.tenants.registry import actions
from slrt.tenants.registry.access import access_household_by_id, access_person_by_id
from slrt.tenants.registry.models import (
    DtksStatus,
    Household,
    Person,
    Relation,
    name_pattern_matches,
)

blp = TenantBlueprint(
    "registry",
    __name__,
    "",
    description="Registry: households (KK) and persons (NIK)",
    lookups={"household_id": access_household_by_id, "person_id": access_person_by_id},
)


@nullable_as(Household)
class HouseholdSchema(Schema):
    id = fields.UUID(dump_only=True)
    kk_number = Text(required=True, validate=validate.Length(1, 32))
    address = Text(allow_none=True, validate=validate.Length(0, 500))
    village_code = Text(required=True, validate=VILLAGE_CODE)
    village_name = fields.Method("_village_name", dump_only=True)
    dtks_status = Text(validate=validate.OneOf([s.value for s in DtksStatus]))
    desil = fields.Integer(allow_none=True, validate=validate.Range(1, 10))
    dtks_checked_on = fields.Date(allow_none=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)

    def _village_name(self, obj) -> str | None:
        return village_name(obj.village_code)


class HouseholdUpdateSchema(Schema):
    address = Text(allow_none=True, validate=validate.Length(0, 500))
    dtks_status = Text(validate=validate.OneOf([s.value for s in DtksStatus]))
    desil = fields.Integer(allow_none=True, validate=validate.Range(1, 10))
    dtks_checked_on = fields.Date(allow_none=True)


class HouseholdQuerySchema(Schema):
    village_code = Text(validate=VILLAGE_CODE)
    kecamatan_code = Text(validate=KECAMATAN_CODE)
    kk_number = Text()
    dtks_status = Text(validate=validate.OneOf([s.value for s in DtksStatus]))


@nullable_as(Person)
class PersonSchema(Schema):
    id = fields.UUID(dump_only=True)
    household_id = fields.UUID(allow_none=True)
    nik = Text(required=True, validate=validate.Length(1, 32))
    name = Text(required=True, validate=validate.Length(1, 200))
    sex = Text(validate=validate.OneOf(["L", "P"]))
    birth_place = Text(allow_none=True, validate=validate.Length(0, 120))
    birth_date = fields.Date()
    relation = Text(allow_none=True, validate=validate.OneOf([r.value for r in Relation]))
    has_disability = fields.Boolean()
    phone = Text(
        allow_none=True,
        validate=validate.Regexp(
            r"^\+?[0-9 \-]{6,20}$", error="String does not match expected pattern."
        ),
    )
    village_code = Text(validate=VILLAGE_CODE)
    village_name = fields.Method("_village_name", dump_only=True)
    erased = fields.Method("_erased", dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)

    def _village_name(self, obj) -> str | None:
        return village_name(obj.village_code)

    def _erased(self, obj) -> bool:
        return obj.erased_at is not None


class PersonUpdateSchema(Schema):
    household_id = fields.UUID(allow_none=True)
    nik = Text(validate=validate.Length(1, 32))
    name = Text(validate=validate.Length(1, 200))
    sex = Text(validate=validate.OneOf(["L", "P"]))
    birth_place = Text(allow_none=True, validate=validate.Length(0, 120))
    birth_date = fields.Date()
    relation = Text(allow_none=True, validate=validate.OneOf([r.value for r in Relation]))
    has_disability = fields.Boolean()
    phone = Text(
        allow_none=True,
        validate=validate.Regexp(
            r"^\+?[0-9 \-]{6,20}$", error="String does not match expected pattern."
        ),
    )
    village_code = Text(validate=VILLAGE_CODE)


class PersonQuerySchema(Schema):
    village_code = Text(validate=VILLAGE_CODE)
    kecamatan_code = Text(validate=KECAMATAN_CODE)
    household_id = fields.UUID()
    nik = Text(validate=validate.Length(16, 16))
    name = Text(validate=validate.Length(2, 100))


class ErasureSchema(Schema):
    reason = Text(required=True, validate=validate.Length(5, 1000))


class ErasureResultSchema(Schema):
    cases = fields.Integer()
    household_erased = fields.Boolean()


# The lists' filters, each a condition on a bound value and how a query's value becomes it: a
# list's statement is then built once per caller's region scope, set of filters and page
# (`kept_statements`), and each request binds its own values.
Filters = dict[str, tuple[Callable[[], sa.ColumnElement[bool]], Callable[[Any], Any]]]


def _keep(value: Any) -> Any:
    return value


def _region_filters(model: type[Household] | type[Person]) -> Filters:
    return {
        "village_code": (lambda: model.village_code == sa.bindparam("village_code"), _keep),
        # a desa code lies inside its kecamatan's code by prefix
        "kecamatan_code": (
            lambda: model.village_code.like(sa.bindparam("kecamatan_code")),
            lambda code: code + ".%",
        ),
    }


_HOUSEHOLD_FILTERS: Filters = {
    **_region_filters(Household),
    "kk_number": (lambda: Household.kk_number == sa.bindparam("kk_number"), _keep),
    "dtks_status": (lambda: Household.dtks_status == sa.bindparam("dtks_status"), _keep),
}
_PERSON_FILTERS: Filters = {
    **_region_filters(Person),
    "household_id": (lambda: Person.household_id == sa.bindparam("household_id"), _keep),
    "nik": (lambda: Person.nik == sa.bindparam("nik"), _keep),
    "name": (lambda: name_pattern_matches(sa.bindparam("name", type_=sa.Text)), like_pattern),
}


def _listed(
    model: type[Household] | type[Person],
    filters: Filters,
    query: dict,
    pagination_parameters: Any,
    order_by: Any,
) -> list[Any]:
    """One page of `model` rows inside the caller's region scope, narrowed by the filters the
    query names."""
    principal = current_principal()
    named = tuple(name for name in filters if query.get(name))

    def build() -> sa.Select:
        stmt = sa.select(model).where(principal.region_clause(model.village_code))
        return stmt.where(*(filters[name][0]() for name in named))

    return page_of(
        build,
        pagination_parameters,
        order_by,
        shape=(model.__tablename__, principal.scope_kind, principal.scope_codes, named),
        params={name: filters[name][1](query[name]) for name in named},
    )


# --- households ---------------------------------------------------------------------------------


@blp.route("/households")
@blp.arguments(HouseholdQuerySchema, location="query")
@blp.response(200, HouseholdSchema(many=True))
@blp.paginate()
@require(P.REGISTRY_READ)
@personal_data("household.list")
def list_households(query: dict, pagination_parameters) -> list[Household]:
    """Households in the caller's region; filter by village, kecamatan, KK, DTKS status."""
    rows = _listed(Household, _HOUSEHOLD_FILTERS, query, pagination_parameters, Household.id)
    actions.record_household_reads([h.id for h in rows], "household.list")
    return rows


@blp.route("/households", methods=["POST"])
@blp.arguments(HouseholdSchema)
@blp.response(201, HouseholdSchema)
@require(P.REGISTRY_WRITE)
def post_household(data: dict) -> Household:
    """Register a household (KK: 16 digits, one per district)."""
    return actions.create_household(data)


@blp.route("/households/<uuid:household_id>")
@blp.etag
@blp.response(200, HouseholdSchema)
@require(P.REGISTRY_READ)
@personal_data("household.read")
def get_household(household_id: uuid.UUID) -> Household:
    """One household."""
    household = access_household_by_id(household_id)
    actions.record_household_reads([household.id])
    return household


@blp.route("/households/<uuid:household_id>", methods=["PATCH"])
@blp.etag
@blp.arguments(HouseholdUpdateSchema)
@blp.response(200, HouseholdSchema)
@require(P.REGISTRY_WRITE)
def patch_household(data: dict, household_id: uuid.UUID) -> Household:
    """Update address or DTKS/DTSEN status (If-Match required)."""
    household = access_household_by_id(household_id, lock=True)
    check_if_match(blp, household, HouseholdSchema)
    return actions.update_household(household, data)


@blp.route("/households/<uuid:household_id>/members")
@blp.response(200, PersonSchema(many=True))
@require(P.REGISTRY_READ)
@personal_data("person.list")
def household_members(household_id: uuid.UUID) -> list[Person]:
    """The persons on a family card."""
    household = access_household_by_id(household_id)
    people = list(
        db.session.execute(
            sa.select(Person).where(Person.household_id == household.id).order_by(Person.id)
        ).scalars()
    )
    actions.record_person_reads([p.id for p in people], "person.list")
    return people


# --- persons ------------------------------------------------------------------------------------


@blp.route("/persons")
@blp.arguments(PersonQuerySchema, location="query")
@blp.response(200, PersonSchema(many=True))
@blp.paginate()
@require(P.REGISTRY_READ)
@personal_data("person.list")
def list_persons(query: dict, pagination_parameters) -> list[Person]:
    """Persons in the caller's region; filter by village, kecamatan, household, exact NIK, name."""
    rows = _listed(Person, _PERSON_FILTERS, query, pagination_parameters, Person.id)
    actions.record_person_reads([p.id for p in rows], "person.list")
    return rows


@blp.route("/persons", methods=["POST"])
@blp.arguments(PersonSchema)
@blp.response(201, PersonSchema)
@require(P.REGISTRY_WRITE)
def post_person(data: dict) -> Person:
    """Register a person. The NIK is checked part by part; a NIK already registered in this
    district answers 409 with the existing person's id."""
    household = None
    if data.get("household_id"):
        household = access_household_by_id(data["household_id"])
    return actions.create_person(data, household)


@blp.route("/persons/<uuid:person_id>")
@blp.etag
@blp.response(200, PersonSchema)
@require(P.REGISTRY_READ)
@personal_data("person.read")
def get_person(person_id: uuid.UUID) -> Person:
    """One person's record (the read is audited)."""
    person = access_person_by_id(person_id)
    actions.record_person_reads([person.id])
    return person


@blp.route("/persons/<uuid:person_id>", methods=["PATCH"])
@blp.etag
@blp.arguments(PersonUpdateSchema)
@blp.response(200, PersonSchema)
@require(P.REGISTRY_WRITE)
def patch_person(data: dict, person_id: uuid.UUID) -> Person:
    """Correct a person's record (If-Match required)."""
    person = access_person_by_id(person_id, lock=True)
    check_if_match(blp, person, PersonSchema)
    if data.get("household_id"):
        household = access_household_by_id(data["household_id"])
        data["household_id"] = household.id
    actions.update_person(person, data)
    return person


@blp.route("/persons/<uuid:person_id>/export")
@blp.response(200)
@require(P.PERSONAL_DATA_AUDIT)
@personal_data("person.export")
def export_person(person_id: uuid.UUID) -> dict:
    """Everything held about one person, as JSON, for a lawful request (audited as an export)."""
    return actions.export_person(access_person_by_id(person_id))


@blp.route("/persons/<uuid:person_id>/export.zip")
@blp.response(200, {"format": "binary", "type": "string"}, content_type="application/zip")
@require(P.PERSONAL_DATA_AUDIT)
@personal_data("person.export")
def export_person_archive(person_id: uuid.UUID) -> Response:
    """Everything held about one person for a lawful request (UU PDP right of access), as a
    zip: the JSON record, a summary in words, the documents of their cases (audited)."""
    person = access_person_by_id(person_id)
    return Response(
        actions.export_person_archive(person),
        mimetype="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="data-pribadi-{person.id.hex[:8]}.zip"',
            "Cache-Control": "no-store",
        },
    )


@blp.route("/persons/<uuid:person_id>/erase", methods=["POST"])
@blp.arguments(ErasureSchema)
@blp.response(200, ErasureResultSchema)
@require(P.PERSONAL_DATA_ERASE)
def erase(data: dict, person_id: uuid.UUID) -> dict:
    """Erase (anonymise) a person on a lawful request; referral statistics are kept."""
    person = access_person_by_id(person_id, lock=True)
    result = actions.erase_person(person, data["reason"])
    return {"cases": result["cases"], "household_erased": bool(result["household_erased"])}


transfer_blp = TenantBlueprint(
    "registry_jobs",
    __name__,
    "",
    description="Registry import and exports (background jobs)",
    lookups={"job_id": access_job_by_id},
)


class ImportFileSchema(Schema):
    file = Upload(required=True)


class ExportSchema(Schema):
    format = fields.String(load_default="xlsx", validate=validate.OneOf(FORMATS))


def _accepted(job: Job):
    location = url_for("jobs.get_job", tenant=current_tenant().slug, job_id=job.id)
    return job, 202, {"Location": location}


@transfer_blp.route("/imports/registry", methods=["POST"])
@transfer_blp.arguments(ImportFileSchema, location="files")
@transfer_blp.response(202, JobSchema)
@require(P.IMPORTS_RUN)
def import_registry(files: dict):
    """Import households (by KK) and persons (by NIK) from a CSV or XLSX file; re-running the
    same file changes nothing. Bad rows are reported in a downloadable error report."""
    upload = files["file"]
    return _accepted(actions.start_registry_import(upload.filename, upload.read()))


@transfer_blp.route("/imports/registry/<uuid:job_id>/apply-conflicts", methods=["POST"])
@transfer_blp.response(202, JobSchema)
@require(P.IMPORTS_RUN)
def apply_import_conflicts(job_id: uuid.UUID):
    """Write the rows a finished import held back because the persons were changed in the
    system after the file's upload (listed as conflicts in its error report): the district
    decides the file is right. Persons changed again since are held back once more."""
    return _accepted(actions.apply_import_conflicts(access_job_by_id(job_id, lock=True)))


def _export_job(what: str, data: dict):
    return _accepted(actions.start_export(what, data["format"]))


@transfer_blp.route("/exports/registry", methods=["POST"])
@transfer_blp.arguments(ExportSchema)
@transfer_blp.response(202, JobSchema)
@require(P.EXPORTS_RUN)
def export_registry(data: dict):
    """Export the registry (persons with their KK) in the caller's region, as CSV or XLSX."""
    return _export_job("registry", data)


@transfer_blp.route("/exports/cases", methods=["POST"])
@transfer_blp.arguments(ExportSchema)
@transfer_blp.response(202, JobSchema)
@require(P.EXPORTS_RUN)
def export_cases(data: dict):
    """Export the cases in the caller's region, as CSV or XLSX."""
    return _export_job("cases", data)


@transfer_blp.route("/exports/referrals", methods=["POST"])
@transfer_blp.arguments(ExportSchema)
@transfer_blp.response(202, JobSchema)
@require(P.EXPORTS_RUN)
def export_referrals(data: dict):
    """Export the referrals in the caller's region, as CSV or XLSX."""
    return _export_job("referrals", data)
