"""Every blueprint of the app, in one list per kind. A feature module adds its line here."""

from __future__ import annotations

from importlib import import_module

from flask import Flask

from slrt.platform.api import Api

# flask-smorest blueprints (documented in /api/openapi.json), as "module:attribute".
API_BLUEPRINTS: list[str] = [
    "slrt.tenants.districts.platform_api:directory_blp",
    "slrt.platform.audit.api:blp",
    "slrt.platform.jobs.api:blp",
    "slrt.tenants.registry.api:transfer_blp",
    "slrt.tenants.regions.api:blp",
    "slrt.tenants.service_points.api:blp",
    "slrt.tenants.agencies.api:blp",
    "slrt.tenants.programs.api:blp",
    "slrt.tenants.programs.platform_api:blp",
    "slrt.tenants.districts.platform_api:blp",
    "slrt.tenants.districts.api:tenant_blp",
    "slrt.platform.audit.platform_api:blp",
    "slrt.tenants.districts.api:blp",
    "slrt.auth.memberships.api:blp",
    "slrt.auth.memberships.api:inv_blp",
    "slrt.auth.memberships.api:roles_blp",
    "slrt.auth.oauth.platform_api:blp",
    "slrt.auth.accounts.platform_api:blp",
    "slrt.tenants.registry.api:blp",
    "slrt.tenants.registry.platform_api:blp",
    "slrt.tenants.flow.api:blp",
    "slrt.tenants.flow.api:referrals_blp",
    "slrt.tenants.flow.public_api:blp",
    "slrt.tenants.field.api:blp",
    "slrt.tenants.proposals.api:blp",
    "slrt.tenants.dtsen.api:blp",
    "slrt.tenants.notifications.api:blp",
    "slrt.tenants.reports.platform_api:blp",
    "slrt.tenants.reports.api:tenant_blp",
    "slrt.tenants.reports.api:monthly_blp",
    "slrt.billing_free.api:blp",
    "slrt.billing_free.platform_api:blp",
]

# Plain Flask blueprints: health checks, OAuth endpoints, web pages.
WEB_BLUEPRINTS: list[str] = [
    "slrt.platform.health:bp",
    "slrt.platform.metrics:bp",
    "slrt.platform.web:bp",
    "slrt.auth.oauth.endpoints:bp",
    "slrt.auth.signin.web:bp",
    "slrt.auth.signin.client:bp",
    "slrt.auth.memberships.web:bp",
    "slrt.auth.memberships.web:pages",
    "slrt.tenants.home.web:bp",
    "slrt.auth.signin.federation:bp",
    "slrt.tenants.flow.web.public:bp",
    "slrt.tenants.dtsen.web.public:bp",
    "slrt.tenants.flow.web.cases:bp",
    "slrt.tenants.flow.web.referrals:bp",
    "slrt.tenants.notifications.web:bp",
    "slrt.tenants.districts.web:bp",
    "slrt.tenants.regions.web:bp",
    "slrt.tenants.service_points.web:bp",
    "slrt.tenants.agencies.web:bp",
    "slrt.tenants.programs.web:bp",
    "slrt.platform.audit.web:bp",
    "slrt.billing_free.web:bp",
    # The Kemensos console (/kemensos/...)
    "slrt.tenants.reports.platform_web:bp",
    "slrt.tenants.districts.platform_web:bp",
    "slrt.billing_free.platform_web:bp",
    "slrt.tenants.programs.platform_web:bp",
    "slrt.tenants.registry.platform_web:bp",
    "slrt.platform.audit.platform_web:bp",
    "slrt.billing_free.hooks:bp",  # API quota per minute, metering, soft-limit header
    "slrt.tenants.registry.web:bp",
    "slrt.tenants.proposals.web:bp",
    "slrt.platform.jobs.web:bp",
    "slrt.tenants.registry.transfer_web:bp",
    "slrt.tenants.reports.web:bp",
    "slrt.tenants.field.web:bp",
    "slrt.tenants.dtsen.web.records:bp",
    "slrt.tenants.dtsen.web.imports:bp",
    "slrt.tenants.dtsen.web.submissions:bp",
]


def _load(spec: str):
    module, attribute = spec.split(":")
    return getattr(import_module(module), attribute)


def register_all(app: Flask, api: Api) -> None:
    for spec in API_BLUEPRINTS:
        api.register_blueprint(_load(spec))
    for spec in WEB_BLUEPRINTS:
        app.register_blueprint(_load(spec))
