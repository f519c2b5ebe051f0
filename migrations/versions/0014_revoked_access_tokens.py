"""Revoked access tokens kept in PostgreSQL too, so the revocation check works while Redis is
out of reach.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

from slrt.platform.rls import grant_platform_table

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "revoked_access_tokens",
        sa.Column("jti", sa.String(64), primary_key=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "revoked_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.create_index("ix_revoked_access_tokens_expires_at", "revoked_access_tokens", ["expires_at"])
    grant_platform_table("revoked_access_tokens")


def downgrade() -> None:
    op.drop_table("revoked_access_tokens")
