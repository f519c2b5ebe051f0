"""Region and agency scope on every district page with a case, referral or notification id in
its path, generated from the URL map (a new page is covered without being listed): a facilitator
of another kelurahan, and an officer of another agency, get for Lompoe's records exactly what a
missing record gets, by GET and by POST, and nothing changes."""

from __future__ import annotations

from slrt.platform import db
from slrt.platform.errors import Msg
from slrt.platform.tenancy import tenant_context
from tests.tenants.flow.desk import refer, web_client
from tests.tenants.flow.test_flow import get
from tests.web import PATH_PARAM, district_rules, fill, is_signed_in_page

MISSING = "00000000-0000-0000-0000-000000000000"
SCOPED = {"case_id", "referral_id", "notification_id"}

pytest_plugins = ["tests.tenants.flow.desk"]  # the cast fixture


def test_pages_answer_404_outside_the_region_and_agency(app, client, parepare, cast) -> None:
    from slrt.tenants.notifications.actions import notify

    case = refer(client, cast)
    with app.app_context(), tenant_context(parepare.ref()):
        notify([cast["supervisor"].account_id], "test", Msg("Judul", "Title"), Msg("Isi", "Body"),
               dedup_key="scope", referral_id=case["pbi"]["id"])  # fmt: skip
        db.session.commit()
        from slrt.tenants.notifications.models import Notification

        notification = db.session.query(Notification.id).scalar()
        db.session.remove()
    values = {
        "case_id": [case["id"]],
        "referral_id": [case["pbi"]["id"]],
        "notification_id": [str(notification)],
    }
    others = {"uuid": [MISSING], "string": ["x"]}  # ids these pages hold besides the scoped one
    rules = [
        rule
        for rule in district_rules(app)
        if is_signed_in_page(app, rule)
        and {name for _, name in PATH_PARAM.findall(rule.rule)} & SCOPED
    ]
    assert len(rules) >= 6
    failures, not_found = [], 0
    for who in ("outsider", "dinsos"):
        web = web_client(app, cast[who])
        for rule in rules:
            url = fill(rule, "parepare", {**values, **others})
            missing = fill(rule, "parepare", {**{k: [MISSING] for k in values}, **others})
            for method in sorted(rule.methods & {"GET", "POST"}):
                data = {"csrf_token": web.token, "action": "receive", "note": "x"}
                got = web.open(url, method=method, data=data).status_code
                expected = web.open(missing, method=method, data=data).status_code
                if got not in (403, 404) or got != expected:
                    failures.append(f"{who} {method} {rule.rule}: {got} (missing: {expected})")
                not_found += got == 404
    assert failures == []
    assert not_found >= 8
    assert get(client, cast["dinkes"], f"/referrals/{case['pbi']['id']}").json["status"] == "sent"
    assert get(client, cast["manager"], f"/cases/{case['id']}").json["status"] == "referred"
