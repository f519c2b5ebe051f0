"""The web UI signing in as an OpenID client of this provider, in Flask's test client (the code
exchange runs in-process): session cookie, CSRF, tenant choice, dashboard, TOTP, sign-out."""

from __future__ import annotations

import re
import time

import pyotp
import pytest

from slrt.platform import db
from tests.fixtures import member, set_password

PASSWORD = "kopi pagi di balai desa"


@pytest.fixture
def web(app, monkeypatch):
    monkeypatch.setenv("SLRT_PUBLIC_URL", "http://localhost")
    return app.test_client()


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def sign_in(web, email: str, password: str = PASSWORD, start: str = "/auth/login"):
    page = web.get(start, follow_redirects=True)
    assert page.request.path == "/auth/sign-in"
    html = page.get_data(as_text=True)
    cont = re.search(r'name="continue" value="([^"]*)"', html).group(1)
    return web.post(
        "/auth/sign-in",
        data={
            "csrf_token": csrf(html),
            "continue": cont.replace("&amp;", "&"),
            "email": email,
            "password": password,
        },
        follow_redirects=True,
    )


def test_sign_in_picks_the_only_district_and_shows_role_and_region(app, web, parepare) -> None:
    user = member(app, parepare, "supervisor", scope_kind="kecamatan", scope_codes=["73.72.01"])
    set_password(app, user, PASSWORD)
    page = sign_in(web, user.email)
    assert page.status_code == 200 and page.request.path == "/t/parepare/"
    html = page.get_data(as_text=True)
    assert "Kota Parepare" in html and "Supervisor" in html
    assert "Kecamatan Bacukiki (73.72.01)" in html
    # What is offered follows permissions: a supervisor reads the members list.
    assert 'href="/t/parepare/members"' in html
    # The cookie is an opaque id with the secure flags; nothing about the account is in it.
    cookie = web.get_cookie("slrt_session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    assert str(user.account_id) not in cookie.value and len(cookie.value) > 30
    with app.app_context():
        from slrt.auth.accounts.models import Account

        assert db.session.get(Account, user.account_id).last_login_at is not None


def test_account_with_several_districts_chooses(app, web, parepare, kendal) -> None:
    user = member(app, parepare, "district_admin")
    from tests.fixtures import add_member

    add_member(
        app, kendal, user, "facilitator", scope_kind="village", scope_codes=["33.24.01.2001"]
    )
    set_password(app, user, PASSWORD)
    page = sign_in(web, user.email)
    assert page.request.path == "/auth/choose"
    html = page.get_data(as_text=True)
    assert 'href="/t/kendal/"' in html and 'href="/t/parepare/"' in html
    kendal_page = web.get("/t/kendal/").get_data(as_text=True)
    assert "Fasilitator" in kendal_page and "33.24.01.2001" in kendal_page
    # People page of Parepare for the admin (its old address sends the browser on); a district
    # the account is not in answers 404.
    moved = web.get("/t/parepare/members")
    assert moved.status_code == 301 and moved.headers["Location"] == "/t/parepare/people"
    assert web.get("/t/parepare/people").status_code == 200
    assert web.get("/t/makassar/").status_code == 404


def test_non_member_district_is_404_and_sign_out_needs_csrf(app, web, parepare, kendal) -> None:
    user = set_password(app, member(app, parepare, "viewer"), PASSWORD)
    sign_in(web, user.email)
    assert web.get("/t/kendal/").status_code == 404
    page = web.get("/t/parepare/")
    assert web.post("/auth/logout").status_code == 400  # no CSRF token
    out = web.post(
        "/auth/logout",
        data={"csrf_token": csrf(page.get_data(as_text=True))},
        follow_redirects=True,
    )
    assert out.request.path == "/auth/signed-out"
    assert "Anda sudah keluar" in out.get_data(as_text=True)
    again = web.get("/t/parepare/")
    assert again.status_code == 302 and again.headers["Location"].startswith("/auth/login")


def test_revoked_membership_closes_the_dashboard_on_next_request(app, web, parepare) -> None:
    user = set_password(app, member(app, parepare, "viewer"), PASSWORD)
    assert sign_in(web, user.email).request.path == "/t/parepare/"
    with app.app_context():
        from slrt.auth.memberships.models import Membership
        from slrt.platform.tenancy import tenant_context

        with tenant_context(parepare.ref()):
            db.session.query(Membership).filter_by(
                account_id=user.account_id
            ).one().status = "revoked"
            db.session.commit()
        db.session.remove()
    assert web.get("/t/parepare/").status_code == 404


def test_admin_totp_enrolment_and_second_step(app, web, parepare) -> None:
    admin = set_password(app, member(app, parepare, "district_admin"), PASSWORD)
    sign_in(web, admin.email)
    setup = web.get("/auth/totp/setup")
    html = setup.get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', html).group(1)
    wrong = web.post("/auth/totp/setup", data={"csrf_token": csrf(html), "code": "000000"})
    assert "Kode tidak cocok" in wrong.get_data(as_text=True)
    code = pyotp.TOTP(secret).now()
    done = web.post("/auth/totp/setup", data={"csrf_token": csrf(html), "code": code})
    assert "Verifikasi dua langkah aktif" in done.get_data(as_text=True)
    # Next sign-in asks for the code after the password.
    web.post("/auth/logout", data={"csrf_token": csrf(html)})
    web.delete_cookie("slrt_session")
    page = sign_in(web, admin.email)
    assert page.request.path == "/auth/totp"
    step = page.get_data(as_text=True)
    bad = web.post("/auth/totp", data={"csrf_token": csrf(step), "code": "123456"})
    assert bad.status_code == 401
    totp = pyotp.TOTP(secret)
    fresh = totp.at(time.time() + totp.interval)  # the next step: unused so far
    ok = web.post(
        "/auth/totp", data={"csrf_token": csrf(step), "code": fresh}, follow_redirects=True
    )
    assert ok.request.path == "/t/parepare/"


def test_totp_is_offered_only_to_admins(app, web, parepare) -> None:
    user = set_password(
        app,
        member(app, parepare, "facilitator", scope_kind="village", scope_codes=["73.72.01.1001"]),
        PASSWORD,
    )
    sign_in(web, user.email)
    assert web.get("/auth/totp/setup").status_code == 403


def test_provider_logout_without_hint_asks_first(app, web, parepare) -> None:
    user = set_password(app, member(app, parepare, "viewer"), PASSWORD)
    sign_in(web, user.email)
    page = web.get("/oauth/logout")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Keluar dari SLRT?" in html
    assert web.get("/t/parepare/").status_code == 200  # still signed in
    done = web.post("/oauth/logout", data={"csrf_token": csrf(html)})
    assert done.status_code == 200 and "Anda sudah keluar" in done.get_data(as_text=True)
    assert web.get("/t/parepare/").status_code == 302


def test_no_federation_button_without_configuration(app, web, monkeypatch) -> None:
    monkeypatch.delenv("SLRT_OIDC_ISSUER", raising=False)
    page = web.get("/auth/sign-in").get_data(as_text=True)
    assert "Masuk dengan" not in page
    assert web.get("/auth/federated/start").status_code == 404
    monkeypatch.setenv("SLRT_OIDC_ISSUER", "http://127.0.0.1:9")  # configured but unreachable
    monkeypatch.setenv("SLRT_OIDC_CLIENT_ID", "x")
    assert "Masuk dengan SSO Kemensos" in web.get("/auth/sign-in").get_data(as_text=True)
    down = web.get("/auth/federated/start")
    assert down.status_code == 502 and "tidak dapat dihubungi" in down.get_data(as_text=True)
