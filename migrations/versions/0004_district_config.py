"""District configuration: regions, villages, service points, agencies, program catalog (issue 4).

This revision's number is reserved so parallel work keeps one linear history; the work named
above fills it in.

Revision ID: 0004
Revises: 0003
"""

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
