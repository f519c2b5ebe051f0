"""Region scope on every district page with a household, person, proposal or batch id in its
path, generated from the URL map (a new page is covered without being listed): a facilitator of
another kelurahan gets for Lompoe's records exactly what a missing record gets, by GET and by
POST, and nothing of Lompoe's changes."""

from __future__ import annotations

import io

from tests.fixtures import member, set_password
from tests.web import PASSWORD, PATH_PARAM, district_rules, fill, form_token, is_signed_in_page
from tests.web import sign_in as web_sign_in

LOMPOE = "73.72.01.1004"
SOREANG = "73.72.03.1001"
API = "/api/v1/t/parepare"
MISSING = "00000000-0000-0000-0000-000000000000"
SCOPED = {"household_id", "person_id", "proposal_id", "batch_id"}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_pages_answer_404_outside_the_region(app, client, parepare, monkeypatch) -> None:
    monkeypatch.setenv("SLRT_PUBLIC_URL", "http://localhost")
    bo = member(app, parepare, "back_office")
    household = client.post(
        f"{API}/households",
        json={"kk_number": "7372010101110001", "village_code": LOMPOE},
        headers=bo.headers,
    ).json
    person = client.post(
        f"{API}/persons",
        json={"nik": "7372010101900001", "name": "Andi Baso", "household_id": household["id"]},
        headers=bo.headers,
    ).json
    proposal = client.post(
        f"{API}/dtks-proposals", json={"person_id": person["id"]}, headers=bo.headers
    ).json
    batch = client.post(
        f"{API}/dtks-proposal-batches",
        json={"village_code": LOMPOE, "meeting_kind": "muskel"},
        headers=bo.headers,
    ).json
    values = {
        "household_id": [household["id"]],
        "person_id": [person["id"]],
        "proposal_id": [proposal["id"]],
        "batch_id": [batch["id"]],
    }
    outsider = set_password(
        app,
        member(app, parepare, "facilitator", scope_kind="village", scope_codes=[SOREANG]),
        PASSWORD,
    )
    web = app.test_client()
    web_sign_in(web, outsider.email)
    token = form_token(web)
    rules = [
        rule
        for rule in district_rules(app)
        if is_signed_in_page(app, rule)
        and {name for _, name in PATH_PARAM.findall(rule.rule)} & SCOPED
    ]
    assert len(rules) >= 10
    failures, not_found = [], 0
    for rule in rules:
        url = fill(rule, "parepare", values)
        missing = fill(rule, "parepare", {k: [MISSING] for k in values})
        for method in sorted(rule.methods & {"GET", "POST"}):

            def data():
                return {
                    "csrf_token": token,
                    "nik": "7372014502920002",
                    "name": "X",
                    "reason": "x",
                    "accepted": "true",
                    "format": "csv",
                    "file": (io.BytesIO(PDF), "ba.pdf"),
                }

            got = web.open(url, method=method, data=data()).status_code
            expected = web.open(missing, method=method, data=data()).status_code
            if got not in (403, 404) or got != expected:
                failures.append(f"{method} {rule.rule}: {got} (missing: {expected})")
            not_found += got == 404
    assert failures == []
    assert not_found >= 10
    again = client.get(f"{API}/dtks-proposal-batches/{batch['id']}", headers=bo.headers).json
    assert again["status"] == "open"
    members = client.get(f"{API}/households/{household['id']}/members", headers=bo.headers).json
    assert [m["name"] for m in members] == ["Andi Baso"]
