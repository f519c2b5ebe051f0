"""Probes of the Kemensos console's pages, generated from the URL map: every /kemensos page,
present and future, is covered without being listed here.

- Not signed in, a console page sends the browser to sign in.
- An account without a platform role (a district's own admin) gets 404 on every page.
- A provincial viewer of Jawa Tengah asking for Parepare (Sulawesi Selatan) by id: 404 on every
  page it may otherwise open, 403 on the ones its role does not open, by GET and by POST, and
  nothing changes; Kendal's pages open.
- Every page a Kemensos admin opens stays under the page budget with a cold cache.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.commands.demo import load_demo
from slrt.platform.tenant import Tenant
from tests.fixtures import make_account, member, set_password
from tests.platform.test_cross_tenant_api import _fingerprint, _tenant_rows
from tests.platform.test_page_weight import ASSET, BUDGET
from tests.web import PASSWORD, PATH_PARAM, form_token, is_platform_page, platform_rules, sign_in


def _demo(app) -> dict[str, object]:
    """Demo districts with their figures, and a value for every path parameter of the console."""
    from slrt.tenants.programs.catalog import seed_national_catalog
    from slrt.tenants.programs.models import NationalProgram

    with app.app_context():
        load_demo()
        seed_national_catalog(db.session.connection())
        db.session.commit()
        tenants = {t.slug: t.id for t in db.session.execute(sa.select(Tenant)).scalars()}
        program = db.session.execute(sa.select(NationalProgram.id).limit(1)).scalar_one()
        db.session.remove()
    return {
        "parepare": tenants["parepare"],
        "kendal": tenants["kendal"],
        "national_program_id": str(program),
        "key": "lokus-kemensos",
    }


def fill(rule, values: dict[str, object], tenant_id: object) -> str:
    def value(match) -> str:
        name = match.group(2)
        return str(tenant_id if name == "tenant_id" else values[name])

    return PATH_PARAM.sub(value, rule.rule)


def signed_in(app, email: str, **grant) -> object:
    user = make_account(app, email, **grant) if grant else None
    user = set_password(app, user, PASSWORD)
    client = app.test_client()
    sign_in(client, email)
    return client


def test_the_console_sends_a_stranger_to_sign_in_and_turns_members_away(app, monkeypatch) -> None:
    monkeypatch.setenv("SLRT_PUBLIC_URL", "http://localhost")
    values = _demo(app)
    rules = [r for r in platform_rules(app) if is_platform_page(app, r)]
    assert len(rules) >= 10, "the console's pages are in the URL map"
    assert rules == platform_rules(app), "every /kemensos route is a console page"
    stranger = app.test_client()
    with app.app_context():
        parepare = db.session.get(Tenant, values["parepare"])
        db.session.expunge(parepare)
        db.session.remove()
    admin = set_password(app, member(app, parepare, "district_admin"), PASSWORD)
    district_admin = app.test_client()
    sign_in(district_admin, admin.email)
    token = form_token(district_admin)
    for rule in rules:
        url = fill(rule, values, values["parepare"])
        if "GET" in rule.methods:
            resp = stranger.get(url)
            assert resp.status_code == 302, url
            assert resp.headers["Location"].startswith("/auth/login?next="), url
        for method in sorted(rule.methods & {"GET", "POST"}):
            resp = district_admin.open(url, method=method, data={"csrf_token": token})
            assert resp.status_code == 404, f"{method} {url}: {resp.status_code}"


def test_a_provincial_viewer_gets_404_for_another_province(app, owner_engine, monkeypatch) -> None:
    from slrt.auth.permissions import PLATFORM_ROLES

    monkeypatch.setenv("SLRT_PUBLIC_URL", "http://localhost")
    values = _demo(app)
    viewer = signed_in(
        app, "pemantau@jatengprov.go.id", platform_role="provincial_viewer", province_code="33"
    )
    may = {str(p) for p in PLATFORM_ROLES["provincial_viewer"]["platform"]}
    token = form_token(viewer)
    before = _tenant_rows(owner_engine, values["parepare"])
    failures, probes = [], 0
    for rule in platform_rules(app):
        if "tenant_id" not in rule.arguments:
            continue
        for method in sorted(rule.methods & {"GET", "POST"}):
            view = app.view_functions[rule.endpoint]
            expected = 404 if view.required_permission in may else 403
            foreign = viewer.open(
                fill(rule, values, values["parepare"]), method=method, data={"csrf_token": token}
            )
            probes += 1
            if foreign.status_code != expected:
                failures.append(f"{method} {rule.rule}: {foreign.status_code}, not {expected}")
            if method == "GET" and expected == 404:
                own = viewer.get(fill(rule, values, values["kendal"]))
                if own.status_code != 200:
                    failures.append(f"GET {rule.rule} for Kendal: {own.status_code}")
    assert failures == []
    assert probes >= 5
    assert _fingerprint(_tenant_rows(owner_engine, values["parepare"])) == _fingerprint(before)


def weigh(client, url: str) -> int:
    """Bytes on the wire with a cold cache: the answer plus, for a page, what it loads."""
    page = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert page.status_code == 200, url
    total = len(page.get_data())
    if page.mimetype == "text/html":
        for href in sorted(set(ASSET.findall(page.get_data(as_text=True)))):
            asset = client.get(href, headers={"Accept-Encoding": "gzip"})
            assert asset.status_code == 200, href
            total += len(asset.get_data())
    return total


def test_every_console_page_is_under_the_budget_cold(app, monkeypatch) -> None:
    monkeypatch.setenv("SLRT_PUBLIC_URL", "http://localhost")
    values = _demo(app)
    admin = signed_in(app, "admin@kemensos.go.id", platform_role="kemensos_admin")
    sizes = {}
    for rule in platform_rules(app):
        if "GET" in rule.methods:
            url = fill(rule, values, values["parepare"])
            sizes[url] = weigh(admin, url)
    heavy = {url: size for url, size in sizes.items() if size > BUDGET}
    assert heavy == {}
    assert len(sizes) >= 10


@pytest.mark.parametrize("lang", ["id", "en"])
def test_the_landing_page_speaks_one_language(app, monkeypatch, lang) -> None:
    monkeypatch.setenv("SLRT_PUBLIC_URL", "http://localhost")
    _demo(app)
    admin = signed_in(app, "admin@kemensos.go.id", platform_role="kemensos_admin")
    html = admin.get(f"/kemensos/?lang={lang}").get_data(as_text=True)
    if lang == "en":
        assert "Kemensos console" in html and "Active staff" in html and "Staf aktif" not in html
    else:
        assert "Konsol Kemensos" in html and "Staf aktif" in html and "Active staff" not in html
