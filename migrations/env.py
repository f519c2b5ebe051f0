"""Alembic environment: always runs as the owner role given by slrt.platform.commands.migrate."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from slrt.platform.models import metadata

config = context.config


def run_migrations_online() -> None:
    url = config.attributes.get("owner_url")
    if not url:
        raise RuntimeError("run migrations through `slrt db upgrade` (owner URL required)")
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        # One migration at a time even when several processes start together.
        connection.execute(sa.text("SELECT pg_advisory_lock(7372332400)"))
        connection.commit()
        try:
            context.configure(
                connection=connection,
                target_metadata=metadata,
                transaction_per_migration=True,
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            connection.execute(sa.text("SELECT pg_advisory_unlock(7372332400)"))
            connection.commit()
    engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline migrations are not supported")
run_migrations_online()
