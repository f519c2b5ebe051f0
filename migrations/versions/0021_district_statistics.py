"""The national tables' statistics follow a district's arrival, not the nation's growth.

Each lookup names its district (tenant_id), and the planner estimates the district's size from
the table's statistics. Until they are taken again after a district's rows arrive, they say it
holds about one row (while the districts with rows fit in the list of most common values), and
a lookup by key may then read the whole district through any index that starts with tenant_id:
measured, a person by id in a district of 20,000 read all of them (4.4 ms instead of 0.1).
Autovacuum takes them again only after 10% of the table has changed, which a district's import
of 50,000 persons into a nation of a million never reaches. Here a table is analysed again
after 0.2% of it plus 1,000 rows have changed: within a minute of an import.

Revision ID: 0021
Revises: 0020
"""

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

# The tables a district fills in bulk (imports) or that lookups read by key on every request.
TABLES = ("persons", "households", "dtsen_records", "cases", "referrals")


def upgrade() -> None:
    for table in TABLES:
        op.execute(
            f"ALTER TABLE {table} SET (autovacuum_analyze_scale_factor = 0.002, "
            f"autovacuum_analyze_threshold = 1000)"
        )


def downgrade() -> None:
    for table in TABLES:
        op.execute(
            f"ALTER TABLE {table} RESET (autovacuum_analyze_scale_factor, "
            f"autovacuum_analyze_threshold)"
        )
