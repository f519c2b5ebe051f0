"""District configuration: regions, villages, service points, agencies, program catalog, lokus
designations; seeds the national program catalog.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from slrt.platform.rls import APPEND_ONLY, grant_platform_table, secure_tenant_table

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SECTORS = (
    "health",
    "education",
    "food",
    "housing",
    "cash_transfer",
    "social_rehabilitation",
    "civil_registration",
    "employment",
    "other",
)
FUNDINGS = ("apbn", "apbd", "dana_desa", "zakat", "other")


def _in(column: str, values: tuple[str, ...]) -> str:
    return "{} IN ({})".format(column, ", ".join(f"'{v}'" for v in values))


def _ts() -> list[sa.Column]:
    return [
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    ]


def _tenant_key() -> list[sa.Column]:
    return [
        sa.Column(
            "tenant_id",
            sa.Integer,
            sa.ForeignKey("tenants.id", ondelete="RESTRICT", name=None),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid, nullable=False),
    ]


def _tenant_fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", column],
        [f"{target}.tenant_id", f"{target}.id"],
        ondelete="RESTRICT",
        name=f"fk_{table}_tenant_id_{column}_{target}",
    )


def _catalog_columns() -> list[sa.Column]:
    return [
        sa.Column("code", sa.String(20), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("sector", sa.String(24), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("funding", sa.String(16), nullable=False),
        sa.Column(
            "required_documents",
            postgresql.ARRAY(sa.String(120)),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("deadline_days", sa.Integer, nullable=False),
        sa.Column("rule_text", sa.Text),
        sa.Column("rule_ast", postgresql.JSONB),
        sa.Column("active", sa.Boolean, server_default=sa.true(), nullable=False),
        sa.Column("version", sa.Integer, server_default="1", nullable=False),
    ]


def _catalog_checks(table: str) -> list[sa.CheckConstraint]:
    return [
        sa.CheckConstraint(_in("sector", SECTORS), name=f"ck_{table}_sector_values"),
        sa.CheckConstraint(_in("funding", FUNDINGS), name=f"ck_{table}_funding_values"),
        sa.CheckConstraint("deadline_days BETWEEN 1 AND 365", name=f"ck_{table}_deadline_range"),
    ]


def upgrade() -> None:
    op.create_table(
        "kecamatan",
        *_tenant_key(),
        sa.Column("code", sa.String(8), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("reference_name", sa.String(120)),
        *_ts(),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_kecamatan"),
        sa.UniqueConstraint("tenant_id", "code", name="uq_kecamatan_tenant_code"),
        sa.CheckConstraint(
            "code ~ '^[0-9]{2}\\.[0-9]{2}\\.[0-9]{2}$'", name="ck_kecamatan_code_format"
        ),
    )
    secure_tenant_table("kecamatan")

    op.create_table(
        "villages",
        *_tenant_key(),
        sa.Column("kecamatan_id", sa.Uuid, nullable=False),
        sa.Column("code", sa.String(13), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("reference_name", sa.String(120)),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("is_intervention", sa.Boolean, server_default=sa.false(), nullable=False),
        sa.Column("funding_source", sa.String(16), server_default="apbd", nullable=False),
        sa.Column("active", sa.Boolean, server_default=sa.true(), nullable=False),
        *_ts(),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_villages"),
        _tenant_fk("villages", "kecamatan_id", "kecamatan"),
        sa.UniqueConstraint("tenant_id", "code", name="uq_villages_tenant_code"),
        sa.CheckConstraint(
            "code ~ '^[0-9]{2}\\.[0-9]{2}\\.[0-9]{2}\\.[123][0-9]{3}$'",
            name="ck_villages_code_format",
        ),
        sa.CheckConstraint(
            "kind IN ('kelurahan', 'desa', 'desa_adat')", name="ck_villages_kind_values"
        ),
        sa.CheckConstraint(
            "kind = CASE substr(code, 10, 1) WHEN '1' THEN 'kelurahan' WHEN '2' THEN 'desa' "
            "ELSE 'desa_adat' END",
            name="ck_villages_kind_matches_code",
        ),
        sa.CheckConstraint("source IN ('reference', 'local')", name="ck_villages_source_values"),
        sa.CheckConstraint(
            "funding_source IN ('apbn_kemensos', 'apbd', 'dana_desa')",
            name="ck_villages_funding_values",
        ),
        sa.CheckConstraint(
            "is_intervention = (funding_source = 'apbn_kemensos')",
            name="ck_villages_intervention_funding",
        ),
    )
    op.create_index(
        "ix_villages_tenant_kecamatan", "villages", ["tenant_id", "kecamatan_id", "code"]
    )
    secure_tenant_table("villages")

    op.create_table(
        "agencies",
        *_tenant_key(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("contact_name", sa.String(200)),
        sa.Column("phone", sa.String(32)),
        sa.Column("email", sa.String(254)),
        sa.Column("address", sa.Text),
        sa.Column("active", sa.Boolean, server_default=sa.true(), nullable=False),
        *_ts(),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_agencies"),
        sa.CheckConstraint(
            "kind IN ('dinas', 'hospital', 'baznas', 'other')", name="ck_agencies_kind_values"
        ),
    )
    op.create_index(
        "uq_agencies_tenant_name",
        "agencies",
        ["tenant_id", sa.text("lower(name)")],
        unique=True,
    )
    secure_tenant_table("agencies")
    # Agency officers: a membership can only be bound to an agency of its own district.
    op.create_foreign_key(
        "fk_memberships_tenant_id_agency_id_agencies",
        "memberships",
        "agencies",
        ["tenant_id", "agency_id"],
        ["tenant_id", "id"],
        ondelete="RESTRICT",
    )

    op.create_table(
        "service_points",
        *_tenant_key(),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("village_id", sa.Uuid),
        sa.Column("address", sa.Text),
        sa.Column("phone", sa.String(32)),
        sa.Column("decree_number", sa.String(120)),
        sa.Column("decree_date", sa.Date),
        sa.Column("opened_on", sa.Date),
        sa.Column("active", sa.Boolean, server_default=sa.true(), nullable=False),
        *_ts(),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_service_points"),
        _tenant_fk("service_points", "village_id", "villages"),
        sa.CheckConstraint(
            "kind IN ('secretariat', 'puskesos')", name="ck_service_points_kind_values"
        ),
        sa.CheckConstraint(
            "kind <> 'puskesos' OR village_id IS NOT NULL",
            name="ck_service_points_puskesos_has_village",
        ),
    )
    op.create_index(
        "uq_service_points_one_secretariat",
        "service_points",
        ["tenant_id"],
        unique=True,
        postgresql_where=sa.text("kind = 'secretariat' AND active"),
    )
    op.create_index(
        "uq_service_points_one_puskesos_per_village",
        "service_points",
        ["tenant_id", "village_id"],
        unique=True,
        postgresql_where=sa.text("kind = 'puskesos' AND active"),
    )
    secure_tenant_table("service_points")

    op.create_table(
        "national_programs",
        sa.Column("id", sa.Uuid, primary_key=True),
        *_catalog_columns(),
        *_ts(),
        sa.UniqueConstraint("code", name="uq_national_programs_code"),
        *_catalog_checks("national_programs"),
    )
    grant_platform_table("national_programs")

    op.create_table(
        "programs",
        *_tenant_key(),
        *_catalog_columns(),
        sa.Column(
            "national_program_id",
            sa.Uuid,
            sa.ForeignKey(
                "national_programs.id",
                ondelete="RESTRICT",
                name="fk_programs_national_program_id_national_programs",
            ),
        ),
        sa.Column("agency_id", sa.Uuid, nullable=False),
        *_ts(),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_programs"),
        _tenant_fk("programs", "agency_id", "agencies"),
        sa.UniqueConstraint("tenant_id", "code", name="uq_programs_tenant_code"),
        sa.UniqueConstraint("tenant_id", "national_program_id", name="uq_programs_tenant_national"),
        *_catalog_checks("programs"),
    )
    op.create_index("ix_programs_national_program_id", "programs", ["national_program_id"])
    secure_tenant_table("programs")

    op.create_table(
        "program_versions",
        *_tenant_key(),
        sa.Column("program_id", sa.Uuid, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("agency_id", sa.Uuid, nullable=False),
        sa.Column("deadline_days", sa.Integer, nullable=False),
        sa.Column("rule_text", sa.Text),
        sa.Column("rule_ast", postgresql.JSONB),
        sa.Column("national_version", sa.Integer),
        sa.Column("snapshot", postgresql.JSONB, nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_program_versions"),
        _tenant_fk("program_versions", "program_id", "programs"),
        _tenant_fk("program_versions", "agency_id", "agencies"),
        sa.UniqueConstraint(
            "tenant_id", "program_id", "version", name="uq_program_versions_program_version"
        ),
    )
    secure_tenant_table("program_versions", APPEND_ONLY)

    op.create_table(
        "lokus_designations",
        *_tenant_key(),
        sa.Column("wave", sa.Integer, nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("decree_number", sa.String(120), nullable=False),
        sa.Column("decree_date", sa.Date, nullable=False),
        sa.Column("note", sa.Text),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_lokus_designations"),
        sa.UniqueConstraint("tenant_id", "year", "wave", name="uq_lokus_designations_year_wave"),
        sa.CheckConstraint("wave BETWEEN 1 AND 99", name="ck_lokus_designations_wave_range"),
        sa.CheckConstraint("year BETWEEN 2000 AND 2100", name="ck_lokus_designations_year_range"),
    )
    secure_tenant_table("lokus_designations", APPEND_ONLY)

    from slrt.tenants.programs.catalog import seed_national_catalog

    seed_national_catalog(op.get_bind())


def downgrade() -> None:
    op.drop_constraint("fk_memberships_tenant_id_agency_id_agencies", "memberships")
    for table in (
        "lokus_designations",
        "program_versions",
        "programs",
        "national_programs",
        "service_points",
        "agencies",
        "villages",
        "kecamatan",
    ):
        op.drop_table(table)
