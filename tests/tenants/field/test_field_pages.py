"""The field app's pages through the signed-in session: the shell, its service worker (scope
the app's folder, the shell's fingerprinted assets, the key never cached), the manifest, the
device key (per account and device, to a live session only, no-store), the sync through the
session with the CSRF header, only for those who register households and visits, the shell
under 150 KB on the wire, and sign-out erasing what the site kept in the browser."""

from __future__ import annotations

import re

import pytest

from tests.fixtures import flow_catalog, member, set_password
from tests.platform.test_page_weight import weigh
from tests.tenants.flow.test_flow import LOMPOE
from tests.web import PASSWORD, form_token, sign_in

APP = "/t/parepare/field/"
DEVICE = "d0123456789abcdef0123"


@pytest.fixture
def facilitator_client(app, parepare, monkeypatch):
    monkeypatch.setenv("SLRT_PUBLIC_URL", "http://localhost")
    flow_catalog(app, parepare)
    user = member(app, parepare, "facilitator", scope_kind="village", scope_codes=[LOMPOE])
    set_password(app, user, PASSWORD)
    client = app.test_client()
    sign_in(client, user.email)
    return client


def test_the_shell_and_its_service_worker(facilitator_client) -> None:
    page = facilitator_client.get(APP)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'rel="manifest"' in html and "Kotak keluar" in html
    assert 'data-kecamatan="737201 737202 737203 737204"' in html
    worker = facilitator_client.get(APP + "sw.js")
    assert worker.status_code == 200 and worker.mimetype == "text/javascript"
    assert worker.headers["Service-Worker-Allowed"] == APP
    config = worker.get_data(as_text=True).splitlines()[0]
    assert re.search(r'"/static/field/app\.[0-9a-f]{12}\.js"', config)
    assert f'"never": ["{APP}key", "{APP}sync", "{APP}reference", "{APP}uploads"]' in config
    manifest = facilitator_client.get(APP + "manifest.webmanifest").json
    assert manifest["scope"] == APP and manifest["start_url"] == APP
    assert manifest["display"] == "standalone"


def test_the_device_key_goes_to_a_live_session_only(app, facilitator_client, parepare) -> None:
    first = facilitator_client.get(
        f"{APP}key?device={DEVICE}", headers={"Accept": "application/json"}
    )
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "no-store"
    key = first.json["key"]
    assert len(key) == 43  # 32 bytes, base64url
    assert facilitator_client.get(f"{APP}key?device={DEVICE}").json["key"] == key
    assert facilitator_client.get(f"{APP}key?device=d{DEVICE}").json["key"] != key
    assert facilitator_client.get(f"{APP}key?device=bad").status_code == 422
    stranger = app.test_client().get(f"{APP}key?device={DEVICE}")
    assert stranger.status_code == 302 and "/auth/login" in stranger.headers["Location"]


def test_sync_through_the_session_needs_the_form_token(facilitator_client) -> None:
    item = {
        "key": "hh-session-0001",
        "kind": "household",
        "captured_at": "2026-11-30T08:15:00+08:00",
        "data": {
            "kk_number": "7372010101110009",
            "village_code": LOMPOE,
            "members": [{"nik": "7372014101800007", "name": "Sitti Aminah"}],
        },
    }
    headers = {"Accept": "application/json"}
    refused = facilitator_client.post(APP + "sync", json={"items": [item]}, headers=headers)
    assert refused.status_code == 400
    token = form_token(facilitator_client)
    ok = facilitator_client.post(
        APP + "sync", json={"items": [item]}, headers={**headers, "X-CSRFToken": token}
    )
    assert ok.status_code == 200
    assert ok.json["items"][0]["status"] == "applied"


def test_only_those_who_register_in_the_field_get_the_app(app, parepare, monkeypatch) -> None:
    monkeypatch.setenv("SLRT_PUBLIC_URL", "http://localhost")
    ids = flow_catalog(app, parepare)
    officer = member(app, parepare, "agency_officer", agency_id=ids["dinkes"])
    set_password(app, officer, PASSWORD)
    client = app.test_client()
    sign_in(client, officer.email)
    for path in ("", "sw.js", "manifest.webmanifest", f"key?device={DEVICE}", "reference"):
        assert client.get(APP + path).status_code == 403, path
    home = client.get("/t/parepare/").get_data(as_text=True)
    assert "Aplikasi lapangan" not in home


def test_the_shell_is_under_150_kb_on_the_wire(facilitator_client) -> None:
    _, shell, assets = weigh(facilitator_client, APP)
    worker = len(facilitator_client.get(APP + "sw.js").get_data())
    manifest = len(facilitator_client.get(APP + "manifest.webmanifest").get_data())
    assert any("field/app." in a for a in assets)
    assert shell + worker + manifest < 150 * 1024


def test_signing_out_erases_what_the_site_kept(facilitator_client) -> None:
    token = form_token(facilitator_client)
    out = facilitator_client.post("/auth/logout", data={"csrf_token": token})
    assert out.status_code == 302
    assert out.headers["Clear-Site-Data"] == '"cache", "storage"'
