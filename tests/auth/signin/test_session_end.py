"""Ending an account's other web sessions at once: password change, account disabled,
membership revoked. Two Flask test clients are two browsers signed in as the same account."""

from __future__ import annotations

import pytest

from tests.auth.signin.test_web_signin import PASSWORD, csrf, sign_in
from tests.fixtures import add_member, member, set_password

NEW_PASSWORD = "teh manis di pos ronda"


@pytest.fixture
def browsers(app, monkeypatch):
    monkeypatch.setenv("SLRT_PUBLIC_URL", "http://localhost")
    return app.test_client(), app.test_client()


def _signed_out(browser, path: str = "/t/parepare/") -> bool:
    page = browser.get(path)
    return page.status_code == 302 and page.headers["Location"].startswith("/auth/login")


def test_password_change_signs_out_the_other_browser(app, browsers, parepare) -> None:
    laptop, phone = browsers
    user = set_password(app, member(app, parepare, "viewer"), PASSWORD)
    assert sign_in(laptop, user.email).request.path == "/t/parepare/"
    assert sign_in(phone, user.email).request.path == "/t/parepare/"
    form = laptop.get("/auth/password").get_data(as_text=True)
    done = laptop.post(
        "/auth/password",
        data={
            "csrf_token": csrf(form),
            "current": PASSWORD,
            "password": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )
    assert "Kata sandi diganti" in done.get_data(as_text=True)
    # The phone is signed out on its next request, at the app and at the provider...
    assert _signed_out(phone)
    assert phone.get("/auth/password").headers["Location"].startswith("/auth/sign-in")
    # ...while the browser that changed the password keeps working.
    assert laptop.get("/t/parepare/").status_code == 200
    assert sign_in(phone, user.email, NEW_PASSWORD).request.path == "/t/parepare/"


def test_password_change_ends_a_session_waiting_for_its_totp_code(app, browsers, parepare) -> None:
    """Someone who knew the old password and sits at the TOTP step is sent back to sign in."""
    import pyotp

    from slrt.auth.accounts.models import Account
    from slrt.platform import db

    owner, intruder = browsers
    admin = set_password(app, member(app, parepare, "district_admin"), PASSWORD)
    assert sign_in(owner, admin.email).request.path == "/t/parepare/"
    with app.app_context():
        db.session.get(Account, admin.account_id).totp_secret = pyotp.random_base32()
        db.session.commit()
        db.session.remove()
    assert sign_in(intruder, admin.email).request.path == "/auth/totp"
    form = owner.get("/auth/password").get_data(as_text=True)
    owner.post(
        "/auth/password",
        data={
            "csrf_token": csrf(form),
            "current": PASSWORD,
            "password": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )
    step = intruder.get("/auth/totp")
    assert step.status_code == 302 and step.headers["Location"] == "/auth/sign-in"


def test_disabled_account_stays_signed_out_after_re_enabling(
    app, browsers, parepare, kemensos_admin
) -> None:
    laptop, _ = browsers
    api = app.test_client()
    user = set_password(app, member(app, parepare, "viewer"), PASSWORD)
    assert sign_in(laptop, user.email).request.path == "/t/parepare/"
    url = f"/api/v1/accounts/{user.account_id}"
    for status in ("disabled", "active"):
        tag = api.get(url, headers=kemensos_admin.headers).headers["ETag"]
        changed = api.patch(
            url, json={"status": status}, headers={**kemensos_admin.headers, "If-Match": tag}
        )
        assert changed.status_code == 200
    # Disabling ended the session itself, so enabling the account again does not revive it.
    assert _signed_out(laptop)


def test_revoked_membership_ends_the_accounts_web_sessions(
    app, browsers, parepare, kendal, parepare_admin
) -> None:
    laptop, _ = browsers
    api = app.test_client()
    user = member(app, parepare, "viewer")
    add_member(app, kendal, user, "viewer")
    set_password(app, user, PASSWORD)
    sign_in(laptop, user.email)
    assert laptop.get("/t/kendal/").status_code == 200
    found = api.get("/api/v1/t/parepare/memberships?role=viewer", headers=parepare_admin.headers)
    mine = [m for m in found.json if m["account_id"] == str(user.account_id)]
    url = f"/api/v1/t/parepare/memberships/{mine[0]['id']}"
    tag = api.get(url, headers=parepare_admin.headers).headers["ETag"]
    gone = api.delete(url, headers={**parepare_admin.headers, "If-Match": tag})
    assert gone.status_code == 204
    # Signed out everywhere; signing in again reaches the district it still belongs to.
    assert _signed_out(laptop, "/t/kendal/")
    assert sign_in(laptop, user.email).request.path == "/t/kendal/"


def test_the_session_index_forgets_ended_sessions(app, browsers, parepare) -> None:
    from slrt.auth.signin.sessions import ACCOUNT_INDEX
    from slrt.platform.redis_client import get_redis

    laptop, _ = browsers
    user = set_password(app, member(app, parepare, "viewer"), PASSWORD)
    for _ in range(3):
        page = sign_in(laptop, user.email)
        laptop.post("/auth/logout", data={"csrf_token": csrf(page.get_data(as_text=True))})
    sign_in(laptop, user.email)
    index = get_redis().smembers(ACCOUNT_INDEX + str(user.account_id))
    assert {sid.decode() for sid in index} == {laptop.get_cookie("slrt_session").value}
