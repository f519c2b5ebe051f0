"""The service flow: registry, intake, cases, referrals, letters, proposals.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from slrt.platform.commands.dbroles import APP_ROLE
from slrt.platform.rls import APPEND_ONLY, grant_platform_table, secure_tenant_table

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _tenant_cols() -> list[sa.Column]:
    return [
        sa.Column(
            "tenant_id",
            sa.Integer,
            sa.ForeignKey("tenants.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid, nullable=False),
    ]


def _ts() -> list[sa.Column]:
    return [
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    ]


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", column],
        [f"{target}.tenant_id", f"{target}.id"],
        ondelete=ondelete,
        name=f"fk_{table}_tenant_id_{column}_{target}",
    )


def _pk(table: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint("tenant_id", "id", name=f"pk_{table}")


def upgrade() -> None:
    op.create_table(
        "households",
        *_tenant_cols(),
        sa.Column("kk_number", sa.String(16)),
        sa.Column("address", sa.Text),
        sa.Column("village_code", sa.String(13), nullable=False),
        sa.Column("dtks_status", sa.String(16), nullable=False),
        sa.Column("desil", sa.SmallInteger),
        sa.Column("dtks_checked_on", sa.Date),
        *_ts(),
        _pk("households"),
        sa.UniqueConstraint("tenant_id", "kk_number", name="uq_households_tenant_kk"),
        sa.CheckConstraint(
            "dtks_status IN ('unknown', 'in_dtks', 'not_in_dtks')",
            name="ck_households_dtks_status_values",
        ),
        sa.CheckConstraint(
            "desil IS NULL OR desil BETWEEN 1 AND 10", name="ck_households_desil_range"
        ),
    )
    op.create_index("ix_households_village", "households", ["tenant_id", "village_code", "id"])
    secure_tenant_table("households")

    op.create_table(
        "persons",
        *_tenant_cols(),
        sa.Column("household_id", sa.Uuid),
        sa.Column("nik", sa.String(16)),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("sex", sa.String(1), nullable=False),
        sa.Column("birth_place", sa.String(120)),
        sa.Column("birth_date", sa.Date),
        sa.Column("relation", sa.String(20)),
        sa.Column("has_disability", sa.Boolean, server_default=sa.false(), nullable=False),
        sa.Column("phone", sa.String(32)),
        sa.Column("village_code", sa.String(13), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True)),
        *_ts(),
        _pk("persons"),
        _fk("persons", "household_id", "households", "RESTRICT"),
        sa.UniqueConstraint("tenant_id", "nik", name="uq_persons_tenant_nik"),
        sa.CheckConstraint("sex IN ('L', 'P')", name="ck_persons_sex_values"),
    )
    op.create_index("ix_persons_village", "persons", ["tenant_id", "village_code", "id"])
    op.create_index("ix_persons_household", "persons", ["tenant_id", "household_id"])
    secure_tenant_table("persons")

    op.create_table(
        "nik_registrations",
        sa.Column("nik_hash", sa.String(64), nullable=False),
        sa.Column(
            "tenant_ref",
            sa.Integer,
            sa.ForeignKey("tenants.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("district_code", sa.String(5), nullable=False),
        sa.Column(
            "registered_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("nik_hash", "tenant_ref", name="pk_nik_registrations"),
    )
    grant_platform_table("nik_registrations", ("SELECT", "INSERT", "DELETE"))

    op.create_table(
        "counters",
        *_tenant_cols(),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("year", sa.SmallInteger, nullable=False),
        sa.Column("value", sa.Integer, nullable=False),
        _pk("counters"),
        sa.UniqueConstraint("tenant_id", "name", "year", name="uq_counters_tenant_name_year"),
    )
    secure_tenant_table("counters")

    op.create_table(
        "cases",
        *_tenant_cols(),
        sa.Column("ticket_number", sa.String(24), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("person_id", sa.Uuid),
        sa.Column("household_id", sa.Uuid),
        sa.Column("village_code", sa.String(13), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("registered_by", sa.Uuid),
        sa.Column("assessment_note", sa.Text),
        sa.Column("suggestions", postgresql.JSONB),
        sa.Column("assessed_at", sa.DateTime(timezone=True)),
        sa.Column("decided_by_name", sa.String(200)),
        sa.Column("decided_by_title", sa.String(120)),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("follow_up_note", sa.Text),
        sa.Column("resolution", sa.String(12)),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        *_ts(),
        _pk("cases"),
        _fk("cases", "person_id", "persons", "RESTRICT"),
        _fk("cases", "household_id", "households", "RESTRICT"),
        sa.UniqueConstraint("tenant_id", "ticket_number", name="uq_cases_tenant_ticket"),
        sa.CheckConstraint(
            "person_id IS NOT NULL OR household_id IS NOT NULL", name="ck_cases_person_or_household"
        ),
        sa.CheckConstraint(
            "kind IN ('question', 'suggestion', 'complaint', 'service_request')",
            name="ck_cases_kind_values",
        ),
        sa.CheckConstraint(
            "channel IN ('secretariat', 'puskesos', 'outreach', 'phone_whatsapp', 'public_form')",
            name="ck_cases_channel_values",
        ),
        sa.CheckConstraint(
            "resolution IS NULL OR resolution IN ('resolved', 'unresolved')",
            name="ck_cases_resolution_values",
        ),
    )
    op.create_index(
        "ix_cases_village_status", "cases", ["tenant_id", "village_code", "status", "id"]
    )
    op.create_index("ix_cases_status", "cases", ["tenant_id", "status", "id"])
    op.create_index("ix_cases_person", "cases", ["tenant_id", "person_id"])
    secure_tenant_table("cases")

    op.create_table(
        "case_needs",
        *_tenant_cols(),
        sa.Column("case_id", sa.Uuid, nullable=False),
        sa.Column("sector", sa.String(24), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        _pk("case_needs"),
        _fk("case_needs", "case_id", "cases", "CASCADE"),
    )
    op.create_index("ix_case_needs_case", "case_needs", ["tenant_id", "case_id"])
    secure_tenant_table("case_needs")

    op.create_table(
        "case_attachments",
        *_tenant_cols(),
        sa.Column("case_id", sa.Uuid, nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("storage_key", sa.String(300), nullable=False),
        sa.Column("uploaded_by", sa.Uuid),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        _pk("case_attachments"),
        _fk("case_attachments", "case_id", "cases", "CASCADE"),
    )
    op.create_index("ix_case_attachments_case", "case_attachments", ["tenant_id", "case_id"])
    secure_tenant_table("case_attachments")

    op.create_table(
        "referrals",
        *_tenant_cols(),
        sa.Column("case_id", sa.Uuid, nullable=False),
        sa.Column("program_id", sa.Uuid, nullable=False),
        sa.Column("program_version_id", sa.Uuid, nullable=False),
        sa.Column("program_version", sa.Integer, nullable=False),
        sa.Column("program_name", sa.String(200), nullable=False),
        sa.Column("agency_id", sa.Uuid, nullable=False),
        sa.Column("agency_name", sa.String(200), nullable=False),
        sa.Column("deadline_days", sa.Integer, nullable=False),
        sa.Column("village_code", sa.String(13), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.Column("due_at", sa.DateTime(timezone=True)),
        sa.Column("received_at", sa.DateTime(timezone=True)),
        sa.Column("responded_at", sa.DateTime(timezone=True)),
        sa.Column("fulfilled_at", sa.DateTime(timezone=True)),
        sa.Column("rejection_reason", sa.Text),
        sa.Column("outcome", sa.Text),
        *_ts(),
        _pk("referrals"),
        _fk("referrals", "case_id", "cases", "RESTRICT"),
        _fk("referrals", "program_id", "programs", "RESTRICT"),
        _fk("referrals", "program_version_id", "program_versions", "RESTRICT"),
        _fk("referrals", "agency_id", "agencies", "RESTRICT"),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'received', 'accepted', 'rejected', 'fulfilled')",
            name="ck_referrals_status_values",
        ),
    )
    op.create_index("ix_referrals_case", "referrals", ["tenant_id", "case_id"])
    op.create_index(
        "ix_referrals_agency_status", "referrals", ["tenant_id", "agency_id", "status", "id"]
    )
    op.create_index(
        "ix_referrals_village_status", "referrals", ["tenant_id", "village_code", "status", "id"]
    )
    op.create_index(
        "ix_referrals_open_due",
        "referrals",
        ["tenant_id", "due_at"],
        postgresql_where=sa.text("status IN ('sent', 'received', 'accepted')"),
    )
    secure_tenant_table("referrals")

    op.create_table(
        "workflow_transitions",
        *_tenant_cols(),
        sa.Column("case_id", sa.Uuid, nullable=False),
        sa.Column("referral_id", sa.Uuid),
        sa.Column("machine", sa.String(10), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("from_state", sa.String(16), nullable=False),
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("actor_account_id", sa.Uuid),
        sa.Column("actor_label", sa.String(200), nullable=False),
        sa.Column("note", sa.Text),
        sa.Column(
            "occurred_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        _pk("workflow_transitions"),
        _fk("workflow_transitions", "case_id", "cases", "RESTRICT"),
        sa.CheckConstraint(
            "machine IN ('case', 'referral')", name="ck_workflow_transitions_machine_values"
        ),
    )
    op.create_index(
        "ix_workflow_transitions_case",
        "workflow_transitions",
        ["tenant_id", "case_id", "occurred_at"],
    )
    # The history of a case is append-only, like the audit trail.
    secure_tenant_table("workflow_transitions", APPEND_ONLY)
    # ...except that lawful erasure may blank a note that names the person.
    op.execute(f"GRANT UPDATE (note) ON workflow_transitions TO {APP_ROLE}")

    op.create_table(
        "letters",
        *_tenant_cols(),
        sa.Column("referral_id", sa.Uuid, nullable=False),
        sa.Column("number", sa.String(60), nullable=False),
        sa.Column("token", sa.String(43), nullable=False),
        sa.Column("signer_name", sa.String(200), nullable=False),
        sa.Column("signer_title", sa.String(120), nullable=False),
        sa.Column("issued_by", sa.Uuid),
        sa.Column(
            "issued_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        _pk("letters"),
        _fk("letters", "referral_id", "referrals", "RESTRICT"),
        sa.UniqueConstraint("tenant_id", "referral_id", name="uq_letters_tenant_referral"),
        sa.UniqueConstraint("tenant_id", "number", name="uq_letters_tenant_number"),
        sa.UniqueConstraint("tenant_id", "token", name="uq_letters_tenant_token"),
    )
    secure_tenant_table("letters")

    op.create_table(
        "dtks_proposal_batches",
        *_tenant_cols(),
        sa.Column("village_code", sa.String(13), nullable=False),
        sa.Column("meeting_kind", sa.String(8), nullable=False),
        sa.Column("meeting_date", sa.Date),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("minutes_key", sa.String(300)),
        sa.Column("minutes_filename", sa.String(255)),
        sa.Column("minutes_content_type", sa.String(100)),
        sa.Column("verified_at", sa.DateTime(timezone=True)),
        sa.Column("exported_at", sa.DateTime(timezone=True)),
        *_ts(),
        _pk("dtks_proposal_batches"),
        sa.CheckConstraint(
            "meeting_kind IN ('musdes', 'muskel')",
            name="ck_dtks_proposal_batches_meeting_kind_values",
        ),
        sa.CheckConstraint(
            "status IN ('open', 'held', 'verified', 'exported')",
            name="ck_dtks_proposal_batches_status_values",
        ),
    )
    op.create_index(
        "ix_dtks_proposal_batches_village",
        "dtks_proposal_batches",
        ["tenant_id", "village_code", "id"],
    )
    secure_tenant_table("dtks_proposal_batches")

    op.create_table(
        "dtks_proposals",
        *_tenant_cols(),
        sa.Column("person_id", sa.Uuid, nullable=False),
        sa.Column("village_code", sa.String(13), nullable=False),
        sa.Column("batch_id", sa.Uuid),
        sa.Column("reason", sa.Text),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("result_desil", sa.SmallInteger),
        sa.Column("result_on", sa.Date),
        *_ts(),
        _pk("dtks_proposals"),
        _fk("dtks_proposals", "person_id", "persons", "RESTRICT"),
        _fk("dtks_proposals", "batch_id", "dtks_proposal_batches", "RESTRICT"),
        sa.CheckConstraint(
            "status IN ('proposed', 'in_batch', 'accepted', 'not_accepted')",
            name="ck_dtks_proposals_status_values",
        ),
        sa.CheckConstraint(
            "result_desil IS NULL OR result_desil BETWEEN 1 AND 10",
            name="ck_dtks_proposals_result_desil_range",
        ),
    )
    op.create_index(
        "ix_dtks_proposals_village_status",
        "dtks_proposals",
        ["tenant_id", "village_code", "status", "id"],
    )
    op.create_index("ix_dtks_proposals_batch", "dtks_proposals", ["tenant_id", "batch_id"])
    op.create_index(
        "uq_dtks_proposals_open_person",
        "dtks_proposals",
        ["tenant_id", "person_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('proposed', 'in_batch')"),
    )
    secure_tenant_table("dtks_proposals")


def downgrade() -> None:
    for table in (
        "dtks_proposals",
        "dtks_proposal_batches",
        "letters",
        "workflow_transitions",
        "referrals",
        "case_attachments",
        "case_needs",
        "cases",
        "counters",
        "nik_registrations",
        "persons",
        "households",
    ):
        op.drop_table(table)
