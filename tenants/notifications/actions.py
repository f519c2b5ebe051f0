"""The writes to in-app notifications: `notify` (the system tells staff members something, in
the caller's transaction) and a member marking their own notifications read.

`notify` is idempotent through `dedup_key`: the same event never notifies the same person twice,
whatever the number of job runs or retries.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from uuid6 import uuid7

from slrt.platform import db
from slrt.platform.errors import Msg
from slrt.platform.tenancy import current_tenant
from slrt.platform.transaction import action
from slrt.tenants.notifications.models import Notification


def notify(
    account_ids: list[uuid.UUID],
    kind: str,
    title: Msg,
    body: Msg,
    *,
    dedup_key: str,
    referral_id: uuid.UUID | None = None,
    link: str | None = None,
) -> int:
    """Notify each account once per `dedup_key` (in the caller's transaction); returns how many
    notifications were new."""
    if not account_ids:
        return 0
    tenant = current_tenant()
    rows = [
        {
            "tenant_id": tenant.id,
            "id": uuid7(),
            "account_id": account_id,
            "kind": kind,
            "title": str(title),
            "title_en": title.en,
            "body": str(body),
            "body_en": body.en,
            "referral_id": referral_id,
            "link": link,
            "dedup_key": dedup_key,
        }
        for account_id in sorted(set(account_ids))
    ]
    result = db.session.execute(
        postgresql.insert(Notification)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["tenant_id", "account_id", "dedup_key"])
        .returning(Notification.id)
    )
    return len(result.all())


@action
def mark_read(notification: Notification) -> Notification:
    """Mark one notification read; marking it again changes nothing."""
    if notification.read_at is None:
        notification.read_at = sa.func.now()
        db.session.flush()
        db.session.refresh(notification, ["read_at"])
    return notification


@action
def mark_all_read(account_id: uuid.UUID) -> int:
    """Mark every unread notification of the account read; returns how many."""
    result = db.session.execute(
        sa.update(Notification)
        .where(Notification.account_id == account_id, Notification.read_at.is_(None))
        .values(read_at=sa.func.now())
    )
    return result.rowcount or 0
