"""A statement sent with its transaction's COMMIT (`db.send_with_commit`, how a read's audit
event is written): it is written when the session commits, in the same message as the COMMIT;
never when the session rolls back, nor later on the same pooled connection; its values are
quoted, whatever they hold; and the session goes on to its next transaction as usual (tenant
setting and role included)."""

from __future__ import annotations

import uuid

import psycopg.sql
import pytest
import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.tenancy import tenant_context
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
            assert statements[0].startswith("SELECT set_config('slrt.tenant_id'")
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
