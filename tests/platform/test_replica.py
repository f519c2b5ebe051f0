"""Reads from the replica (`slrt.platform.db`): which paths may use it, that they are read-only
and keep both tenant walls, and the connection setting for PgBouncer.

Here no replica is configured, so the replica sessions fall back to the primary: still
read-only, which proves the marked paths never write. The real standby is exercised in
tests/deploy/test_scale_out.py.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import InternalError, OperationalError

from slrt.platform import db
from slrt.platform.tenancy import tenant_context

# Every route served from the replica: a GET of aggregates or summaries, never a page that
# shows its reader's own fresh writes. A new one is added here on purpose.
REPLICA_ROUTES = {
    ("GET", "/api/v1/dashboard"),
    ("GET", "/api/v1/t/<tenant>/dashboard"),
    ("GET", "/api/v1/nik-signals"),
    ("GET", "/api/v1/platform/usage/summary"),
    ("GET", "/api/v1/platform/usage/summary/csv"),
    # The Kemensos console's figures (counts only) and NIK signal list
    ("GET", "/kemensos/"),
    ("GET", "/kemensos/provinces"),
    ("GET", "/kemensos/trend"),
    ("GET", "/kemensos/trend.svg"),
    ("GET", "/kemensos/districts/<int:tenant_id>"),
    ("GET", "/kemensos/districts/<int:tenant_id>/trend.svg"),
    ("GET", "/kemensos/districts/<int:tenant_id>/programs.svg"),
    ("GET", "/kemensos/nik-signals"),
    # The district dashboard page and its charts (counts only)
    ("GET", "/t/<tenant>/dashboard"),
    ("GET", "/t/<tenant>/dashboard/intakes-by-kind.svg"),
    ("GET", "/t/<tenant>/dashboard/intakes-by-channel.svg"),
    ("GET", "/t/<tenant>/dashboard/programs.svg"),
    ("GET", "/t/<tenant>/dashboard/on-time.svg"),
    ("GET", "/t/<tenant>/dashboard/villages.svg"),
    ("GET", "/t/<tenant>/dashboard/overdue-by-kecamatan.svg"),
    ("GET", "/t/<tenant>/dashboard/overdue-by-agency.svg"),
    ("GET", "/t/<tenant>/dashboard/overdue-by-village.svg"),
}


def test_the_replica_routes_are_exactly_these_reads(app) -> None:
    found = set()
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if getattr(view, "__slrt_replica__", False):
            methods = rule.methods - {"HEAD", "OPTIONS"}
            assert methods == {"GET"}, f"{rule.rule} reads from the replica but allows {methods}"
            found.add(("GET", rule.rule))
    assert found == REPLICA_ROUTES


def test_a_replica_session_is_read_only_and_keeps_the_tenant_walls(
    app, parepare, kendal, parepare_admin, kendal_admin
) -> None:
    with app.app_context():
        with tenant_context(parepare.ref()):
            with db.on_replica():
                assert db.on_replica_session()
                assert db.session.execute(sa.text("SHOW transaction_read_only")).scalar() == "on"
                # Raw SQL, no ORM criterion: row-level security alone keeps Kendal out.
                seen = db.session.execute(
                    sa.text("SELECT DISTINCT tenant_id FROM villages")
                ).scalars()
                assert set(seen) == {parepare.id}
                with pytest.raises((InternalError, OperationalError), match="read-only"):
                    db.session.execute(sa.text("UPDATE villages SET name = name"))
            assert not db.on_replica_session()
            # Back on the primary: writes work again.
            db.session.execute(sa.text("UPDATE villages SET name = name"))
            db.session.rollback()
        with db.replica_session(fresh=True) as replica:  # no tenant: RLS shows nothing
            assert replica.execute(sa.text("SELECT count(*) FROM villages")).scalar() == 0
        db.session.remove()


def test_a_marked_function_that_wrote_would_fail(app, parepare) -> None:
    """The mark holds on its own, replica or not: a view or job body under it that wrote
    fails, and the primary session is untouched afterwards."""

    @db.reads_from_replica
    def writes_in_a_read() -> None:
        db.session.execute(sa.text("UPDATE villages SET name = name"))

    with app.app_context(), tenant_context(parepare.ref()):
        with pytest.raises((InternalError, OperationalError), match="read-only"):
            writes_in_a_read()
        assert not db.on_replica_session()
        db.session.execute(sa.text("UPDATE villages SET name = name"))
        db.session.rollback()
        db.session.remove()


def test_the_dashboards_are_served_by_a_replica_session(
    app, client, parepare, parepare_admin, kemensos_admin, monkeypatch
) -> None:
    """The marked views open a replica session (here: read-only on the primary)."""
    opened: list[bool] = []
    real = db._replica_session_now

    def spy(min_lsn=None):
        opened.append(min_lsn is None)
        return real(min_lsn)

    monkeypatch.setattr(db, "_replica_session_now", spy)
    r = client.get("/api/v1/dashboard", headers=kemensos_admin.headers)
    assert r.status_code == 200, r.json
    r = client.get("/api/v1/t/parepare/dashboard", headers=parepare_admin.headers)
    assert r.status_code == 404  # not computed yet: the replica session answered
    assert opened == [True, True]
    # A route that is not marked never opens one.
    villages = client.get("/api/v1/t/parepare/villages", headers=parepare_admin.headers)
    assert villages.status_code == 200
    assert len(opened) == 2


def test_prepared_statements_can_be_turned_off(monkeypatch, services) -> None:
    """SLRT_DB_PREPARED_STATEMENTS=0 (PgBouncer before 1.21 in transaction pooling): psycopg
    never prepares, however often a query runs; the default prepares from the fifth run."""
    url = services["DATABASE_URL"]
    for value, expected in (("0", None), ("1", 5)):
        monkeypatch.setenv("SLRT_DB_PREPARED_STATEMENTS", value)
        assert db.connect_args() == ({"prepare_threshold": None} if value == "0" else {})
        engine = db._create_engine(url, pool_size=1, max_overflow=0)
        try:
            with engine.connect() as conn:
                raw = conn.connection.dbapi_connection
                assert raw.prepare_threshold == expected
                for _ in range(8):
                    conn.execute(sa.text("SELECT 1 + 1"))
                prepared = conn.execute(sa.text("SELECT count(*) FROM pg_prepared_statements"))
                assert (prepared.scalar() > 0) is (expected is not None)
        finally:
            engine.dispose()
