"""`slrt db create-roles` on PostgreSQL 15 (Debian 12's) as well as 16+: the app role may
switch to the platform reader (SET ROLE) but never holds its rights otherwise."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from slrt.platform.commands import migrate
from slrt.platform.commands.dbroles import (
    RolePasswords,
    ensure_roles_and_database,
    login_role_sql,
    reader_grant_sql,
)
from slrt.platform.commands.embedded import EmbeddedPostgres, free_port

DEBIAN_PG15 = Path("/usr/lib/postgresql/15/bin")


def test_the_statements_for_15_and_for_16_and_later() -> None:
    assert reader_grant_sql(18) == (
        "GRANT slrt_platform_reader TO slrt_app WITH INHERIT FALSE, SET TRUE"
    )
    assert reader_grant_sql(16) == reader_grant_sql(18)
    assert reader_grant_sql(15) == "GRANT slrt_platform_reader TO slrt_app"
    app15 = login_role_sql("slrt_app", "it's", exists=False, server_major=15)
    assert app15 == (
        "CREATE ROLE slrt_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOINHERIT "
        "PASSWORD 'it''s'"
    )
    assert "NOINHERIT" not in login_role_sql("slrt_app", "x", exists=True, server_major=16)
    assert "NOINHERIT" not in login_role_sql("slrt_owner", "x", exists=False, server_major=15)


def _reader_rights(url: str) -> dict[str, bool]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                sa.text(
                    "SELECT pg_has_role('slrt_app', 'slrt_platform_reader', 'USAGE'),"
                    " pg_has_role('slrt_app', 'slrt_platform_reader', 'MEMBER')"
                )
            ).one()
            return {"inherits": row[0], "may_switch": row[1]}
    finally:
        engine.dispose()


def test_on_this_suites_server(services) -> None:
    assert _reader_rights(services["DATABASE_ADMIN_URL"]) == {"inherits": False, "may_switch": True}


@pytest.mark.skipif(
    not (DEBIAN_PG15 / "postgres").exists(),
    reason="Debian's postgresql-15 is not installed (make test installs it)",
)
def test_create_roles_and_migrations_on_postgresql_15() -> None:
    root = Path(tempfile.mkdtemp(prefix="slrt-pg15-"))
    pg = EmbeddedPostgres(root / "pg", free_port(), "pg15-superuser-pw", bin_dir=DEBIAN_PG15)
    try:
        pg.start()
        passwords = RolePasswords(owner="pg15-owner-pw", app="pg15-app-pw")
        ensure_roles_and_database(pg.url(), "slrt", passwords)
        ensure_roles_and_database(pg.url(), "slrt", passwords)  # idempotent
        admin = pg.url(db="slrt")
        engine = sa.create_engine(admin, poolclass=sa.pool.NullPool)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SHOW server_version_num")).scalar().startswith("15")
        engine.dispose()
        assert _reader_rights(admin) == {"inherits": False, "may_switch": True}
        migrate.upgrade(pg.url("slrt_owner", passwords.owner, "slrt"))
        app = sa.create_engine(
            pg.url("slrt_app", passwords.app, "slrt"), poolclass=sa.pool.NullPool
        )
        try:
            with app.connect() as conn:
                conn.execute(sa.text("SET LOCAL ROLE slrt_platform_reader"))
                assert conn.execute(sa.text("SELECT current_user")).scalar() == (
                    "slrt_platform_reader"
                )
                assert conn.execute(sa.text("SELECT count(*) FROM tenants")).scalar() == 0
                conn.rollback()
                assert conn.execute(sa.text("SELECT current_user")).scalar() == "slrt_app"
        finally:
            app.dispose()
    finally:
        pg.destroy()
        shutil.rmtree(root, ignore_errors=True)
