"""Region scope on every district page with a DTSEN record of Lompoe in its path (an usul, its
evidence, the village's reconciliation, a family's history, an import), generated from the URL
map: a facilitator of another kelurahan gets exactly what a missing record gets (404 where the
page is open to them, the same 403 where it is not), by GET and by POST; the lists show none of
Lompoe's items."""

from __future__ import annotations

import io
import re

from tests.fixtures import member, set_password
from tests.tenants.dtsen.files import BASE, HASNAH, PREVIOUS, bnba_xlsx, registry
from tests.tenants.dtsen.test_import import upload
from tests.tenants.dtsen.test_pages import village_id
from tests.tenants.flow.test_flow import PNG
from tests.web import PASSWORD, PATH_PARAM, district_rules, fill, form_token, is_signed_in_page
from tests.web import sign_in as web_sign_in

MISSING = "00000000-0000-0000-0000-000000000000"
SOREANG = "73.72.03.1001"


def test_out_of_region_dtsen_pages_look_like_missing_ones(
    app, client, parepare, monkeypatch
) -> None:
    monkeypatch.setenv("SLRT_PUBLIC_URL", "http://localhost")
    bo = member(app, parepare, "back_office")
    households = registry(client, bo)
    person = client.get(f"{BASE}/persons?nik={HASNAH}", headers=bo.headers).json[0]
    usul = client.post(
        f"{BASE}/dtsen/submissions",
        json={"kind": "usul", "person_id": person["id"], "reason": "Lansia tinggal sendiri"},
        headers=bo.headers,
    ).json
    evidence = client.post(
        f"{BASE}/dtsen/submissions/{usul['id']}/evidence",
        data={"kind": "photo", "file": (io.BytesIO(PNG), "rumah.png")},
        headers=bo.headers,
        content_type="multipart/form-data",
    ).json
    lompoe_admin = member(app, parepare, "district_admin")
    dtsen_import = upload(client, lompoe_admin, bnba_xlsx(), "bnba.xlsx", "bnba", PREVIOUS).json
    values = {
        "submission_id": usul["id"],
        "evidence_id": evidence["id"],
        "village_id": village_id(app, parepare),
        "household_id": next(iter(households.values())),
        "person_id": person["id"],
        "import_id": dtsen_import["id"],
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
        if "/dtsen" not in rule.rule or not is_signed_in_page(app, rule):
            continue
        params = {name for _, name in PATH_PARAM.findall(rule.rule)} - {"tenant", "slug"}
        if not params & set(values):
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
    assert checked >= 12 and not_found >= 6
    listing = browser.get("/t/parepare/dtsen/submissions/").get_data(as_text=True)
    assert "Hasnah" not in listing and "Tidak ada usul atau sanggah." in listing
    start = browser.get("/t/parepare/dtsen/").get_data(as_text=True)
    assert "Lompoe" not in start and "Lakessi" in start
