"""The OpenID provider driven over HTTP on a live loopback server, like a browser and an API
client would: sign in, consent, code + PKCE exchange, API call, refresh rotation, reuse
detection, revocation, logout; and the refusals."""

from __future__ import annotations

import secrets
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from slrt.auth.oauth.actions import create_client
from slrt.platform import db
from tests.fixtures import Browser, member, pkce_pair, set_password

PASSWORD = "kopi pagi di balai desa"
REDIRECT = "http://127.0.0.1:9/cb"


@pytest.fixture
def api_client(app):
    with app.app_context():
        create_client(
            name="Aplikasi Uji", kind="public", client_id="test-app", redirect_uris=[REDIRECT]
        )
        db.session.commit()
        db.session.remove()
    return "test-app"


def authorize_url(base: str, client_id: str = "test-app", **overrides) -> tuple[str, str]:
    verifier, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "scope": "openid profile email",
        "state": "st-123",
        "nonce": "n-" + secrets.token_hex(8),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    params.update(overrides)
    params = {k: v for k, v in params.items() if v is not None}
    return f"{base}/oauth/authorize?{urlencode(params)}", verifier


def redirect_params(resp) -> dict[str, str]:
    assert resp.status_code == 302, resp.text[:500]
    location = resp.headers["Location"]
    assert location.startswith(REDIRECT + "?"), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def get_code(browser: Browser, url: str, *, consent: bool) -> dict[str, str]:
    page = browser.get(url, allow_redirects=True) if consent else None
    if consent:
        assert "Izinkan Aplikasi Uji?" in page.text and "Allow Aplikasi Uji?" not in page.text
        resp = browser.post_form(page, {"decision": "allow"}, allow_redirects=False)
    else:
        resp = browser.get(url, allow_redirects=False)
    return redirect_params(resp)


def exchange(base: str, code: str, verifier: str | None, client_id: str = "test-app"):
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": client_id,
    }
    if verifier is not None:
        data["code_verifier"] = verifier
    return requests.post(base + "/oauth/token", data=data, timeout=20)


def refresh(base: str, token: str):
    return requests.post(
        base + "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": token, "client_id": "test-app"},
        timeout=20,
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_full_authorization_code_flow(app, parepare, live_server, api_client) -> None:
    base = live_server.url
    admin = set_password(app, member(app, parepare, "district_admin"), PASSWORD)
    browser = Browser(base)

    # 1. Not signed in: the authorize endpoint sends the browser to the sign-in page.
    url, verifier = authorize_url(base, nonce="n-456")
    page = browser.get(url)
    assert page.url.startswith(base + "/auth/sign-in")
    assert "Masuk" in page.text and "Sign in" not in page.text  # one language per page
    page = browser.post_form(page, {"email": admin.email, "password": PASSWORD})
    # 2. Signed in, back at authorize: a third-party client asks for consent.
    assert "Izinkan Aplikasi Uji?" in page.text
    params = redirect_params(browser.post_form(page, {"decision": "allow"}, allow_redirects=False))
    assert params["state"] == "st-123" and params["code"]

    # 3. Code + PKCE verifier for tokens.
    resp = exchange(base, params["code"], verifier)
    assert resp.status_code == 200, resp.text
    tokens = resp.json()
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 600
    jwks = KeySet.import_key_set(requests.get(base + "/oauth/jwks", timeout=10).json())
    id_claims = jwt.decode(tokens["id_token"], jwks).claims
    assert id_claims["sub"] == str(admin.account_id)
    assert id_claims["aud"] in ("test-app", ["test-app"]) and id_claims["nonce"] == "n-456"
    assert id_claims["iss"] == base and id_claims["email"] == admin.email
    discovery = requests.get(base + "/.well-known/openid-configuration", timeout=10).json()
    assert discovery["code_challenge_methods_supported"] == ["S256"]
    assert discovery["jwks_uri"] == base + "/oauth/jwks"

    # 4. The access token works on a tenant endpoint, and on userinfo.
    api = requests.get(
        base + "/api/v1/t/parepare/memberships", headers=bearer(tokens["access_token"]), timeout=10
    )
    assert api.status_code == 200 and [m["email"] for m in api.json()] == [admin.email]
    info = requests.get(
        base + "/oauth/userinfo", headers=bearer(tokens["access_token"]), timeout=10
    )
    assert info.json()["email"] == admin.email

    # 5. Refresh rotates: a new refresh token each time.
    first_refresh = tokens["refresh_token"]
    rotated = refresh(base, first_refresh)
    assert rotated.status_code == 200, rotated.text
    second_refresh = rotated.json()["refresh_token"]
    assert second_refresh != first_refresh
    assert (
        requests.get(
            base + "/api/v1/t/parepare/audit-events",
            headers=bearer(rotated.json()["access_token"]),
            timeout=10,
        ).status_code
        == 200
    )

    # 6. Reuse of the rotated token is refused and revokes the whole family.
    reuse = refresh(base, first_refresh)
    assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"
    assert refresh(base, second_refresh).json()["error"] == "invalid_grant"

    # 7. Signed in with consent remembered: the next authorization is immediate.
    url, verifier = authorize_url(base)
    params = get_code(browser, url, consent=False)
    tokens = exchange(base, params["code"], verifier).json()

    # 8. Revocation (RFC 7009) of the access token, then of the refresh token.
    revoke = requests.post(
        base + "/oauth/revoke",
        data={"token": tokens["access_token"], "client_id": "test-app"},
        timeout=10,
    )
    assert revoke.status_code == 200
    api = requests.get(
        base + "/api/v1/t/parepare/audit-events", headers=bearer(tokens["access_token"]), timeout=10
    )
    assert api.status_code == 401
    requests.post(
        base + "/oauth/revoke",
        data={"token": tokens["refresh_token"], "client_id": "test-app"},
        timeout=10,
    )
    assert refresh(base, tokens["refresh_token"]).json()["error"] == "invalid_grant"

    # 9. RP-initiated logout ends the provider session; the next authorization asks to sign in.
    with app.app_context():
        from slrt.auth.oauth.models import OAuthClient

        client = db.session.query(OAuthClient).filter_by(client_id="test-app").one()
        client.post_logout_redirect_uris = ["http://127.0.0.1:9/bye"]
        db.session.commit()
        db.session.remove()
    out = browser.get(
        "/oauth/logout?"
        + urlencode(
            {
                "id_token_hint": tokens["id_token"],
                "post_logout_redirect_uri": "http://127.0.0.1:9/bye",
                "state": "bye-1",
            }
        ),
        allow_redirects=False,
    )
    assert (
        out.status_code == 302 and out.headers["Location"] == "http://127.0.0.1:9/bye?state=bye-1"
    )
    url, _ = authorize_url(base)
    assert browser.get(url).url.startswith(base + "/auth/sign-in")
    # An unregistered post-logout target is refused.
    bad = browser.get(
        "/oauth/logout?"
        + urlencode(
            {
                "id_token_hint": tokens["id_token"],
                "post_logout_redirect_uri": "https://evil.example/",
            }
        ),
        allow_redirects=False,
    )
    assert bad.status_code == 400


def test_code_reuse_is_refused_and_revokes_its_tokens(app, parepare, live_server, api_client):
    base = live_server.url
    admin = set_password(app, member(app, parepare, "viewer"), PASSWORD)
    browser = Browser(base)
    url, verifier = authorize_url(base)
    page = browser.post_form(browser.get(url), {"email": admin.email, "password": PASSWORD})
    params = redirect_params(browser.post_form(page, {"decision": "allow"}, allow_redirects=False))
    first = exchange(base, params["code"], verifier)
    assert first.status_code == 200
    again = exchange(base, params["code"], verifier)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert refresh(base, first.json()["refresh_token"]).json()["error"] == "invalid_grant"


def test_pkce_and_redirect_refusals(app, parepare, live_server, api_client) -> None:
    base = live_server.url
    user = set_password(app, member(app, parepare, "viewer"), PASSWORD)
    browser = Browser(base)
    url, _ = authorize_url(base)
    browser.post_form(browser.get(url), {"email": user.email, "password": PASSWORD})

    # PKCE missing, or plain: the client gets invalid_request at its redirect URI.
    url, _ = authorize_url(base, code_challenge=None, code_challenge_method=None)
    params = redirect_params(browser.get(url, allow_redirects=False))
    assert params["error"] == "invalid_request" and "PKCE" in params["error_description"]
    url, _ = authorize_url(base, code_challenge="a" * 43, code_challenge_method="plain")
    params = redirect_params(browser.get(url, allow_redirects=False))
    assert params["error"] == "invalid_request" and "plain" in params["error_description"]
    # No state: refused too.
    url, _ = authorize_url(base, state=None)
    assert redirect_params(browser.get(url, allow_redirects=False))["error"] == "invalid_request"

    # Redirect URI not registered exactly (even a longer path): an error page, no redirect.
    for wrong in (REDIRECT + "/x", "http://127.0.0.1:9/cb?x=1", "https://evil.example/cb"):
        url, _ = authorize_url(base, redirect_uri=wrong)
        resp = browser.get(url, allow_redirects=False)
        assert resp.status_code == 400 and "Location" not in resp.headers
        assert "Permintaan masuk tidak sah" in resp.text

    # A code whose verifier is missing at the token endpoint is refused.
    url, verifier = authorize_url(base)
    params = get_code(browser, url, consent=True)
    resp = exchange(base, params["code"], None)
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_request"
    wrong = exchange(base, params["code"], verifier[:-2] + "xx")
    assert wrong.json()["error"] == "invalid_grant"


def test_expired_access_token_is_refused(app, parepare, client) -> None:
    from slrt.auth.oauth.tokens import issue_access_token

    admin = member(app, parepare, "district_admin")
    now = int(time.time())
    with app.app_context():
        token, _ = issue_access_token(
            subject=str(admin.account_id),
            client_id="test-app",
            extra={"iat": now - 1200, "nbf": now - 1200, "exp": now - 600},
        )
        db.session.commit()
    resp = client.get("/api/v1/t/parepare/audit-events", headers=bearer(token))
    assert resp.status_code == 401
    assert resp.json["detail"] == "Token tidak sah atau kedaluwarsa."


def test_machine_client_is_bound_to_its_district(app, parepare, kendal, live_server) -> None:
    base = live_server.url
    with app.app_context():
        from slrt.platform.tenant import Tenant

        tenant = db.session.get(Tenant, kendal.id)
        _, secret = create_client(
            name="Dashboard Kendal",
            kind="machine",
            client_id="kendal-dashboard",
            tenant=tenant,
            permissions=["audit.read", "members.read"],
        )
        db.session.commit()
        db.session.remove()
    resp = requests.post(
        base + "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=("kendal-dashboard", secret),
        timeout=10,
    )
    assert resp.status_code == 200, resp.text
    token = resp.json()["access_token"]
    own = requests.get(base + "/api/v1/t/kendal/audit-events", headers=bearer(token), timeout=10)
    assert own.status_code == 200
    # Another district: as if it did not exist.
    other = requests.get(
        base + "/api/v1/t/parepare/audit-events", headers=bearer(token), timeout=10
    )
    assert other.status_code == 404
    # Wrong secret, and the machine client may not use the authorization code flow.
    bad = requests.post(
        base + "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=("kendal-dashboard", "nope"),
        timeout=10,
    )
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
    # Disabled: its token stops working on the next request.
    with app.app_context():
        from slrt.auth.oauth.models import OAuthClient

        db.session.query(OAuthClient).filter_by(
            client_id="kendal-dashboard"
        ).one().status = "disabled"
        db.session.commit()
        db.session.remove()
    gone = requests.get(base + "/api/v1/t/kendal/audit-events", headers=bearer(token), timeout=10)
    assert gone.status_code == 401


def test_disabled_account_is_refused_at_sign_in_and_on_next_request(
    app, parepare, live_server
) -> None:
    base = live_server.url
    user = set_password(app, member(app, parepare, "district_admin"), PASSWORD)
    ok = requests.get(base + "/api/v1/t/parepare/audit-events", headers=user.headers, timeout=10)
    assert ok.status_code == 200
    with app.app_context():
        from slrt.auth.accounts.models import Account

        db.session.get(Account, user.account_id).status = "disabled"
        db.session.commit()
        db.session.remove()
    resp = requests.get(base + "/api/v1/t/parepare/audit-events", headers=user.headers, timeout=10)
    assert resp.status_code == 401 and resp.json()["detail_en"] == "The account is disabled."
    page = Browser(base).sign_in(user.email, PASSWORD)
    assert page.status_code == 403 and "Akun ini dinonaktifkan" in page.text


def test_revoked_membership_takes_effect_on_next_request(app, parepare, client) -> None:
    admin = member(app, parepare, "district_admin")
    facilitator = member(
        app, parepare, "facilitator", scope_kind="village", scope_codes=["73.72.01.1001"]
    )
    assert (
        client.get("/api/v1/t/parepare/tenants-probe", headers=facilitator.headers).status_code
        == 404
    )  # sanity: unknown route
    listing = client.get("/api/v1/t/parepare/roles", headers=facilitator.headers)
    assert listing.status_code == 403  # member, lacks members.read
    memberships = client.get("/api/v1/t/parepare/memberships", headers=admin.headers).json
    target = next(m for m in memberships if m["email"] == facilitator.email)
    item = client.get(f"/api/v1/t/parepare/memberships/{target['id']}", headers=admin.headers)
    no_etag = client.delete(f"/api/v1/t/parepare/memberships/{target['id']}", headers=admin.headers)
    assert no_etag.status_code == 428
    resp = client.delete(
        f"/api/v1/t/parepare/memberships/{target['id']}",
        headers={**admin.headers, "If-Match": item.headers["ETag"]},
    )
    assert resp.status_code == 204
    # The same token, next request: the district no longer exists for this account.
    after = client.get("/api/v1/t/parepare/roles", headers=facilitator.headers)
    assert after.status_code == 404
    events = client.get("/api/v1/t/parepare/audit-events?kind=security", headers=admin.headers).json
    assert any(e["action"] == "membership.revoke" for e in events)


def test_brute_force_throttle_says_how_long_to_wait(app, parepare, live_server) -> None:
    user = set_password(app, member(app, parepare, "viewer"), PASSWORD)
    browser = Browser(live_server.url)
    page = browser.get("/auth/sign-in")
    for _ in range(4):
        resp = browser.post_form(page, {"email": user.email, "password": "salah sekali"})
        assert resp.status_code == 401 and "Email/nomor HP atau kata sandi salah." in resp.text
    resp = browser.post_form(page, {"email": user.email, "password": "salah sekali"})
    assert resp.status_code == 429
    assert "Coba lagi dalam 15 menit" in resp.text and "Try again" not in resp.text
    # Even the right password waits now.
    resp = browser.post_form(page, {"email": user.email, "password": PASSWORD})
    assert resp.status_code == 429


def test_sign_in_form_requires_csrf_token(app, parepare, live_server) -> None:
    user = set_password(app, member(app, parepare, "viewer"), PASSWORD)
    resp = requests.post(
        live_server.url + "/auth/sign-in",
        data={"email": user.email, "password": PASSWORD},
        timeout=10,
    )
    assert resp.status_code == 400 and "CSRF" in resp.text


def test_consent_denied_returns_access_denied(app, parepare, live_server, api_client) -> None:
    base = live_server.url
    user = set_password(app, member(app, parepare, "viewer"), PASSWORD)
    browser = Browser(base)
    url, _ = authorize_url(base)
    page = browser.post_form(browser.get(url), {"email": user.email, "password": PASSWORD})
    params = redirect_params(browser.post_form(page, {"decision": "deny"}, allow_redirects=False))
    assert params["error"] == "access_denied" and params["state"] == "st-123"
    # Nothing was remembered: the next request asks again.
    url, _ = authorize_url(base)
    assert "Izinkan Aplikasi Uji?" in browser.get(url).text


def test_prompt_none_without_session_answers_login_required(app, live_server, api_client) -> None:
    url, _ = authorize_url(live_server.url, prompt="none")
    params = redirect_params(requests.get(url, allow_redirects=False, timeout=10))
    assert params["error"] == "login_required" and params["state"] == "st-123"
