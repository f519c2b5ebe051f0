"""API conventions shared by every blueprint.

- `init_api`: one flask-smorest Api per app; errors come out as problem+json (platform.errors).
- `PlatformBlueprint`: routes under /api/v1/...
- `TenantBlueprint`: routes under /api/v1/t/<tenant>/...; the tenant is resolved from the slug
  before the view runs and the view never sees it as an argument.
- `Schema`: the marshmallow base that refuses unknown fields.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import swagger_ui_bundle
from flask import Flask, Response, g, request, send_from_directory
from flask_smorest import Api as _Api
from flask_smorest import Blueprint
from marshmallow import RAISE
from marshmallow import Schema as _Schema

from slrt.platform import errors
from slrt.platform.tenancy import enter_tenant

API_PREFIX = "/api/v1"
SWAGGER_ASSETS = "/api/docs/assets/"


class Api(_Api):
    def handle_http_exception(self, error):
        return errors.handle_http_exception(error)


class Schema(_Schema):
    class Meta:
        unknown = RAISE
        ordered = True


class PlatformBlueprint(Blueprint):
    def __init__(self, name: str, import_name: str, url_prefix: str, **kw: Any) -> None:
        super().__init__(name, import_name, url_prefix=API_PREFIX + url_prefix, **kw)


class TenantBlueprint(Blueprint):
    """Tenant routes: /api/v1/t/<tenant>/<url_prefix>/...; the tenant context is entered before
    the view, from the slug, so every query in the view is scoped to it.

    Before any view runs the caller is authenticated and must belong to the district: strangers
    get 404 (as for an unknown slug) before request bodies are even validated. Suspended
    districts stay readable for their own members and look unknown to everyone else.
    `public=True` blueprints (no sign-in: status check, letter verification) never serve a
    suspended district."""

    def __init__(
        self, name: str, import_name: str, url_prefix: str = "", *, public: bool = False, **kw: Any
    ) -> None:
        super().__init__(name, import_name, url_prefix=f"{API_PREFIX}/t/<tenant>{url_prefix}", **kw)
        self.url_value_preprocessor(
            lambda endpoint, values: enter_tenant_from_url(values, allow_suspended=not public)
        )
        if not public:
            self.before_request(_guard)


def enter_tenant_from_url(values: dict[str, Any] | None, *, allow_suspended: bool) -> None:
    """Pop `tenant` from the URL values and act for that district (404 if unknown)."""
    from slrt.platform.tenant import access_tenant_by_slug

    if values is None or "tenant" not in values:
        return
    tenant = access_tenant_by_slug(values.pop("tenant"), allow_suspended=allow_suspended)
    g.tenant = tenant
    enter_tenant(tenant.ref())


def _guard() -> None:
    from slrt.auth.policy import guard_tenant_request

    guard_tenant_request()


def init_api(app: Flask) -> Api:
    app.config.update(
        API_TITLE="SLRT API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL=SWAGGER_ASSETS,
        API_SPEC_OPTIONS={
            "info": {
                "description": (
                    "Sistem Layanan dan Rujukan Terpadu. Errors are RFC 9457 problem+json "
                    "with Indonesian `detail` and English `detail_en`."
                )
            },
            "components": {
                "securitySchemes": {
                    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
                }
            },
            "security": [{"bearer": []}],
        },
    )
    api = Api(app)
    app.extensions["slrt_api"] = api
    assets = Path(swagger_ui_bundle.swagger_ui_path)

    @app.get(SWAGGER_ASSETS + "<path:filename>")
    def swagger_assets(filename: str) -> Response:
        return send_from_directory(assets, filename, max_age=86400)

    return api


def wants_json() -> bool:
    return request.path.startswith("/api/")
