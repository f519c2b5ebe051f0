"""A web process keeps an account's rights briefly (slrt.platform.freshness), yet a revoked
membership, a disabled account or a revoked token is refused: at once when the change went
through the app (in any process: a new epoch announced on Redis's channel, taken at the start of
each request), within CHECK_SECONDS when that news was lost, within SLRT_LOCAL_CACHE_SECONDS
when it was made straight in the database."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from slrt.platform.freshness import CHANNEL, CHECK_SECONDS, EPOCH_KEY
from slrt.platform.redis_client import get_redis
from tests.fixtures import User, member

URL = "/api/v1/t/parepare/persons"


def _status(client, user) -> int:
    return client.get(URL, headers=user.headers).status_code


@pytest.fixture
def user(app, client, parepare) -> User:
    """A front-office member whose rights this process now keeps (it served one request)."""
    kept = member(app, parepare, "front_office")
    assert _status(client, kept) == 200
    return kept


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


def _remove_through_the_app(client, admin, user) -> None:
    """The district admin removes `user`'s membership (a commit that announces a new epoch)."""
    found = client.get("/api/v1/t/parepare/memberships", headers=admin.headers).json
    mine = next(m for m in found if m["account_id"] == str(user.account_id))
    url = f"/api/v1/t/parepare/memberships/{mine['id']}"
    tag = client.get(url, headers=admin.headers).headers["ETag"]
    gone = client.delete(url, headers={**admin.headers, "If-Match": tag})
    assert gone.status_code == 204


def test_a_revocation_through_the_app_is_refused_on_the_next_request(
    app, client, user, parepare_admin
) -> None:
    _remove_through_the_app(client, parepare_admin, user)
    assert _status(client, user) == 404


def _disable_behind_the_app(owner_engine, user) -> None:
    with owner_engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE accounts SET status = 'disabled' WHERE id = :id"),
            {"id": user.account_id},
        )


def _status_once_lost_news_is_due(client, user) -> int:
    """The next request's status once the process has had time to read the epoch itself,
    after a change whose news never arrived (a new epoch, no message on the channel)."""
    get_redis().set(EPOCH_KEY, f"a change whose news was lost {time.monotonic()}")
    time.sleep(CHECK_SECONDS + 0.2)
    return _status(client, user)


def test_another_process_sees_a_change_by_its_new_epoch(app, client, user, owner_engine) -> None:
    # Another process disables the account and commits: its commit replaces the epoch and
    # announces it. Here the row changes behind this process's back, and only the news tells it.
    _disable_behind_the_app(owner_engine, user)
    pipe = get_redis().pipeline(transaction=True)
    pipe.set(EPOCH_KEY, "a commit elsewhere").publish(CHANNEL, "epoch a commit elsewhere")
    pipe.execute()
    assert _status(client, user) == 401


def test_a_lost_announcement_holds_back_a_change_for_check_seconds_at_most(
    app, client, user, owner_engine
) -> None:
    _disable_behind_the_app(owner_engine, user)
    assert _status_once_lost_news_is_due(client, user) == 401


# A second process of the app, asking on every line it reads and printing the status.
_OTHER_PROCESS = """
import sys
from slrt.platform.app import create_app
client = create_app({"TESTING": True}).test_client()
url, token = sys.argv[1], sys.argv[2]
for _ in sys.stdin:
    print(client.get(url, headers={"Authorization": "Bearer " + token}).status_code, flush=True)
"""


def test_a_change_through_the_app_is_seen_by_another_process_on_its_next_request(
    app, client, parepare, parepare_admin
) -> None:
    from slrt.auth.oauth.tokens import revoke_access_token, verify_access_token

    user = member(app, parepare, "front_office")
    other_user = member(app, parepare, "front_office")
    others = [
        subprocess.Popen(
            [sys.executable, "-c", _OTHER_PROCESS, URL, u.token],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for u in (user, other_user)
    ]

    def other_status(k: int) -> int:
        others[k].stdin.write("\n")
        others[k].stdin.flush()
        return int(others[k].stdout.readline())

    try:
        assert other_status(0) == 200 and other_status(1) == 200  # both now keep their rights
        _remove_through_the_app(client, parepare_admin, user)
        assert other_status(0) == 404  # at once, well within CHECK_SECONDS
        with app.app_context():
            revoke_access_token(verify_access_token(other_user.token))
        assert other_status(1) == 401
    finally:
        for other in others:
            other.kill()
            other.wait()


def test_a_change_straight_in_the_database_holds_within_the_bound(
    app, client, parepare, owner_engine, monkeypatch
) -> None:
    monkeypatch.setenv("SLRT_LOCAL_CACHE_SECONDS", "1")
    user = member(app, parepare, "front_office")
    assert _status(client, user) == 200
    _revoke_in_database(owner_engine, parepare, user)
    time.sleep(1.2)
    assert _status(client, user) == 404


def test_a_revoked_token_is_refused_at_once(app, client, user) -> None:
    from slrt.auth.oauth.tokens import revoke_access_token, verify_access_token

    with app.app_context():
        revoke_access_token(verify_access_token(user.token))
    assert _status(client, user) == 401


def test_without_redis_nothing_is_kept(
    app, client, parepare, user, owner_engine, monkeypatch
) -> None:
    from slrt.platform import freshness

    monkeypatch.setattr(freshness, "_read_epoch", lambda: None)
    _revoke_in_database(owner_engine, parepare, user)
    assert _status(client, user) == 404


def test_a_process_that_starts_listening_after_a_revocation_knows_of_it(app, client, user) -> None:
    from slrt.auth.oauth import tokens
    from slrt.platform.redis_client import reset_redis

    with app.app_context():
        tokens.revoke_access_token(tokens.verify_access_token(user.token))
    # As a process started now: nothing in memory, a new subscription that reads the list.
    tokens._revoked.clear()
    reset_redis()
    assert _status(client, user) == 401


def test_a_revocation_whose_news_was_lost_is_known_within_check_seconds(
    app, client, user, owner_engine
) -> None:
    from slrt.auth.oauth import tokens

    with app.app_context():
        jti = tokens.verify_access_token(user.token)["jti"]
    # What another process's revocation leaves when its news never arrives: the row, and a new
    # epoch that no message announced.
    with owner_engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO revoked_access_tokens (jti, expires_at) "
                "VALUES (:jti, now() + interval '1 hour')"
            ),
            {"jti": jti},
        )
    assert _status_once_lost_news_is_due(client, user) == 401
