"""Where the running system finds PostgreSQL and Redis: the environment, else the embedded
servers under SLRT_DATA_DIR (whose passwords live in secrets.json)."""

from __future__ import annotations

from slrt.platform.commands.dbroles import APP_ROLE, OWNER_ROLE
from slrt.platform.config import setting
from slrt.platform.secrets_store import get_secret

DATABASE_NAME = "slrt"


def embedded_pg_port() -> int:
    return int(setting("SLRT_PG_PORT") or 54329)


def embedded_redis_port() -> int:
    return int(setting("SLRT_REDIS_PORT") or 63799)


def _embedded_url(user: str, password: str) -> str:
    return f"postgresql+psycopg://{user}:{password}@127.0.0.1:{embedded_pg_port()}/{DATABASE_NAME}"


def database_url() -> str:
    explicit = setting("DATABASE_URL")
    return (
        normalise_pg_url(explicit)
        if explicit
        else _embedded_url(APP_ROLE, get_secret("pg_app_password"))
    )


def database_replica_url() -> str | None:
    """The app role on a streaming replica, or None: heavy reads then stay on the primary."""
    explicit = setting("DATABASE_REPLICA_URL")
    return normalise_pg_url(explicit) if explicit else None


def database_owner_url() -> str:
    explicit = setting("DATABASE_OWNER_URL")
    if explicit:
        return normalise_pg_url(explicit)
    if setting("DATABASE_URL"):
        raise RuntimeError(
            "DATABASE_URL is set but DATABASE_OWNER_URL is not: migrations must run as the role "
            "that owns the schema, never as the app role"
        )
    return _embedded_url(OWNER_ROLE, get_secret("pg_owner_password"))


def redis_url() -> str:
    return setting("REDIS_URL") or (
        f"redis://:{get_secret('redis_password')}@127.0.0.1:{embedded_redis_port()}/0"
    )


def normalise_pg_url(url: str) -> str:
    """Accept plain postgresql:// URLs and use the psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
