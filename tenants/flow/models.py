"""The tables of the service flow: cases (layanan / keluhan) with their needs and attachments,
referrals, their letters, the history of every state change, and the per-year counters.

A case is one visit or contact with a readable ticket number; its state and its referrals' states
change only through `slrt.tenants.flow.workflow`. Referrals copy the case's village code so the
overdue and inbox queries stay on one indexed table.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column

from slrt.platform.db import Base, TenantScoped, Timestamps, tenant_fk


class CaseKind(enum.StrEnum):
    question = "question"
    suggestion = "suggestion"
    complaint = "complaint"
    service_request = "service_request"


class Channel(enum.StrEnum):
    secretariat = "secretariat"
    puskesos = "puskesos"
    outreach = "outreach"
    phone_whatsapp = "phone_whatsapp"
    public_form = "public_form"


class AttachmentKind(enum.StrEnum):
    ktp = "ktp"
    kk = "kk"
    sktm = "sktm"
    photo = "photo"
    other = "other"


class Case(TenantScoped, Timestamps, Base):
    __tablename__ = "cases"

    ticket_number: Mapped[str] = mapped_column(sa.String(24))
    kind: Mapped[str] = mapped_column(sa.String(20))
    channel: Mapped[str] = mapped_column(sa.String(20))
    person_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    household_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    village_code: Mapped[str] = mapped_column(sa.String(13))
    description: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(16), default="registered")
    registered_by: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    # The receipt's secret status link opens the case's public status without the NIK digits:
    # only a hash of its token is kept (`slrt.tenants.flow.receipts`); None for cases registered
    # before receipts carried one.
    status_token_hash: Mapped[str | None] = mapped_column(sa.String(64))
    # A message from the public form may come before its writer is in the registry: the contact
    # they gave, and their NIK while no registered person holds it (staff link the case later).
    reporter_name: Mapped[str | None] = mapped_column(sa.String(200))
    reporter_phone: Mapped[str | None] = mapped_column(sa.String(32))
    reporter_nik: Mapped[str | None] = mapped_column(sa.String(16))
    # Assessment (back office)
    assessment_note: Mapped[str | None] = mapped_column(sa.Text)
    suggestions: Mapped[list[dict[str, Any]] | None] = mapped_column(postgresql.JSONB)
    assessed_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # Decision (manager / Puskesos coordinator)
    decided_by_name: Mapped[str | None] = mapped_column(sa.String(200))
    decided_by_title: Mapped[str | None] = mapped_column(sa.String(120))
    decided_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # Follow-up and closure (facilitator)
    follow_up_note: Mapped[str | None] = mapped_column(sa.Text)
    resolution: Mapped[str | None] = mapped_column(sa.String(12))
    closed_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))

    __table_args__ = (
        tenant_fk("person_id", "persons", ondelete="RESTRICT"),
        tenant_fk("household_id", "households", ondelete="RESTRICT"),
        sa.UniqueConstraint("tenant_id", "ticket_number", name="uq_cases_tenant_ticket"),
        sa.UniqueConstraint("tenant_id", "status_token_hash", name="uq_cases_tenant_status_token"),
        sa.Index("ix_cases_village_status", "tenant_id", "village_code", "status", "id"),
        sa.Index("ix_cases_status", "tenant_id", "status", "id"),
        sa.Index("ix_cases_person", "tenant_id", "person_id"),
        sa.CheckConstraint(
            "person_id IS NOT NULL OR household_id IS NOT NULL OR channel = 'public_form'",
            name="person_or_household",
        ),
        sa.CheckConstraint(
            "kind IN ('question', 'suggestion', 'complaint', 'service_request')", name="kind_values"
        ),
        sa.CheckConstraint(
            "channel IN ('secretariat', 'puskesos', 'outreach', 'phone_whatsapp', 'public_form')",
            name="channel_values",
        ),
        sa.CheckConstraint(
            "resolution IS NULL OR resolution IN ('resolved', 'unresolved')",
            name="resolution_values",
        ),
    )


class CaseNeed(TenantScoped, Base):
    __tablename__ = "case_needs"

    case_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    sector: Mapped[str] = mapped_column(sa.String(24))
    description: Mapped[str] = mapped_column(sa.Text)

    __table_args__ = (
        tenant_fk("case_id", "cases", ondelete="CASCADE"),
        sa.Index("ix_case_needs_case", "tenant_id", "case_id"),
    )


class CaseAttachment(TenantScoped, Base):
    __tablename__ = "case_attachments"

    case_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    kind: Mapped[str] = mapped_column(sa.String(12))
    filename: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    storage_key: Mapped[str] = mapped_column(sa.String(300))
    uploaded_by: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    created_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )

    __table_args__ = (
        tenant_fk("case_id", "cases", ondelete="CASCADE"),
        sa.Index("ix_case_attachments_case", "tenant_id", "case_id"),
    )


class Referral(TenantScoped, Timestamps, Base):
    __tablename__ = "referrals"

    case_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    program_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    program_version_id: Mapped[uuid.UUID] = mapped_column(
        sa.Uuid
    )  # kept: the rules it was made under
    program_version: Mapped[int] = mapped_column(sa.Integer)
    program_name: Mapped[str] = mapped_column(sa.String(200))
    agency_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    agency_name: Mapped[str] = mapped_column(sa.String(200))
    deadline_days: Mapped[int] = mapped_column(sa.Integer)
    village_code: Mapped[str] = mapped_column(sa.String(13))
    status: Mapped[str] = mapped_column(sa.String(12), default="pending")
    sent_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    due_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    received_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    responded_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    fulfilled_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    rejection_reason: Mapped[str | None] = mapped_column(sa.Text)
    outcome: Mapped[str | None] = mapped_column(sa.Text)
    # SLA escalation (tenants.escalation): 0 none, 1 supervisor, 2 manager, 3 flagged to the
    # district; the time of the last step starts the wait for the next one.
    escalation_level: Mapped[int] = mapped_column(sa.SmallInteger, default=0, server_default="0")
    escalated_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))

    __table_args__ = (
        tenant_fk("case_id", "cases", ondelete="RESTRICT"),
        tenant_fk("program_id", "programs", ondelete="RESTRICT"),
        tenant_fk("program_version_id", "program_versions", ondelete="RESTRICT"),
        tenant_fk("agency_id", "agencies", ondelete="RESTRICT"),
        sa.Index("ix_referrals_case", "tenant_id", "case_id"),
        sa.Index("ix_referrals_agency_status", "tenant_id", "agency_id", "status", "id"),
        sa.Index("ix_referrals_village_status", "tenant_id", "village_code", "status", "id"),
        # Overdue = still open past its due date: a partial index over exactly those rows.
        sa.Index(
            "ix_referrals_open_due",
            "tenant_id",
            "due_at",
            postgresql_where=sa.text("status IN ('sent', 'received', 'accepted')"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'received', 'accepted', 'rejected', 'fulfilled')",
            name="status_values",
        ),
        sa.CheckConstraint("escalation_level BETWEEN 0 AND 3", name="escalation_level_range"),
    )

    OPEN = ("sent", "received", "accepted")


class Transition(TenantScoped, Base):
    """Every state change of a case or referral (append-only)."""

    __tablename__ = "workflow_transitions"

    case_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    referral_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    machine: Mapped[str] = mapped_column(sa.String(10))
    action: Mapped[str] = mapped_column(sa.String(20))
    from_state: Mapped[str] = mapped_column(sa.String(16))
    to_state: Mapped[str] = mapped_column(sa.String(16))
    actor_account_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    actor_label: Mapped[str] = mapped_column(sa.String(200))
    note: Mapped[str | None] = mapped_column(sa.Text)
    occurred_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )

    __table_args__ = (
        tenant_fk("case_id", "cases", ondelete="RESTRICT"),
        sa.Index("ix_workflow_transitions_case", "tenant_id", "case_id", "occurred_at"),
        sa.CheckConstraint("machine IN ('case', 'referral')", name="machine_values"),
    )


class Letter(TenantScoped, Base):
    __tablename__ = "letters"

    referral_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    number: Mapped[str] = mapped_column(sa.String(60))
    token: Mapped[str] = mapped_column(sa.String(43))
    signer_name: Mapped[str] = mapped_column(sa.String(200))
    signer_title: Mapped[str] = mapped_column(sa.String(120))
    issued_by: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    issued_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )
    revoked_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))

    __table_args__ = (
        tenant_fk("referral_id", "referrals", ondelete="RESTRICT"),
        sa.UniqueConstraint("tenant_id", "referral_id", name="uq_letters_tenant_referral"),
        sa.UniqueConstraint("tenant_id", "number", name="uq_letters_tenant_number"),
        sa.UniqueConstraint("tenant_id", "token", name="uq_letters_tenant_token"),
    )


class Counter(TenantScoped, Base):
    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(sa.String(40))
    year: Mapped[int] = mapped_column(sa.SmallInteger)
    value: Mapped[int] = mapped_column(sa.Integer)

    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "name", "year", name="uq_counters_tenant_name_year"),
    )
