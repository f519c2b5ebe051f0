"""Shared fixtures: tenants, app contexts. Feature test modules add fixtures here."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from slrt.platform import db
from slrt.platform.tenant import Tenant
from slrt.tenants.onboarding import onboard_tenant


@pytest.fixture
def app_ctx(app) -> Iterator[None]:
    with app.app_context():
        yield
        db.session.remove()


def onboard(app, code: str) -> Tenant:
    with app.app_context():
        tenant, _ = onboard_tenant(code)
        db.session.commit()
        db.session.expunge(tenant)
        db.session.remove()
        return tenant


@pytest.fixture
def parepare(app) -> Tenant:
    return onboard(app, "73.72")


@pytest.fixture
def kendal(app) -> Tenant:
    return onboard(app, "33.24")
