"""Rows an import held back: `import_conflicts`.

A row whose record was changed in the system after the file was uploaded is not written over
those newer edits; the importer stores it here (the file's clean values and the stored values it
would replace), and the job's error report lists it. The district may then apply exactly these
rows (a second job, audited); each row remembers the job that applied it. Rows refused for
being outside the uploader's region are kept the same way, but can never be applied. They hold
personal data: they go with the job's files after the retention period, and with a person's
erasure.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from slrt.platform.db import Base, TenantScoped, tenant_fk


class ConflictReason(enum.StrEnum):
    changed = "changed"  # the record changed after the upload: may be applied
    region = "region"  # the record lies outside the uploader's region: never applied


class ImportConflict(TenantScoped, Base):
    __tablename__ = "import_conflicts"

    job_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    row_number: Mapped[int] = mapped_column(sa.Integer)
    reason: Mapped[str] = mapped_column(sa.String(16))
    # The record's natural key in the file (a NIK): found again by erasure.
    record_key: Mapped[str] = mapped_column(sa.String(64))
    file_values: Mapped[dict[str, Any]] = mapped_column()  # the file row's clean values
    stored_values: Mapped[dict[str, Any]] = mapped_column()  # the differing fields, as stored
    changed_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # The job that applied the row (or looked at it again and held it back once more).
    applied_job_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    created_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )

    __table_args__ = (
        tenant_fk("job_id", "jobs", ondelete="CASCADE"),
        sa.UniqueConstraint("tenant_id", "job_id", "row_number"),
        sa.Index("ix_import_conflicts_key", "tenant_id", "record_key"),
        sa.CheckConstraint("reason IN ('changed', 'region')", name="reason_values"),
    )
