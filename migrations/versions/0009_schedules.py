"""Escalation records, notifications, district aggregates, monthly reports.

This revision's number is reserved so parallel work keeps one linear history; the work named
above fills it in.

Revision ID: 0009
Revises: 0008
"""

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
