"""Wiring of the auth package into the app (run once when its blueprints are registered):
server-side sessions in Redis, CSRF protection of browser forms, the OpenID provider, and the
machine-client loader of the policy."""

from __future__ import annotations

from flask import Flask, request
from flask_wtf.csrf import CSRFProtect

from slrt.auth import policy
from slrt.auth.oauth.provider import client_permissions, init_provider
from slrt.auth.signin.sessions import RedisSessionInterface
from slrt.platform.actor import SYSTEM, set_actor

csrf = CSRFProtect()

# Endpoints that OAuth clients call with their own credentials, never with the session cookie.
CSRF_EXEMPT_PATHS = {"/oauth/token", "/oauth/revoke", "/oauth/userinfo"}


def init_auth(app: Flask) -> None:
    app.session_interface = RedisSessionInterface()
    # CSRF is checked for every cookie-authenticated form post; the API (bearer tokens, no
    # cookies) and the OAuth back-channel endpoints are not browser forms.
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # bound to the session's lifetime
    csrf.init_app(app)

    @app.before_request
    def _reset_actor() -> None:
        # A worker thread serves many requests; nobody inherits the previous request's actor.
        set_actor(SYSTEM)

    @app.before_request
    def _csrf_for_forms() -> None:
        if request.method in ("GET", "HEAD", "OPTIONS", "TRACE"):
            return
        if request.path.startswith("/api/") or request.path in CSRF_EXEMPT_PATHS:
            return
        csrf.protect()

    init_provider(app)
    policy.client_loader = client_permissions
