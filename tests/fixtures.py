"""Shared fixtures: tenants, app contexts. Feature test modules add fixtures here."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

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


# --- accounts, memberships and tokens -----------------------------------------------------------
# Feature tests get tokens straight from the token issuer; the OAuth tests drive the full
# authorization-code flow over HTTP instead.


@dataclass
class User:
    account_id: uuid.UUID
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def make_account(
    app,
    email: str,
    *,
    name: str | None = None,
    platform_role: str | None = None,
    province_code: str | None = None,
) -> User:
    from slrt.auth.models import Account, PlatformRoleGrant
    from slrt.auth.tokens import issue_access_token

    with app.app_context():
        account = Account(
            name=name or email.split("@")[0],
            email=email.lower(),
            email_verified=True,
            status="active",
        )
        db.session.add(account)
        db.session.flush()
        if platform_role:
            db.session.add(
                PlatformRoleGrant(
                    account_id=account.id, role=platform_role, province_code=province_code
                )
            )
        token, _ = issue_access_token(subject=str(account.id), client_id="slrt-tests")
        db.session.commit()
        user = User(account.id, account.email, token)
        db.session.remove()
        return user


def add_member(
    app,
    tenant: Tenant,
    user: User,
    role_key: str,
    *,
    scope_kind: str = "district",
    scope_codes: list[str] | None = None,
    agency_id: uuid.UUID | None = None,
) -> User:
    from slrt.auth.roles import grant_membership
    from slrt.platform.tenancy import tenant_context

    with app.app_context(), tenant_context(tenant.ref()):
        grant_membership(
            user.account_id,
            role_key,
            scope_kind=scope_kind,
            scope_codes=scope_codes,
            agency_id=agency_id,
        )
        db.session.commit()
        db.session.remove()
    return user


def member(app, tenant: Tenant, role_key: str, email: str | None = None, **kw) -> User:
    user = make_account(app, email or f"{role_key}.{tenant.slug}.{uuid.uuid4().hex[:6]}@example.id")
    return add_member(app, tenant, user, role_key, **kw)


@pytest.fixture
def parepare_admin(app, parepare) -> User:
    return member(app, parepare, "district_admin")


@pytest.fixture
def kendal_admin(app, kendal) -> User:
    return member(app, kendal, "district_admin")


@pytest.fixture
def kemensos_admin(app) -> User:
    return make_account(app, "admin@kemensos.go.id", platform_role="kemensos_admin")


# --- district configuration (issue 4) ---------------------------------------------------------


@pytest.fixture
def national_catalog(app) -> list[str]:
    """The seeded Kemensos catalog (tests start from empty tables, the migration's seed is gone)."""
    from slrt.tenants.national_catalog import SEED_CODES, seed_national_catalog

    with app.app_context():
        seed_national_catalog(db.session.connection())
        db.session.commit()
        db.session.remove()
    return list(SEED_CODES)


def api_json(resp) -> dict:
    """The JSON body of a response, with the status in the assertion message when it fails."""
    assert resp.is_json, (resp.status_code, resp.data[:500])
    return resp.json
