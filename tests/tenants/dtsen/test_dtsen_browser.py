"""DTSEN pages in Chromium: the district admin, at a desk, uploads a desil file whose KK column
has a spelling nobody knows, maps it by its label, runs the dry run and applies it; a
facilitator, on a phone, reads the reconciliation of their village list by list, and the SLRT
manager downloads it for the village meeting."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.browser import horizontal_overflow, screenshot, sign_in
from tests.fixtures import member, set_password
from tests.platform.jobs.test_jobs import run_burst
from tests.tenants.dtsen.files import (
    ANDI_KK,
    HASNAH_KK,
    LOMPOE,
    PREVIOUS,
    THIS,
    WA_ODE_KK,
    bnba_xlsx,
    desil_csv,
    registry,
)
from tests.tenants.dtsen.test_import import check_and_apply, upload
from tests.web import PASSWORD

pytest_plugins = ["tests.browser"]
pytestmark = pytest.mark.browser

BNBA_MAPPING = ["", "nik", "nama", "no_kk", "hubungan", "alamat", "kode_desa", "desil", ""]


def _previous_quarter(app, parepare) -> None:
    """Lompoe's registry and last quarter's BNBA, through the API."""
    client = app.test_client()
    bo = member(app, parepare, "back_office")
    registry(client, bo)
    bnba = upload(client, bo, bnba_xlsx(), "BNBA.xlsx", "bnba", PREVIOUS).json
    check_and_apply(client, bo, bnba, [m or None for m in BNBA_MAPPING])


def test_the_admin_maps_a_column_by_hand_and_applies_after_the_dry_run(
    app, live_server, page, parepare, tmp_path, monkeypatch
):
    _previous_quarter(app, parepare)
    admin = set_password(app, member(app, parepare, "district_admin"), PASSWORD)
    sign_in(page, admin.email, PASSWORD)

    page.goto("/t/parepare/")
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Impor DTSEN").click()
    page.get_by_label("Jenis berkas").select_option(label="Desil")
    page.get_by_label("Periode (triwulan)").select_option(str(THIS))
    page.get_by_label("Berkas SIKS-NG", exact=True).set_input_files(
        files=[{"name": "desil.csv", "mimeType": "text/csv", "buffer": desil_csv()}]
    )
    page.get_by_role("button", name="Unggah dan periksa kolom").click()
    expect(page.get_by_role("status")).to_contain_text("Periksa kolom-kolomnya")

    # The recognised columns are chosen already; "KK DTSEN" waits for the admin.
    expect(page.get_by_label("NIK", exact=True)).to_have_value("nik")
    expect(page.get_by_label("Desil", exact=True)).to_have_value("desil")
    kk = page.get_by_label("KK DTSEN")
    expect(kk).to_have_value("")
    expect(page.get_by_role("row", name="KK DTSEN")).to_contain_text(ANDI_KK)  # a sample
    screenshot(page, tmp_path, "1-mapping")
    kk.select_option(label="Nomor KK")
    page.get_by_role("button", name="Jalankan uji coba").click()
    expect(page.get_by_role("status")).to_contain_text("Uji coba dimulai")
    run_burst()
    page.reload()
    dry_run = page.get_by_role("region", name="Langkah 2: uji coba (belum ada yang ditulis)")
    expect(dry_run).to_contain_text(f"desil berubah dari {PREVIOUS}: 3 menjadi 2")
    expect(dry_run.get_by_role("row", name="RUDI")).to_contain_text("NIK")
    screenshot(page, tmp_path, "2-dry-run")

    page.get_by_role("button", name="Terapkan berkas").click()
    run_burst()
    page.reload()
    expect(page.locator("#import-status")).to_have_text("Sudah diterapkan")
    expect(page.get_by_role("region", name="Langkah 3: penerapan")).to_contain_text("Selesai")

    # The next file of this shape: the choice was kept for the district.
    page.get_by_role("link", name="Semua impor DTSEN").click()
    page.get_by_label("Jenis berkas").select_option(label="Desil")
    page.get_by_label("Berkas SIKS-NG", exact=True).set_input_files(
        files=[{"name": "desil.csv", "mimeType": "text/csv", "buffer": desil_csv()}]
    )
    page.get_by_role("button", name="Unggah dan periksa kolom").click()
    expect(page.get_by_label("KK DTSEN")).to_have_value("no_kk")
    screenshot(page, tmp_path, "3-remembered")


def test_the_reconciliation_of_a_village_on_a_phone_and_its_download(
    app, live_server, phone, page, parepare, tmp_path
):
    _previous_quarter(app, parepare)
    client = app.test_client()
    bo = member(app, parepare, "back_office")
    desil = upload(client, bo, desil_csv(), "desil.csv", "desil", THIS).json
    check_and_apply(client, bo, desil, ["no_kk", "nik", "nama", "desil"])

    fas = member(app, parepare, "facilitator", scope_kind="village", scope_codes=[LOMPOE])
    set_password(app, fas, PASSWORD)
    sign_in(phone, fas.email, PASSWORD)
    phone.goto("/t/parepare/")
    phone.get_by_role("navigation", name="Menu").get_by_role(
        "link", name="DTSEN", exact=True
    ).click()
    phone.get_by_role("link", name="Lompoe").click()
    expect(phone.get_by_role("heading", level=1)).to_contain_text("Rekonsiliasi DTSEN Lompoe")
    expect(phone.get_by_text(f"Periode {THIS} dibandingkan")).to_be_visible()
    lists = phone.get_by_role("navigation", name="Daftar")
    expect(lists.get_by_role("link", name="Di DTSEN, belum ada di registri")).to_contain_text("1")
    expect(phone.get_by_role("table")).to_contain_text(WA_ODE_KK)
    screenshot(phone, tmp_path, "1-not-in-registry")
    assert horizontal_overflow(phone) == 0

    lists.get_by_role("link", name="Desil berubah sejak triwulan sebelumnya").click()
    row = phone.get_by_role("row").filter(has_text=ANDI_KK)
    expect(row).to_contain_text("3")
    expect(row).to_contain_text("2")
    lists.get_by_role("link", name="Di registri, tidak terdaftar di DTSEN").click()
    expect(phone.get_by_role("table")).to_contain_text(HASNAH_KK)
    screenshot(phone, tmp_path, "2-not-in-dtsen")
    assert horizontal_overflow(phone) == 0
    # A facilitator reads; the download for the meeting is the desk's.
    expect(phone.get_by_role("button", name="Unduh untuk musyawarah (XLSX)")).to_have_count(0)
    row = phone.get_by_role("row").filter(has_text=HASNAH_KK)
    row.get_by_role("link", name="Riwayat DTSEN").click()
    expect(phone.locator("#current-standing")).to_contain_text("Belum ada data resmi DTSEN")

    manager = set_password(app, member(app, parepare, "manager"), PASSWORD)
    sign_in(page, manager.email, PASSWORD)
    page.goto("/t/parepare/dtsen/")
    page.get_by_role("link", name="Lompoe").click()
    with page.expect_download() as download:
        page.get_by_role("button", name="Unduh untuk musyawarah (XLSX)").click()
    assert download.value.suggested_filename == f"rekonsiliasi-dtsen-{LOMPOE}-{THIS}.xlsx"
    book = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert [row[0] for row in book["Desil berubah"].iter_rows(min_row=2, values_only=True)] == [
        ANDI_KK
    ]
    assert book["Ringkasan"]["C2"].value == str(THIS)
