"""Server-side web sessions in Redis: the cookie carries only an opaque random id.

Installed as Flask's session interface, so `flask.session` (and flask-wtf's CSRF token, kept in
it) live in Redis. The cookie is HttpOnly, SameSite=Lax and Secure when the site is https
(SESSION_COOKIE_* in the app config). A session is only written once something is put in it, so
API calls never get a cookie. `regenerate()` issues a new id at sign-in (no session fixation).
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
        if not session.sid:
            session.sid = secrets.token_urlsafe(32)
        redis.set(PREFIX + session.sid, json.dumps(dict(session)), ex=LIFETIME)
        response.set_cookie(
            COOKIE_NAME,
            session.sid,
            max_age=LIFETIME,
            path="/",
            httponly=True,
            secure=app.config.get("SESSION_COOKIE_SECURE", False),
            samesite=app.config.get("SESSION_COOKIE_SAMESITE", "Lax"),
        )
