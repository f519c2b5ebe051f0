"""`slrt db ...`: roles, migrations, backup and restore."""

from __future__ import annotations

from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from slrt.platform.commands import backup, migrate
from slrt.platform.commands.dbroles import RolePasswords, ensure_roles_and_database
from slrt.platform.config import setting
from slrt.platform.runtime import DATABASE_NAME, database_owner_url, normalise_pg_url


@click.group("db", cls=AppGroup)
def db() -> None:
    """Database roles and migrations (always run as the owner role)."""


@db.command("upgrade", with_appcontext=False)
@click.argument("revision", default="head")
def upgrade(revision: str) -> None:
    """Migrate to REVISION (default: head). Safe to run again."""
    migrate.upgrade(database_owner_url(), revision)
    click.echo(f"database at {revision}")


@db.command("downgrade", with_appcontext=False)
@click.argument("revision")
def downgrade(revision: str) -> None:
    """Migrate down to REVISION (e.g. -1 or base)."""
    migrate.downgrade(database_owner_url(), revision)
    click.echo(f"database at {revision}")


@db.command("current", with_appcontext=False)
def current() -> None:
    """Print the applied revision and the head."""
    engine = sa.create_engine(database_owner_url(), poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        revision = migrate.current_revision(conn)
    click.echo(f"current: {revision or 'none'}  head: {migrate.head_revision()}")


@db.command("create-roles", with_appcontext=False)
@click.option("--owner-password", envvar="SLRT_OWNER_PASSWORD", required=True)
@click.option("--app-password", envvar="SLRT_APP_PASSWORD", required=True)
@click.option("--database", default=DATABASE_NAME, show_default=True)
def create_roles(owner_password: str, app_password: str, database: str) -> None:
    """Create slrt_owner, slrt_app and slrt_platform_reader on an external server
    (connects with DATABASE_ADMIN_URL)."""
    admin = setting("DATABASE_ADMIN_URL")
    if not admin:
        raise click.UsageError("set DATABASE_ADMIN_URL to a superuser URL")
    ensure_roles_and_database(
        normalise_pg_url(admin), database, RolePasswords(owner=owner_password, app=app_password)
    )
    click.echo("roles and database ready")


@db.command("backup", with_appcontext=False)
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(path: Path) -> None:
    """Dump the whole database to PATH (pg_dump custom format), as the superuser of
    DATABASE_ADMIN_URL. Roles are not included: `slrt db create-roles` makes them."""
    try:
        backup.backup(path)
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"backup written to {path} ({path.stat().st_size} bytes)")


@db.command("restore", with_appcontext=False)
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def restore_command(path: Path) -> None:
    """Restore PATH into the empty database of DATABASE_ADMIN_URL's server (run `slrt db
    create-roles` there first): tables, rows, grants and row-level security, in one
    transaction."""
    try:
        backup.restore(path)
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"restored {path}")
