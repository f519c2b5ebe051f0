"""A web process keeps an account's rights briefly (slrt.platform.freshness), yet a revoked
membership, a disabled account or a revoked token is refused: at once when the change went
through the app (in any process: a new epoch in Redis), within SLRT_LOCAL_CACHE_SECONDS when it
was made straight in the database."""

from __future__ import annotations

import time

import sqlalchemy as sa

from slrt.platform.freshness import EPOCH_KEY
from slrt.platform.redis_client import get_redis
from tests.fixtures import member

URL = "/api/v1/t/parepare/persons"


def _status(client, user) -> int:
    return client.get(URL, headers=user.headers).status_code


def _revoke_in_database(owner_engine, tenant, user) -> None:
    """What a database administrator's UPDATE does, behind every process's back (as the
    owner, still under the district's row-level security)."""
    with owner_engine.begin() as conn:
        conn.execute(
            sa.text("SELECT set_config('slrt.tenant_id', :t, true)"), {"t": str(tenant.id)}
        )
        changed = conn.execute(
            sa.text("UPDATE memberships SET status = 'revoked' WHERE account_id = :id"),
            {"id": user.account_id},
        )
        assert changed.rowcount == 1


def test_a_revocation_through_the_app_is_refused_on_the_next_request(
    app, client, parepare, parepare_admin
) -> None:
    user = member(app, parepare, "front_office")
    assert _status(client, user) == 200  # the process now keeps the membership
    found = client.get("/api/v1/t/parepare/memberships", headers=parepare_admin.headers).json
    mine = next(m for m in found if m["account_id"] == str(user.account_id))
    url = f"/api/v1/t/parepare/memberships/{mine['id']}"
    tag = client.get(url, headers=parepare_admin.headers).headers["ETag"]
    gone = client.delete(url, headers={**parepare_admin.headers, "If-Match": tag})
    assert gone.status_code == 204
    assert _status(client, user) == 404


def test_another_process_sees_a_change_by_its_new_epoch(
    app, client, parepare, owner_engine
) -> None:
    user = member(app, parepare, "front_office")
    assert _status(client, user) == 200
    # Another process disables the account and commits: its commit replaces the epoch. Here the
    # row changes behind this process's back, and only the epoch tells it.
    with owner_engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE accounts SET status = 'disabled' WHERE id = :id"),
            {"id": user.account_id},
        )
    get_redis().set(EPOCH_KEY, "a commit elsewhere")
    assert _status(client, user) == 401


def test_a_change_straight_in_the_database_holds_within_the_bound(
    app, client, parepare, owner_engine, monkeypatch
) -> None:
    monkeypatch.setenv("SLRT_LOCAL_CACHE_SECONDS", "1")
    user = member(app, parepare, "front_office")
    assert _status(client, user) == 200
    _revoke_in_database(owner_engine, parepare, user)
    time.sleep(1.2)
    assert _status(client, user) == 404


def test_a_revoked_token_is_refused_at_once(app, client, parepare) -> None:
    from slrt.auth.oauth.tokens import revoke_access_token, verify_access_token

    user = member(app, parepare, "front_office")
    assert _status(client, user) == 200
    with app.app_context():
        revoke_access_token(verify_access_token(user.token))
    assert _status(client, user) == 401


def test_without_redis_nothing_is_kept(app, client, parepare, owner_engine, monkeypatch) -> None:
    from slrt.platform import freshness

    user = member(app, parepare, "front_office")
    assert _status(client, user) == 200
    monkeypatch.setattr(freshness, "_read_epoch", lambda: None)
    _revoke_in_database(owner_engine, parepare, user)
    assert _status(client, user) == 404
