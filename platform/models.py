"""Imports every model module so the metadata is complete (for Alembic and the isolation tests).
A feature module that defines tables adds its line here."""

from __future__ import annotations

from importlib import import_module

from slrt.platform.db import Base

MODEL_MODULES: list[str] = [
    "slrt.platform.tenant",
    "slrt.platform.audit.models",
    "slrt.platform.mail",
    "slrt.auth.accounts.models",
    "slrt.auth.memberships.models",
    "slrt.auth.oauth.models",
    "slrt.platform.jobs.models",
    "slrt.platform.tabular.models",
    "slrt.tenants.regions.models",
    "slrt.tenants.agencies.models",
    "slrt.tenants.service_points.models",
    "slrt.tenants.programs.models",
    "slrt.tenants.districts.models",
    "slrt.tenants.registry.models",
    "slrt.tenants.flow.models",
    "slrt.tenants.field.models",
    "slrt.tenants.proposals.models",
    "slrt.tenants.dtsen.models",
    "slrt.tenants.notifications.models",
    "slrt.tenants.reports.models",
    "slrt.billing_free.models",
]

for _module in MODEL_MODULES:
    import_module(_module)

metadata = Base.metadata
