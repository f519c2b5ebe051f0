"""Test session: a real PostgreSQL and a real Redis, started for this run only (own data dir,
own ports), migrated to head; every test starts from empty tables."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from slrt.platform.commands.dbroles import RolePasswords, ensure_roles_and_database, seal_audit
from slrt.platform.commands.embedded import EmbeddedPostgres, EmbeddedRedis, free_port

pytest_plugins = ["tests.fixtures"]

_servers: dict[str, object] = {}


@pytest.fixture(scope="session")
def services() -> Iterator[dict[str, str]]:
    # Not under pytest's basetemp: pytest prunes older basetemps, and a concurrent run (another
    # checkout, another xdist worker) would delete this session's PostgreSQL data under it.
    root = Path(tempfile.mkdtemp(prefix="slrt-test-"))
    pg = EmbeddedPostgres(root / "pg", free_port(), "test-superuser-pw")
    pg.start()
    redis = EmbeddedRedis(root / "redis", free_port(), "test-redis-pw")
    redis.start()
    _servers["redis"] = redis
    passwords = RolePasswords(owner="test-owner-pw", app="test-app-pw")
    ensure_roles_and_database(pg.url(), "slrt", passwords)
    urls = {
        "DATABASE_URL": pg.url("slrt_app", passwords.app, "slrt"),
        "DATABASE_OWNER_URL": pg.url("slrt_owner", passwords.owner, "slrt"),
        "DATABASE_ADMIN_URL": pg.url(db="slrt"),
        "REDIS_URL": redis.url(),
        "SLRT_DATA_DIR": str(root / "data"),
        # The apps under test are served by the test client and werkzeug's threaded server,
        # which run every request at once (gunicorn's threads bound them under `slrt serve`):
        # no load shedding there. tests/platform/test_shedding.py tests it on its own, and the
        # deploy cluster under `slrt serve` with the defaults.
        "SLRT_WEB_ACTIVE": "0",
    }
    saved = {k: os.environ.get(k) for k in urls}
    os.environ.update(urls)
    from slrt.platform.commands import migrate

    migrate.upgrade(urls["DATABASE_OWNER_URL"])
    seal_audit(urls["DATABASE_ADMIN_URL"])
    try:
        yield {**urls, "pg_port": str(pg.port), "redis_port": str(redis.port), "root": str(root)}
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        redis.stop()
        pg.destroy()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def session_redis(services: dict[str, str]) -> Iterator[EmbeddedRedis]:
    """The session's real Redis, for tests that take it away and bring it back (same port, same
    append-only file). It is running again after the test, whatever the test did."""
    redis = _servers["redis"]
    assert isinstance(redis, EmbeddedRedis)
    yield redis
    redis.start()


@pytest.fixture(scope="session")
def owner_engine(services: dict[str, str]) -> Iterator[sa.Engine]:
    engine = sa.create_engine(services["DATABASE_OWNER_URL"])
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def app(services: dict[str, str]):
    from slrt.platform.app import create_app

    application = create_app({"TESTING": True})
    return application


@pytest.fixture(scope="session")
def admin_engine(services: dict[str, str]) -> Iterator[sa.Engine]:
    engine = sa.create_engine(services["DATABASE_ADMIN_URL"])
    yield engine
    engine.dispose()


def _truncate_all(engine: sa.Engine) -> None:
    """As the superuser with triggers off: the audit tables refuse TRUNCATE to every role, and
    wiping them between tests is exactly what the product must never do."""
    with engine.begin() as conn:
        conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        tables = (
            conn.execute(
                sa.text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'alembic_version'"
                )
            )
            .scalars()
            .all()
        )
        if tables:
            conn.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))


def _flush_redis(conn) -> None:
    """FLUSHDB, once a Redis restarted by the test before has loaded its data (it refuses
    commands until then, for longer on a busy machine)."""
    import redis

    deadline = time.monotonic() + 30
    while True:
        try:
            conn.flushdb()
            return
        except redis.BusyLoadingError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.fixture(autouse=True)
def _clean_state(request: pytest.FixtureRequest) -> Iterator[None]:
    """Empty tables and Redis before each test that uses the database."""
    if "services" not in request.fixturenames and not any(
        name in request.fixturenames for name in ("app", "client", "owner_engine")
    ):
        yield
        return
    engine = request.getfixturevalue("admin_engine")
    _truncate_all(engine)
    from slrt.platform import redis_client
    from slrt.platform.redis_client import get_redis, reset_redis

    reset_redis()
    # An outage noted by the previous test (Redis taken away on purpose) is over: without this
    # the next test's pages answer 503 for the rest of OUTAGE_SECONDS.
    redis_client._down_until = 0.0
    _flush_redis(get_redis())
    from slrt.platform.freshness import clear_local

    clear_local()  # the tables were emptied under the app: nothing it remembers holds
    yield
    from slrt.platform import db
    from slrt.platform.tenancy import leave_tenant

    db.session.remove()
    leave_tenant()


@pytest.fixture
def client(app):
    return app.test_client()
