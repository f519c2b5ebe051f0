"""A statement sent with its transaction's COMMIT (`db.send_with_commit`, how a read's audit
event is written): it is written when the session commits, in the same message as the COMMIT;
never when the session rolls back, nor later on the same pooled connection; its values are
quoted, whatever they hold; and the session goes on to its next transaction as usual (tenant
setting and role included)."""

from __future__ import annotations

import uuid

import psycopg.errors
import psycopg.sql
import pytest
import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.tenancy import tenant_context
from tests.platform.test_database_outage import terminate_backends
from tests.platform.test_statement_counts import is_setting
from tests.tenants.flow.test_queries import counted

NOTE = psycopg.sql.SQL(
    "INSERT INTO audit_events (tenant_id, id, kind, action, entity_type, actor_kind, "
    "actor_label, note) VALUES ({tenant}, {id}, 'read', 'test.read', 'person', 'system', "
    "'test', {note})"
).format(
    tenant=psycopg.sql.Placeholder("tenant"),
    id=psycopg.sql.Placeholder("id"),
    note=psycopg.sql.Placeholder("note"),
)


@pytest.fixture
def notes(admin_engine):
    """The notes of the test's events in a district, read on a connection of their own."""

    def read(tenant) -> list[str]:
        with admin_engine.connect() as conn:
            return list(
                conn.execute(
                    sa.text(
                        "SELECT note FROM audit_events WHERE action = 'test.read' "
                        "AND tenant_id = :t ORDER BY chain_seq"
                    ),
                    {"t": tenant.id},
                ).scalars()
            )

    return read


def test_sent_with_the_commit_in_one_message(app, parepare, notes) -> None:
    with app.app_context():
        with tenant_context(parepare.ref()):
            db.session.execute(sa.text("SELECT 1"))
            db.send_with_commit(NOTE, {"tenant": parepare.id, "id": uuid.uuid4(), "note": "a"})
            assert notes(parepare) == []  # not before the commit
            with counted() as statements:
                db.session.commit()
            assert len(statements) == 1, statements
            assert statements[0].startswith("INSERT INTO audit_events")
            assert statements[0].endswith("; COMMIT")
            # the next transaction opens as any other: its tenant setting first, RLS applied
            with counted() as statements:
                seen = db.session.execute(sa.text("SELECT count(*) FROM audit_events")).scalar()
            assert is_setting(statements[0])
            assert seen >= 1
            db.session.commit()
        assert notes(parepare) == ["a"]
        db.session.remove()


def test_never_sent_after_a_rollback(app, parepare, notes) -> None:
    with app.app_context():
        with tenant_context(parepare.ref()):
            db.session.execute(sa.text("SELECT 1"))
            db.send_with_commit(NOTE, {"tenant": parepare.id, "id": uuid.uuid4(), "note": "no"})
            db.session.rollback()
            # the same pooled connection commits a later transaction without it
            db.session.execute(sa.text("SELECT 1"))
            with counted() as statements:
                db.session.commit()
            assert statements == []
        db.session.remove()
        assert notes(parepare) == []


@pytest.mark.parametrize(
    "note",
    [
        "it's; COMMIT; DELETE FROM audit_events; --",
        "100% %s %(note)s {note}",
        "back\\slash \\' and $$dollar$$ quotes",
        "Jl. Poros Makassar\u2013Parepare, RT 02/RW 01 \U0001f3e0 \u00fc",
    ],
)
def test_values_are_quoted(app, parepare, notes, note: str) -> None:
    with app.app_context():
        with tenant_context(parepare.ref()):
            db.session.execute(sa.text("SELECT 1"))
            db.send_with_commit(NOTE, {"tenant": parepare.id, "id": uuid.uuid4(), "note": note})
            db.session.commit()
        db.session.remove()
        assert notes(parepare) == [note]


def test_a_refused_statement_fails_the_commit(app, parepare, kendal, notes) -> None:
    """Row-level security refuses another district's row: the commit fails, nothing is
    written, and the session rolls back and goes on."""
    with app.app_context():
        with tenant_context(parepare.ref()):
            db.session.execute(sa.text("SELECT 1"))
            db.send_with_commit(NOTE, {"tenant": kendal.id, "id": uuid.uuid4(), "note": "x"})
            with pytest.raises(sa.exc.DBAPIError):
                db.session.commit()
            db.session.rollback()
            assert db.session.execute(sa.text("SELECT 1")).scalar() == 1
            db.session.commit()
        db.session.remove()
    with app.app_context():
        assert notes(kendal) == []
        assert notes(parepare) == []


def test_a_transaction_opens_with_its_setting_in_one_message(app, parepare) -> None:
    """BEGIN rides with the tenant setting: one message, and the setting, local to the
    transaction, is there for what follows (without the BEGIN it would end with its own
    statement)."""
    with app.app_context():
        with tenant_context(parepare.ref()):
            with counted() as statements:
                seen = db.session.execute(
                    sa.text("SELECT current_setting('slrt.tenant_id', true)")
                ).scalar()
            assert is_setting(statements[0])
            assert len(statements) == 2, statements
            assert seen == str(parepare.id)
            db.session.commit()
        db.session.remove()


def test_a_message_the_server_refuses_raises_its_own_error(app, parepare) -> None:
    with app.app_context():
        with tenant_context(parepare.ref()):
            db.session.execute(sa.text("SELECT 1"))
            db.send_with_commit(psycopg.sql.SQL("SELECT 1 / 0"), {})
            with pytest.raises(sa.exc.DBAPIError) as refused:
                db.session.commit()
            assert isinstance(refused.value.orig, psycopg.errors.DivisionByZero)
            assert not refused.value.connection_invalidated
            db.session.rollback()
            assert db.session.execute(sa.text("SELECT 2")).scalar() == 2
            db.session.commit()
        db.session.remove()


def test_a_connection_lost_before_the_setting_is_dropped_from_the_pool(
    app, parepare, admin_engine
) -> None:
    """The server goes away after the pool handed the connection out (its check found it
    alive): the message fails as a lost connection, the pool forgets that connection, and the
    next transaction gets a good one."""
    killed: list[int] = []

    def kill_once(dbapi_conn, record, proxy) -> None:
        if killed:
            return
        killed.append(dbapi_conn.info.backend_pid)
        terminate_backends(admin_engine, {killed[0]})

    with app.app_context():
        db.session.remove()
        sa.event.listen(db.engine(), "checkout", kill_once)
        try:
            with tenant_context(parepare.ref()):
                with pytest.raises(sa.exc.DBAPIError) as lost:
                    db.session.execute(sa.text("SELECT 1"))
                assert lost.value.connection_invalidated
                db.session.rollback()
                pid = db.session.execute(sa.text("SELECT pg_backend_pid()")).scalar()
                assert killed and pid != killed[0]
                db.session.commit()
        finally:
            sa.event.remove(db.engine(), "checkout", kill_once)
            db.session.remove()


def test_a_transaction_with_its_own_isolation_level_keeps_it(app, parepare) -> None:
    """The BEGIN sent with the setting says what the driver's own would (an isolation level
    here); the pooled connection then goes back to the default level."""
    with app.app_context():
        with tenant_context(parepare.ref()):
            with counted() as statements:
                db.session.connection(execution_options={"isolation_level": "SERIALIZABLE"})
            assert statements == [
                "BEGIN ISOLATION LEVEL SERIALIZABLE; SELECT set_config('slrt.tenant_id', "
                f"'{parepare.id}', true), set_config('role', 'none', true)"
            ]
            level, seen = db.session.execute(
                sa.text(
                    "SELECT current_setting('transaction_isolation'), "
                    "current_setting('slrt.tenant_id', true)"
                )
            ).one()
            assert (level, seen) == ("serializable", str(parepare.id))
            db.session.commit()
            level = db.session.execute(sa.text("SELECT current_setting('transaction_isolation')"))
            assert level.scalar() == "read committed"
            db.session.commit()
        db.session.remove()
