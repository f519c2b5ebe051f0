"""The web pages as people use them, in a real Chromium against the app on a loopback server:
sign-in, district choice, what each role sees, errors and throttling, English, sign-out, phones."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser import (
    close_checked,
    fill_sign_in,
    horizontal_overflow,
    new_context,
    screenshot,
    sign_in,
    sign_out,
)
from tests.fixtures import add_member, member, set_password

pytest_plugins = ["tests.browser"]  # the chromium, page and phone fixtures
pytestmark = pytest.mark.browser

PASSWORD = "kopi pagi di balai desa"


def person(app, tenant, role: str, **kw):
    return set_password(app, member(app, tenant, role, **kw), PASSWORD)


def members_link(page: Page):
    menu = page.get_by_role("navigation", name="Menu")
    return menu.get_by_role("link", name="Pengguna", exact=True)


def test_facilitator_of_one_desa_sees_role_and_desa_only(app, page, kendal) -> None:
    user = person(app, kendal, "facilitator", scope_kind="village", scope_codes=["33.24.01.2001"])
    sign_in(page, user.email, PASSWORD)
    expect(page).to_have_url(re.compile(r"/t/kendal/$"))
    expect(page.get_by_role("heading", name="Kabupaten Kendal")).to_be_visible()
    expect(page.locator("#role")).to_contain_text("Fasilitator")
    expect(page.locator("#scope")).to_contain_text("Desa Blumah (33.24.01.2001)")
    # The district admin's pages are not offered to a facilitator.
    expect(members_link(page)).to_have_count(0)
    # Not a members reader: the members page is refused, naming the permission in words.
    page.goto("/t/kendal/members")
    expect(page.get_by_text("Anda tidak memiliki izin 'Melihat daftar pengguna'.")).to_be_visible()
    expect(page.get_by_text("members.read")).to_have_count(0)
    expect(page.locator("tr.member")).to_have_count(0)


def test_supervisor_sees_own_kecamatan_and_only_its_members(app, page, parepare) -> None:
    user = person(app, parepare, "supervisor", scope_kind="kecamatan", scope_codes=["73.72.01"])
    inside = member(
        app, parepare, "facilitator", scope_kind="village", scope_codes=["73.72.01.1004"]
    )
    outside = member(
        app, parepare, "facilitator", scope_kind="village", scope_codes=["73.72.02.1001"]
    )
    admin = member(app, parepare, "district_admin")
    sign_in(page, user.email, PASSWORD)
    expect(page).to_have_url(re.compile(r"/t/parepare/$"))
    expect(page.locator("#role")).to_contain_text("Supervisor")
    expect(page.locator("#scope")).to_contain_text("Kecamatan Bacukiki (73.72.01)")
    members_link(page).click()
    expect(page).to_have_url(re.compile(r"/t/parepare/people$"))
    rows = page.locator("tr.member")
    expect(rows.filter(has_text=inside.email)).to_contain_text("Kelurahan Lompoe")
    expect(rows.filter(has_text=user.email)).to_have_count(1)
    expect(rows.filter(has_text=outside.email)).to_have_count(0)
    expect(rows.filter(has_text=admin.email)).to_have_count(0)
    expect(rows).to_have_count(2)


def test_district_admin_sees_every_menu_item_and_every_member(app, page, parepare) -> None:
    from slrt.tenants.home.web import MENU

    user = person(app, parepare, "district_admin")
    others = [
        member(app, parepare, "facilitator", scope_kind="village", scope_codes=["73.72.02.1001"]),
        member(app, parepare, "supervisor", scope_kind="kecamatan", scope_codes=["73.72.03"]),
        member(app, parepare, "front_office"),
    ]
    sign_in(page, user.email, PASSWORD)
    expect(page.locator("#role")).to_contain_text("Admin")
    expect(page.locator("#scope")).to_contain_text("Seluruh Kota Parepare")
    menu = page.get_by_role("navigation", name="Menu").get_by_role("link")
    expect(menu).to_have_count(len(MENU))
    for item in MENU:
        # exact: "Layanan" is also part of "Daftarkan layanan"
        expect(
            page.get_by_role("navigation", name="Menu").get_by_role(
                "link", name=str(item.label), exact=True
            )
        ).to_be_visible()
    members_link(page).click()
    rows = page.locator("tr.member")
    expect(rows).to_have_count(1 + len(others))
    for other in [user, *others]:
        expect(rows.filter(has_text=other.email)).to_be_visible()


def test_account_in_two_districts_chooses_and_the_url_carries_it(
    app, page, parepare, kendal
) -> None:
    user = person(app, parepare, "district_admin")
    add_member(
        app, kendal, user, "facilitator", scope_kind="village", scope_codes=["33.24.01.2002"]
    )
    sign_in(page, user.email, PASSWORD)
    expect(page).to_have_url(re.compile(r"/auth/choose$"))
    expect(page.get_by_role("heading", name="Pilih kabupaten/kota")).to_be_visible()
    page.get_by_role("link", name="Kabupaten Kendal").click()
    expect(page).to_have_url(re.compile(r"/t/kendal/$"))
    expect(page.locator("#role")).to_contain_text("Fasilitator")
    expect(page.locator("#scope")).to_contain_text("Kediten")
    # Switching back to the chooser and into the other district changes role with the URL.
    page.get_by_role("link", name="Ganti kabupaten/kota").click()
    page.get_by_role("link", name="Kota Parepare").click()
    expect(page).to_have_url(re.compile(r"/t/parepare/$"))
    expect(page.locator("#scope")).to_contain_text("Seluruh Kota Parepare")


def test_wrong_password_then_throttled(app, page, parepare, tmp_path) -> None:
    from slrt.auth.signin.throttle import ACCOUNT_LIMIT

    user = person(app, parepare, "viewer")
    sign_in(page, user.email, "not the password")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Email/nomor HP atau kata sandi salah.")
    expect(alert).not_to_contain_text("Wrong email or password.")
    # The email stays filled in; the person only retypes the password.
    expect(page.get_by_label("Email")).to_have_value(user.email)
    for _ in range(ACCOUNT_LIMIT - 1):
        page.get_by_label("Kata sandi").fill("still wrong")
        page.get_by_role("button", name="Masuk").click()
        expect(alert).to_be_visible()
    expect(alert).to_contain_text("Terlalu banyak percobaan masuk yang gagal")
    screenshot(page, tmp_path, "throttled")
    # Even the right password waits now.
    fill_sign_in(page, user.email, PASSWORD)
    expect(alert).to_contain_text("Terlalu banyak percobaan")
    expect(page).to_have_url(re.compile(r"/auth/sign-in"))


def test_english_switch_shows_english_labels(app, page, parepare, tmp_path) -> None:
    user = person(app, parepare, "viewer")
    page.goto("/auth/login")
    expect(page.get_by_role("heading", name="Masuk")).to_be_visible()
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    expect(page.get_by_text("Kata sandi")).to_be_hidden()
    page.get_by_label("Email").fill(user.email)
    # Named by what is shown: the hidden Indonesian label is not part of the name.
    page.get_by_role("textbox", name="Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    # The choice stays for the next pages.
    expect(page).to_have_url(re.compile(r"/t/parepare/$"))
    expect(page.get_by_text("Role", exact=True)).to_be_visible()
    expect(page.get_by_text("Peran", exact=True)).to_be_hidden()
    expect(page.get_by_role("button", name="Sign out", exact=True)).to_be_visible()
    screenshot(page, tmp_path, "dashboard-english")
    # And back to Bahasa Indonesia.
    page.get_by_role("link", name="Bahasa Indonesia").click()
    expect(page.get_by_text("Peran", exact=True)).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "id")


def test_indonesian_leads_in_a_browser_set_to_english(chromium, live_server) -> None:
    context = new_context(chromium, live_server.url, locale="en-US")
    page = context.new_page()
    page.goto("/auth/login")
    expect(page.get_by_text("Kata sandi", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="English")).to_be_visible()
    close_checked(context)


def test_sign_out_ends_the_session(app, page, parepare) -> None:
    user = person(app, parepare, "viewer")
    sign_in(page, user.email, PASSWORD)
    expect(page).to_have_url(re.compile(r"/t/parepare/$"))
    expect(page.locator("#role")).to_be_visible()
    sign_out(page)
    page.go_back()
    expect(page.locator("#role")).to_have_count(0)
    expect(page.get_by_role("heading", name="Masuk")).to_be_visible()
    page.goto("/t/parepare/")
    expect(page).to_have_url(re.compile(r"/auth/sign-in"))
    page.reload()
    expect(page.locator("#role")).to_have_count(0)


def test_pages_fit_a_phone(app, phone, parepare, tmp_path) -> None:
    user = person(app, parepare, "district_admin")
    phone.goto("/auth/login")
    expect(phone.get_by_role("heading", name="Masuk")).to_be_visible()
    screenshot(phone, tmp_path, "sign-in-phone")
    assert horizontal_overflow(phone) == 0
    fill_sign_in(phone, user.email, PASSWORD)
    expect(phone.locator("#role")).to_be_visible()
    screenshot(phone, tmp_path, "dashboard-phone")
    assert horizontal_overflow(phone) == 0
    members_link(phone).click()
    expect(phone.locator("tr.member")).to_have_count(1)
    screenshot(phone, tmp_path, "members-phone")
    assert horizontal_overflow(phone) == 0


def test_demo_users_printed_by_slrt_up_see_what_their_scope_allows(
    app, chromium, live_server, monkeypatch
) -> None:
    """The sign-in details `slrt up` prints work in a browser, and the
    district admin, supervisor and facilitator of Kendal each see their own scope."""
    from slrt.platform import db
    from slrt.platform.commands.demo import load_demo

    monkeypatch.setenv("SLRT_DEMO", "1")
    with app.app_context():
        printed = "\n".join(load_demo())
        db.session.remove()
    assert f"Sign in at {live_server.url}/auth/login" in printed
    passwords = dict(re.findall(r"^\s+(\S+@demo\.slrt\.id)\s+(\S+)$", printed, re.MULTILINE))
    admin, supervisor, facilitator = (
        f"{who}.kendal@demo.slrt.id" for who in ("admin", "supervisor", "fasilitator")
    )

    def signed_in(email: str) -> Page:
        page = new_context(chromium, live_server.url).new_page()
        sign_in(page, email, passwords[email])
        expect(page).to_have_url(re.compile(r"/t/kendal/$"))
        return page

    page = signed_in(admin)
    expect(page.locator("#scope")).to_contain_text("Seluruh Kabupaten Kendal")
    members_link(page).click()
    for email in (admin, supervisor, facilitator):
        expect(page.locator("tr.member").filter(has_text=email)).to_be_visible()
    close_checked(page.context)

    page = signed_in(supervisor)
    expect(page.locator("#role")).to_contain_text("Supervisor")
    expect(page.locator("#scope")).to_contain_text("Kecamatan Plantungan (33.24.01)")
    members_link(page).click()
    rows = page.locator("tr.member")
    expect(rows.filter(has_text=facilitator)).to_be_visible()
    expect(rows.filter(has_text=admin)).to_have_count(0)
    for region in rows.locator("td:nth-child(3)").all_inner_texts():
        assert "33.24.01" in region, region
    close_checked(page.context)

    page = signed_in(facilitator)
    expect(page.locator("#role")).to_contain_text("Fasilitator")
    expect(page.locator("#scope")).to_contain_text("Desa Blumah (33.24.01.2001)")
    expect(members_link(page)).to_have_count(0)
    close_checked(page.context)
