"""The district admin console in Chromium, at a desk: Parepare's admin marks two kelurahan as
Kemensos intervention villages and the rest as APBD (as the city did in 2021), adds a Puskesos,
adds a local program with a rule (a wrong rule shows its problem at line and column while it
is typed, then the fixed rule is accepted), and tries the rule on a resident of the registry,
reading the explanation."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from slrt.platform import db
from slrt.tenants.regions.actions import update_village
from slrt.tenants.regions.models import Village
from tests.browser import horizontal_overflow, screenshot, sign_in
from tests.fixtures import flow_catalog, member, set_password
from tests.tenants.districts.pages import in_district, resident

pytest_plugins = ["tests.browser"]  # the chromium, page and phone fixtures
pytestmark = pytest.mark.browser

PASSWORD = "kopi pagi di balai desa"


def _settings(page: Page, link: str) -> None:
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Pengaturan").click()
    page.get_by_role("link", name=link).click()


def _funding(app, tenant) -> dict[str, str]:
    with in_district(app, tenant):
        return dict(db.session.execute(sa.select(Village.name, Village.funding_source)).all())


def test_parepare_admin_sets_up_the_city(app, page: Page, parepare, tmp_path) -> None:
    flow_catalog(app, parepare)  # Dinas Sosial and Dinas Kesehatan exist
    resident(app, parepare)
    with in_district(app, parepare):  # before the console, two kelurahan were on Dana Desa
        for code in ("73.72.02.1001", "73.72.04.1003"):
            village = db.session.execute(sa.select(Village).where(Village.code == code)).scalar()
            update_village(village, {"funding_source": "dana_desa"})
    admin = set_password(app, member(app, parepare, "district_admin"), PASSWORD)
    sign_in(page, admin.email, PASSWORD)
    expect(page).to_have_url(re.compile(r"/t/parepare/$"))

    # Two kelurahan become Kemensos intervention villages.
    _settings(page, "Desa/kelurahan")
    expect(page.get_by_role("heading", name="Desa/kelurahan")).to_be_visible()
    expect(page.locator("#count")).to_have_text("22 desa/kelurahan")
    page.get_by_label("Pilih Lompoe").check()
    page.get_by_label("Pilih Lakessi").check()
    page.get_by_label("Ubah menjadi").select_option(label="Intervensi Kemensos (APBN)")
    screenshot(page, tmp_path, "1-two-ticked")
    page.get_by_role("button", name="Terapkan").click()
    expect(page.get_by_role("status")).to_have_text(
        "2 dari 2 desa/kelurahan diubah: Intervensi Kemensos (APBN)."
    )

    # The rest as APBD: filter the villages that are not intervention villages, change them all.
    page.get_by_label("Desa intervensi").select_option(label="Tidak")
    page.get_by_role("button", name="Saring").click()
    expect(page.locator("#count")).to_have_text("20 desa/kelurahan")
    page.get_by_label("Ubah menjadi").select_option(label="APBD")
    page.get_by_label("Semua 20 desa/kelurahan hasil saringan ini").check()
    page.get_by_role("button", name="Terapkan").click()
    expect(page.get_by_role("status")).to_have_text("2 dari 20 desa/kelurahan diubah: APBD.")
    page.get_by_role("link", name="Hapus saringan").click()
    rows = page.locator("#villages tbody tr")
    expect(rows.filter(has_text="Intervensi Kemensos (APBN)")).to_have_count(2)
    expect(rows.filter(has_text="APBD")).to_have_count(20)
    screenshot(page, tmp_path, "2-villages-marked")
    funding = _funding(app, parepare)
    assert {n for n, f in funding.items() if f == "apbn_kemensos"} == {"Lompoe", "Lakessi"}
    assert list(funding.values()).count("apbd") == 20

    # A Puskesos in Lakessi.
    _settings(page, "Sekretariat dan Puskesos")
    page.get_by_role("link", name="Tambah Puskesos atau sekretariat").click()
    page.get_by_label("Puskesos", exact=True).check()
    page.get_by_label("Nama", exact=True).fill("Puskesos Lakessi")
    page.get_by_label("Desa/kelurahan").select_option(label="Lakessi (Soreang)")
    page.get_by_label("Alamat").fill("Jl. Lasinrang No. 5, Lakessi")
    page.get_by_label("Nomor SK pembentukan").fill("SK Wali Kota Parepare 460/45/2021")
    page.get_by_label("Tanggal SK").fill("2021-07-01")
    page.get_by_label("Tanggal mulai beroperasi").fill("2021-09-01")
    page.get_by_role("button", name="Tambah").click()
    expect(page.get_by_role("heading", name="Puskesos Lakessi")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("Puskesos Lakessi ditambahkan.")
    expect(page.get_by_text("SK Wali Kota Parepare 460/45/2021 · 1 Juli 2021")).to_be_visible()
    screenshot(page, tmp_path, "3-puskesos")

    # A local program with a rule: a wrong rule shows where it is wrong while typing.
    _settings(page, "Program")
    page.get_by_role("link", name="Tambah program daerah").click()
    page.get_by_label("Kode program").fill("ASLUT-PRE")
    page.get_by_label("Nama program").fill("Asistensi Lansia Parepare")
    page.get_by_label("Sektor").select_option(label="Bantuan tunai")
    page.get_by_label("OPD yang menangani").select_option(label="Dinas Sosial")
    page.get_by_label("Dokumen persyaratan").fill("KTP (NIK)\nKartu Keluarga (KK)")
    page.get_by_label("Batas waktu layanan (SLA, hari)").fill("21")
    rule = page.get_by_label("Aturan kelayakan")
    rule.press_sequentially("umur >= 60 and\nterdaftar_dtks and desil <=", delay=5)
    problems = page.locator("#rule-status")
    expect(problems).to_contain_text("Baris 2, kolom 28")
    expect(problems).to_contain_text("aturan berhenti di tengah")
    expect(rule).to_have_attribute("aria-invalid", "true")
    screenshot(page, tmp_path, "4-rule-problem-while-typing")
    rule.press_sequentially(" 4", delay=5)
    expect(problems).to_have_text("Aturan benar.")
    expect(rule).not_to_have_attribute("aria-invalid", "true")
    screenshot(page, tmp_path, "5-rule-fixed")
    page.get_by_role("button", name="Simpan program").click()
    expect(
        page.get_by_role("heading", name="ASLUT-PRE · Asistensi Lansia Parepare")
    ).to_be_visible()
    expect(page.locator("#rule")).to_have_text("umur >= 60 and\nterdaftar_dtks and desil <= 4")
    screenshot(page, tmp_path, "6-program")

    # The rule tried on a resident of the registry, explained.
    page.get_by_label("NIK atau nama warga").fill("Hasnah")
    page.get_by_role("button", name="Cari warga").click()
    page.get_by_role("link", name="Coba untuk Hasnah Lamude").click()
    result = page.locator("#result")
    expect(result).to_contain_text("Memenuhi syarat")
    expect(result).to_contain_text("'umur >= 60' terpenuhi")
    expect(result).to_contain_text("in_dtks = true: 'terdaftar_dtks' terpenuhi")
    expect(result).to_contain_text("desil = 2: 'desil <= 4' terpenuhi")
    screenshot(page, tmp_path, "7-tried-on-a-resident")
    assert horizontal_overflow(page) == 0


def test_the_village_list_fits_a_phone(app, phone: Page, parepare, tmp_path) -> None:
    admin = set_password(app, member(app, parepare, "district_admin"), PASSWORD)
    sign_in(phone, admin.email, PASSWORD)
    phone.goto("/t/parepare/villages")
    expect(phone.locator("#count")).to_have_text("22 desa/kelurahan")
    screenshot(phone, tmp_path, "villages-phone")
    assert horizontal_overflow(phone) == 0
