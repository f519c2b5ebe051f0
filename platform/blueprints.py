"""Every blueprint of the app, in one list per kind. A feature module adds its line here."""

from __future__ import annotations

from importlib import import_module

from flask import Flask

from slrt.platform.api import Api

# flask-smorest blueprints (documented in /api/openapi.json), as "module:attribute".
API_BLUEPRINTS: list[str] = [
    "slrt.platform.tenants_api:blp",
    "slrt.platform.audit_api:blp",
    "slrt.platform.jobs_api:blp",
    "slrt.tenants.registry_jobs_api:blp",
    "slrt.tenants.regions_api:blp",
    "slrt.tenants.service_points_api:blp",
    "slrt.tenants.agencies_api:blp",
    "slrt.tenants.programs_api:blp",
    "slrt.tenants.catalog_api:blp",
    "slrt.tenants.tenants_admin_api:blp",
    "slrt.tenants.tenants_admin_api:tenant_blp",
    "slrt.platform.platform_audit_api:blp",
    "slrt.tenants.settings_api:blp",
    "slrt.auth.members_api:blp",
    "slrt.auth.members_api:inv_blp",
    "slrt.auth.members_api:roles_blp",
    "slrt.auth.clients_api:blp",
    "slrt.auth.accounts_api:blp",
    "slrt.tenants.registry_api:blp",
    "slrt.tenants.nik_signal_api:blp",
    "slrt.tenants.cases_api:blp",
    "slrt.tenants.referrals_api:blp",
    "slrt.tenants.public_api:blp",
    "slrt.tenants.proposals_api:blp",
    "slrt.tenants.notifications_api:blp",
    "slrt.tenants.dashboard_api:blp",
    "slrt.tenants.dashboard_api:tenant_blp",
    "slrt.tenants.monthly_report:blp",
    "slrt.billing_free.api:blp",
    "slrt.billing_free.platform_api:blp",
]

# Plain Flask blueprints: health checks, OAuth endpoints, web pages.
WEB_BLUEPRINTS: list[str] = [
    "slrt.platform.health:bp",
    "slrt.platform.web:bp",
    "slrt.auth.provider_views:bp",
    "slrt.auth.signin:bp",
    "slrt.auth.web:bp",
    "slrt.auth.invitations:bp",
    "slrt.auth.federation:bp",
    "slrt.tenants.public_web:bp",
    "slrt.billing_free.hooks:bp",  # API quota per minute, metering, soft-limit header
]


def _load(spec: str):
    module, attribute = spec.split(":")
    return getattr(import_module(module), attribute)


def register_all(app: Flask, api: Api) -> None:
    for spec in API_BLUEPRINTS:
        api.register_blueprint(_load(spec))
    for spec in WEB_BLUEPRINTS:
        app.register_blueprint(_load(spec))
