"""Shared OAuth login: OAuth clients, authorization codes, refresh tokens, invitations (issue 3).

This revision's number is reserved so parallel work keeps one linear history; the work named
above fills it in.

Revision ID: 0003
Revises: 0002
"""

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
