"""Row-level security and grants, applied by migrations to every table they create.

`secure_tenant_table` is the only way a tenant table gets its policies, so all of them read the
same setting the same way; the isolation tests check each tenant table for exactly this.
"""

from __future__ import annotations

from collections.abc import Iterable

from alembic import op

from slrt.platform.commands.dbroles import APP_ROLE, PLATFORM_READER_ROLE

TENANT_POLICY = "tenant_isolation"
READER_POLICY = "platform_read"
CURRENT_TENANT_SQL = "NULLIF(current_setting('slrt.tenant_id', true), '')::integer"

ALL_WRITES = ("SELECT", "INSERT", "UPDATE", "DELETE")
APPEND_ONLY = ("SELECT", "INSERT")


def secure_tenant_table(table: str, privileges: Iterable[str] = ALL_WRITES) -> None:
    """Enable and force RLS on a tenant table, add the isolation policy, grant the app role."""
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY {TENANT_POLICY} ON {table} "
        f"USING (tenant_id = {CURRENT_TENANT_SQL}) "
        f"WITH CHECK (tenant_id = {CURRENT_TENANT_SQL})"
    )
    op.execute(
        f"CREATE POLICY {READER_POLICY} ON {table} FOR SELECT TO {PLATFORM_READER_ROLE} USING (true)"
    )
    op.execute(f"GRANT {', '.join(privileges)} ON {table} TO {APP_ROLE}")
    op.execute(f"GRANT SELECT ON {table} TO {PLATFORM_READER_ROLE}")


def grant_platform_table(table: str, privileges: Iterable[str] = ALL_WRITES) -> None:
    """Grants for a platform-level table (no tenant column, no RLS)."""
    op.execute(f"GRANT {', '.join(privileges)} ON {table} TO {APP_ROLE}")
    op.execute(f"GRANT SELECT ON {table} TO {PLATFORM_READER_ROLE}")


def grant_sequence(sequence: str) -> None:
    op.execute(f"GRANT USAGE, SELECT ON SEQUENCE {sequence} TO {APP_ROLE}")
