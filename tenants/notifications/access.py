"""Access to notifications: a member sees only the notifications addressed to them (another
member's id answers 404, like a missing one), and how many of them are unread."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from slrt.auth.policy import current_principal
from slrt.platform import db
from slrt.platform.db import one_or_404, reuse_in_request
from slrt.platform.errors import Msg
from slrt.tenants.notifications.models import Notification

NOTIFICATION_NOT_FOUND = Msg("Notifikasi tidak ditemukan.", "Notification not found.")


def mine() -> sa.Select:
    """The signed-in member's own notifications."""
    return sa.select(Notification).where(Notification.account_id == current_principal().account_id)


@reuse_in_request
def access_notification_by_id(notification_id: uuid.UUID, *, lock: bool = False) -> Notification:
    stmt = mine().where(Notification.id == notification_id)
    if lock:  # read it again under the lock, not as the path lookup saw it
        stmt = stmt.execution_options(populate_existing=True)
    return one_or_404(stmt, NOTIFICATION_NOT_FOUND, lock=lock)


def unread_count(account_id: uuid.UUID) -> int:
    return db.session.execute(
        sa.select(sa.func.count())
        .select_from(Notification)
        .where(Notification.account_id == account_id, Notification.read_at.is_(None))
    ).scalar_one()
