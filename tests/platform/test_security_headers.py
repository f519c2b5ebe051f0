"""Headers every answer carries: a Content-Security-Policy on every page (only this site's
scripts and styles, no plugins, no framing, forms post back here) and Cache-Control: no-store on
every API answer unless its view says otherwise."""

from __future__ import annotations

import re

from slrt.platform import db
from tests.fixtures import make_account, member


def directives(resp) -> dict[str, list[str]]:
    policy = resp.headers["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split("; ")}


def test_every_page_carries_the_strict_policy(client, parepare) -> None:
    for path in ("/", "/auth/sign-in", "/t/parepare/cek-tiket", "/api/docs", "/nowhere"):
        policy = directives(client.get(path))
        assert policy["script-src"] == ["'self'"], path
        assert policy["style-src"] == ["'self'"], path
        assert policy["object-src"] == ["'none'"], path
        assert policy["frame-ancestors"] == ["'none'"], path
        assert policy["base-uri"] == ["'self'"], path
        assert policy["form-action"] == ["'self'"], path


def test_the_api_docs_page_runs_no_inline_script(client) -> None:
    html = client.get("/api/docs").get_data(as_text=True)
    assert "<script>" not in html and "onload" not in html
    scripts = re.findall(r'<script src="([^"]+)"', html)
    assert len(scripts) == 3 and all(src.startswith("/") for src in scripts)
    assert client.get(scripts[-1]).status_code == 200


def _register_client(app, redirect_uri: str) -> str:
    from slrt.auth.oauth.models import OAuthClient

    with app.app_context():
        row = OAuthClient(
            client_id="aplikasi-mitra",
            name="Aplikasi Mitra",
            kind="public",
            redirect_uris=[redirect_uri],
            post_logout_redirect_uris=[redirect_uri],
            scope="openid profile",
            first_party=False,
        )
        db.session.add(row)
        db.session.commit()
        db.session.remove()
    return "aplikasi-mitra"


def test_sign_in_page_lets_its_form_lead_to_the_registered_client_only(app, client) -> None:
    from urllib.parse import urlencode

    target = "https://mitra.example.id/callback"
    client_id = _register_client(app, target)
    query = {"client_id": client_id, "redirect_uri": target, "response_type": "code"}
    cont = "/oauth/authorize?" + urlencode(query)
    page = client.get("/auth/sign-in?" + urlencode({"continue": cont}))
    assert directives(page)["form-action"] == ["'self'", "https://mitra.example.id"]
    forged = {**query, "redirect_uri": "https://evil.example/cb"}
    cont = "/oauth/authorize?" + urlencode(forged)
    page = client.get("/auth/sign-in?" + urlencode({"continue": cont}))
    assert directives(page)["form-action"] == ["'self'"]


def test_api_answers_are_not_stored(app, client, parepare, parepare_admin) -> None:
    kemensos = make_account(app, "k@kemensos.go.id", platform_role="kemensos_admin")
    for path, who in (
        ("/api/v1/t/parepare/persons", parepare_admin),
        ("/api/v1/t/parepare/profile", parepare_admin),
        ("/api/v1/platform/accounts", kemensos),
        ("/api/v1/t/parepare/persons/00000000-0000-0000-0000-000000000000", parepare_admin),
        ("/api/v1/t/parepare/persons", None),
    ):
        resp = client.get(path, headers=who.headers if who else {})
        assert resp.headers["Cache-Control"] == "no-store", (path, resp.status_code)
    member_user = member(app, parepare, "front_office")
    resp = client.post(
        "/api/v1/t/parepare/households", json={"kk_number": "1"}, headers=member_user.headers
    )
    assert resp.headers["Cache-Control"] == "no-store"
