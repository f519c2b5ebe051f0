"""Follow-ups: name search index, encrypted TOTP secrets.

This revision's number is reserved so parallel work keeps one linear history; the work named
above fills it in.

Revision ID: 0008
Revises: 0007
"""

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
