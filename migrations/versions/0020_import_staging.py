"""Imports stage each batch in a temporary table.

The registry import COPYs a batch into a temporary table and writes it from there set-wise
(PostgreSQL refuses COPY into a table under row-level security). A temporary table is private
to its session and, created ON COMMIT DROP, gone when the batch's transaction ends, so nothing
of it outlives the batch or reaches another connection behind a transaction pooler. The
database's own CREATE and CONNECT stay as they were; only TEMPORARY is granted.

Revision ID: 0020
Revises: 0019
"""

from alembic import op

from slrt.platform.commands.dbroles import APP_ROLE

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The database's name is not known when the migration is written.
    op.execute(
        f"DO $$ BEGIN EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO {APP_ROLE}', "
        f"current_database()); END $$"
    )


def downgrade() -> None:
    op.execute(
        f"DO $$ BEGIN EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM {APP_ROLE}', "
        f"current_database()); END $$"
    )
