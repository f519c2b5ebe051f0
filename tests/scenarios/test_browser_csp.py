"""The Content-Security-Policy breaks no page: in a real Chromium, the API documentation
(Swagger UI, started from a file instead of inline code), the TOTP set-up page (its QR code is a
data: image), a district's pages and the OAuth consent page that leads to another site all work,
and Chromium reports no violation (the `page` fixture fails a test on any)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser import sign_in
from tests.fixtures import member, set_password

pytest_plugins = ["tests.browser"]
pytestmark = pytest.mark.browser

PASSWORD = "kopi pagi di balai desa"


def test_api_documentation_renders_under_the_policy(page) -> None:
    page.goto("/api/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("SLRT API")
    # An operation opens (Swagger UI's own scripts and styles are allowed, nothing else needed).
    page.locator(".opblock-summary").first.click()
    expect(page.locator(".opblock-body").first).to_be_visible()


def test_totp_set_up_shows_its_qr_code(app, page, parepare) -> None:
    admin = set_password(app, member(app, parepare, "district_admin"), PASSWORD)
    sign_in(page, admin.email, PASSWORD)
    expect(page).to_have_url(re.compile(r"/t/parepare/$"))
    page.goto("/auth/totp/setup")
    qr = page.locator("img[src^='data:image/svg+xml']")
    expect(qr).to_be_visible()
    assert qr.evaluate("img => img.naturalWidth") > 0


def test_consent_leads_to_the_registered_client_on_another_origin(app, page, live_server) -> None:
    """form-action 'self' plus the client's own origin: after "Izinkan" the browser is sent on
    to the client's redirect URI (another port is another origin)."""
    from urllib.parse import urlencode

    from slrt.platform.commands.embedded import free_port
    from tests.fixtures import make_account, pkce_pair
    from tests.platform.test_security_headers import _register_client

    target = f"http://127.0.0.1:{free_port()}/callback"
    client_id = _register_client(app, target)
    user = set_password(app, make_account(app, "mitra.user@example.id"), PASSWORD)
    _, challenge = pkce_pair()
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": target,
        "scope": "openid profile",
        "state": "s1",
        "nonce": "n1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    page.goto("/oauth/authorize?" + urlencode(query))
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    with page.expect_request(re.compile(re.escape(target) + r"\?code=")):
        page.locator("button[name=decision][value=allow]").click()
