"""A DTKS proposal batch in Chromium: back office, on a phone, proposes a resident from the
person's page, collects the village's proposals into a batch and uploads the meeting's minutes
as a photo; the SLRT manager, who holds the verification, verifies, downloads the SIKS-NG file
and records the result."""

from __future__ import annotations

import re

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.browser import horizontal_overflow, new_context, screenshot, sign_in
from tests.fixtures import member, set_password
from tests.web import PASSWORD

pytest_plugins = ["tests.browser"]
pytestmark = pytest.mark.browser

LOMPOE = "73.72.01.1004"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f"
    b"\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d"
    b"\xe2\x00\x00\x00\x00IEND\xaeB`\x82"
)


def _resident(app, user) -> str:
    """A household not in DTKS with its head, registered through the API by `user`."""
    client = app.test_client()
    household = client.post(
        "/api/v1/t/parepare/households",
        json={
            "kk_number": "7372010101110009",
            "village_code": LOMPOE,
            "dtks_status": "not_in_dtks",
        },
        headers=user.headers,
    ).json
    person = client.post(
        "/api/v1/t/parepare/persons",
        json={
            "nik": "7372014101800007",
            "name": "Sitti Aminah",
            "relation": "kepala_keluarga",
            "household_id": household["id"],
        },
        headers=user.headers,
    ).json
    return person["id"]


def test_back_office_runs_a_batch_to_the_siks_ng_download(
    app, chromium, live_server, phone, parepare, tmp_path
):
    bo = set_password(app, member(app, parepare, "back_office"), PASSWORD)
    person_id = _resident(app, bo)
    manager = set_password(app, member(app, parepare, "manager"), PASSWORD)

    sign_in(phone, bo.email, PASSWORD)
    phone.goto(f"/t/parepare/registry/persons/{person_id}")
    phone.get_by_label("Alasan diusulkan").fill("Janda, tidak bekerja")
    phone.get_by_role("button", name="Usulkan masuk DTSEN").click()
    expect(phone.get_by_role("status")).to_contain_text("Sitti Aminah diusulkan masuk DTSEN")
    expect(phone.locator("li.proposal")).to_contain_text("Diusulkan")

    phone.get_by_role("navigation", name="Menu").get_by_role("link", name="Usulan DTSEN").click()
    waiting = phone.locator("li.waiting-village")
    expect(waiting).to_contain_text("Lompoe (73.72.01.1004)")
    expect(waiting).to_contain_text("1 usulan")
    screenshot(phone, tmp_path, "1-proposals")
    assert horizontal_overflow(phone) == 0
    waiting.get_by_role("link", name="Buat berkas untuk musyawarah").click()
    expect(phone.get_by_label("Desa/kelurahan")).to_have_value(LOMPOE)
    phone.get_by_label("Tanggal musyawarah").fill("2026-11-20")
    phone.get_by_role("button", name="Buat berkas").click()
    expect(phone.get_by_role("status")).to_contain_text("Berkas usulan dibuat dengan 1 usulan")
    expect(phone.locator("#batch-status")).to_have_text("Menunggu musyawarah desa/kelurahan")
    expect(phone.get_by_text("Musyawarah kelurahan (muskel)")).to_be_visible()

    # The minutes, photographed with the phone.
    phone.get_by_label("Berita acara musyawarah").set_input_files(
        {"name": "berita-acara.png", "mimeType": "image/png", "buffer": PNG}
    )
    screenshot(phone, tmp_path, "2-batch-minutes")
    assert horizontal_overflow(phone) == 0
    phone.get_by_role("button", name="Unggah berita acara").click()
    expect(phone.get_by_role("status")).to_contain_text("Berita acara diunggah")
    expect(phone.locator("#batch-status")).to_contain_text("Musyawarah sudah diadakan")
    expect(phone.get_by_text("Menunggu verifikasi oleh Manajer SLRT")).to_be_visible()
    expect(phone.get_by_role("button", name="Verifikasi berkas")).to_have_count(0)
    batch_url = phone.url
    screenshot(phone, tmp_path, "3-batch-held")
    assert horizontal_overflow(phone) == 0

    # The manager, at the desk, verifies and downloads the file for SIKS-NG.
    context = new_context(chromium, live_server.url)
    desk = context.new_page()
    sign_in(desk, manager.email, PASSWORD)
    desk.goto(batch_url)
    desk.get_by_role("button", name="Verifikasi berkas").click()
    expect(desk.get_by_role("status")).to_contain_text("Berkas diverifikasi")
    with desk.expect_download() as download:
        desk.get_by_role("button", name="Unduh berkas SIKS-NG (XLSX)").click()
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    assert re.fullmatch(r"usulan-dtks-73\.72\.01\.1004-[0-9a-f]{8}\.xlsx", path.name)
    rows = list(load_workbook(path).active.iter_rows(values_only=True))
    assert rows[1][0] == "7372014101800007" and rows[1][2] == "Sitti Aminah"
    desk.reload()
    expect(desk.locator("#batch-status")).to_have_text("Sudah diekspor untuk SIKS-NG")
    result = desk.get_by_role("group", name="Hasil SIKS-NG untuk Sitti Aminah")
    result.get_by_label("Diterima di DTSEN").check()
    result.get_by_label("Desil").fill("1")
    result.get_by_role("button", name="Simpan hasil").click()
    expect(desk.get_by_role("status")).to_contain_text("Hasil Sitti Aminah dicatat")
    expect(desk.locator("li.proposal")).to_contain_text("Diterima di DTSEN")
    screenshot(desk, tmp_path, "4-batch-result-desk")
    context.close()

    # Back on the phone: the household is in DTKS now.
    phone.goto(f"/t/parepare/registry/persons/{person_id}")
    expect(phone.get_by_text("Status keluarga: Terdaftar di DTSEN")).to_be_visible()
    screenshot(phone, tmp_path, "5-person-in-dtks")
    assert horizontal_overflow(phone) == 0
