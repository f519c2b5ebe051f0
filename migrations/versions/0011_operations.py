"""Operations: invitation tokens unique per district (the schema stays distributable by
tenant_id), and the request id that asked for a job (carried into the worker's logs).

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # An invitation is always looked up inside its district; a unique key without tenant_id
    # would have to be checked across every node of a distributed cluster.
    op.drop_constraint("uq_invitations_token_hash", "invitations", type_="unique")
    op.create_unique_constraint(
        "uq_invitations_tenant_id_token_hash", "invitations", ["tenant_id", "token_hash"]
    )
    op.add_column("jobs", sa.Column("request_id", sa.String(64)))


def downgrade() -> None:
    op.drop_column("jobs", "request_id")
    op.drop_constraint("uq_invitations_tenant_id_token_hash", "invitations", type_="unique")
    op.create_unique_constraint("uq_invitations_token_hash", "invitations", ["token_hash"])
