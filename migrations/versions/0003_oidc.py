"""Shared OAuth login: OAuth clients, authorization codes, refresh tokens, consents, invitations.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from slrt.platform.rls import grant_platform_table, secure_tenant_table

revision = "0003"
down_revision = "0002"
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


def _created() -> sa.Column:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "oauth_clients",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("client_id", sa.String(80), nullable=False),
        sa.Column("secret_hash", sa.String(64)),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("redirect_uris", postgresql.ARRAY(sa.Text), nullable=False),
        sa.Column("post_logout_redirect_uris", postgresql.ARRAY(sa.Text), nullable=False),
        sa.Column("scope", sa.String(500), nullable=False),
        sa.Column("first_party", sa.Boolean, server_default=sa.false(), nullable=False),
        sa.Column("bound_tenant_id", sa.Integer, sa.ForeignKey("tenants.id", ondelete="CASCADE")),
        sa.Column("permissions", postgresql.ARRAY(sa.String(40)), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        *_ts(),
        sa.UniqueConstraint("client_id", name="uq_oauth_clients_client_id"),
        sa.CheckConstraint(
            "kind IN ('public', 'confidential', 'machine')", name="ck_oauth_clients_kind_values"
        ),
        sa.CheckConstraint(
            "status IN ('active', 'disabled')", name="ck_oauth_clients_status_values"
        ),
        sa.CheckConstraint(
            "(kind = 'machine') = (bound_tenant_id IS NOT NULL)",
            name="ck_oauth_clients_machine_bound_to_tenant",
        ),
        sa.CheckConstraint(
            "(kind = 'public') = (secret_hash IS NULL)", name="ck_oauth_clients_secret_by_kind"
        ),
    )
    grant_platform_table("oauth_clients")

    op.create_table(
        "oauth_authorization_codes",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("client_id", sa.String(80), nullable=False),
        sa.Column(
            "account_id", sa.Uuid, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("redirect_uri", sa.Text, nullable=False),
        sa.Column("scope", sa.String(500), nullable=False),
        sa.Column("nonce", sa.String(255)),
        sa.Column("code_challenge", sa.String(128), nullable=False),
        sa.Column("code_challenge_method", sa.String(10), nullable=False),
        sa.Column("auth_time", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True)),
        _created(),
        sa.UniqueConstraint("code_hash", name="uq_oauth_authorization_codes_code_hash"),
    )
    op.create_index(
        "ix_oauth_authorization_codes_account_id", "oauth_authorization_codes", ["account_id"]
    )
    grant_platform_table("oauth_authorization_codes")

    op.create_table(
        "oauth_refresh_tokens",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("family_id", sa.Uuid, nullable=False),
        sa.Column("client_id", sa.String(80), nullable=False),
        sa.Column(
            "account_id", sa.Uuid, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("scope", sa.String(500), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rotated_at", sa.DateTime(timezone=True)),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        _created(),
        sa.UniqueConstraint("token_hash", name="uq_oauth_refresh_tokens_token_hash"),
    )
    op.create_index("ix_oauth_refresh_tokens_family_id", "oauth_refresh_tokens", ["family_id"])
    op.create_index("ix_oauth_refresh_tokens_account_id", "oauth_refresh_tokens", ["account_id"])
    grant_platform_table("oauth_refresh_tokens")

    op.create_table(
        "oauth_consents",
        sa.Column(
            "account_id", sa.Uuid, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("client_id", sa.String(80), nullable=False),
        sa.Column("scope", sa.String(500), nullable=False),
        _created(),
        sa.PrimaryKeyConstraint("account_id", "client_id", name="pk_oauth_consents"),
    )
    grant_platform_table("oauth_consents")

    op.create_table(
        "invitations",
        sa.Column(
            "tenant_id",
            sa.Integer,
            sa.ForeignKey("tenants.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("email", sa.String(254)),
        sa.Column("phone", sa.String(32)),
        sa.Column("name", sa.String(200)),
        sa.Column("role_id", sa.Uuid, nullable=False),
        sa.Column("scope_kind", sa.String(16), nullable=False),
        sa.Column("scope_codes", postgresql.ARRAY(sa.String(13)), nullable=False),
        sa.Column("agency_id", sa.Uuid),
        sa.Column("invited_by", sa.Uuid),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True)),
        sa.Column(
            "accepted_account_id", sa.Uuid, sa.ForeignKey("accounts.id", ondelete="SET NULL")
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        *_ts(),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_invitations"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "role_id"],
            ["roles.tenant_id", "roles.id"],
            ondelete="RESTRICT",
            name="fk_invitations_tenant_id_role_id_roles",
        ),
        sa.UniqueConstraint("token_hash", name="uq_invitations_token_hash"),
        sa.CheckConstraint(
            "email IS NOT NULL OR phone IS NOT NULL", name="ck_invitations_email_or_phone"
        ),
        sa.CheckConstraint(
            "scope_kind IN ('district', 'kecamatan', 'village')",
            name="ck_invitations_scope_kind_values",
        ),
    )
    secure_tenant_table("invitations")


def downgrade() -> None:
    for table in (
        "invitations",
        "oauth_consents",
        "oauth_refresh_tokens",
        "oauth_authorization_codes",
        "oauth_clients",
    ):
        op.drop_table(table)
