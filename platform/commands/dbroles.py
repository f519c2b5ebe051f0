"""The three database roles and the database, created by `slrt up`, the test session, or
`slrt db create-roles` against an external server.

- slrt_owner owns the schema and runs migrations.
- slrt_app is what the web app and workers log in as: it owns nothing, is no superuser and has no
  BYPASSRLS, so row-level security always applies to it.
- slrt_platform_reader cannot log in; slrt_app may switch to it (SET LOCAL ROLE) inside the one
  audited cross-tenant read path. Its policies allow SELECT only.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import make_url

OWNER_ROLE = "slrt_owner"
APP_ROLE = "slrt_app"
PLATFORM_READER_ROLE = "slrt_platform_reader"


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
                for role in (APP_ROLE, PLATFORM_READER_ROLE):
                    conn.execute(sa.text(f'GRANT CONNECT ON DATABASE "{database}" TO {role}'))
                    conn.execute(sa.text(f"GRANT USAGE ON SCHEMA public TO {role}"))
        finally:
            db_engine.dispose()
    finally:
        engine.dispose()
