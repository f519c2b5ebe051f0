"""A database connection lost under the app: one the server closed while it waited in the pool
is noticed when it leaves the pool (its socket is readable) and replaced, at no round trip's
cost and with no error; one lost while a request held it answers that request 503 with
Retry-After (never 500), and the next request is served on a good connection."""

from __future__ import annotations

import sqlalchemy as sa

from slrt.platform import db
from tests.fixtures import member

PERSONS = "/api/v1/t/parepare/persons"


def terminate_backends(admin_engine: sa.Engine, pids: set[int]) -> None:
    """End these backends and wait until the server has let them go."""
    with admin_engine.connect() as admin:
        for pid in pids:
            admin.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        while admin.execute(
            sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:pids)"),
            {"pids": list(pids)},
        ).scalar():
            admin.rollback()


def _pids_used_by(app, client, user) -> set[int]:
    pids: set[int] = set()

    def note(dbapi_conn, record, proxy) -> None:
        pids.add(dbapi_conn.info.backend_pid)

    sa.event.listen(db.engine(), "checkout", note)
    try:
        assert client.get(PERSONS, headers=user.headers).status_code == 200
    finally:
        sa.event.remove(db.engine(), "checkout", note)
    return pids


def test_connections_closed_in_the_pool_are_replaced_without_an_error(
    app, client, parepare, admin_engine
) -> None:
    manager = member(app, parepare, "manager")
    before = _pids_used_by(app, client, manager)
    terminate_backends(admin_engine, before)
    after = _pids_used_by(app, client, manager)
    assert after and not after & before


def test_a_connection_lost_during_a_request_answers_503_then_the_next_is_served(
    app, client, parepare, admin_engine
) -> None:
    manager = member(app, parepare, "manager")
    assert client.get(PERSONS, headers=manager.headers).status_code == 200
    killed: list[int] = []

    def kill_once(dbapi_conn, record, proxy) -> None:
        # After the pool's own check found the connection alive: lost while the request has it.
        if not killed:
            killed.append(dbapi_conn.info.backend_pid)
            terminate_backends(admin_engine, {killed[0]})

    sa.event.listen(db.engine(), "checkout", kill_once)
    try:
        lost = client.get(PERSONS, headers=manager.headers)
    finally:
        sa.event.remove(db.engine(), "checkout", kill_once)
    assert killed
    assert lost.status_code == 503, lost.get_data(as_text=True)
    assert lost.headers["Retry-After"].isdigit()
    assert lost.headers["Content-Type"].startswith("application/problem+json")
    assert "coba lagi" in lost.json["detail"]
    again = client.get(PERSONS, headers=manager.headers)
    assert again.status_code == 200, again.get_data(as_text=True)
