"""Federation against a real outside OpenID provider: the npm package oidc-provider, started on
loopback by these tests (tests/peers). First sign-in through an invitation, second by the
stored link, a stranger refused."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from slrt.platform import db
from slrt.platform.commands.embedded import free_port
from tests.fixtures import Browser, member

PEERS = Path(__file__).resolve().parents[2] / "peers"


@pytest.fixture
def outside_provider(live_server, monkeypatch) -> Iterator[str]:
    node = shutil.which("node")
    if node is None or not (PEERS / "node_modules" / "oidc-provider").exists():
        pytest.fail("run `make system-test-deps` (Node.js and npm ci in tests/peers)")
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PORT": str(port),
        "CLIENT_ID": "slrt-federation-test",
        "CLIENT_SECRET": "outside-secret-123",
        "REDIRECT_URI": live_server.url + "/auth/federated/callback",
    }
    proc = subprocess.Popen(
        [node, "oidc_provider.mjs"],
        cwd=PEERS,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(issuer + "/.well-known/openid-configuration", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("oidc-provider did not start: " + (proc.stdout.read() or ""))
            time.sleep(0.2)
        monkeypatch.setenv("SLRT_OIDC_ISSUER", issuer)
        monkeypatch.setenv("SLRT_OIDC_CLIENT_ID", "slrt-federation-test")
        monkeypatch.setenv("SLRT_OIDC_CLIENT_SECRET", "outside-secret-123")
        monkeypatch.setenv("SLRT_OIDC_NAME", "SSO Uji")
        yield issuer
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def submit(browser: Browser, page, data: dict):
    """Submit the first form of an oidc-provider interaction page."""
    action = re.search(r'<form[^>]*action="([^"]+)"', page.text).group(1)
    base = re.match(r"(https?://[^/]+)", page.url).group(1)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    url = action if action.startswith("http") else base + action
    return browser.http.post(url, data={**fields, **data}, timeout=20)


def outside_login(browser: Browser, start_page, login: str):
    """Sign in at the outside provider (its development login form), then confirm consent."""
    assert "/interaction/" in start_page.url, start_page.url
    page = submit(browser, start_page, {"login": login, "password": "anything"})
    if "/interaction/" in page.url:  # the consent step
        page = submit(browser, page, {})
    return page


def test_federated_sign_in_by_invitation_then_by_link_and_stranger_refused(
    app, parepare, live_server, outside_provider
) -> None:
    from slrt.auth.memberships.access import role_by_key
    from slrt.auth.memberships.actions import create_invitation
    from slrt.platform.tenancy import tenant_context

    with app.app_context(), tenant_context(parepare.ref()):
        _, link = create_invitation(
            role=role_by_key("supervisor"),
            email="rina@dinsos.example",
            phone=None,
            name="Rina",
            scope_kind="kecamatan",
            scope_codes=["73.72.01"],
            agency_id=None,
            invited_by=None,
        )
        db.session.commit()
        db.session.remove()

    # 1. First sign-in: through the invitation page's "Masuk dengan SSO Uji".
    browser = Browser(live_server.url)
    page = browser.get(link)
    assert "Masuk dengan SSO Uji" in page.text
    start = re.search(r'href="(/auth/federated/start\?[^"]+)"', page.text).group(1)
    page = outside_login(browser, browser.get(start.replace("&amp;", "&")), "rina-sub")
    assert page.url == live_server.url + "/t/parepare/", page.url
    assert "Supervisor" in page.text and "Kecamatan Bacukiki" in page.text

    # 2. Second sign-in, in a fresh browser: the stored link (issuer + subject) finds the account.
    browser = Browser(live_server.url)
    page = browser.get("/auth/login")
    assert "Masuk dengan SSO Uji" in page.text
    start = re.search(r'href="(/auth/federated/start\?[^"]+)"', page.text).group(1)
    page = outside_login(browser, browser.get(start.replace("&amp;", "&")), "rina-sub")
    assert page.url == live_server.url + "/t/parepare/", page.url

    # 3. A stranger at the outside provider, even one whose email matches an account, is refused.
    member(app, parepare, "viewer", email="budi-sub@outside.example")
    browser = Browser(live_server.url)
    page = browser.get("/auth/login")
    start = re.search(r'href="(/auth/federated/start\?[^"]+)"', page.text).group(1)
    page = outside_login(browser, browser.get(start.replace("&amp;", "&")), "budi-sub")
    assert page.status_code == 403
    assert "Akun SSO Uji Anda belum terhubung" in page.text
    assert browser.get("/t/parepare/", allow_redirects=False).status_code == 302

    with app.app_context():
        from slrt.auth.accounts.models import Account, ExternalIdentity

        links = db.session.query(ExternalIdentity).all()
        assert [(i.issuer, i.subject) for i in links] == [(outside_provider, "rina-sub")]
        account = db.session.get(Account, links[0].account_id)
        assert account.email == "rina@dinsos.example" and account.password_hash is None
        db.session.remove()


def test_invitation_for_an_existing_account_needs_its_owner_signed_in(
    app, parepare, kendal, live_server, outside_provider
) -> None:
    """A leaked invitation naming someone's existing account must not let a stranger link an
    outside identity to that account."""
    from slrt.auth.memberships.access import role_by_key
    from slrt.auth.memberships.actions import create_invitation
    from slrt.platform.tenancy import tenant_context
    from tests.fixtures import set_password

    owner = set_password(app, member(app, kendal, "district_admin"), "kata sandi pemilik akun")
    with app.app_context(), tenant_context(parepare.ref()):
        _, link = create_invitation(
            role=role_by_key("viewer"),
            email=owner.email,
            phone=None,
            name=None,
            scope_kind="district",
            scope_codes=[],
            agency_id=None,
            invited_by=None,
        )
        db.session.commit()
        db.session.remove()
    stranger = Browser(live_server.url)
    page = stranger.get(link)
    start = re.search(r'href="(/auth/federated/start\?[^"]+)"', page.text).group(1)
    page = outside_login(stranger, stranger.get(start.replace("&amp;", "&")), "mallory")
    assert page.status_code == 403 and "Masuk dulu dengan akun SLRT" in page.text
    with app.app_context():
        from slrt.auth.accounts.models import ExternalIdentity

        assert db.session.query(ExternalIdentity).count() == 0
        db.session.remove()
    # The owner, signed in with the password, links the outside identity and joins Parepare.
    browser = Browser(live_server.url)
    browser.sign_in(owner.email, "kata sandi pemilik akun")
    page = browser.get(link)
    start = re.search(r'href="(/auth/federated/start\?[^"]+)"', page.text).group(1)
    page = outside_login(browser, browser.get(start.replace("&amp;", "&")), "owner-sub")
    assert page.url == live_server.url + "/auth/choose", page.url
    assert 'href="/t/parepare/"' in page.text and 'href="/t/kendal/"' in page.text
