"""A district's own routes about itself: its lokus designations (/api/v1/t/<tenant>/lokus-designations)
and its profile and letterhead (/api/v1/t/<tenant>/profile). Kemensos's routes are in `platform_api`."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from flask import g
from marshmallow import ValidationError, fields, validate, validates_schema

from slrt.auth.permissions import P
from slrt.auth.policy import require
from slrt.platform import db
from slrt.platform.api import (
    PatchSchema,
    Schema,
    TenantBlueprint,
    Text,
    check_if_match,
    nullable_as,
    page_of,
)
from slrt.platform.tenant import Tenant
from slrt.tenants.districts.actions import DECREE_IN_FUTURE, ZONES, decree_in_future, update_profile
from slrt.tenants.districts.models import LokusDesignation
from slrt.tenants.districts.settings import letterhead

tenant_blp = TenantBlueprint(
    "lokus", __name__, "/lokus-designations", description="Lokus designations of the district"
)


@nullable_as(LokusDesignation)
class LokusDesignationSchema(Schema):
    id = fields.UUID(dump_only=True)
    wave = fields.Integer(
        required=True, validate=validate.Range(min=1, max=99), metadata={"description": "Tahap"}
    )
    year = fields.Integer(required=True, validate=validate.Range(min=2000, max=2100))
    decree_number = Text(
        required=True,
        validate=validate.Length(min=3, max=120),
        metadata={"description": "Nomor SK penetapan lokus"},
    )
    decree_date = fields.Date(required=True, validate=lambda d: _not_in_future(d))
    note = Text(validate=validate.Length(max=2000), allow_none=True)
    created_at = fields.DateTime(dump_only=True)


@tenant_blp.route("")
@tenant_blp.response(200, LokusDesignationSchema(many=True))
@tenant_blp.paginate()
@require(P.TENANT_READ)
def list_own_designations(pagination_parameters) -> list[LokusDesignation]:
    """This district's lokus designations, oldest first."""
    return page_of(
        sa.select(LokusDesignation),
        pagination_parameters,
        LokusDesignation.year,
        LokusDesignation.wave,
        LokusDesignation.id,
    )


blp = TenantBlueprint(
    "profile", __name__, "/profile", description="The district's profile and letterhead"
)


def _text(max_len: int) -> fields.String:
    return Text(validate=validate.Length(max=max_len), allow_none=True)


class LetterheadSchema(Schema):
    government_name = _text(200)
    office_name = _text(200)
    address = _text(500)
    phone = Text(validate=validate.Regexp(r"^\+?[0-9 ()-]{6,32}$"), allow_none=True)
    email = fields.Email(allow_none=True)
    website = fields.URL(allow_none=True)
    city = _text(100)
    head_name = _text(200)
    head_title = _text(200)
    head_nip = Text(
        validate=validate.Regexp(r"^[0-9]{18}$", error="NIP terdiri dari 18 angka."),
        allow_none=True,
    )
    # The codes in a referral letter's number (slrt.tenants.flow.letters): 400.9/0001/SLRT/2026.
    letter_code = Text(
        validate=validate.Regexp(
            r"^[0-9A-Za-z.\-]{1,20}$", error="String does not match expected pattern."
        ),
        allow_none=True,
    )
    letter_unit = Text(
        validate=validate.Regexp(
            r"^[0-9A-Za-z.\-]{1,20}$", error="String does not match expected pattern."
        ),
        allow_none=True,
    )


class ProfileSchema(Schema):
    code = Text(dump_only=True)
    slug = Text(dump_only=True)
    name = Text(dump_only=True)
    province_code = Text(dump_only=True)
    province_name = Text(dump_only=True)
    status = Text(dump_only=True)
    timezone = Text(
        dump_only=True,
        metadata={
            "description": "The zone of the district's days and months (reports, quotas, usage, "
            "letters): its own choice, else its province's"
        },
    )
    letterhead = fields.Nested(LetterheadSchema, dump_only=True)


class ProfileUpdateSchema(PatchSchema):
    letterhead = fields.Nested(LetterheadSchema)
    timezone = Text(
        validate=validate.OneOf(ZONES),
        allow_none=True,
        metadata={
            "description": "Asia/Jakarta (WIB), Asia/Makassar (WITA), Asia/Jayapura (WIT); "
            "null restores the province's zone"
        },
    )

    @validates_schema
    def _not_empty(self, data: dict[str, Any], **kw: Any) -> None:
        # A change inside `letterhead` counts: an empty one alone is the empty change refused.
        PatchSchema._not_empty(
            self, {k: v for k, v in data.items() if k != "letterhead" or v}, **kw
        )


def _profile(tenant: Tenant) -> dict[str, Any]:
    own = ("letterhead", "timezone")
    data = {name: getattr(tenant, name) for name in ProfileSchema().fields if name not in own}
    data["timezone"] = tenant.zone
    data["letterhead"] = letterhead(tenant)
    return data


def _tenant() -> Tenant:
    return db.session.get(Tenant, g.tenant.id)


@blp.route("")
@blp.etag
@blp.response(200, ProfileSchema)
@require(P.TENANT_READ)
def get_profile() -> dict[str, Any]:
    """The district's name, codes, status and letterhead (defaults filled in)."""
    return _profile(_tenant())


@blp.route("", methods=["PATCH"])
@blp.etag
@blp.arguments(ProfileUpdateSchema)
@blp.response(200, ProfileSchema)
@require(P.TENANT_CONFIGURE)
def patch_profile(data: dict) -> dict[str, Any]:
    """Change letterhead fields and/or the district's time zone (send If-Match); null restores
    a field's default (the province's zone for `timezone`)."""
    tenant = _tenant()
    db.session.refresh(tenant, with_for_update=True)
    check_if_match(blp, _profile(tenant), ProfileSchema)
    return _profile(update_profile(tenant, data))


def _not_in_future(day: dt.date) -> None:
    # Checked here too, so a request with several wrong fields hears of all of them at once.
    if decree_in_future(day):
        raise ValidationError(DECREE_IN_FUTURE)
