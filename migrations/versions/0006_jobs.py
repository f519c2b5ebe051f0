"""Background jobs: job records, outbox, schedules (issue 6).

This revision's number is reserved so parallel work keeps one linear history; the work named
above fills it in.

Revision ID: 0006
Revises: 0005
"""

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
