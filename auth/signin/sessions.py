"""Server-side web sessions in Redis: the cookie carries only an opaque random id.

Installed as Flask's session interface, so `flask.session` (and flask-wtf's CSRF token, kept in
it) live in Redis. The cookie is HttpOnly, SameSite=Lax and Secure when the site is https
(SESSION_COOKIE_* in the app config). A session is only written once something is put in it, so
API calls never get a cookie. `regenerate()` issues a new id at sign-in (no session fixation).

Each signed-in session's id is also kept in a per-account set, so `end_sessions` can sign an
account out of every browser at once (password change, account disabled, membership revoked).
A session that was ended while one of its requests was running is not written back.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from flask import Flask, Request, Response
from flask.sessions import SessionInterface, SessionMixin
from werkzeug.datastructures import CallbackDict

from slrt.platform.redis_client import get_redis

PREFIX = "slrt:session:"
ACCOUNT_INDEX = "slrt:account-sessions:"  # + account id: set of that account's session ids
LIFETIME = 12 * 3600  # a working day; sign in again the next morning
COOKIE_NAME = "slrt_session"


class RedisSession(CallbackDict, SessionMixin):
    def __init__(self, initial: dict[str, Any] | None = None, sid: str | None = None) -> None:
        def on_update(self: RedisSession) -> None:
            self.modified = True

        super().__init__(initial or {}, on_update)
        self.sid = sid
        self.old_sid: str | None = None
        self.modified = False

    def regenerate(self) -> None:
        """Give the session a new id (the old one is deleted when the response is saved)."""
        if self.sid and not self.old_sid:
            self.old_sid = self.sid
        self.sid = None
        self.modified = True

    def clear(self) -> None:  # type: ignore[override]
        super().clear()
        self.regenerate()


class RedisSessionInterface(SessionInterface):
    def open_session(self, app: Flask, request: Request) -> RedisSession:
        sid = request.cookies.get(COOKIE_NAME)
        if sid and len(sid) < 100:
            raw = get_redis().get(PREFIX + sid)
            if raw:
                return RedisSession(json.loads(raw), sid)
        return RedisSession()

    def save_session(self, app: Flask, session: RedisSession, response: Response) -> None:  # type: ignore[override]
        redis = get_redis()
        if session.old_sid:
            redis.delete(PREFIX + session.old_sid)
        if not session:
            if session.old_sid or session.sid:
                if session.sid:
                    redis.delete(PREFIX + session.sid)
                response.delete_cookie(COOKIE_NAME, path="/")
            return
        if not session.modified and session.sid:
            return
        body = json.dumps(dict(session))
        created = not session.sid
        if created:
            session.sid = secrets.token_urlsafe(32)
            redis.set(PREFIX + session.sid, body, ex=LIFETIME)
        # Only refresh a session that still exists: one ended meanwhile stays ended.
        elif not redis.set(PREFIX + session.sid, body, ex=LIFETIME, xx=True):
            response.delete_cookie(COOKIE_NAME, path="/")
            return
        account_id = session_account_id(session)
        if account_id:
            index = ACCOUNT_INDEX + account_id
            if created:  # forget the account's sessions that expired or were signed out
                dead = [m for m in redis.smembers(index) if not redis.exists(PREFIX + _text(m))]
                if dead:
                    redis.srem(index, *dead)
            redis.sadd(index, session.sid)
            redis.expire(index, LIFETIME)
        response.set_cookie(
            COOKIE_NAME,
            session.sid,
            max_age=LIFETIME,
            path="/",
            httponly=True,
            secure=app.config.get("SESSION_COOKIE_SECURE", False),
            samesite=app.config.get("SESSION_COOKIE_SAMESITE", "Lax"),
        )


def session_account_id(session: dict[str, Any]) -> str | None:
    """The account a session belongs to: signed in (`uid`), or past the password and waiting
    for the TOTP code (a password change must end that half-signed-in session too)."""
    return session.get("uid") or (session.get("pending_totp") or {}).get("uid")


def end_sessions(account_id: Any, *, keep: str | None = None) -> int:
    """Sign the account out of every browser except the session `keep`; returns how many
    sessions were ended. Call it after the change that warrants it is committed."""
    redis = get_redis()
    index = ACCOUNT_INDEX + str(account_id)
    sids = [_text(sid) for sid in redis.smembers(index)]
    others = [sid for sid in sids if sid != keep]
    if not others:
        return 0
    ended = redis.delete(*(PREFIX + sid for sid in others))
    redis.srem(index, *others)
    return int(ended)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
