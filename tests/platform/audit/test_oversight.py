"""Oversight without personal data: Kemensos staff may open a district's pages and API
operations that their platform role allows (the audit trail, jobs, reports, configuration),
yet no answer of any district route shows a resident's NIK, name, phone or address, not even
what was written about them in the audit trail's workflow notes; and every read of a
district's audit trail by Kemensos is recorded both in the platform's trail and in the
district's own."""

from __future__ import annotations

import sqlalchemy as sa

from slrt.auth.oauth.tokens import issue_access_token
from slrt.platform import db
from slrt.platform.audit.models import AuditEvent, PlatformAuditEvent
from slrt.platform.tenancy import tenant_context
from tests.fixtures import put_on_plan, set_password
from tests.platform.audit.test_read_coverage import (
    _district_get_rules,
    _parepare,
    _path_values,
    _shown,
    _urls,
)
from tests.privacy import seed_marked_person
from tests.web import PASSWORD, sign_in, tenant_values


def test_kemensos_sees_no_resident_text_through_any_district_route(
    app, owner_engine, monkeypatch, kemensos_admin
):
    monkeypatch.setenv("SLRT_PUBLIC_URL", "http://localhost")
    parepare = _parepare(app)
    put_on_plan(app, parepare, api_requests_per_minute=1_000_000)
    marked = seed_marked_person(app, parepare)
    set_password(app, kemensos_admin, PASSWORD)
    browser = app.test_client()
    sign_in(browser, kemensos_admin.email)
    api = app.test_client()
    with app.app_context():  # a token of after the password was set (that revokes older ones)
        token, _ = issue_access_token(
            subject=str(kemensos_admin.account_id), client_id="slrt-tests"
        )
        db.session.commit()
        db.session.remove()
    headers = {"Authorization": f"Bearer {token}"}
    values = _path_values(marked, tenant_values(owner_engine, parepare.id))

    leaks, answered = [], set()
    for rule in _district_get_rules(app):
        for url in _urls(rule, parepare.slug, values):
            for query in ("", "?kind=workflow", f"?entity_type=case&entity_id={marked.case_id}"):
                if rule.rule.startswith("/api/"):
                    resp = api.get(url + query, headers=headers)
                else:
                    resp = browser.get(url + query)
                if resp.status_code == 200:
                    answered.add(rule.endpoint)
                shown = _shown(resp.data, marked)
                if shown:
                    leaks.append(f"{url}{query} ({resp.status_code}) shows {shown}")
    assert not leaks, "\n".join(leaks)
    # The walk did reach the trail, where the workflow notes name the resident.
    assert {"audit.list_audit_events", "audit.get_audit_event", "audit_web.audit_trail"} <= (
        answered
    )


def test_a_kemensos_read_of_a_district_trail_is_recorded_in_both(
    app, client, parepare, kemensos_admin, parepare_admin
):
    url = "/api/v1/t/parepare/audit-events?kind=config"
    assert client.get(url, headers=kemensos_admin.headers).status_code == 200
    assert client.get(url, headers=parepare_admin.headers).status_code == 200  # staff: no record
    with app.app_context():
        platform = (
            db.session.execute(
                sa.select(PlatformAuditEvent).where(
                    PlatformAuditEvent.action == "audit.oversight_read"
                )
            )
            .scalars()
            .all()
        )
        assert [(e.tenant_ref, e.actor_account_id, e.after) for e in platform] == [
            (parepare.id, kemensos_admin.account_id, {"filters": {"kind": "config"}})
        ]
        with tenant_context(parepare.ref()):
            district = (
                db.session.execute(
                    sa.select(AuditEvent).where(AuditEvent.action == "audit.oversight_read")
                )
                .scalars()
                .all()
            )
            assert [(e.kind, e.actor_account_id) for e in district] == [
                ("read", kemensos_admin.account_id)
            ]
        db.session.remove()
