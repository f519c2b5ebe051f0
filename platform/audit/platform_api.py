"""Platform audit trail for Kemensos: /api/v1/platform/audit-events (onboarding, suspension,
lokus designations, national catalog changes...). Append-only like the district trail."""

from __future__ import annotations

import sqlalchemy as sa
from marshmallow import fields

from slrt.auth.permissions import PP
from slrt.auth.policy import require
from slrt.platform.api import PlatformBlueprint, Schema, page_of
from slrt.platform.audit.api import AuditEventSchema, event_filters
from slrt.platform.audit.models import PlatformAuditEvent

blp = PlatformBlueprint(
    "platform_audit", __name__, "/platform/audit-events", description="Platform audit trail"
)


class PlatformAuditEventSchema(AuditEventSchema):
    id = fields.Integer(dump_only=True)
    tenant_ref = fields.Integer(
        dump_only=True, allow_none=True, metadata={"description": "District id, if any"}
    )


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
    stmt = sa.select(PlatformAuditEvent).where(
        *event_filters(
            PlatformAuditEvent, query, ("action", "entity_type", "entity_id", "tenant_ref")
        )
    )
    return page_of(stmt, pagination_parameters, PlatformAuditEvent.id.desc())
