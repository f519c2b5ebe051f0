"""The DTSEN tables of a district: the SIKS-NG files it imported, each family's official standing
per quarter, the persons those files listed, and the residents' usul and sanggah with their
evidence.

- `DtsenImport`: one uploaded BNBA or desil file for one period (quarter), with its header, the
  column mapping chosen for it, and the two jobs that checked it (dry run) and applied it.
- `DtsenRecord`: a family's (KK's) DTSEN standing in one period: listed or not, its desil, and
  where it came from (an imported file, a SIKS-NG result of a proposal, a check at the desk).
  Rows are only ever added: a family's history is every row, its current standing the latest
  (latest period, then latest row). `family_key` is the KK number, or "nik:<NIK>" when a file
  gave no KK; `household_id` is the registry's household the family was matched to, if any.
- `DtsenMember`: a person a file listed for a period (one row per NIK and period).
- `Submission`: an usul (a resident asks to be added) or a sanggah (an objection to a listed
  family), with its verification clock, the home visit's result (verval), the decision and the
  outcome letter; its state moves through the "submission" machine of `flow.workflow`.
- `Evidence`: a house photo or a document of a submission, checked by content, in the file store.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column

from slrt.platform.db import Base, TenantScoped, Timestamps, tenant_fk

IMPORT_KINDS = ("bnba", "desil")
IMPORT_STATES = ("mapping", "checking", "checked", "applying", "applied")
RECORD_SOURCES = ("import", "result", "check")
MATCH_RULES = ("kk", "nik", "member_nik")
SUBMISSION_KINDS = ("usul", "sanggah")
SUBMISSION_CHANNELS = ("puskesos", "kemensos")
VERVAL_RESULTS = ("eligible", "not_eligible")
EVIDENCE_KINDS = ("photo", "document")


def _values(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class DtsenImport(TenantScoped, Timestamps, Base):
    __tablename__ = "dtsen_imports"

    kind: Mapped[str] = mapped_column(sa.String(8))
    period: Mapped[str] = mapped_column(sa.String(7))  # "2026-Q3"
    filename: Mapped[str] = mapped_column(sa.String(255))
    file_type: Mapped[str] = mapped_column(sa.String(4))  # csv / xlsx
    size: Mapped[int] = mapped_column(sa.BigInteger)
    # The file itself, kept in the district's data (both walls) until it has been applied.
    content: Mapped[bytes | None] = mapped_column(sa.LargeBinary, deferred=True)
    header_row: Mapped[int] = mapped_column(sa.Integer)
    headers: Mapped[list[Any]] = mapped_column(postgresql.JSONB)
    # Per column of the header: the field it holds ("nik", "desil", ...) or None (ignored).
    mapping: Mapped[list[Any] | None] = mapped_column(postgresql.JSONB)
    status: Mapped[str] = mapped_column(sa.String(10), default="mapping")
    check_job_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    apply_job_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    uploaded_by: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    uploaded_by_label: Mapped[str] = mapped_column(sa.String(200))
    applied_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))

    __table_args__ = (
        sa.Index("ix_dtsen_imports_period", "tenant_id", "period", "created_at"),
        sa.CheckConstraint(_values("kind", IMPORT_KINDS), name="kind_values"),
        sa.CheckConstraint(_values("status", IMPORT_STATES), name="status_values"),
        sa.CheckConstraint("period ~ '^[0-9]{4}-Q[1-4]$'", name="period_format"),
    )


class DtsenRecord(TenantScoped, Base):
    __tablename__ = "dtsen_records"

    period: Mapped[str] = mapped_column(sa.String(7))
    family_key: Mapped[str] = mapped_column(sa.String(24))
    kk_number: Mapped[str | None] = mapped_column(sa.String(16))
    head_nik: Mapped[str | None] = mapped_column(sa.String(16))
    head_name: Mapped[str | None] = mapped_column(sa.String(200))
    household_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    village_code: Mapped[str | None] = mapped_column(sa.String(13))
    listed: Mapped[bool] = mapped_column(sa.Boolean)
    desil: Mapped[int | None] = mapped_column(sa.SmallInteger)
    source: Mapped[str] = mapped_column(sa.String(8))
    match_rule: Mapped[str | None] = mapped_column(sa.String(12))
    import_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    job_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    proposal_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    recorded_by_label: Mapped[str] = mapped_column(sa.String(200))
    recorded_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )

    __table_args__ = (
        tenant_fk("household_id", "households", ondelete="RESTRICT"),
        tenant_fk("import_id", "dtsen_imports", ondelete="RESTRICT"),
        tenant_fk("proposal_id", "dtks_proposals", ondelete="RESTRICT"),
        sa.Index("ix_dtsen_records_family", "tenant_id", "family_key", "period"),
        sa.Index("ix_dtsen_records_household", "tenant_id", "household_id", "period"),
        sa.Index("ix_dtsen_records_village", "tenant_id", "village_code", "period"),
        sa.CheckConstraint("period ~ '^[0-9]{4}-Q[1-4]$'", name="period_format"),
        sa.CheckConstraint("desil IS NULL OR desil BETWEEN 1 AND 10", name="desil_range"),
        sa.CheckConstraint("listed OR desil IS NULL", name="desil_only_listed"),
        sa.CheckConstraint(_values("source", RECORD_SOURCES), name="source_values"),
        sa.CheckConstraint(
            "match_rule IS NULL OR " + _values("match_rule", MATCH_RULES), name="match_rule_values"
        ),
    )


class DtsenMember(TenantScoped, Base):
    __tablename__ = "dtsen_members"

    period: Mapped[str] = mapped_column(sa.String(7))
    record_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    import_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    nik: Mapped[str | None] = mapped_column(sa.String(16))  # NULL once erased
    name: Mapped[str] = mapped_column(sa.String(200))
    kk_number: Mapped[str | None] = mapped_column(sa.String(16))
    relation: Mapped[str | None] = mapped_column(sa.String(40))
    village_code: Mapped[str | None] = mapped_column(sa.String(13))

    __table_args__ = (
        tenant_fk("record_id", "dtsen_records", ondelete="RESTRICT"),
        tenant_fk("import_id", "dtsen_imports", ondelete="RESTRICT"),
        sa.UniqueConstraint("tenant_id", "period", "nik", name="uq_dtsen_members_period_nik"),
        sa.Index("ix_dtsen_members_village", "tenant_id", "village_code", "period"),
        sa.Index("ix_dtsen_members_record", "tenant_id", "record_id"),
    )


class Submission(TenantScoped, Timestamps, Base):
    __tablename__ = "dtsen_submissions"

    kind: Mapped[str] = mapped_column(sa.String(8))
    channel: Mapped[str] = mapped_column(sa.String(10))
    status: Mapped[str] = mapped_column(sa.String(16), default="received")
    # The family the usul is for, or the listed family the sanggah objects to.
    person_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    nik: Mapped[str | None] = mapped_column(sa.String(16))
    name: Mapped[str] = mapped_column(sa.String(200))
    kk_number: Mapped[str | None] = mapped_column(sa.String(16))
    address: Mapped[str | None] = mapped_column(sa.String(500))
    village_code: Mapped[str] = mapped_column(sa.String(13))
    reason: Mapped[str] = mapped_column(sa.Text)
    # Who brought it (a sanggah is often made by a neighbour, not the family).
    submitter_name: Mapped[str | None] = mapped_column(sa.String(200))
    submitter_phone: Mapped[str | None] = mapped_column(sa.String(32))
    latitude: Mapped[float | None] = mapped_column(sa.Float)
    longitude: Mapped[float | None] = mapped_column(sa.Float)
    # Kemensos's own reference for a forwarded item: importing the same file twice adds nothing.
    source_ref: Mapped[str | None] = mapped_column(sa.String(64))
    received_on: Mapped[dt.date] = mapped_column(sa.Date)
    due_on: Mapped[dt.date] = mapped_column(sa.Date)
    # The home visit (verval)
    visited_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    verval_result: Mapped[str | None] = mapped_column(sa.String(14))
    verval_note: Mapped[str | None] = mapped_column(sa.Text)
    verval_by_label: Mapped[str | None] = mapped_column(sa.String(200))
    # The decision and its letter
    decision_note: Mapped[str | None] = mapped_column(sa.Text)
    decided_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    proposal_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    letter_number: Mapped[str | None] = mapped_column(sa.String(60))
    token: Mapped[str | None] = mapped_column(sa.String(43))
    letter_signer_name: Mapped[str | None] = mapped_column(sa.String(200))
    letter_signer_title: Mapped[str | None] = mapped_column(sa.String(120))
    letter_issued_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    created_by: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)

    __table_args__ = (
        tenant_fk("person_id", "persons", ondelete="RESTRICT"),
        tenant_fk("proposal_id", "dtks_proposals", ondelete="RESTRICT"),
        sa.UniqueConstraint("tenant_id", "source_ref", name="uq_dtsen_submissions_source_ref"),
        sa.UniqueConstraint("tenant_id", "token", name="uq_dtsen_submissions_token"),
        sa.UniqueConstraint("tenant_id", "letter_number", name="uq_dtsen_submissions_letter"),
        sa.Index("ix_dtsen_submissions_village", "tenant_id", "village_code", "status", "id"),
        sa.Index("ix_dtsen_submissions_due", "tenant_id", "status", "due_on"),
        sa.CheckConstraint(_values("kind", SUBMISSION_KINDS), name="kind_values"),
        sa.CheckConstraint(_values("channel", SUBMISSION_CHANNELS), name="channel_values"),
        sa.CheckConstraint(
            "verval_result IS NULL OR " + _values("verval_result", VERVAL_RESULTS),
            name="verval_values",
        ),
        sa.CheckConstraint("latitude IS NULL OR latitude BETWEEN -90 AND 90", name="latitude"),
        sa.CheckConstraint("longitude IS NULL OR longitude BETWEEN -180 AND 180", name="longitude"),
    )


class Evidence(TenantScoped, Base):
    __tablename__ = "dtsen_evidence"

    submission_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    kind: Mapped[str] = mapped_column(sa.String(10))
    filename: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    storage_key: Mapped[str] = mapped_column(sa.String(300))
    uploaded_by: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    uploaded_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )

    __table_args__ = (
        tenant_fk("submission_id", "dtsen_submissions", ondelete="RESTRICT"),
        sa.Index("ix_dtsen_evidence_submission", "tenant_id", "submission_id"),
        sa.CheckConstraint(_values("kind", EVIDENCE_KINDS), name="kind_values"),
    )
