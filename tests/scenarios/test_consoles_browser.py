"""The Kemensos console and the district's People pages in a real Chromium, with mail going
through a real SMTP server started by the test: a Kemensos admin finds Parepare in the national
table, opens its figures and sees a chart, and is refused when it tries to make itself the
district's admin; a provincial viewer of Jawa Tengah sees Kendal and not Parepare; a district
admin invites a facilitator by email, the facilitator accepts on a phone and signs in; a
forgotten password is reset through the mailed link, which works once."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from rq.worker import DequeueStrategy

from slrt.platform import db
from tests.browser import fill_sign_in, horizontal_overflow, screenshot, sign_in, sign_out
from tests.fixtures import make_account, member, set_password
from tests.mailserver import link_in
from tests.tenants.reports.test_kemensos_console import aggregates

pytest_plugins = ["tests.browser", "tests.mailserver"]
pytestmark = pytest.mark.browser

PASSWORD = "kopi pagi di balai desa"


def run_jobs() -> None:
    from slrt.platform.jobs.worker import make_worker

    make_worker().work(burst=True, dequeue_strategy=DequeueStrategy.ROUND_ROBIN)


def chart_loaded(page: Page, alt_start: str) -> bool:
    """The chart image came and the browser could draw it (a broken SVG has no width)."""
    image = page.locator(f'img[alt^="{alt_start}"]').first
    expect(image).to_be_visible()
    page.wait_for_function("(img) => img.complete", arg=image.element_handle())
    return page.evaluate("(img) => img.naturalWidth > 0", image.element_handle())


def test_a_kemensos_admin_finds_parepare_sees_a_chart_and_cannot_become_its_admin(
    app, page, parepare, kendal, tmp_path
) -> None:
    aggregates(app, parepare, 14, intakes_per_day=3, overdue=2)
    aggregates(app, kendal, 14, intakes_per_day=9)
    admin = set_password(
        app, make_account(app, "admin@kemensos.go.id", platform_role="kemensos_admin"), PASSWORD
    )
    sign_in(page, admin.email, PASSWORD)
    expect(page).to_have_url(re.compile(r"/auth/choose$"))
    page.get_by_role("link", name="Konsol Kemensos").click()
    expect(page.get_by_role("heading", name="Kabupaten/kota", exact=True)).to_be_visible()
    table = page.locator("#districts")
    expect(table.locator("tr.district-row")).to_have_count(2)
    screenshot(page, tmp_path, "kemensos-national")
    # Sort by intakes, busiest first: Kendal leads; then find Parepare by name.
    page.get_by_role("link", name="Kasus 30 hari").click()
    page.get_by_role("link", name="Kasus 30 hari").click()
    expect(table.locator("tr.district-row").first).to_contain_text("Kabupaten Kendal")
    page.get_by_label("Nama atau kode").fill("Parepare")
    page.get_by_role("button", name="Tampilkan").click()
    expect(table.locator("tr.district-row")).to_have_count(1)
    page.get_by_role("link", name="Kota Parepare").click()
    expect(page.get_by_role("heading", name="Kota Parepare")).to_be_visible()
    expect(page.locator("#figures")).to_contain_text("rujukan terlambat")
    assert chart_loaded(page, "Grafik garis")
    assert chart_loaded(page, "Grafik batang")
    expect(page.locator("#programs")).to_contain_text("PBI-JK")
    screenshot(page, tmp_path, "kemensos-parepare")
    # Into the district as itself: it may invite, but not itself as the district's admin.
    page.goto("/t/parepare/people/invite")
    page.get_by_label("Email").first.fill(admin.email)
    page.get_by_label("Peran").select_option(label="Admin Kabupaten/Kota (Dinas Sosial)")
    page.get_by_role("button", name="Undang", exact=True).click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Akun dengan peran platform (Kemensos atau pemantau provinsi)")
    screenshot(page, tmp_path, "kemensos-refused")
    with app.app_context():
        from slrt.auth.memberships.models import Invitation
        from slrt.platform.tenancy import tenant_context

        with tenant_context(parepare.ref()):
            assert db.session.query(Invitation).count() == 0
        db.session.remove()


def test_a_provincial_viewer_of_jawa_tengah_sees_kendal_not_parepare(
    app, page, parepare, kendal, tmp_path
) -> None:
    aggregates(app, parepare, 3, intakes_per_day=1)
    aggregates(app, kendal, 3, intakes_per_day=2)
    viewer = set_password(
        app,
        make_account(
            app, "pemantau@jatengprov.go.id", platform_role="provincial_viewer", province_code="33"
        ),
        PASSWORD,
    )
    sign_in(page, viewer.email, PASSWORD)
    expect(page.get_by_role("link", name="Kabupaten Kendal")).to_be_visible()
    expect(page.get_by_role("link", name="Kota Parepare")).to_have_count(0)
    page.get_by_role("link", name="Konsol Kemensos").click()
    table = page.locator("#districts")
    expect(table).to_contain_text("Kabupaten Kendal")
    expect(table).not_to_contain_text("Parepare")
    expect(page.get_by_role("navigation", name="Menu")).not_to_contain_text("Jejak audit")
    screenshot(page, tmp_path, "provincial-national")
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Provinsi").click()
    expect(page.locator("#provinces")).not_to_contain_text("SULAWESI SELATAN")
    response = page.goto(f"/kemensos/districts/{parepare.id}")
    assert response.status == 404
    page.goto(f"/kemensos/districts/{kendal.id}")
    expect(page.get_by_role("heading", name="Kabupaten Kendal")).to_be_visible()
    screenshot(page, tmp_path, "provincial-kendal")


def test_a_district_admin_invites_a_facilitator_by_mail_who_accepts_and_signs_in(
    app, page, phone, parepare, smtp, tmp_path
) -> None:
    admin = set_password(app, member(app, parepare, "district_admin"), PASSWORD)
    sign_in(page, admin.email, PASSWORD)
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Pengguna").click()
    page.get_by_role("link", name="Undang pengguna").click()
    page.get_by_label("Email").first.fill("ani.fasilitator@example.id")
    page.get_by_label("Nama (boleh kosong)").fill("Ani Fasilitator")
    page.get_by_label("Peran").select_option(label="Fasilitator SLRT / TKSK / Pekerja Sosial")
    page.get_by_label("Desa/kelurahan tertentu").check()
    page.get_by_label("Bacukiki (73.72.01)", exact=True).check()
    page.get_by_role("button", name="Tampilkan desa/kelurahan").click()
    page.get_by_label("Lompoe (73.72.01.1004)").check()
    screenshot(page, tmp_path, "invite-form")
    page.get_by_role("button", name="Undang", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text(
        "Undangan dikirim ke ani.fasilitator@example.id lewat email."
    )
    expect(page.locator("tr.invitation")).to_contain_text("Kelurahan Lompoe")
    screenshot(page, tmp_path, "invitation-pending")
    run_jobs()
    [message] = smtp.wait_for(1)
    assert message["To"] == "ani.fasilitator@example.id"
    link = link_in(message, "/auth/invitations/parepare/")
    page.reload()
    expect(page.locator("tr.invitation")).to_contain_text("Email terkirim")

    # The facilitator, on a phone, follows the mailed link.
    phone.goto(link)
    expect(phone.get_by_role("heading", name="Undangan ke Kota Parepare")).to_be_visible()
    phone.get_by_label("Nama lengkap").fill("Ani Fasilitator")
    phone.get_by_label("Kata sandi baru").fill(PASSWORD)
    phone.get_by_label("Ulangi kata sandi").fill(PASSWORD)
    assert horizontal_overflow(phone) == 0
    screenshot(phone, tmp_path, "invitation-accept-phone")
    phone.get_by_role("button", name="Buat akun dan terima").click()
    expect(phone).to_have_url(re.compile(r"/t/parepare/$"))
    expect(phone.locator("#role")).to_contain_text("Fasilitator")
    expect(phone.locator("#scope")).to_contain_text("Kelurahan Lompoe")
    sign_out(phone)
    phone.goto("/auth/login")
    fill_sign_in(phone, "ani.fasilitator@example.id", PASSWORD)
    expect(phone).to_have_url(re.compile(r"/t/parepare/$"))
    assert horizontal_overflow(phone) == 0
    screenshot(phone, tmp_path, "facilitator-home-phone")
    page.reload()
    expect(page.locator("tr.member").filter(has_text="Ani Fasilitator")).to_be_visible()


def test_a_forgotten_password_is_reset_through_the_mailed_link_once(
    app, phone, parepare, smtp, tmp_path
) -> None:
    from slrt.platform.mail import deliver_due

    user = set_password(app, member(app, parepare, "facilitator"), PASSWORD)
    phone.goto("/auth/login")
    phone.get_by_role("link", name="Lupa kata sandi?").click()
    phone.get_by_label("Email").fill(user.email)
    phone.get_by_role("button", name="Kirim tautan").click()
    expect(phone.get_by_role("status")).to_contain_text("Jika alamat itu terdaftar")
    assert horizontal_overflow(phone) == 0
    screenshot(phone, tmp_path, "forgot-sent-phone")
    with app.app_context():
        assert deliver_due() == 1  # the scheduler's round
        db.session.remove()
    [message] = smtp.wait_for(1)
    link = link_in(message, "/auth/reset/")
    phone.goto(link)
    new = "teh manis sore di posyandu"
    phone.get_by_label("Kata sandi baru", exact=True).fill(new)
    phone.get_by_label("Ulangi kata sandi baru").fill(new)
    phone.get_by_role("button", name="Simpan kata sandi").click()
    expect(phone.get_by_role("heading", name="Kata sandi diganti")).to_be_visible()
    screenshot(phone, tmp_path, "reset-done-phone")
    phone.goto(link)
    expect(phone.get_by_role("heading", name="Tautan tidak berlaku")).to_be_visible()
    phone.goto("/auth/login")
    fill_sign_in(phone, user.email, new)
    expect(phone).to_have_url(re.compile(r"/t/parepare/$"))
