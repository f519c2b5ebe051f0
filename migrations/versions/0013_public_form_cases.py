"""Cases from the public form: the reporter's contact, and no registry subject required yet.

A resident who writes through the district's public form may not be in the registry (or may not
give a NIK): the case keeps the contact they gave until staff link it to a registered person.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# The name migration 0005 gave the check (the naming convention prefixed it once more); written
# out in plain SQL below so no convention rewrites it again.
CHECK = "ck_cases_ck_cases_person_or_household"
OLD = "person_id IS NOT NULL OR household_id IS NOT NULL"
NEW = "person_id IS NOT NULL OR household_id IS NOT NULL OR channel = 'public_form'"


def upgrade() -> None:
    # Columns of an existing tenant table: its row-level security policy covers them unchanged.
    op.add_column("cases", sa.Column("reporter_name", sa.String(200)))
    op.add_column("cases", sa.Column("reporter_phone", sa.String(32)))
    op.add_column("cases", sa.Column("reporter_nik", sa.String(16)))
    op.execute(f"ALTER TABLE cases DROP CONSTRAINT {CHECK}")
    op.execute(f"ALTER TABLE cases ADD CONSTRAINT {CHECK} CHECK ({NEW})")


def downgrade() -> None:
    op.execute(f"ALTER TABLE cases DROP CONSTRAINT {CHECK}")
    # NOT VALID: the older rule holds for new rows; public cases already kept are not deleted.
    op.execute(f"ALTER TABLE cases ADD CONSTRAINT {CHECK} CHECK ({OLD}) NOT VALID")
    op.drop_column("cases", "reporter_nik")
    op.drop_column("cases", "reporter_phone")
    op.drop_column("cases", "reporter_name")
