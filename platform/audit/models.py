"""The tables of the append-only audit trail.

Configuration changes (who, when, before/after) and personal-data access (reads, exports,
letters) go to `audit_events`, a tenant table the app role may INSERT and SELECT but never
UPDATE or DELETE (grants in the migration). Platform-level actions (onboarding a district,
plan changes, cross-tenant reads) go to `platform_audit_events`, equally append-only. Database
triggers refuse UPDATE, DELETE and TRUNCATE for every role and chain each event to the one before
(see the privacy migration); the only delete is the retention purge, `purge_before`."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from slrt.platform.db import Base, TenantScoped
from slrt.platform.personal_text import PersonalText


class AuditKind(enum.StrEnum):
    config = "config"  # configuration change
    read = "read"  # a person's record was read
    export = "export"  # personal data left the system in a file
    letter = "letter"  # a letter naming a person was produced
    erasure = "erasure"  # lawful erasure / anonymisation
    workflow = "workflow"  # a case or referral changed state
    security = "security"  # sign-in, role and membership changes


class _AuditColumns:
    occurred_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now(), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(16))
    action: Mapped[str] = mapped_column(sa.String(80))
    entity_type: Mapped[str] = mapped_column(sa.String(60))
    entity_id: Mapped[str | None] = mapped_column(sa.String(80))
    actor_kind: Mapped[str] = mapped_column(sa.String(16))
    actor_label: Mapped[str] = mapped_column(sa.String(200))
    actor_account_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    endpoint: Mapped[str | None] = mapped_column(sa.String(200))
    ip: Mapped[str | None] = mapped_column(sa.String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column()
    after: Mapped[dict[str, Any] | None] = mapped_column()
    # Free text about a resident (workflow notes, a letter's revocation) is sealed under the
    # resident's key (slrt.platform.personal_text): erasing them leaves the event unreadable
    # but whole.
    note: Mapped[str | None] = mapped_column(PersonalText)
    # Filled by the database's insert trigger: the event's place in its district's hash chain,
    # the previous link's hash and its own (`slrt audit verify` recomputes them).
    chain_seq: Mapped[int] = mapped_column(sa.BigInteger, server_default=sa.FetchedValue())
    prev_hash: Mapped[str | None] = mapped_column(sa.String(64), server_default=sa.FetchedValue())
    chain_hash: Mapped[str] = mapped_column(sa.String(64), server_default=sa.FetchedValue())


class AuditEvent(_AuditColumns, TenantScoped, Base):
    __tablename__ = "audit_events"

    def seals_personal_text(self) -> bool:
        return self.kind in (AuditKind.workflow, AuditKind.letter)

    __table_args__ = (
        sa.Index("ix_audit_events_entity", "tenant_id", "entity_type", "entity_id"),
        sa.Index("ix_audit_events_actor", "tenant_id", "actor_account_id", "occurred_at"),
    )


class PlatformAuditEvent(_AuditColumns, Base):
    __tablename__ = "platform_audit_events"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    tenant_ref: Mapped[int | None] = mapped_column(sa.Integer)
