"""In-app notifications: what the system tells a staff member (e.g. an overdue referral in their
region). There is no email or WhatsApp gateway; people see these in the app and through
/api/v1/t/<slug>/notifications.

`notify` is idempotent through `dedup_key`: the same event never notifies the same person twice,
whatever the number of job runs or retries.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from slrt.platform import db
from slrt.tenants.notifications.models import Notification


def unread_count(account_id: uuid.UUID) -> int:
    return db.session.execute(
        sa.select(sa.func.count())
        .select_from(Notification)
        .where(Notification.account_id == account_id, Notification.read_at.is_(None))
    ).scalar_one()
