"""Server-side web sessions in Redis: the cookie carries only an opaque random id.

Installed as Flask's session interface, so `flask.session` (and flask-wtf's CSRF token, kept in
it) live in Redis. The cookie is HttpOnly, SameSite=Lax and Secure when the site is https
(SESSION_COOKIE_* in the app config). A session is only written once something is put in it, so
API calls never get a cookie. `regenerate()` issues a new id at sign-in (no session fixation).

Each signed-in session's id is also kept in a per-account set, so `end_sessions` can sign an
account out of every browser at once (password change, account disabled, membership revoked).
A session that was ended while one of its requests was running is not written back.

While Redis is out of reach a page that needs its session answers 503 (a clear page with
Retry-After), never 500: a session that could not be read refuses every use
(`UnavailableSession`), a new one refuses to be filled during an outage window, and a session
that cannot be saved is logged and dropped. API requests never touch the session.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from flask import Flask, Request, Response
from flask.sessions import SessionInterface, SessionMixin
from werkzeug.datastructures import CallbackDict

from slrt.platform.errors import service_unavailable
from slrt.platform.redis_client import UNREACHABLE, get_redis, note_outage, redis_available

PREFIX = "slrt:session:"
ACCOUNT_INDEX = "slrt:account-sessions:"  # + account id: set of that account's session ids
LIFETIME = 12 * 3600  # a working day; sign in again the next morning
COOKIE_NAME = "slrt_session"


class RedisSession(CallbackDict, SessionMixin):
    unavailable = False

    def __init__(self, initial: dict[str, Any] | None = None, sid: str | None = None) -> None:
        def on_update(self: RedisSession) -> None:
            if not self.modified and not redis_available():
                raise service_unavailable()  # it could not be kept
            self.modified = True

        super().__init__(initial or {}, on_update)
        self.sid = sid
        self.old_sid: str | None = None
        self.modified = False

    def _usable(self) -> None:
        # A new session during an outage could hold nothing worth reading (its CSRF token, a
        # sign-in in progress) and keep nothing: the page asks to come back instead.
        if self.sid is None and not redis_available():
            raise service_unavailable()

    def get(self, key: str, default: Any = None) -> Any:
        self._usable()
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        self._usable()
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self._usable()
        return super().__contains__(key)

    def regenerate(self) -> None:
        """Give the session a new id (the old one is deleted when the response is saved)."""
        if self.sid and not self.old_sid:
            self.old_sid = self.sid
        self.sid = None
        self.modified = True

    def clear(self) -> None:  # type: ignore[override]
        super().clear()
        self.regenerate()


class UnavailableSession(RedisSession):
    """The browser's session could not be read (Redis out of reach): any use of it answers 503
    from inside the request, where the error page is rendered; nothing is written back."""

    unavailable = True

    def _refuse(self, *args: Any, **kw: Any) -> Any:
        raise service_unavailable()

    __getitem__ = __setitem__ = __delitem__ = __contains__ = _refuse
    get = setdefault = pop = update = clear = regenerate = _refuse  # type: ignore[assignment]


class RedisSessionInterface(SessionInterface):
    def open_session(self, app: Flask, request: Request) -> RedisSession:
        sid = request.cookies.get(COOKIE_NAME)
        if sid and len(sid) < 100:
            try:
                raw = get_redis().get(PREFIX + sid)
            except UNREACHABLE as exc:
                note_outage("web session", exc)
                return UnavailableSession(sid=sid)
            if raw:
                return RedisSession(json.loads(raw), sid)
        return RedisSession()

    def save_session(self, app: Flask, session: RedisSession, response: Response) -> None:  # type: ignore[override]
        if session.unavailable:
            return
        try:
            self._save(app, session, response)
        except UNREACHABLE as exc:
            # The answer is ready; the session change is lost (the next page asks again).
            note_outage("saving a web session", exc)

    def _save(self, app: Flask, session: RedisSession, response: Response) -> None:
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
