"""Name search scaled by the district: the trigram index leads with tenant_id.

The index on `name` alone held every district's names, so a search in one district walked the
matches of all of them (a common name matches thousands nationally) before the tenant condition
dropped the others. With btree_gin the first column of the GIN index is the district, so a
search reads only its own district's entries and costs the same at 1 or 5 million persons.
`person_ids_by_name` is unchanged (same tenant condition, same SECURITY DEFINER guarantees); its
query now finds this index.

Revision ID: 0018
Revises: 0017
"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A trusted extension: the schema owner may create it, like pg_trgm.
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    op.execute(
        "CREATE INDEX ix_persons_tenant_name_trgm ON persons "
        "USING gin (tenant_id, name gin_trgm_ops)"
    )
    op.execute("DROP INDEX ix_persons_name_trgm")


def downgrade() -> None:
    op.execute("CREATE INDEX ix_persons_name_trgm ON persons USING gin (name gin_trgm_ops)")
    op.execute("DROP INDEX ix_persons_tenant_name_trgm")
    # btree_gin stays: other objects may use it, and it holds no data.
