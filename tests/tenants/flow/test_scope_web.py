"""Region scope on every district page, generated from the URL map as the API's test is from the
OpenAPI document: a facilitator of another kelurahan, signed in, asking any page with a record of
Lompoe in its path (a case, its referral, its document, the person, the household) gets exactly
what a missing record gets (404 where the facilitator may open the page, the same 403 where it
may not), by GET and by POST, and the case list shows none of Lompoe's cases."""

from __future__ import annotations

import io
import re

from tests.fixtures import flow_catalog, member, set_password
from tests.tenants.flow.test_flow import BASE, LOMPOE, PNG, SOREANG, _referred_case
from tests.web import PASSWORD, PATH_PARAM, district_rules, fill, form_token, is_signed_in_page
from tests.web import sign_in as web_sign_in

MISSING = "00000000-0000-0000-0000-000000000000"


def test_out_of_region_pages_look_like_missing_ones(app, client, parepare, monkeypatch) -> None:
    monkeypatch.setenv("SLRT_PUBLIC_URL", "http://localhost")
    ids = flow_catalog(app, parepare)
    cast = {
        "ids": ids,
        "fo": member(app, parepare, "front_office", scope_kind="village", scope_codes=[LOMPOE]),
        "bo": member(app, parepare, "back_office"),
        "manager": member(app, parepare, "manager"),
    }
    case, referral = _referred_case(client, cast)
    attachment = client.post(
        f"{BASE}/cases/{case['id']}/attachments",
        data={"kind": "ktp", "file": (io.BytesIO(PNG), "ktp.png")},
        headers=cast["fo"].headers,
        content_type="multipart/form-data",
    ).json
    person = client.get(f"{BASE}/persons/{case['person_id']}", headers=cast["bo"].headers).json
    values = {
        "case_id": case["id"],
        "referral_id": referral["id"],
        "attachment_id": attachment["id"],
        "person_id": person["id"],
        "household_id": person["household_id"],
    }
    outsider = set_password(
        app,
        member(app, parepare, "facilitator", scope_kind="village", scope_codes=[SOREANG]),
        PASSWORD,
    )
    browser = app.test_client()
    web_sign_in(browser, outsider.email)
    token = form_token(browser)
    checked, not_found, failures = 0, 0, []
    for rule in district_rules(app):
        params = {name for _, name in PATH_PARAM.findall(rule.rule)} - {"tenant", "slug"}
        if not params & set(values) or not is_signed_in_page(app, rule):
            continue
        url = fill(rule, "parepare", {"uuid": [MISSING], "string": ["x"]}, **values)
        missing = re.sub(r"[0-9a-f-]{36}", MISSING, url)
        for method in sorted(rule.methods & {"GET", "POST"}):
            resp = browser.open(url, method=method, data={"csrf_token": token})
            like_missing = browser.open(missing, method=method, data={"csrf_token": token})
            checked += 1
            if resp.status_code not in (403, 404) or resp.status_code != like_missing.status_code:
                failures.append(
                    f"{method} {rule.rule}: {resp.status_code} ({like_missing.status_code})"
                )
            not_found += resp.status_code == 404
    assert failures == []
    assert checked >= 15 and not_found >= 5
    listing = browser.get("/t/parepare/cases").get_data(as_text=True)
    assert case["ticket_number"] not in listing
    assert "Belum ada layanan di wilayah Anda." in listing
