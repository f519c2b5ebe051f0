"""A facilitator on a phone registers a household and its two members in Chromium: the NIK is
checked as it is typed and a wrong one is refused with its reason in words, then corrected."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser import horizontal_overflow, screenshot, sign_in
from tests.fixtures import member, set_password
from tests.web import PASSWORD

pytest_plugins = ["tests.browser"]
pytestmark = pytest.mark.browser

LOMPOE = "73.72.01.1004"


def test_facilitator_registers_a_household_with_two_members(app, phone, parepare, tmp_path):
    user = member(app, parepare, "facilitator", scope_kind="village", scope_codes=[LOMPOE])
    set_password(app, user, PASSWORD)
    sign_in(phone, user.email, PASSWORD)
    phone.get_by_role("navigation", name="Menu").get_by_role("link", name="Registrasi").click()
    expect(phone.get_by_role("heading", name="Registrasi keluarga dan warga")).to_be_visible()
    phone.get_by_role("link", name="Daftarkan keluarga baru").first.click()
    phone.get_by_label("Nomor KK").fill("7372010101110001")
    phone.get_by_label("Alamat").fill("Jl. Lompoe 1, RT 02/RW 01")
    # One village in the facilitator's scope: already chosen.
    expect(phone.get_by_label("Desa/kelurahan")).to_have_value(LOMPOE)
    screenshot(phone, tmp_path, "1-household-form")
    assert horizontal_overflow(phone) == 0
    phone.get_by_role("button", name="Simpan dan tambah anggota").click()
    expect(phone.get_by_role("heading", name="Tambah anggota keluarga")).to_be_visible()
    expect(phone.get_by_role("status")).to_contain_text("Keluarga terdaftar")

    # The head of the household, a valid NIK: the page says what the NIK tells.
    nik = phone.get_by_label("NIK", exact=True)
    nik.fill("7372010101900001")
    check = phone.locator("#f-nik-check")
    expect(check).to_contain_text("NIK sah: Laki-laki, lahir 1 Januari 1990, Kecamatan Bacukiki")
    phone.get_by_label("Nama lengkap").fill("Andi Baso")
    expect(phone.get_by_label("Hubungan dalam keluarga")).to_have_value("kepala_keluarga")
    phone.get_by_role("button", name="Simpan, tambah anggota lain").click()
    expect(phone.get_by_role("status")).to_contain_text("Andi Baso ditambahkan")

    # The wife: a NIK with an impossible birth date is refused as it is typed.
    nik = phone.get_by_label("NIK", exact=True)
    nik.press_sequentially("7372017202920002", delay=20)
    expect(check).to_contain_text("Bagian tanggal lahir NIK (720292) bukan tanggal yang sah")
    expect(nik).to_have_attribute("aria-invalid", "true")
    screenshot(phone, tmp_path, "2-nik-refused-as-typed")
    assert horizontal_overflow(phone) == 0
    # Sent anyway (a phone without the script would do the same): the same reason, by the field.
    phone.get_by_label("Nama lengkap").fill("Sitti Aminah")
    phone.get_by_label("Hubungan dalam keluarga").select_option("istri")
    phone.get_by_role("button", name="Simpan dan selesai").click()
    expect(phone.get_by_role("alert")).to_contain_text("Periksa isian yang ditandai")
    expect(phone.locator("#f-nik-check")).to_contain_text("bukan tanggal yang sah")
    expect(phone.get_by_label("Nama lengkap")).to_have_value("Sitti Aminah")
    # Corrected: 45 = the 5th, plus 40 for a woman.
    nik = phone.get_by_label("NIK", exact=True)
    nik.fill("")
    nik.press_sequentially("7372014502920002", delay=20)
    expect(phone.locator("#f-nik-check")).to_contain_text(
        "NIK sah: Perempuan, lahir 5 Februari 1992"
    )
    expect(nik).not_to_have_attribute("aria-invalid", "true")
    phone.get_by_text("Penyandang disabilitas").click()
    phone.get_by_label("Nomor HP").fill("0812 3456 7890")
    screenshot(phone, tmp_path, "3-second-member")
    phone.get_by_role("button", name="Simpan dan selesai").click()

    expect(phone).to_have_url(re.compile(r"/registry/households/[0-9a-f-]{36}$"))
    expect(phone.get_by_role("heading", name="Anggota keluarga (2)")).to_be_visible()
    members = phone.locator("tr.member")
    expect(members.filter(has_text="Andi Baso")).to_contain_text("Kepala keluarga")
    expect(members.filter(has_text="Sitti Aminah")).to_contain_text("Istri")
    expect(members.filter(has_text="Sitti Aminah")).to_contain_text("Perempuan")
    screenshot(phone, tmp_path, "4-household")
    assert horizontal_overflow(phone) == 0

    # Typing a NIK already registered leads to its person.
    phone.get_by_role("link", name="Tambah anggota").click()
    phone.get_by_label("NIK", exact=True).fill("7372010101900001")
    expect(phone.locator("#f-nik-check")).to_contain_text("sudah terdaftar atas nama Andi Baso")
    phone.get_by_role("link", name="Buka data orang ini").click()
    expect(phone.get_by_role("heading", name="Andi Baso")).to_be_visible()
    screenshot(phone, tmp_path, "5-person")
    assert horizontal_overflow(phone) == 0
