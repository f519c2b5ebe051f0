"""`slrt db backup` and `slrt db restore`: a populated database dumped, restored into a fresh
PostgreSQL server, and found whole there: every row, role, grant and policy, and the app
working against it with both tenant walls."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from slrt.platform import db
from slrt.platform.commands.db import db as db_group
from slrt.platform.commands.dbroles import RolePasswords, ensure_roles_and_database
from slrt.platform.commands.embedded import EmbeddedPostgres, free_port

APP_ROLES = ("slrt_owner", "slrt_app", "slrt_platform_reader")


def _populate(client, admin, slug: str, kec: str, village: str, n: int) -> list[str]:
    """Households, persons and cases through the API (each write also audited)."""
    base = f"/api/v1/t/{slug}"
    ids = []
    for i in range(n):
        hh = client.post(
            base + "/households",
            headers=admin.headers,
            json={
                "kk_number": f"{kec}90{i:08d}",
                "address": "Jl. Cadangan",
                "village_code": village,
            },
        )
        assert hh.status_code == 201, hh.json
        person = client.post(
            base + "/persons",
            headers=admin.headers,
            json={"nik": f"{kec}{10 + i:02d}0385{i + 1:04d}", "name": f"Cadangan {slug} {i}",
                  "household_id": hh.json["id"], "relation": "kepala_keluarga"},
        )  # fmt: skip
        assert person.status_code == 201, person.json
        case = client.post(
            base + "/cases",
            headers=admin.headers,
            json={"kind": "service_request", "channel": "secretariat",
                  "person_id": person.json["id"], "description": "Uji cadangan"},
        )  # fmt: skip
        assert case.status_code == 201, case.json
        ids.append(person.json["id"])
    return ids


def _village(client, admin, slug: str) -> str:
    r = client.get(f"/api/v1/t/{slug}/villages?page_size=1", headers=admin.headers)
    return r.json[0]["code"]


_TABLES = (
    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 1"
)
# Every row's text, in a stable order, hashed: equal means the same rows, byte for byte.
_CONTENT = (
    "SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) "
    'FROM public."{table}" t'
)

_SECURITY = {
    "policies": "SELECT tablename, policyname, permissive, roles::text, cmd, qual, with_check "
    "FROM pg_policies WHERE schemaname = 'public' ORDER BY 1, 2",
    "rls": "SELECT relname, relrowsecurity, relforcerowsecurity, relowner::regrole::text, "
    "relacl::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'S', 'v', 'f') ORDER BY 1",
    "functions": "SELECT proname, prosecdef, proowner::regrole::text, proacl::text FROM pg_proc p "
    "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public' ORDER BY 1",
    "grants": "SELECT grantee, table_name, privilege_type FROM information_schema.role_table_grants "
    "WHERE table_schema = 'public' ORDER BY 1, 2, 3",
    "roles": "SELECT rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, "
    "rolbypassrls FROM pg_roles WHERE rolname ~ '^slrt_' ORDER BY 1",
    "members": "SELECT r.rolname, m.rolname, a.inherit_option, a.set_option FROM pg_auth_members a "
    "JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member "
    "WHERE r.rolname ~ '^slrt_' ORDER BY 1, 2",
    "schema": "SELECT nspowner::regrole::text, nspacl::text FROM pg_namespace WHERE nspname = 'public'",
    "extensions": "SELECT extname FROM pg_extension ORDER BY 1",
}


def _snapshot(url: str) -> dict[str, list]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            tables = conn.exec_driver_sql(_TABLES).scalars().all()
            out = {
                "content": [
                    (table, *conn.exec_driver_sql(_CONTENT.format(table=table)).one())
                    for table in tables
                ]
            }
            for name, sql in _SECURITY.items():
                out[name] = [tuple(r) for r in conn.exec_driver_sql(sql)]
            return out
    finally:
        engine.dispose()


@pytest.fixture
def fresh_server() -> Iterator[EmbeddedPostgres]:
    root = Path(tempfile.mkdtemp(prefix="slrt-restore-"))
    pg = EmbeddedPostgres(root / "pg", free_port(), "restore-superuser-pw")
    pg.start()
    try:
        yield pg
    finally:
        pg.destroy()
        shutil.rmtree(root, ignore_errors=True)


def test_backup_restores_whole_into_a_fresh_server(
    app, client, services, parepare, kendal, parepare_admin, kendal_admin, fresh_server,
    tmp_path, monkeypatch,
) -> None:  # fmt: skip
    ours = _populate(client, parepare_admin, "parepare", "737201",
                     _village(client, parepare_admin, "parepare"), 3)  # fmt: skip
    theirs = _populate(client, kendal_admin, "kendal", "332401",
                       _village(client, kendal_admin, "kendal"), 2)  # fmt: skip
    original = _snapshot(services["DATABASE_ADMIN_URL"])
    counts = {table: int(n) for table, n, _ in original["content"]}
    assert counts["persons"] == 5 and counts["cases"] == 5 and counts["audit_events"] >= 15
    assert counts["tenants"] == 2 and counts["villages"] > 20

    archive = tmp_path / "slrt.dump"
    runner = CliRunner()
    made = runner.invoke(db_group, ["backup", str(archive)])
    assert made.exit_code == 0, made.output
    assert archive.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format

    # A fresh server: the roles and the empty database first, then the restore.
    passwords = RolePasswords(owner="test-owner-pw", app="test-app-pw")
    ensure_roles_and_database(fresh_server.url(), "slrt", passwords)
    monkeypatch.setenv("DATABASE_ADMIN_URL", fresh_server.url(db="postgres"))
    restored = runner.invoke(db_group, ["restore", str(archive)])
    assert restored.exit_code == 0, restored.output
    again = runner.invoke(db_group, ["restore", str(archive)])  # never over existing data
    assert again.exit_code != 0 and "empty database" in again.output

    copy = _snapshot(fresh_server.url(db="slrt"))
    for part in ("content", *_SECURITY):
        assert copy[part] == original[part], part
    assert any(p[0] == "persons" for p in copy["policies"])

    # The app against the restored server: a member reads its own, another district's id is 404.
    try:
        db.init_engine(fresh_server.url("slrt_app", passwords.app, "slrt"))
        mine = client.get(f"/api/v1/t/parepare/persons/{ours[0]}", headers=parepare_admin.headers)
        assert mine.status_code == 200 and mine.json["name"] == "Cadangan parepare 0"
        foreign = client.get(
            f"/api/v1/t/parepare/persons/{theirs[0]}", headers=parepare_admin.headers
        )
        assert foreign.status_code == 404
        listed = client.get("/api/v1/t/kendal/persons", headers=kendal_admin.headers)
        assert sorted(p["id"] for p in listed.json) == sorted(theirs)
    finally:
        db.session.remove()
        db.init_engine(services["DATABASE_URL"])
