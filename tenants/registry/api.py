"""Registry API: /api/v1/t/<tenant>/households and /persons.

Region scope on every operation; every read of persons is written to the personal-data audit.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from flask import url_for
from flask_smorest.fields import Upload
from marshmallow import fields, validate

from slrt.auth.permissions import P
from slrt.auth.policy import current_principal, require
from slrt.billing_free.plans import Quota
from slrt.billing_free.quotas import check_count, require_daily
from slrt.platform import db
from slrt.platform.api import Schema, TenantBlueprint, Text, check_if_match, page_of
from slrt.platform.audit.models import AuditKind
from slrt.platform.audit.record import record
from slrt.platform.jobs.actions import add_input_file, enqueue
from slrt.platform.jobs.api import JobSchema
from slrt.platform.jobs.models import Job
from slrt.platform.tabular.exports import FORMATS, requester_scope
from slrt.platform.tabular.import_job import accept_upload
from slrt.platform.tabular.write import XLSX_MEDIA_TYPE
from slrt.platform.tenancy import current_tenant
from slrt.tenants.regions.access import village_name
from slrt.tenants.registry.access import access_household_by_id, access_person_by_id
from slrt.tenants.registry.actions import (
    create_household,
    create_person,
    erase_person,
    person_export,
    update_person,
    validate_dtks,
)
from slrt.tenants.registry.models import DtksStatus, Household, Person, Relation, name_matches

blp = TenantBlueprint(
    "registry",
    __name__,
    "",
    description="Registry: households (KK) and persons (NIK)",
    lookups={"household_id": access_household_by_id, "person_id": access_person_by_id},
)


VILLAGE = validate.Regexp(
    r"^\d{2}\.\d{2}\.\d{2}\.[123]\d{3}$", error="String does not match expected pattern."
)

KECAMATAN = validate.Regexp(
    r"^\d{2}\.\d{2}\.\d{2}$", error="String does not match expected pattern."
)


class HouseholdSchema(Schema):
    id = fields.UUID(dump_only=True)
    kk_number = Text(required=True, validate=validate.Length(1, 32))
    address = Text(allow_none=True, validate=validate.Length(0, 500))
    village_code = Text(required=True, validate=VILLAGE)
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
    village_code = Text(validate=VILLAGE)
    kecamatan_code = Text(validate=KECAMATAN)
    kk_number = Text()
    dtks_status = Text(validate=validate.OneOf([s.value for s in DtksStatus]))


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
    village_code = Text(validate=VILLAGE)
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
    village_code = Text(validate=VILLAGE)


class PersonQuerySchema(Schema):
    village_code = Text(validate=VILLAGE)
    kecamatan_code = Text(validate=KECAMATAN)
    household_id = fields.UUID()
    nik = Text(validate=validate.Length(16, 16))
    name = Text(validate=validate.Length(2, 100))


class ErasureSchema(Schema):
    reason = Text(required=True, validate=validate.Length(5, 1000))


class ErasureResultSchema(Schema):
    cases = fields.Integer()
    household_erased = fields.Boolean()


def _audit_read(ids: list, endpoint_kind: str) -> None:
    record(
        AuditKind.read,
        endpoint_kind,
        "person",
        ids[0] if len(ids) == 1 else None,
        after={"person_ids": [str(i) for i in ids]} if len(ids) != 1 else None,
    )


def _in_region(model: type[Household] | type[Person], query: dict) -> sa.Select:
    """`model` rows inside the caller's region scope, narrowed to the village or kecamatan the
    query names."""
    stmt = sa.select(model).where(current_principal().region_clause(model.village_code))
    if query.get("village_code"):
        stmt = stmt.where(model.village_code == query["village_code"])
    if query.get("kecamatan_code"):
        stmt = stmt.where(model.village_code.like(query["kecamatan_code"] + ".%"))
    return stmt


# --- households ---------------------------------------------------------------------------------


@blp.route("/households")
@blp.arguments(HouseholdQuerySchema, location="query")
@blp.response(200, HouseholdSchema(many=True))
@blp.paginate()
@require(P.REGISTRY_READ)
def list_households(query: dict, pagination_parameters) -> list[Household]:
    """Households in the caller's region; filter by village, kecamatan, KK, DTKS status."""
    stmt = _in_region(Household, query)
    if query.get("kk_number"):
        stmt = stmt.where(Household.kk_number == query["kk_number"])
    if query.get("dtks_status"):
        stmt = stmt.where(Household.dtks_status == query["dtks_status"])
    rows = page_of(stmt, pagination_parameters, Household.id)
    if rows:
        record(
            AuditKind.read,
            "household.list",
            "household",
            None,
            after={"household_ids": [str(h.id) for h in rows]},
        )
        db.session.commit()
    return rows


@blp.route("/households", methods=["POST"])
@blp.arguments(HouseholdSchema)
@blp.response(201, HouseholdSchema)
@require(P.REGISTRY_WRITE)
def post_household(data: dict) -> Household:
    """Register a household (KK: 16 digits, one per district)."""
    household = create_household(data)
    db.session.commit()
    return household


@blp.route("/households/<uuid:household_id>")
@blp.etag
@blp.response(200, HouseholdSchema)
@require(P.REGISTRY_READ)
def get_household(household_id: uuid.UUID) -> Household:
    """One household."""
    household = access_household_by_id(household_id)
    record(AuditKind.read, "household.read", "household", household.id)
    db.session.commit()
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
    validate_dtks(data, household)
    for key, value in data.items():
        setattr(household, key, value)
    if household.dtks_status != DtksStatus.in_dtks:
        household.desil = None
    record(
        AuditKind.config,
        "household.update",
        "household",
        household.id,
        after={"fields": sorted(data)},
    )
    db.session.commit()
    return household


@blp.route("/households/<uuid:household_id>/members")
@blp.response(200, PersonSchema(many=True))
@require(P.REGISTRY_READ)
def household_members(household_id: uuid.UUID) -> list[Person]:
    """The persons on a family card."""
    household = access_household_by_id(household_id)
    people = list(
        db.session.execute(
            sa.select(Person).where(Person.household_id == household.id).order_by(Person.id)
        ).scalars()
    )
    if people:
        _audit_read([p.id for p in people], "person.list")
        db.session.commit()
    return people


# --- persons ------------------------------------------------------------------------------------


@blp.route("/persons")
@blp.arguments(PersonQuerySchema, location="query")
@blp.response(200, PersonSchema(many=True))
@blp.paginate()
@require(P.REGISTRY_READ)
def list_persons(query: dict, pagination_parameters) -> list[Person]:
    """Persons in the caller's region; filter by village, kecamatan, household, exact NIK, name."""
    stmt = _in_region(Person, query)
    if query.get("household_id"):
        stmt = stmt.where(Person.household_id == query["household_id"])
    if query.get("nik"):
        stmt = stmt.where(Person.nik == query["nik"])
    if query.get("name"):
        stmt = stmt.where(name_matches(query["name"]))
    rows = page_of(stmt, pagination_parameters, Person.id)
    if rows:
        _audit_read([p.id for p in rows], "person.list")
        db.session.commit()
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
    person = create_person(data, household)
    db.session.commit()
    return person


@blp.route("/persons/<uuid:person_id>")
@blp.etag
@blp.response(200, PersonSchema)
@require(P.REGISTRY_READ)
def get_person(person_id: uuid.UUID) -> Person:
    """One person's record (the read is audited)."""
    person = access_person_by_id(person_id)
    _audit_read([person.id], "person.read")
    db.session.commit()
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
    update_person(person, data)
    db.session.commit()
    return person


@blp.route("/persons/<uuid:person_id>/export")
@blp.response(200)
@require(P.PERSONAL_DATA_AUDIT)
def export_person(person_id: uuid.UUID) -> dict:
    """Everything held about one person, as JSON, for a lawful request (audited as an export)."""
    person = access_person_by_id(person_id)
    data = person_export(person)
    record(AuditKind.export, "person.export", "person", person.id)
    db.session.commit()
    return data


@blp.route("/persons/<uuid:person_id>/erase", methods=["POST"])
@blp.arguments(ErasureSchema)
@blp.response(200, ErasureResultSchema)
@require(P.PERSONAL_DATA_ERASE)
def erase(data: dict, person_id: uuid.UUID) -> dict:
    """Erase (anonymise) a person on a lawful request; referral statistics are kept."""
    person = access_person_by_id(person_id, lock=True)
    result = erase_person(person, data["reason"])
    db.session.commit()
    return {"cases": result["cases"], "household_erased": bool(result["household_erased"])}


transfer_blp = TenantBlueprint(
    "registry_jobs", __name__, "", description="Registry import and exports (background jobs)"
)


class ImportFileSchema(Schema):
    file = Upload(required=True)


class ExportSchema(Schema):
    format = fields.String(load_default="xlsx", validate=validate.OneOf(FORMATS))


def _accepted(job: Job):
    db.session.commit()
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
    data = upload.read()
    kind = accept_upload(data, upload.filename or "")
    check_count(Quota.STORAGE, adding=len(data))  # the upload is kept with the job
    job = enqueue(
        "registry.import",
        {"filename": upload.filename, "file_kind": kind, **requester_scope(current_principal())},
    )
    media = XLSX_MEDIA_TYPE if kind == "xlsx" else "text/csv"
    add_input_file(job, (upload.filename or f"upload.{kind}")[:200], media, data)
    return _accepted(job)


def _export_job(what: str, data: dict):
    require_daily(Quota.EXPORTS)  # the plan's exports per day: 429 with Retry-After
    job = enqueue(
        f"{what}.export", {"format": data["format"], **requester_scope(current_principal())}
    )
    return _accepted(job)


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
