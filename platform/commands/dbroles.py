"""The three database roles and the database, created by `slrt up`, the test session, or
`slrt db create-roles` against an external server.

- slrt_owner owns the schema and runs migrations.
- slrt_app is what the web app and workers log in as: it owns nothing, is no superuser and has no
  BYPASSRLS, so row-level security always applies to it.
- slrt_platform_reader cannot log in; slrt_app may switch to it (SET LOCAL ROLE) inside the one
  audited cross-tenant read path. Its policies allow SELECT only.
- slrt_audit_owner cannot log in and nobody may become it: `seal_audit` (run as the superuser
  after migrations) makes it the owner of the audit tables and of their trigger and purge
  functions, so slrt_owner, which runs migrations and whose password sits beside the app's, can
  neither change an event nor drop the triggers that refuse changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import make_url

OWNER_ROLE = "slrt_owner"
APP_ROLE = "slrt_app"
PLATFORM_READER_ROLE = "slrt_platform_reader"
AUDIT_OWNER_ROLE = "slrt_audit_owner"

AUDIT_TABLES = ("audit_events", "platform_audit_events")
AUDIT_FUNCTIONS = (
    "audit_event_digest(text, text, text, bigint, timestamptz, text, text, text, text, text, "
    "text, uuid, text, text, jsonb, jsonb, text)",
    "audit_events_link()",
    "platform_audit_events_link()",
    "audit_refuse_change()",
    "audit_purge(timestamptz, text)",
    "platform_audit_purge(timestamptz, text)",
)


@dataclass(frozen=True)
class RolePasswords:
    owner: str
    app: str


def _role_exists(conn: sa.Connection, role: str) -> bool:
    return (
        conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).scalar()
        is not None
    )


def login_role_sql(role: str, password: str, *, exists: bool, server_major: int) -> str:
    """CREATE or ALTER one login role. Before PostgreSQL 16 a grant cannot say "no inherit",
    so there the app role itself is NOINHERIT (it is granted nothing but the reader role)."""
    # DDL takes no bind parameters; the literal is quoted by doubling quotes
    # (standard_conforming_strings is on in every supported PostgreSQL).
    literal = "'" + password.replace("'", "''") + "'"
    inherit = " NOINHERIT" if role == APP_ROLE and server_major < 16 else ""
    verb = "ALTER" if exists else "CREATE"
    return (
        f"{verb} ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS{inherit} "
        f"PASSWORD {literal}"
    )


def reader_grant_sql(server_major: int) -> str:
    """The app may SET ROLE to the reader but never holds its rights otherwise: on 16+ the
    grant says so itself; on 15 the app role's NOINHERIT does (login_role_sql)."""
    if server_major >= 16:
        return f"GRANT {PLATFORM_READER_ROLE} TO {APP_ROLE} WITH INHERIT FALSE, SET TRUE"
    return f"GRANT {PLATFORM_READER_ROLE} TO {APP_ROLE}"


def ensure_roles_and_database(admin_url: str, database: str, passwords: RolePasswords) -> None:
    """Idempotently create the roles and the database owned by slrt_owner (PostgreSQL 15+)."""
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            major = int(conn.execute(sa.text("SHOW server_version_num")).scalar_one()) // 10000
            for role, password in ((OWNER_ROLE, passwords.owner), (APP_ROLE, passwords.app)):
                conn.exec_driver_sql(
                    login_role_sql(
                        role, password, exists=_role_exists(conn, role), server_major=major
                    )
                )
            if not _role_exists(conn, PLATFORM_READER_ROLE):
                conn.execute(sa.text(f"CREATE ROLE {PLATFORM_READER_ROLE} NOLOGIN NOBYPASSRLS"))
            if not _role_exists(conn, AUDIT_OWNER_ROLE):
                conn.execute(sa.text(f"CREATE ROLE {AUDIT_OWNER_ROLE} NOLOGIN NOBYPASSRLS"))
            conn.exec_driver_sql(reader_grant_sql(major))
            exists = conn.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": database}
            ).scalar()
            if not exists:
                conn.execute(
                    sa.text(f"CREATE DATABASE \"{database}\" OWNER {OWNER_ROLE} ENCODING 'UTF8'")
                )
        db_engine = sa.create_engine(
            make_url(admin_url).set(database=database), isolation_level="AUTOCOMMIT"
        )
        try:
            with db_engine.connect() as conn:
                conn.execute(sa.text(f"ALTER SCHEMA public OWNER TO {OWNER_ROLE}"))
                conn.execute(sa.text("REVOKE CREATE ON SCHEMA public FROM PUBLIC"))
                conn.execute(sa.text(f'REVOKE ALL ON DATABASE "{database}" FROM PUBLIC'))
                for role in (APP_ROLE, PLATFORM_READER_ROLE, AUDIT_OWNER_ROLE):
                    conn.execute(sa.text(f'GRANT CONNECT ON DATABASE "{database}" TO {role}'))
                    conn.execute(sa.text(f"GRANT USAGE ON SCHEMA public TO {role}"))
        finally:
            db_engine.dispose()
    finally:
        engine.dispose()


def _audit_owner_sql(owner: str) -> list[str]:
    statements = [f"ALTER TABLE {table} OWNER TO {owner}" for table in AUDIT_TABLES]
    statements += [f"ALTER FUNCTION {function} OWNER TO {owner}" for function in AUDIT_FUNCTIONS]
    return statements


def audit_sealed(conn: sa.Connection) -> bool:
    owner = conn.execute(
        sa.text("SELECT tableowner FROM pg_tables WHERE schemaname = 'public' AND tablename = :t"),
        {"t": AUDIT_TABLES[0]},
    ).scalar()
    return owner == AUDIT_OWNER_ROLE


def seal_audit(admin_url: str) -> bool:
    """Give the audit tables and functions to slrt_audit_owner (superuser URL of the slrt
    database; a no-op before the audit migration or when already sealed). The schema owner
    keeps SELECT, for backups and checks. Returns whether anything changed."""
    engine = sa.create_engine(admin_url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            chained = conn.execute(
                sa.text("SELECT 1 FROM pg_proc WHERE proname = 'audit_purge'")
            ).scalar()
            if not chained or audit_sealed(conn):
                return False
            for statement in _audit_owner_sql(AUDIT_OWNER_ROLE):
                conn.execute(sa.text(statement))
            for table in AUDIT_TABLES:
                conn.execute(sa.text(f"GRANT SELECT ON {table} TO {OWNER_ROLE}"))
            return True
    finally:
        engine.dispose()


def unseal_audit(admin_url: str) -> bool:
    """Hand the audit tables back to slrt_owner, for a migration that changes them (then seal
    again). The triggers still refuse UPDATE, DELETE and TRUNCATE meanwhile."""
    engine = sa.create_engine(admin_url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            if not audit_sealed(conn):
                return False
            for statement in _audit_owner_sql(OWNER_ROLE):
                conn.execute(sa.text(statement))
            return True
    finally:
        engine.dispose()
