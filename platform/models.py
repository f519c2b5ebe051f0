"""Imports every model module so the metadata is complete (for Alembic and the isolation tests).
A feature module that defines tables adds its line here."""

from __future__ import annotations

from importlib import import_module

from slrt.platform.db import Base

MODEL_MODULES: list[str] = [
    "slrt.platform.tenant",
    "slrt.platform.audit",
    "slrt.auth.models",
    "slrt.platform.jobs",
    "slrt.platform.jobs_outbox",
    "slrt.platform.jobs_scheduler",
    "slrt.tenants.regions",
    "slrt.tenants.agencies",
    "slrt.tenants.service_points",
    "slrt.tenants.programs",
    "slrt.tenants.lokus",
    "slrt.auth.oauth_models",
    "slrt.auth.invitation_models",
    "slrt.tenants.registry",
    "slrt.tenants.sequences",
    "slrt.tenants.cases",
    "slrt.tenants.workflow",
    "slrt.tenants.letters",
    "slrt.tenants.proposals",
    "slrt.tenants.notifications",
    "slrt.tenants.aggregates",
    "slrt.billing_free.models",
]

for _module in MODEL_MODULES:
    import_module(_module)

metadata = Base.metadata
