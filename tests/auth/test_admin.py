"""Kemensos admin side of auth: the OAuth clients API, the CLI (`slrt accounts|clients|keys`),
key rotation without logging anyone out, and the demo users printed by every `slrt up`."""

from __future__ import annotations

import re

import pytest
import requests
from click.testing import CliRunner

from slrt.platform import db
from tests.fixtures import Browser, member


@pytest.fixture
def cli(app):
    from slrt.platform.commands.main import main

    runner = CliRunner()

    def run(*args: str):
        result = runner.invoke(main, list(args), catch_exceptions=False)
        return result

    return run


def test_clients_api_for_kemensos_admin_only(app, client, parepare, kemensos_admin) -> None:
    admin = member(app, parepare, "district_admin")
    body = {
        "name": "Dasbor Parepare",
        "kind": "machine",
        "tenant": "parepare",
        "permissions": ["audit.read"],
    }
    refused = client.post("/api/v1/oauth-clients", json=body, headers=admin.headers)
    assert (
        refused.status_code == 403
        and refused.json["missing_permission"] == "platform.clients.manage"
    )
    created = client.post("/api/v1/oauth-clients", json=body, headers=kemensos_admin.headers)
    assert created.status_code == 201, created.json
    secret = created.json["client_secret"]
    assert secret and created.json["tenant"] == "parepare"
    # The secret is shown once.
    listed = client.get("/api/v1/oauth-clients", headers=kemensos_admin.headers).json
    assert [c["client_secret"] for c in listed] == [None]
    token = client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": created.json["client_id"],
            "client_secret": secret,
        },
    )
    assert token.status_code == 200
    api = client.get(
        "/api/v1/t/parepare/audit-events",
        headers={"Authorization": "Bearer " + token.json["access_token"]},
    )
    assert api.status_code == 200
    # Validation: a public client needs an exact https (or loopback http) redirect URI.
    bad = client.post(
        "/api/v1/oauth-clients",
        json={"name": "App", "kind": "public", "redirect_uris": ["http://example.com/cb"]},
        headers=kemensos_admin.headers,
    )
    assert bad.status_code == 422 and bad.json["errors"][0]["field"] == "redirect_uris.0"
    # Disabling needs the ETag; afterwards the machine token stops working.
    url = f"/api/v1/oauth-clients/{created.json['id']}"
    tag = client.get(url, headers=kemensos_admin.headers).headers["ETag"]
    off = client.patch(
        url, json={"status": "disabled"}, headers={**kemensos_admin.headers, "If-Match": tag}
    )
    assert off.status_code == 200 and off.json["status"] == "disabled"
    api = client.get(
        "/api/v1/t/parepare/audit-events",
        headers={"Authorization": "Bearer " + token.json["access_token"]},
    )
    assert api.status_code == 401


def test_cli_create_admin_invite_clients_and_key_rotation(app, client, parepare, cli) -> None:
    from slrt.auth.oauth.tokens import issue_access_token

    out = cli("accounts", "create-admin", "--email", "Boss@Kemensos.go.id", "--name", "Ibu Kepala")
    assert out.exit_code == 0, out.output
    password = re.search(r"password: (\S+)", out.output).group(1)
    with app.app_context():
        from slrt.auth.accounts.models import Account, PlatformRoleGrant
        from slrt.auth.accounts.passwords import verify_password

        account = db.session.query(Account).filter_by(email="boss@kemensos.go.id").one()
        assert verify_password(account.password_hash, password)
        assert account.password_hash.startswith("$argon2id$")
        assert (
            db.session.query(PlatformRoleGrant).filter_by(account_id=account.id).one().role
            == "kemensos_admin"
        )
        token, _ = issue_access_token(subject=str(account.id), client_id="cli-test")
        db.session.commit()
        db.session.remove()

    out = cli(
        "accounts",
        "invite",
        "parepare",
        "--email",
        "ani@example.id",
        "--role",
        "facilitator",
        "--scope-kind",
        "village",
        "--scope-code",
        "73.72.01.1004",
    )
    assert out.exit_code == 0, out.output
    assert re.search(r"/auth/invitations/parepare/\S+", out.output)
    bad = cli(
        "accounts",
        "invite",
        "parepare",
        "--email",
        "x@example.id",
        "--role",
        "facilitator",
        "--scope-kind",
        "village",
        "--scope-code",
        "33.24.01.2001",
    )
    assert bad.exit_code != 0 and "outside this district" in bad.output

    out = cli(
        "clients",
        "create",
        "--name",
        "Aplikasi Lapangan",
        "--kind",
        "public",
        "--client-id",
        "field-app",
        "--redirect-uri",
        "https://field.example.id/cb",
    )
    assert (
        out.exit_code == 0
        and "client_id: field-app" in out.output
        and "client_secret" not in out.output
    )
    out = cli(
        "clients",
        "create",
        "--name",
        "Sinkron",
        "--kind",
        "machine",
        "--tenant",
        "parepare",
        "--permission",
        "audit.read",
    )
    assert out.exit_code == 0 and "client_secret:" in out.output

    # Rotation: a token signed by the old key keeps working; new tokens use the new key.
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/oauth-clients", headers=headers).status_code == 200
    jwks_before = client.get("/oauth/jwks").json["keys"]
    out = cli("keys", "rotate")
    assert out.exit_code == 0 and "active key:" in out.output
    jwks_after = client.get("/oauth/jwks").json["keys"]
    assert len(jwks_after) == len(jwks_before) + 1
    assert client.get("/api/v1/oauth-clients", headers=headers).status_code == 200


def test_demo_users_are_printed_every_time_and_can_sign_in(app, live_server) -> None:
    from slrt.platform.commands.demo import DEMO_REMINDERS, load_demo

    with app.app_context():
        lines = load_demo()
        assert load_demo() == []  # already loaded: nothing new
        again = ["\n".join(reminder()) for reminder in DEMO_REMINDERS]
        db.session.remove()
    text = "\n".join(lines)
    for block in again:
        assert block and block in text  # the same sign-in details on every later `slrt up`
    people = dict(re.findall(r"^  (\S+@\S+[a-z])\s+(\S+)$", text, re.M))
    assert {
        "admin@kemensos.demo.slrt.id",
        "admin.kendal@demo.slrt.id",
        "supervisor.kendal@demo.slrt.id",
        "fasilitator.kendal@demo.slrt.id",
        "admin.parepare@demo.slrt.id",
        "supervisor.parepare@demo.slrt.id",
        "fasilitator.parepare@demo.slrt.id",
        "pemantau.jateng@demo.slrt.id",
        *(
            f"{key}.{slug}@demo.slrt.id"
            for key in ("frontoffice", "backoffice", "manager", "dinkes", "dinsos")
            for slug in ("kendal", "parepare")
        ),
    } == set(people)
    assert "client_id=slrt-demo-api" in text and "code_challenge_method=S256" in text
    invitation = re.search(r"camat\.kendal@demo\.slrt\.id: (\S+)", text).group(1)
    assert "Undangan ke Kabupaten Kendal" in requests.get(invitation, timeout=10).text

    # Each role sees its own scope on the district page.
    browser = Browser(live_server.url)
    page = browser.sign_in(
        "fasilitator.parepare@demo.slrt.id", people["fasilitator.parepare@demo.slrt.id"]
    )
    assert page.url.endswith("/t/parepare/") and "Fasilitator" in page.text
    assert "73.72.01.1004" in page.text
    browser = Browser(live_server.url)
    page = browser.sign_in(
        "supervisor.kendal@demo.slrt.id", people["supervisor.kendal@demo.slrt.id"]
    )
    assert page.url.endswith("/t/kendal/") and "Kecamatan" in page.text
    members = browser.get("/t/kendal/members")
    assert "fasilitator.kendal@demo.slrt.id" in members.text
    assert "admin.kendal@demo.slrt.id" not in members.text  # district-wide: outside a kecamatan
    browser = Browser(live_server.url)
    page = browser.sign_in("admin@kemensos.demo.slrt.id", people["admin@kemensos.demo.slrt.id"])
    assert page.url.endswith("/auth/choose")
    assert 'href="/t/kendal/"' in page.text and 'href="/t/parepare/"' in page.text

    # The demo API client: public, PKCE; a token from it calls a tenant endpoint.
    from tests.fixtures import pkce_pair

    verifier, challenge = pkce_pair()
    browser = Browser(live_server.url)
    browser.sign_in("admin.parepare@demo.slrt.id", people["admin.parepare@demo.slrt.id"])
    page = browser.get(
        "/oauth/authorize?response_type=code&client_id=slrt-demo-api"
        "&redirect_uri=http://127.0.0.1:8765/callback&scope=openid%20profile&state=s1&nonce=n1"
        f"&code_challenge={challenge}&code_challenge_method=S256"
    )
    resp = browser.post_form(page, {"decision": "allow"}, allow_redirects=False)
    code = re.search(r"code=([^&]+)", resp.headers["Location"]).group(1)
    token = requests.post(
        live_server.url + "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "client_id": "slrt-demo-api",
            "redirect_uri": "http://127.0.0.1:8765/callback",
            "code": code,
            "code_verifier": verifier,
        },
        timeout=10,
    ).json()["access_token"]
    api = requests.get(
        live_server.url + "/api/v1/t/parepare/memberships",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert api.status_code == 200
    # The sign-in demo's three, plus the service-flow demo's staff (front/back office, manager,
    # two agency officers).
    emails = {m["email"] for m in api.json()}
    assert {
        "admin.parepare@demo.slrt.id",
        "supervisor.parepare@demo.slrt.id",
        "fasilitator.parepare@demo.slrt.id",
    } <= emails
    assert len(emails) == 8


def test_kemensos_admin_disables_an_account(app, client, parepare, kemensos_admin) -> None:
    user = member(app, parepare, "district_admin")
    admin = member(app, parepare, "district_admin")
    refused = client.get("/api/v1/accounts", headers=admin.headers)
    assert refused.status_code == 403
    found = client.get(
        f"/api/v1/accounts?email={user.email.upper()}", headers=kemensos_admin.headers
    )
    assert [a["email"] for a in found.json] == [user.email]
    url = f"/api/v1/accounts/{found.json[0]['id']}"
    assert (
        client.patch(url, json={"status": "disabled"}, headers=kemensos_admin.headers).status_code
        == 428
    )
    tag = client.get(url, headers=kemensos_admin.headers).headers["ETag"]
    off = client.patch(
        url, json={"status": "disabled"}, headers={**kemensos_admin.headers, "If-Match": tag}
    )
    assert off.status_code == 200 and off.json["status"] == "disabled"
    assert client.get("/api/v1/t/parepare/audit-events", headers=user.headers).status_code == 401
    tag = client.get(url, headers=kemensos_admin.headers).headers["ETag"]
    on = client.patch(
        url, json={"status": "active"}, headers={**kemensos_admin.headers, "If-Match": tag}
    )
    assert on.status_code == 200
    assert client.get("/api/v1/t/parepare/audit-events", headers=user.headers).status_code == 200
    events = client.get("/api/v1/platform/audit-events", headers=kemensos_admin.headers)
    assert {"account.disable", "account.enable"} <= {e["action"] for e in events.json}


def test_change_password(app, parepare, live_server) -> None:
    from tests.fixtures import set_password

    user = set_password(app, member(app, parepare, "viewer"), "kata sandi yang lama")
    browser = Browser(live_server.url)
    browser.sign_in(user.email, "kata sandi yang lama")
    page = browser.get("/auth/password")
    wrong = browser.post_form(
        page,
        {
            "current": "bukan ini sama sekali",
            "password": "kata sandi yang baru",
            "password2": "kata sandi yang baru",
        },
    )
    assert wrong.status_code == 422 and "Kata sandi sekarang salah." in wrong.text
    same_as_email = browser.post_form(
        page, {"current": "kata sandi yang lama", "password": user.email, "password2": user.email}
    )
    assert "tidak boleh sama dengan alamat email" in same_as_email.text
    done = browser.post_form(
        page,
        {
            "current": "kata sandi yang lama",
            "password": "kata sandi yang baru",
            "password2": "kata sandi yang baru",
        },
    )
    assert done.status_code == 200 and "Kata sandi diganti" in done.text
    assert Browser(live_server.url).sign_in(user.email, "kata sandi yang lama").status_code == 401
    ok = Browser(live_server.url).sign_in(user.email, "kata sandi yang baru")
    assert ok.url.endswith("/t/parepare/")
