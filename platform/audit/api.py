"""District audit trail: /api/v1/t/<tenant>/audit-events.

Configuration changes need `audit.read`; personal-data access records (reads, exports, letters,
erasure) need `personal_data.audit` as well, since the log itself says who was looked at.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from marshmallow import fields, validate

from slrt.auth.permissions import P
from slrt.auth.policy import authorize, current_principal, require
from slrt.platform import db
from slrt.platform.api import Schema, TenantBlueprint, nullable_as, page_of
from slrt.platform.audit.access import PERSONAL_KINDS, visible_events
from slrt.platform.audit.models import AuditEvent, AuditKind, PlatformAuditEvent
from slrt.platform.errors import Msg, Problem

blp = TenantBlueprint("audit", __name__, "/audit-events", description="Audit trail (append-only)")


@nullable_as(AuditEvent, PlatformAuditEvent)
class AuditEventSchema(Schema):
    id = fields.UUID(dump_only=True)
    occurred_at = fields.DateTime(dump_only=True)
    kind = fields.String(dump_only=True)
    action = fields.String(dump_only=True)
    entity_type = fields.String(dump_only=True)
    entity_id = fields.String(dump_only=True)
    actor_kind = fields.String(dump_only=True)
    actor_label = fields.String(dump_only=True)
    actor_account_id = fields.UUID(dump_only=True)
    endpoint = fields.String(dump_only=True)
    ip = fields.String(dump_only=True)
    before = fields.Dict(dump_only=True)
    after = fields.Dict(dump_only=True)
    note = fields.String(dump_only=True)


class AuditQuerySchema(Schema):
    kind = fields.String(validate=validate.OneOf([k.value for k in AuditKind]))
    entity_type = fields.String()
    entity_id = fields.String()
    actor_account_id = fields.UUID()
    since = fields.DateTime()
    until = fields.DateTime()


def event_filters(
    model: type[AuditEvent] | type[PlatformAuditEvent], query: dict, keys: tuple[str, ...]
) -> list[sa.ColumnElement[bool]]:
    """The conditions both audit trails filter on: exact matches on `keys` that were given,
    and the time window [since, until)."""
    clauses = [getattr(model, key) == query[key] for key in keys if query.get(key) is not None]
    if query.get("since"):
        clauses.append(model.occurred_at >= query["since"])
    if query.get("until"):
        clauses.append(model.occurred_at < query["until"])
    return clauses


@blp.route("")
@blp.arguments(AuditQuerySchema, location="query")
@blp.response(200, AuditEventSchema(many=True))
@blp.paginate()
@require(P.AUDIT_READ)
def list_audit_events(query: dict, pagination_parameters) -> list[AuditEvent]:
    """Audit events, newest first; filter by kind, entity, actor and time."""
    stmt = visible_events(current_principal(), query.get("kind")).where(
        *event_filters(AuditEvent, query, ("entity_type", "entity_id", "actor_account_id"))
    )
    return page_of(stmt, pagination_parameters, AuditEvent.occurred_at.desc(), AuditEvent.id.desc())


@blp.route("/<uuid:event_id>")
@blp.response(200, AuditEventSchema)
@require(P.AUDIT_READ)
def get_audit_event(event_id: uuid.UUID) -> AuditEvent:
    """One audit event."""
    event = db.session.execute(
        sa.select(AuditEvent).where(AuditEvent.id == event_id)
    ).scalar_one_or_none()
    if event is None:
        raise Problem(404, Msg("Catatan audit tidak ditemukan.", "Audit event not found."))
    if event.kind in PERSONAL_KINDS:
        authorize(current_principal(), str(P.PERSONAL_DATA_AUDIT))
    return event
