"""DTSEN: the SIKS-NG files a district imported, each family's standing per quarter, the persons
the files listed, the residents' usul and sanggah and their evidence.

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from slrt.platform.rls import secure_tenant_table

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def _tenant(table: str) -> list[sa.Column]:
    return [
        sa.Column(
            "tenant_id",
            sa.Integer,
            sa.ForeignKey("tenants.id", ondelete="RESTRICT", name=f"fk_{table}_tenant_id_tenants"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid, nullable=False),
    ]


def _timestamps() -> list[sa.Column]:
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


PERIOD = "period ~ '^[0-9]{4}-Q[1-4]$'"


def upgrade() -> None:
    op.create_table(
        "dtsen_imports",
        *_tenant("dtsen_imports"),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("file_type", sa.String(4), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("content", sa.LargeBinary),
        sa.Column("header_row", sa.Integer, nullable=False),
        sa.Column("headers", postgresql.JSONB, nullable=False),
        sa.Column("mapping", postgresql.JSONB),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("check_job_id", sa.Uuid),
        sa.Column("apply_job_id", sa.Uuid),
        sa.Column("uploaded_by", sa.Uuid),
        sa.Column("uploaded_by_label", sa.String(200), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True)),
        *_timestamps(),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_dtsen_imports"),
        sa.CheckConstraint("kind IN ('bnba', 'desil')", name="ck_dtsen_imports_kind_values"),
        sa.CheckConstraint(
            "status IN ('mapping', 'checking', 'checked', 'applying', 'applied')",
            name="ck_dtsen_imports_status_values",
        ),
        sa.CheckConstraint(PERIOD, name="ck_dtsen_imports_period_format"),
    )
    op.create_index(
        "ix_dtsen_imports_period", "dtsen_imports", ["tenant_id", "period", "created_at"]
    )
    secure_tenant_table("dtsen_imports")

    op.create_table(
        "dtsen_records",
        *_tenant("dtsen_records"),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("family_key", sa.String(24), nullable=False),
        sa.Column("kk_number", sa.String(16)),
        sa.Column("head_nik", sa.String(16)),
        sa.Column("head_name", sa.String(200)),
        sa.Column("household_id", sa.Uuid),
        sa.Column("village_code", sa.String(13)),
        sa.Column("listed", sa.Boolean, nullable=False),
        sa.Column("desil", sa.SmallInteger),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("match_rule", sa.String(12)),
        sa.Column("import_id", sa.Uuid),
        sa.Column("job_id", sa.Uuid),
        sa.Column("proposal_id", sa.Uuid),
        sa.Column("recorded_by_label", sa.String(200), nullable=False),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_dtsen_records"),
        _fk("dtsen_records", "household_id", "households", "RESTRICT"),
        _fk("dtsen_records", "import_id", "dtsen_imports", "RESTRICT"),
        _fk("dtsen_records", "proposal_id", "dtks_proposals", "RESTRICT"),
        sa.CheckConstraint(PERIOD, name="ck_dtsen_records_period_format"),
        sa.CheckConstraint(
            "desil IS NULL OR desil BETWEEN 1 AND 10", name="ck_dtsen_records_desil_range"
        ),
        sa.CheckConstraint("listed OR desil IS NULL", name="ck_dtsen_records_desil_only_listed"),
        sa.CheckConstraint(
            "source IN ('import', 'result', 'check')", name="ck_dtsen_records_source_values"
        ),
        sa.CheckConstraint(
            "match_rule IS NULL OR match_rule IN ('kk', 'nik', 'member_nik')",
            name="ck_dtsen_records_match_rule_values",
        ),
    )
    op.create_index(
        "ix_dtsen_records_family", "dtsen_records", ["tenant_id", "family_key", "period"]
    )
    op.create_index(
        "ix_dtsen_records_household", "dtsen_records", ["tenant_id", "household_id", "period"]
    )
    op.create_index(
        "ix_dtsen_records_village", "dtsen_records", ["tenant_id", "village_code", "period"]
    )
    secure_tenant_table("dtsen_records")

    op.create_table(
        "dtsen_members",
        *_tenant("dtsen_members"),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("record_id", sa.Uuid, nullable=False),
        sa.Column("import_id", sa.Uuid, nullable=False),
        sa.Column("nik", sa.String(16)),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kk_number", sa.String(16)),
        sa.Column("relation", sa.String(40)),
        sa.Column("village_code", sa.String(13)),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_dtsen_members"),
        _fk("dtsen_members", "record_id", "dtsen_records", "RESTRICT"),
        _fk("dtsen_members", "import_id", "dtsen_imports", "RESTRICT"),
        sa.UniqueConstraint("tenant_id", "period", "nik", name="uq_dtsen_members_period_nik"),
    )
    op.create_index(
        "ix_dtsen_members_village", "dtsen_members", ["tenant_id", "village_code", "period"]
    )
    op.create_index("ix_dtsen_members_record", "dtsen_members", ["tenant_id", "record_id"])
    secure_tenant_table("dtsen_members")

    op.create_table(
        "dtsen_submissions",
        *_tenant("dtsen_submissions"),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("person_id", sa.Uuid),
        sa.Column("nik", sa.String(16)),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kk_number", sa.String(16)),
        sa.Column("address", sa.String(500)),
        sa.Column("village_code", sa.String(13), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("submitter_name", sa.String(200)),
        sa.Column("submitter_phone", sa.String(32)),
        sa.Column("latitude", sa.Float),
        sa.Column("longitude", sa.Float),
        sa.Column("source_ref", sa.String(64)),
        sa.Column("received_on", sa.Date, nullable=False),
        sa.Column("due_on", sa.Date, nullable=False),
        sa.Column("visited_on", sa.Date),
        sa.Column("verval_result", sa.String(14)),
        sa.Column("verval_note", sa.Text),
        sa.Column("verval_by_label", sa.String(200)),
        sa.Column("decision_note", sa.Text),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("proposal_id", sa.Uuid),
        sa.Column("letter_number", sa.String(60)),
        sa.Column("token", sa.String(43)),
        sa.Column("letter_signer_name", sa.String(200)),
        sa.Column("letter_signer_title", sa.String(120)),
        sa.Column("letter_issued_at", sa.DateTime(timezone=True)),
        sa.Column("created_by", sa.Uuid),
        *_timestamps(),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_dtsen_submissions"),
        _fk("dtsen_submissions", "person_id", "persons", "RESTRICT"),
        _fk("dtsen_submissions", "proposal_id", "dtks_proposals", "RESTRICT"),
        sa.UniqueConstraint("tenant_id", "source_ref", name="uq_dtsen_submissions_source_ref"),
        sa.UniqueConstraint("tenant_id", "token", name="uq_dtsen_submissions_token"),
        sa.UniqueConstraint("tenant_id", "letter_number", name="uq_dtsen_submissions_letter"),
        sa.CheckConstraint("kind IN ('usul', 'sanggah')", name="ck_dtsen_submissions_kind_values"),
        sa.CheckConstraint(
            "channel IN ('puskesos', 'kemensos')", name="ck_dtsen_submissions_channel_values"
        ),
        sa.CheckConstraint(
            "verval_result IS NULL OR verval_result IN ('eligible', 'not_eligible')",
            name="ck_dtsen_submissions_verval_values",
        ),
        sa.CheckConstraint(
            "latitude IS NULL OR latitude BETWEEN -90 AND 90", name="ck_dtsen_submissions_latitude"
        ),
        sa.CheckConstraint(
            "longitude IS NULL OR longitude BETWEEN -180 AND 180",
            name="ck_dtsen_submissions_longitude",
        ),
    )
    op.create_index(
        "ix_dtsen_submissions_village",
        "dtsen_submissions",
        ["tenant_id", "village_code", "status", "id"],
    )
    op.create_index(
        "ix_dtsen_submissions_due", "dtsen_submissions", ["tenant_id", "status", "due_on"]
    )
    secure_tenant_table("dtsen_submissions")

    op.create_table(
        "dtsen_evidence",
        *_tenant("dtsen_evidence"),
        sa.Column("submission_id", sa.Uuid, nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("storage_key", sa.String(300), nullable=False),
        sa.Column("uploaded_by", sa.Uuid),
        sa.Column(
            "uploaded_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_dtsen_evidence"),
        _fk("dtsen_evidence", "submission_id", "dtsen_submissions", "RESTRICT"),
        sa.CheckConstraint("kind IN ('photo', 'document')", name="ck_dtsen_evidence_kind_values"),
    )
    op.create_index(
        "ix_dtsen_evidence_submission", "dtsen_evidence", ["tenant_id", "submission_id"]
    )
    secure_tenant_table("dtsen_evidence")


def downgrade() -> None:
    for table in (
        "dtsen_evidence",
        "dtsen_submissions",
        "dtsen_members",
        "dtsen_records",
        "dtsen_imports",
    ):
        op.drop_table(table)
