"""Platform audit trail for Kemensos: /api/v1/platform/audit-events (onboarding, suspension,
lokus designations, national catalog changes...). Append-only like the district trail."""

from __future__ import annotations

import sqlalchemy as sa
from marshmallow import fields

from slrt.auth.permissions import PP
from slrt.auth.policy import require
from slrt.platform import db
from slrt.platform.api import PlatformBlueprint, Schema
from slrt.platform.audit import PlatformAuditEvent
from slrt.platform.audit_api import AuditEventSchema

blp = PlatformBlueprint(
    "platform_audit", __name__, "/platform/audit-events", description="Platform audit trail"
)


class PlatformAuditEventSchema(AuditEventSchema):
    id = fields.Integer(dump_only=True)
    tenant_ref = fields.Integer(dump_only=True, metadata={"description": "District id, if any"})


class PlatformAuditQuerySchema(Schema):
    action = fields.String()
    entity_type = fields.String()
    entity_id = fields.String()
    tenant_ref = fields.Integer()
    since = fields.DateTime()
    until = fields.DateTime()


@blp.route("")
@blp.arguments(PlatformAuditQuerySchema, location="query")
@blp.response(200, PlatformAuditEventSchema(many=True))
@blp.paginate()
@require(PP.TENANTS_MANAGE)
def list_platform_audit_events(query: dict, pagination_parameters) -> list[PlatformAuditEvent]:
    """Platform audit events, newest first; filter by action, entity, district and time."""
    stmt = sa.select(PlatformAuditEvent)
    for key in ("action", "entity_type", "entity_id", "tenant_ref"):
        if query.get(key) is not None:
            stmt = stmt.where(getattr(PlatformAuditEvent, key) == query[key])
    if query.get("since"):
        stmt = stmt.where(PlatformAuditEvent.occurred_at >= query["since"])
    if query.get("until"):
        stmt = stmt.where(PlatformAuditEvent.occurred_at < query["until"])
    total = db.session.execute(sa.select(sa.func.count()).select_from(stmt.subquery())).scalar()
    pagination_parameters.item_count = total
    stmt = (
        stmt.order_by(PlatformAuditEvent.id.desc())
        .offset(pagination_parameters.first_item)
        .limit(pagination_parameters.page_size)
    )
    return list(db.session.execute(stmt).scalars())
