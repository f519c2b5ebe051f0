"""Cases: the hash of the receipt's secret status link.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A column of an existing tenant table: its row-level security policy covers it unchanged.
    op.add_column("cases", sa.Column("status_token_hash", sa.String(64)))
    op.create_unique_constraint(
        "uq_cases_tenant_status_token", "cases", ["tenant_id", "status_token_hash"]
    )


def downgrade() -> None:
    op.drop_constraint("uq_cases_tenant_status_token", "cases", type_="unique")
    op.drop_column("cases", "status_token_hash")
