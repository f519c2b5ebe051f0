"""The service flow: registry, intake, cases, referrals, letters, proposals (issue 5).

This revision's number is reserved so parallel work keeps one linear history; the work named
above fills it in.

Revision ID: 0005
Revises: 0004
"""

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
