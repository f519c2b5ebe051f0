"""The `notifications` table: what the system tells a staff member in the app (e.g. an overdue
referral in their region). There is no email or WhatsApp gateway; people see these on their
home page and the notifications page (/t/<slug>/notifications), programs through
/api/v1/t/<slug>/notifications. One row per account and `dedup_key`, so the same event never
notifies the same person twice.
"""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from slrt.platform.db import Base, TenantScoped, tenant_fk


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
