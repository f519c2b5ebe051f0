"""In-app notifications: what the system tells a staff member (e.g. an overdue referral in their
region). There is no email or WhatsApp gateway; people see these in the app and through
/api/v1/t/<slug>/notifications.

`notify` is idempotent through `dedup_key`: the same event never notifies the same person twice,
whatever the number of job runs or retries.
"""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column
from uuid6 import uuid7

from slrt.platform import db
from slrt.platform.db import Base, TenantScoped, tenant_fk
from slrt.platform.errors import Msg
from slrt.platform.tenancy import current_tenant


class Notification(TenantScoped, Base):
    __tablename__ = "notifications"

    account_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("accounts.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(sa.String(40))
    title: Mapped[str] = mapped_column(sa.String(200))
    title_en: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    body_en: Mapped[str] = mapped_column(sa.Text)
    referral_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    link: Mapped[str | None] = mapped_column(sa.String(300))
    dedup_key: Mapped[str] = mapped_column(sa.String(200))
    read_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )

    __table_args__ = (
        tenant_fk("referral_id", "referrals", ondelete="CASCADE"),
        sa.UniqueConstraint("tenant_id", "account_id", "dedup_key"),
        sa.Index("ix_notifications_account", "tenant_id", "account_id", "read_at", "id"),
    )


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


def unread_count(account_id: uuid.UUID) -> int:
    return db.session.execute(
        sa.select(sa.func.count())
        .select_from(Notification)
        .where(Notification.account_id == account_id, Notification.read_at.is_(None))
    ).scalar_one()
