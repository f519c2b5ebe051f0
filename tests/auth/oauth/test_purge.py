"""`slrt auth purge` / `purge_expired_oauth_rows`: expired refresh-token families (revoked or
not) and old authorization codes go; a family with a live token keeps its rotated tokens, since
presenting one of them again is how token theft is detected."""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa

from slrt.auth.oauth.models import AuthorizationCode, RefreshToken, token_hash, utcnow
from slrt.platform import db
from tests.fixtures import member


def _token(account_id, family, expires_in: dt.timedelta, **kw) -> RefreshToken:
    return RefreshToken(
        token_hash=token_hash(uuid.uuid4().hex),
        family_id=family,
        client_id="slrt-web",
        account_id=account_id,
        scope="openid",
        expires_at=utcnow() + expires_in,
        **kw,
    )


def _code(account_id, expires_in: dt.timedelta) -> AuthorizationCode:
    return AuthorizationCode(
        code_hash=token_hash(uuid.uuid4().hex),
        client_id="slrt-web",
        account_id=account_id,
        redirect_uri="http://localhost/auth/callback",
        scope="openid",
        code_challenge="x" * 43,
        code_challenge_method="S256",
        auth_time=0,
        expires_at=utcnow() + expires_in,
    )


def test_purge_deletes_dead_families_and_old_codes_only(app, parepare) -> None:
    from slrt.auth.oauth.cli import auth

    user = member(app, parepare, "viewer")
    day = dt.timedelta(days=1)
    live, expired, revoked_dead, revoked_live = (uuid.uuid4() for _ in range(4))
    with app.app_context():
        rows = {
            "live_rotated": _token(user.account_id, live, -day, rotated_at=utcnow() - 2 * day),
            "live_current": _token(user.account_id, live, day),
            "expired": _token(user.account_id, expired, -dt.timedelta(seconds=1)),
            "revoked_dead": _token(user.account_id, revoked_dead, -day, revoked_at=utcnow()),
            "revoked_live": _token(user.account_id, revoked_live, day, revoked_at=utcnow()),
            "old_code": _code(user.account_id, -2 * day),
            "recent_code": _code(user.account_id, -dt.timedelta(minutes=5)),
        }
        db.session.add_all(rows.values())
        db.session.commit()
        ids = {name: row.id for name, row in rows.items()}
        db.session.remove()
    result = app.test_cli_runner().invoke(auth, ["purge"])
    assert result.exit_code == 0, result.output
    assert "deleted 2 refresh token(s) and 1 authorization code(s)" in result.output
    with app.app_context():
        left = set(db.session.execute(sa.select(RefreshToken.id)).scalars())
        left |= set(db.session.execute(sa.select(AuthorizationCode.id)).scalars())
        db.session.remove()
    assert {name for name, id_ in ids.items() if id_ in left} == {
        "live_rotated",
        "live_current",
        "revoked_live",
        "recent_code",
    }
    # Nothing more to do on a second run.
    again = app.test_cli_runner().invoke(auth, ["purge"])
    assert "deleted 0 refresh token(s) and 0 authorization code(s)" in again.output
