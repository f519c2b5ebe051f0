"""Every page stays light for a cheap phone on 3G: under 60 KB on the wire with a cold cache (the
HTML plus every stylesheet, script and image it loads, compressed as the server sends them).
The pages are taken from the URL map, so a new page is weighed without being listed; static
assets are fingerprinted and cached for a year."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.commands.demo import load_demo
from slrt.platform.tenant import Tenant
from tests.fixtures import member, set_password
from tests.web import PASSWORD, district_rules, fill, sign_in, tenant_values

BUDGET = 60 * 1024
ASSET = re.compile(r'<(?:link[^>]+href|script[^>]+src|img[^>]+src)="(/[^"]+)"')
PUBLIC_PAGES = ["/", "/auth/sign-in"]


def weigh(client, url: str) -> tuple[int, int, dict[str, int]]:
    """(status, bytes on the wire with a cold cache, bytes per asset)."""
    page = client.get(url, headers={"Accept-Encoding": "gzip"})
    assets = {}
    # A page loads assets; a file it hands out (a scan, a PDF) is weighed as it is.
    html = page.get_data(as_text=True) if page.mimetype == "text/html" else ""
    for href in sorted(set(ASSET.findall(html))):
        asset = client.get(href, headers={"Accept-Encoding": "gzip"})
        assert asset.status_code == 200, href
        assets[href] = len(asset.get_data())
    return page.status_code, len(page.get_data()) + sum(assets.values()), assets


@pytest.fixture(scope="module")
def weighed(app, owner_engine) -> dict[str, tuple[int, int]]:
    with app.app_context():
        load_demo()
        parepare = db.session.execute(
            sa.select(Tenant).where(Tenant.slug == "parepare")
        ).scalar_one()
        db.session.expunge_all()
        db.session.remove()
    admin = set_password(app, member(app, parepare, "district_admin"), PASSWORD)
    client = app.test_client()
    sizes = {url: weigh(client, url)[:2] for url in PUBLIC_PAGES}
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SLRT_PUBLIC_URL", "http://localhost")  # the test client's own address
        sign_in(client, admin.email)
    own = tenant_values(owner_engine, parepare.id)
    for rule in district_rules(app):
        if "GET" in rule.methods:
            url = fill(rule, parepare.slug, own)
            sizes[url] = weigh(client, url)[:2]
    return sizes


def test_every_page_is_under_the_budget_cold(weighed: dict[str, tuple[int, int]]) -> None:
    heavy = {url: size for url, (_, size) in weighed.items() if size > BUDGET}
    assert heavy == {}
    assert len(weighed) >= len(PUBLIC_PAGES) + 1


def test_the_weighing_counts_assets(app, client) -> None:
    status, total, assets = weigh(client, "/")
    assert status == 200 and assets, "the landing page loads the stylesheet"
    assert total > sum(assets.values())


def test_assets_are_fingerprinted_compressed_and_cached_for_a_year(client) -> None:
    html = client.get("/").get_data(as_text=True)
    (css,) = [href for href in ASSET.findall(html) if href.endswith(".css")]
    assert re.fullmatch(r"/static/slrt\.[0-9a-f]{12}\.css", css)
    plain = client.get(css)
    packed = client.get(css, headers={"Accept-Encoding": "gzip"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert len(packed.get_data()) < len(plain.get_data()) / 2
    cache = packed.headers["Cache-Control"]
    assert "immutable" in cache and int(re.search(r"max-age=(\d+)", cache).group(1)) >= 31536000


def test_the_api_documentation_assets_are_compressed(client) -> None:
    page = client.get("/api/docs").get_data(as_text=True)
    scripts = re.findall(r'src="(/api/docs/assets/[^"]+\.js)"', page)
    assert scripts
    for script in scripts:
        packed = client.get(script, headers={"Accept-Encoding": "gzip"})
        assert packed.status_code == 200 and packed.headers.get("Content-Encoding") == "gzip"
