"""A resident on a phone, not signed in: sends a complaint through the district's public form,
gets the receipt, and opens the ticket's status through the receipt's link from another
browser; the ticket check page points to that link."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser import PHONE, horizontal_overflow, new_context, screenshot

pytest_plugins = ["tests.browser"]
pytestmark = pytest.mark.browser


def test_resident_sends_the_public_form_and_opens_the_status(
    app, chromium, live_server, phone, parepare, tmp_path
):
    phone.goto("/t/parepare/pengaduan")
    expect(
        phone.get_by_role("heading", name="Sampaikan pengaduan atau permintaan layanan")
    ).to_be_visible()
    assert horizontal_overflow(phone) == 0
    phone.get_by_label("Permintaan layanan").check()
    phone.get_by_label("Desa/kelurahan tempat tinggal").select_option(label="Lompoe")
    phone.get_by_label("Isi pesan").fill("Anak kami butuh kursi roda; sudah dua bulan belum ada.")
    phone.get_by_label("Nama", exact=True).fill("Ibu Rahma")
    phone.get_by_label("NIK").fill("12345")
    screenshot(phone, tmp_path, "1-public-form")
    phone.get_by_role("button", name="Kirim pesan").click()
    # A NIK is optional, but one given must be sound: the reason in words, nothing lost.
    expect(phone.get_by_role("alert")).to_contain_text("Periksa isian yang ditandai")
    expect(phone.get_by_text("NIK harus 16 digit angka (diterima 5 karakter)")).to_be_visible()
    expect(phone.get_by_label("Isi pesan")).to_have_value(
        "Anak kami butuh kursi roda; sudah dua bulan belum ada."
    )
    screenshot(phone, tmp_path, "2-public-form-nik-refused")
    assert horizontal_overflow(phone) == 0
    phone.get_by_label("NIK").fill("")
    phone.get_by_role("button", name="Kirim pesan").click()

    expect(phone).to_have_url(re.compile(r"/t/parepare/cek-tiket/[A-Za-z0-9_-]{43}$"))
    notice = phone.get_by_role("status")
    expect(notice).to_contain_text("Pesan Anda terkirim dengan nomor tiket 7372-")
    ticket = re.search(r"7372-\d{4}-\d{6}", notice.inner_text()).group(0)
    expect(phone.get_by_role("heading", name=f"Tiket {ticket}")).to_be_visible()
    expect(phone.locator("#status")).to_have_text("Terdaftar")
    expect(phone.get_by_text("hanya tautan ini yang membuka status tiket")).to_be_visible()
    expect(phone.locator(".qr svg")).to_be_visible()
    screenshot(phone, tmp_path, "3-receipt")
    assert horizontal_overflow(phone) == 0
    link = phone.locator("#status-link").get_attribute("href")
    assert link == phone.url

    # Later, on another phone with no session: the link alone opens the status, in English too.
    context = new_context(chromium, live_server.url, viewport=PHONE, is_mobile=True, has_touch=True)
    other = context.new_page()
    other.goto(link)
    expect(other.get_by_role("heading", name=f"Tiket {ticket}")).to_be_visible()
    expect(other.get_by_text("Ibu Rahma")).to_have_count(0)
    other.get_by_role("link", name="English").click()
    expect(other.get_by_role("heading", name=f"Ticket {ticket}")).to_be_visible()
    expect(other.locator("#status")).to_have_text("Registered")
    expect(other.get_by_text("Simpan tautan ini")).to_have_count(0)
    screenshot(other, tmp_path, "4-status-english")
    assert horizontal_overflow(other) == 0
    context.close()

    # The ticket check says where the link is.
    phone.goto("/t/parepare/cek-tiket")
    expect(phone.get_by_text("Punya tanda terima dengan kode QR?")).to_be_visible()
    screenshot(phone, tmp_path, "5-ticket-check")
    assert horizontal_overflow(phone) == 0
