"""Shared fixtures: tenants, app contexts. Feature test modules add fixtures here."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from slrt.platform import db
from slrt.platform.tenant import Tenant
from slrt.tenants.districts.actions import onboard_tenant


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
    from slrt.auth.accounts.models import Account, PlatformRoleGrant
    from slrt.auth.oauth.tokens import issue_access_token

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
    from slrt.auth.memberships.actions import grant_membership
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


# --- district configuration -----------------------------------------------------------------


@pytest.fixture
def national_catalog(app) -> list[str]:
    """The seeded Kemensos catalog (tests start from empty tables, the migration's seed is gone)."""
    from slrt.tenants.programs.catalog import SEED_CODES, seed_national_catalog

    with app.app_context():
        seed_national_catalog(db.session.connection())
        db.session.commit()
        db.session.remove()
    return list(SEED_CODES)


def api_json(resp) -> dict:
    """The JSON body of a response, with the status in the assertion message when it fails."""
    assert resp.is_json, (resp.status_code, resp.data[:500])
    return resp.json


# --- sign-in over HTTP (auth) -------------------------------------------------------------------


def set_password(app, user: User, password: str) -> User:
    """Give a fixture account a local password (argon2id), so it can sign in over HTTP."""
    from slrt.auth.accounts.models import Account
    from slrt.auth.accounts.passwords import hash_password

    with app.app_context():
        db.session.get(Account, user.account_id).password_hash = hash_password(password)
        db.session.commit()
        db.session.remove()
    return user


@dataclass
class LiveServer:
    url: str


@pytest.fixture
def live_server(app, monkeypatch) -> Iterator[LiveServer]:
    """The app on a real loopback HTTP server (werkzeug, threaded); SLRT_PUBLIC_URL points at it
    so issuer, redirect URIs and links match what a browser sees."""
    import threading

    from werkzeug.serving import make_server

    from slrt.platform.commands.embedded import free_port

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("SLRT_PUBLIC_URL", url)
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(url)
    finally:
        server.shutdown()
        thread.join(timeout=10)


class Browser:
    """A requests session driven like a browser: follows redirects, posts forms with the CSRF
    token found in the page."""

    def __init__(self, base: str) -> None:
        import requests

        self.base = base
        self.http = requests.Session()

    def get(self, path: str, **kw):
        url = path if path.startswith("http") else self.base + path
        return self.http.get(url, timeout=20, **kw)

    def post_form(self, page, data: dict, action: str | None = None, **kw):
        import html as html_lib
        import re

        html = page.text
        hidden = {
            html_lib.unescape(name): html_lib.unescape(value)
            for name, value in re.findall(
                r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html
            )
        }
        data = {**hidden, **data}
        token = re.search(r'name="csrf_token" value="([^"]+)"', html)
        if action is None:
            found = re.search(r'<form method="post"(?: action="([^"]*)")?', html)
            action = html_lib.unescape(found.group(1) if found and found.group(1) else page.url)
        url = action if action.startswith("http") else self.base + action
        if token:
            data = {"csrf_token": token.group(1), **data}
        return self.http.post(url, data=data, timeout=20, **kw)

    def sign_in(self, email: str, password: str, start: str = "/auth/login"):
        page = self.get(start)
        assert "/auth/sign-in" in page.url, page.url
        return self.post_form(page, {"email": email, "password": password})


def pkce_pair() -> tuple[str, str]:
    import base64
    import hashlib
    import secrets

    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


# --- the service flow -------------------------------------------------------------------------


def flow_catalog(app, tenant: Tenant) -> dict[str, uuid.UUID]:
    """Two agencies and two national programs enabled in `tenant`: PBI-JK (Dinas Kesehatan) and
    BPNT (Dinas Sosial), as in the demo. Returns their ids by key: dinkes, dinsos, pbi, bpnt."""
    from slrt.platform.tenancy import tenant_context
    from slrt.tenants.flow.demo import ensure_catalog

    with app.app_context(), tenant_context(tenant.ref()):
        ids = ensure_catalog()
        db.session.commit()
        db.session.remove()
        return ids


# --- billing_free: plans with chosen quotas ------------------------------------------------------


def put_on_plan(app, tenant: Tenant, reason: str = "test", **quotas) -> str:
    """Create a plan with the given quotas (the rest as Lokus Kemensos) and move `tenant` to it;
    returns the plan key."""
    from slrt.billing_free.actions import assign_plan
    from slrt.billing_free.models import Plan
    from slrt.billing_free.plans import STANDARD_PLANS, ensure_standard_plans
    from slrt.billing_free.quotas import forget_snapshot

    base = {
        k: v
        for k, v in STANDARD_PLANS[0].items()
        if k.startswith(("max_", "api_", "import_", "exports_"))
    }
    key = f"test-{uuid.uuid4().hex[:8]}"
    with app.app_context():
        ensure_standard_plans()
        plan = Plan(key=key, name=f"Uji {key}", price_idr=0, **{**base, **quotas})
        db.session.add(plan)
        db.session.flush()
        assign_plan(db.session.get(Tenant, tenant.id), plan, reason)
        db.session.commit()
        forget_snapshot(tenant.id)
        db.session.remove()
    return key


@pytest.fixture
def kemensos_viewer(app) -> User:
    return make_account(app, "pemantau@kemensos.go.id", platform_role="kemensos_viewer")
