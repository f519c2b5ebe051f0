"""The field app's server-side memory: the items a facilitator's device has synced (one row per
client-made idempotency key, with the result it got, so a retry answers the same and writes
nothing) and the photos it is uploading in pieces (one row per upload; the pieces themselves are
kept in the file store until the intake that uses them is applied)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from slrt.platform.db import Base, TenantScoped, Timestamps


class SyncedItem(TenantScoped, Base):
    """An item of a device's outbox that was applied: its key, what it became, when it was
    captured on the device and when it arrived."""

    __tablename__ = "field_synced_items"

    account_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    client_key: Mapped[str] = mapped_column(sa.String(64))
    kind: Mapped[str] = mapped_column(sa.String(16))
    # NULL only inside the transaction that applies the item.
    result: Mapped[dict[str, Any] | None] = mapped_column()
    captured_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))
    received_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )

    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "account_id", "client_key"),
        sa.CheckConstraint("kind IN ('household', 'intake', 'follow_up')", name="kind_values"),
    )


class FieldUpload(TenantScoped, Timestamps, Base):
    """A photo arriving in pieces (each stored as it comes, in order): `received` bytes so far
    out of `size`; complete when they are equal and the pieces hash to `sha256`."""

    __tablename__ = "field_uploads"

    account_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    client_key: Mapped[str] = mapped_column(sa.String(64))
    size: Mapped[int] = mapped_column(sa.Integer)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    received: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    pieces: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")

    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "account_id", "client_key"),
        sa.CheckConstraint("received BETWEEN 0 AND size", name="received_range"),
    )

    @property
    def complete(self) -> bool:
        return self.received == self.size
