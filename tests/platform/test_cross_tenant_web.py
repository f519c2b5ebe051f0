"""Cross-tenant probes of the web pages, generated from the URL map: every district page, present
and future, is covered without being listed here.

- Not signed in, a district page sends the browser to sign in; it never shows the page.
- Parepare's district admin asking for Kendal's pages: 404 on every signed-in page.
- The same admin on Parepare's pages with Kendal's ids (and tokens, codes) in every path
  parameter: 404 for every page, public ones included, by GET and by POST (with a valid CSRF
  token, so the check is not masked by the form guard), and nothing of Kendal's changes.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.commands.demo import load_demo
from slrt.platform.tenant import Tenant
from tests.fixtures import member, put_on_plan, set_password
from tests.platform.test_cross_tenant_api import _fingerprint, _tenant_rows
from tests.web import (
    PASSWORD,
    PATH_PARAM,
    csrf_of,
    district_rules,
    fill,
    form_token,
    is_signed_in_page,
    sign_in,
    tenant_values,
)


def _districts(app) -> tuple[Tenant, Tenant]:
    with app.app_context():
        load_demo()
        kendal = db.session.execute(sa.select(Tenant).where(Tenant.slug == "kendal")).scalar_one()
        parepare = db.session.execute(
            sa.select(Tenant).where(Tenant.slug == "parepare")
        ).scalar_one()
        db.session.expunge_all()
        db.session.remove()
    return parepare, kendal


def test_district_pages_send_a_stranger_to_sign_in(app, monkeypatch) -> None:
    monkeypatch.setenv("SLRT_PUBLIC_URL", "http://localhost")
    parepare, _ = _districts(app)
    client = app.test_client()
    # A form token a stranger can have (the sign-in page gives one): an action's URL, posted
    # to, is then turned away by the sign-in guard rather than by the form guard before it.
    token = csrf_of(client.get("/auth/sign-in").get_data(as_text=True))
    sample = {"uuid": [str(uuid.uuid4())], "string": ["x"]}
    rules = [r for r in district_rules(app) if is_signed_in_page(app, r)]
    assert rules, "the app has signed-in district pages"
    for rule in rules:
        url = fill(rule, parepare.slug, sample)
        if "GET" in rule.methods:
            resp = client.get(url)
        else:
            resp = client.post(url, data={"csrf_token": token})
        assert resp.status_code == 302, url
        assert resp.headers["Location"].startswith("/auth/login?next="), url


def test_foreign_districts_and_ids_answer_404_on_every_page(app, owner_engine, monkeypatch) -> None:
    monkeypatch.setenv("SLRT_PUBLIC_URL", "http://localhost")
    parepare, kendal = _districts(app)
    put_on_plan(app, parepare, api_requests_per_minute=1_000_000)
    admin = set_password(app, member(app, parepare, "district_admin"), PASSWORD)
    client = app.test_client()
    sign_in(client, admin.email)
    token = form_token(client)
    before = _tenant_rows(owner_engine, kendal.id)
    foreign = tenant_values(owner_engine, kendal.id)
    own = tenant_values(owner_engine, parepare.id)
    failures, probes = [], 0
    for rule in district_rules(app):
        methods = sorted(rule.methods & {"GET", "POST"})
        params = [
            name for _, name in PATH_PARAM.findall(rule.rule) if name not in ("tenant", "slug")
        ]
        if is_signed_in_page(app, rule):
            url = fill(rule, kendal.slug, foreign)
            for method in methods:
                resp = client.open(url, method=method, data={"csrf_token": token})
                probes += 1
                if resp.status_code != 404:
                    failures.append(f"{method} {url}: {resp.status_code} on another district")
        for name in params:
            for value in foreign.get(name) or foreign["uuid"][:2] + foreign["string"][:2]:
                url = fill(rule, parepare.slug, own, **{name: value})
                for method in methods:
                    resp = client.open(url, method=method, data={"csrf_token": token})
                    probes += 1
                    if resp.status_code != 404:
                        failures.append(f"{method} {url}: {resp.status_code} with Kendal's {name}")
    assert failures == []
    assert probes > 0
    assert _fingerprint(_tenant_rows(owner_engine, kendal.id)) == _fingerprint(before)
