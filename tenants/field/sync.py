"""A device's outbox as the sync endpoints take it (the API's and the field app's own, one
schema for both) and its outcome item by item: `sync_items` loads each item with the schema of
the online operation it stands for, applies it through `actions.apply_item` (its own
transaction) and turns a refusal into what the device shows: applied, a conflict with its
choices, refused with the reason (the item stays on the device), invalid with each field's
problem, or retry later."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from marshmallow import ValidationError, fields, pre_load, validate, validates_schema

from slrt.platform.api import Schema, Text, _control_characters
from slrt.platform.errors import Msg, Problem, flatten_messages
from slrt.platform.region_codes import VILLAGE_CODE
from slrt.tenants.field import actions
from slrt.tenants.flow.api import CaseCreateSchema
from slrt.tenants.flow.models import AttachmentKind, Channel
from slrt.tenants.registry.api import PersonSchema

KINDS = tuple(actions.ITEM_PERMISSIONS)
KEY = [validate.Length(8, 64), validate.Regexp(r"^[A-Za-z0-9_-]+$")]
MAX_ITEMS = 50


class MemberSchema(PersonSchema):
    """A member of a household captured on the device (the registry's person fields), or the
    person already registered that the facilitator chose to use instead."""

    existing_person_id = fields.UUID(allow_none=True)


class HouseholdItemSchema(Schema):
    """A new household (KK number, village) with its members, or members added to a household
    already registered (`household_id`, read at version `seen`)."""

    kk_number = Text(validate=validate.Length(1, 32))
    address = Text(allow_none=True, validate=validate.Length(0, 500))
    village_code = Text(validate=VILLAGE_CODE)
    household_id = fields.UUID(allow_none=True)
    seen = Text(allow_none=True, validate=validate.Length(0, 80))
    apply_anyway = fields.Boolean(load_default=False)
    members = fields.List(
        fields.Nested(MemberSchema), load_default=list, validate=validate.Length(0, 30)
    )

    @validates_schema
    def _new_or_existing(self, data: dict[str, Any], **kw: Any) -> None:
        if data.get("household_id"):
            return
        missing = [k for k in ("kk_number", "village_code") if not data.get(k)]
        if missing:
            raise ValidationError({k: ["Missing data for required field."] for k in missing})


class PhotoSchema(Schema):
    upload_key = Text(required=True, validate=KEY)
    kind = Text(required=True, validate=validate.OneOf([k.value for k in AttachmentKind]))
    filename = Text(validate=validate.Length(0, 200))


class IntakeItemSchema(CaseCreateSchema):
    """A visit, complaint or request recorded in the field (the desk's intake fields) about a
    person named by NIK or id, with the photos uploaded for it."""

    channel = Text(
        load_default=Channel.outreach.value,
        validate=validate.OneOf([c.value for c in Channel]),
    )
    nik = Text(validate=validate.Length(16, 16))
    photos = fields.List(
        fields.Nested(PhotoSchema), load_default=list, validate=validate.Length(0, 5)
    )

    @validates_schema
    def _someone(self, data: dict[str, Any], **kw: Any) -> None:
        if not data.get("nik") and not data.get("person_id"):
            raise ValidationError({"nik": ["Missing data for required field."]})


class FollowUpItemSchema(Schema):
    case_id = fields.UUID(required=True)
    note = Text(required=True, validate=validate.Length(1, 5000))


ITEM_SCHEMAS = {
    "household": HouseholdItemSchema,
    "intake": IntakeItemSchema,
    "follow_up": FollowUpItemSchema,
}


def _without_item_data(body: Any) -> Any:
    """The outbox without each item's `data`, which its own schema checks when the item is
    loaded: a control character there makes that item invalid, not the whole outbox."""
    if not isinstance(body, Mapping):
        return body
    if "items" in body and isinstance(body["items"], list):
        body = {**body, "items": [_without_item_data(i) for i in body["items"]]}
    return {k: v for k, v in body.items() if k != "data"}


class _ItemDataCheckedLater:
    @pre_load
    def _refuse_control_characters(self, data: Any, **kw: Any) -> Any:
        problems = _control_characters(_without_item_data(data))
        if problems:
            raise ValidationError(problems)
        return data


class SyncItemSchema(_ItemDataCheckedLater, Schema):
    key = Text(
        required=True, validate=KEY, metadata={"description": "Made on the device, once per item"}
    )
    kind = Text(required=True, validate=validate.OneOf(KINDS))
    captured_at = fields.AwareDateTime(
        required=True, default_timezone=dt.UTC, metadata={"description": "When it was captured"}
    )
    data = fields.Dict(
        required=True,
        metadata={"description": "The item's fields: household, intake or follow-up"},
    )


class SyncRequestSchema(_ItemDataCheckedLater, Schema):
    items = fields.List(
        fields.Nested(SyncItemSchema), required=True, validate=validate.Length(1, MAX_ITEMS)
    )


class SyncOutcomeSchema(Schema):
    key = fields.String()
    status = fields.String(metadata={"description": "applied, conflict, refused, invalid or retry"})
    replayed = fields.Boolean(metadata={"description": "Applied by an earlier sync"})
    result = fields.Dict(metadata={"description": "Ids of what was registered"})
    conflict = fields.String(
        allow_none=True,
        metadata={"description": "nik_registered, kk_registered or household_changed"},
    )
    choices = fields.List(fields.String())
    facts = fields.Dict(metadata={"description": "What the choice needs (existing ids...)"})
    detail = fields.String(allow_none=True)
    detail_en = fields.String(allow_none=True)
    errors = fields.List(fields.Dict())


class SyncResponseSchema(Schema):
    received_at = fields.DateTime()
    items = fields.List(fields.Nested(SyncOutcomeSchema))


class UploadStartSchema(Schema):
    key = Text(required=True, validate=KEY)
    size = fields.Integer(required=True, validate=validate.Range(1, 2**31 - 1))
    sha256 = Text(required=True, validate=validate.Regexp(r"^[0-9a-fA-F]{64}$"))


class UploadSchema(Schema):
    id = fields.UUID()
    key = fields.String(attribute="client_key")
    size = fields.Integer()
    received = fields.Integer(metadata={"description": "Bytes stored so far: resume here"})
    complete = fields.Boolean()


class PieceQuerySchema(Schema):
    offset = fields.Integer(required=True, validate=validate.Range(0, 2**31 - 1))


def _status(exc: Problem) -> str:
    if exc.code == 409 and exc.extra.get("conflict"):
        return "conflict"
    if exc.code in (403, 404):
        return "refused"
    if exc.code in (400, 413, 415, 422):
        return "invalid"
    if exc.code == 409 and any(e.get("field", "").startswith("photos") for e in exc.errors or []):
        return "retry"
    if exc.code == 409:
        return "refused"
    return "retry"


def _refused(key: str, exc: Problem) -> dict[str, Any]:
    detail = exc.page_detail or exc.detail
    facts = {k: v for k, v in exc.extra.items() if k not in ("conflict", "choices")}
    if detail is None and exc.errors:
        first = exc.errors[0]
        detail = Msg(first["message"], first["message_en"])
    return {
        "key": key,
        "status": _status(exc),
        "replayed": False,
        "conflict": exc.extra.get("conflict"),
        "choices": list(exc.extra.get("choices") or []),
        "facts": facts,
        "detail": str(detail) if detail is not None else None,
        "detail_en": getattr(detail, "en", None) if detail is not None else None,
        "errors": exc.errors or [],
    }


def sync_items(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Apply each item in order (a household before the visit about its member), each in its
    own transaction: one item refused leaves the others applied."""
    received_at = dt.datetime.now(dt.UTC)
    outcomes = []
    for item in items:
        try:
            data = ITEM_SCHEMAS[item["kind"]]().load(item["data"])
        except ValidationError as exc:
            found = flatten_messages(exc.messages)
            outcomes.append(
                _refused(
                    item["key"],
                    Problem(
                        422,
                        Msg("Data tidak lengkap atau salah.", "Some data is missing or wrong."),
                        errors=found,
                    ),
                )
            )
            continue
        try:
            result = actions.apply_item(
                item["key"], item["kind"], item["captured_at"], data, received_at
            )
        except Problem as exc:
            outcomes.append(_refused(item["key"], exc))
            continue
        replayed = result.pop("replayed")
        outcomes.append(
            {"key": item["key"], "status": "applied", "replayed": replayed, "result": result}
        )
    return {"received_at": received_at, "items": outcomes}
