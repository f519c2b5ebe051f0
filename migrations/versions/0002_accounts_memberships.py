"""Accounts, outside identities, platform roles, district roles, memberships, signing keys.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from slrt.platform.rls import grant_platform_table, secure_tenant_table

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _ts() -> list[sa.Column]:
    return [
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("email_verified", sa.Boolean, server_default=sa.false(), nullable=False),
        sa.Column("phone", sa.String(32)),
        sa.Column("password_hash", sa.String(255)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("totp_secret", sa.String(64)),
        sa.Column("last_login_at", sa.DateTime(timezone=True)),
        *_ts(),
        sa.UniqueConstraint("email", name="uq_accounts_email"),
        sa.CheckConstraint("email = lower(email)", name="ck_accounts_email_lowercase"),
        sa.CheckConstraint("status IN ('active', 'disabled')", name="ck_accounts_status_values"),
    )
    grant_platform_table("accounts")

    op.create_table(
        "external_identities",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column(
            "account_id", sa.Uuid, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("issuer", sa.String(500), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("email", sa.String(254)),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.UniqueConstraint("issuer", "subject", name="uq_external_identities_issuer_subject"),
    )
    op.create_index("ix_external_identities_account_id", "external_identities", ["account_id"])
    grant_platform_table("external_identities")

    op.create_table(
        "platform_role_grants",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column(
            "account_id", sa.Uuid, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("province_code", sa.String(2)),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "role IN ('kemensos_admin', 'kemensos_viewer', 'provincial_viewer')",
            name="ck_platform_role_grants_role_values",
        ),
        sa.CheckConstraint(
            "(role = 'provincial_viewer') = (province_code IS NOT NULL)",
            name="ck_platform_role_grants_province_only_for_provincial",
        ),
        sa.UniqueConstraint(
            "account_id", "role", "province_code", name="uq_platform_role_grants_account_role"
        ),
    )
    op.create_index("ix_platform_role_grants_account_id", "platform_role_grants", ["account_id"])
    grant_platform_table("platform_role_grants")

    op.create_table(
        "roles",
        sa.Column(
            "tenant_id",
            sa.Integer,
            sa.ForeignKey("tenants.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("key", sa.String(40), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("name_en", sa.String(120)),
        sa.Column("permissions", postgresql.ARRAY(sa.String(40)), nullable=False),
        sa.Column("builtin", sa.Boolean, server_default=sa.false(), nullable=False),
        *_ts(),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_roles"),
        sa.UniqueConstraint("tenant_id", "key", name="uq_roles_tenant_key"),
    )
    secure_tenant_table("roles")

    op.create_table(
        "memberships",
        sa.Column(
            "tenant_id",
            sa.Integer,
            sa.ForeignKey("tenants.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column(
            "account_id", sa.Uuid, sa.ForeignKey("accounts.id", ondelete="RESTRICT"), nullable=False
        ),
        sa.Column("role_id", sa.Uuid, nullable=False),
        sa.Column("scope_kind", sa.String(16), nullable=False),
        sa.Column("scope_codes", postgresql.ARRAY(sa.String(13)), nullable=False),
        sa.Column("agency_id", sa.Uuid),
        sa.Column("status", sa.String(16), nullable=False),
        *_ts(),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_memberships"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "role_id"],
            ["roles.tenant_id", "roles.id"],
            ondelete="RESTRICT",
            name="fk_memberships_tenant_id_role_id_roles",
        ),
        sa.UniqueConstraint("tenant_id", "account_id", name="uq_memberships_tenant_account"),
        sa.CheckConstraint(
            "scope_kind IN ('district', 'kecamatan', 'village')",
            name="ck_memberships_scope_kind_values",
        ),
        sa.CheckConstraint(
            "(scope_kind = 'district') = (cardinality(scope_codes) = 0)",
            name="ck_memberships_scope_codes_match_kind",
        ),
        sa.CheckConstraint("status IN ('active', 'revoked')", name="ck_memberships_status_values"),
    )
    op.create_index("ix_memberships_account", "memberships", ["account_id"])
    secure_tenant_table("memberships")

    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(64), primary_key=True),
        sa.Column("alg", sa.String(10), nullable=False),
        sa.Column("private_pem", sa.Text, nullable=False),
        sa.Column("public_jwk", postgresql.JSONB, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("retired_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint(
            "status IN ('active', 'retiring', 'retired')", name="ck_signing_keys_status_values"
        ),
    )
    grant_platform_table("signing_keys")


def downgrade() -> None:
    for table in (
        "signing_keys",
        "memberships",
        "roles",
        "platform_role_grants",
        "external_identities",
        "accounts",
    ):
        op.drop_table(table)
