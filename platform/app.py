"""The application factory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from slrt.platform import db, errors, input_guard, metrics, shedding
from slrt.platform.api import init_api
from slrt.platform.assets import init_assets
from slrt.platform.audit.reads import init_personal_reads
from slrt.platform.blueprints import register_all
from slrt.platform.config import data_dir, public_url, setting
from slrt.platform.i18n import init_i18n
from slrt.platform.logs import configure_logging
from slrt.platform.runtime import database_url
from slrt.platform.secrets_store import get_secret
from slrt.platform.tenancy import leave_tenant
from slrt.platform.web import content_security_policy, init_web


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    # slrt.platform is a namespace package (no __init__.py), so Flask needs its root explicitly.
    app = Flask(
        "slrt.platform",
        root_path=str(Path(__file__).resolve().parent),
        instance_path=str(data_dir() / "instance"),
        static_folder=None,  # served fingerprinted and compressed (slrt.platform.assets)
        template_folder="templates",
    )
    configure_logging()
    secure = setting("SLRT_SECURE_COOKIES")
    app.config.update(
        SECRET_KEY=setting("SLRT_SECRET_KEY") or get_secret("flask_secret_key"),
        DATABASE_URL=database_url(),
        PUBLIC_URL=public_url(),
        MAX_CONTENT_LENGTH=int(setting("SLRT_MAX_UPLOAD_BYTES") or 20971520) + 65536,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=(secure == "1") if secure else public_url().startswith("https://"),
        JSON_SORT_KEYS=False,
    )
    if overrides:
        app.config.update(overrides)
    proxies = int(setting("SLRT_TRUSTED_PROXIES") or 0)
    if proxies > 0:
        # Behind nginx or a load balancer every client shares the proxy's address; trusting a
        # fixed number of hops (never more) keeps rate limits and audit addresses per person.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    db.init_engine(app.config["DATABASE_URL"])
    input_guard.init_app(app)
    init_i18n(app)
    init_web(app)
    errors.init_app(app)
    metrics.init_app(app)
    api = init_api(app)
    register_all(app, api)
    init_personal_reads(app)

    @app.teardown_request
    def _end_request(exc: BaseException | None) -> None:
        db.session.remove()
        leave_tenant()
        g.pop("tenant", None)

    @app.after_request
    def _security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Content-Security-Policy", content_security_policy())
        if request.path.startswith("/api/"):
            # API answers are personal data or cheap to repeat: no browser or proxy keeps one
            # unless its view says otherwise (the OpenAPI document, public letters' checks).
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    init_assets(app)
    # Outermost: a shed request costs no more than reading its headers.
    app.wsgi_app = shedding.wrap(app.wsgi_app)
    return app
