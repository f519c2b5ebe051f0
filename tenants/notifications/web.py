"""The notifications page (/t/<slug>/notifications): the signed-in member's own notifications,
newest first, the unread ones marked. Opening one marks it read and goes to what it is about (the
referral's page); "mark all read" clears the rest. The same access helper and actions as the API.
"""

from __future__ import annotations

import uuid

from flask import redirect, render_template, request, url_for

from slrt.auth.permissions import P
from slrt.auth.policy import current_principal, require
from slrt.platform import db
from slrt.platform.errors import Msg
from slrt.platform.web import TenantPages, notice, page_of
from slrt.tenants.notifications import actions
from slrt.tenants.notifications.access import access_notification_by_id, mine, unread_count
from slrt.tenants.notifications.models import Notification

bp = TenantPages(
    "notifications_web",
    __name__,
    "/notifications",
    lookups={"notification_id": access_notification_by_id},
)


def latest_unread(limit: int = 5) -> list[Notification]:
    """The member's newest unread notifications (the home page shows a few)."""
    return list(
        db.session.execute(
            mine()
            .where(Notification.read_at.is_(None))
            .order_by(Notification.id.desc())
            .limit(limit)
        ).scalars()
    )


@bp.get("")
@require(P.TENANT_READ)
def notifications():
    unread_only = request.args.get("unread") == "1"
    stmt = mine()
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    page = page_of(stmt, Notification.id.desc())
    return render_template(
        "notifications/notifications.html",
        page=page,
        unread_only=unread_only,
        unread=unread_count(current_principal().account_id),
    )


@bp.post("/<uuid:notification_id>/open")
@require(P.TENANT_READ)
def open_notification(notification_id: uuid.UUID):
    """Mark it read and go to what it is about."""
    notification = actions.mark_read(access_notification_by_id(notification_id, lock=True))
    if notification.referral_id is not None:
        return redirect(url_for("referrals_web.referral", referral_id=notification.referral_id))
    return redirect(url_for(".notifications"))


@bp.post("/read-all")
@require(P.TENANT_READ)
def read_all():
    marked = actions.mark_all_read(current_principal().account_id)
    notice(
        Msg(
            f"{marked} notifikasi ditandai sudah dibaca.",
            f"{marked} notification(s) marked as read.",
        )
    )
    return redirect(url_for(".notifications"))
