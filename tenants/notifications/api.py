"""Notifications API: /api/v1/t/<tenant>/notifications: the signed-in member's own notifications.

Everyone sees only notifications addressed to them (another member's id answers 404). Every
role holds tenant.read, so every member can read their notifications.
"""

from __future__ import annotations

import uuid

from marshmallow import fields

from slrt.auth.permissions import P
from slrt.auth.policy import current_principal, require
from slrt.platform.api import Schema, TenantBlueprint, Text, bool_arg, nullable_as, page_of
from slrt.tenants.notifications import actions
from slrt.tenants.notifications.access import access_notification_by_id, mine, unread_count
from slrt.tenants.notifications.models import Notification

blp = TenantBlueprint(
    "notifications",
    __name__,
    "/notifications",
    description="My in-app notifications",
    lookups={"notification_id": access_notification_by_id},
)


@nullable_as(Notification)
class NotificationSchema(Schema):
    id = fields.UUID(dump_only=True)
    kind = Text(dump_only=True)
    title = Text(dump_only=True)
    title_en = Text(dump_only=True)
    body = Text(dump_only=True)
    body_en = Text(dump_only=True)
    referral_id = fields.UUID(dump_only=True)
    link = Text(dump_only=True)
    read = fields.Method("_read", dump_only=True)
    read_at = fields.DateTime(dump_only=True)
    created_at = fields.DateTime(dump_only=True)

    def _read(self, obj: Notification) -> bool:
        return obj.read_at is not None


class NotificationQuerySchema(Schema):
    unread = bool_arg(metadata={"description": "true: only notifications not read yet"})


class UnreadCountSchema(Schema):
    unread = fields.Integer(dump_only=True)


class MarkedSchema(Schema):
    marked = fields.Integer(dump_only=True)


@blp.route("")
@blp.arguments(NotificationQuerySchema, location="query")
@blp.response(200, NotificationSchema(many=True))
@blp.paginate()
@require(P.TENANT_READ)
def list_notifications(query: dict, pagination_parameters) -> list[Notification]:
    """My notifications, newest first; `?unread=true` for the unread ones only."""
    stmt = mine()
    if query.get("unread") is True:
        stmt = stmt.where(Notification.read_at.is_(None))
    elif query.get("unread") is False:
        stmt = stmt.where(Notification.read_at.is_not(None))
    return page_of(stmt, pagination_parameters, Notification.id.desc())


@blp.route("/unread-count")
@blp.response(200, UnreadCountSchema)
@require(P.TENANT_READ)
def count_unread() -> dict:
    """How many of my notifications are unread."""
    return {"unread": unread_count(current_principal().account_id)}


@blp.route("/<uuid:notification_id>/read", methods=["POST"])
@blp.response(200, NotificationSchema)
@require(P.TENANT_READ)
def mark_read(notification_id: uuid.UUID) -> Notification:
    """Mark one of my notifications read (marking it again changes nothing)."""
    return actions.mark_read(access_notification_by_id(notification_id, lock=True))


@blp.route("/read-all", methods=["POST"])
@blp.response(200, MarkedSchema)
@require(P.TENANT_READ)
def mark_all_read() -> dict:
    """Mark all my unread notifications read."""
    return {"marked": actions.mark_all_read(current_principal().account_id)}
