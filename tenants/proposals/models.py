"""DTKS proposals (usulan): people missing from the welfare registry, proposed per village.

Flow: a proposal is made for a person not in DTKS -> proposals of one village are collected into
a batch for the village meeting (musdes for a desa, muskel for a kelurahan) -> the minutes are
uploaded -> the district verifies the batch -> it is exported for SIKS-NG (CSV/XLSX) -> the result
comes back per person and updates the household's DTKS status.
"""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from slrt.platform.audit.reads import follow_column, follow_subject, personal_rows
from slrt.platform.db import Base, TenantScoped, Timestamps, tenant_fk
from slrt.platform.personal_text import PersonalText


class ProposalBatch(TenantScoped, Timestamps, Base):
    __tablename__ = "dtks_proposal_batches"

    village_code: Mapped[str] = mapped_column(sa.String(13))
    meeting_kind: Mapped[str] = mapped_column(sa.String(8))  # musdes / muskel
    meeting_date: Mapped[dt.date | None] = mapped_column(sa.Date)
    status: Mapped[str] = mapped_column(sa.String(12), default="open")
    minutes_key: Mapped[str | None] = mapped_column(sa.String(300))
    minutes_filename: Mapped[str | None] = mapped_column(sa.String(255))
    minutes_content_type: Mapped[str | None] = mapped_column(sa.String(100))
    verified_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    exported_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))

    __table_args__ = (
        sa.Index("ix_dtks_proposal_batches_village", "tenant_id", "village_code", "id"),
        sa.CheckConstraint("meeting_kind IN ('musdes', 'muskel')", name="meeting_kind_values"),
        sa.CheckConstraint(
            "status IN ('open', 'held', 'verified', 'exported')", name="status_values"
        ),
    )


class Proposal(TenantScoped, Timestamps, Base):
    __tablename__ = "dtks_proposals"

    person_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    village_code: Mapped[str] = mapped_column(sa.String(13))
    batch_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    reason: Mapped[str | None] = mapped_column(PersonalText)
    status: Mapped[str] = mapped_column(sa.String(12), default="proposed")
    result_desil: Mapped[int | None] = mapped_column(sa.SmallInteger)
    result_on: Mapped[dt.date | None] = mapped_column(sa.Date)

    __table_args__ = (
        tenant_fk("person_id", "persons", ondelete="RESTRICT"),
        tenant_fk("batch_id", "dtks_proposal_batches", ondelete="RESTRICT"),
        sa.Index("ix_dtks_proposals_village_status", "tenant_id", "village_code", "status", "id"),
        sa.Index("ix_dtks_proposals_batch", "tenant_id", "batch_id"),
        # One open proposal per person at a time.
        sa.Index(
            "uq_dtks_proposals_open_person",
            "tenant_id",
            "person_id",
            unique=True,
            postgresql_where=sa.text("status IN ('proposed', 'in_batch')"),
        ),
        sa.CheckConstraint(
            "status IN ('proposed', 'in_batch', 'accepted', 'not_accepted')",
            name="status_values",
        ),
        sa.CheckConstraint(
            "result_desil IS NULL OR result_desil BETWEEN 1 AND 10", name="result_desil_range"
        ),
    )


# Whose personal data these rows hold: reads of them are recorded by construction. A batch's
# minutes name every person in it; the minutes' route names them itself.
personal_rows(Proposal, lambda proposal: ("person", proposal.person_id))
follow_subject("dtks_proposal", follow_column(Proposal.id, Proposal.person_id, "person"))
