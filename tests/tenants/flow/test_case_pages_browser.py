"""The desk in a real Chromium, by clicking and typing only, each role signed in as itself at a
desktop browser: front office registers Sitti's visit with a photo and gets the receipt; back
office assesses; the manager returns it with a reason; back office assesses again; the manager
decides, refers, opens a letter's PDF and revokes a letter. Once in Indonesian and once in
English (the language switch), with screenshots of the key pages; and the front office's part
on a 360 px phone without sideways scrolling."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser import horizontal_overflow, new_context, screenshot, sign_in
from tests.fixtures import flow_catalog, member, set_password
from tests.tenants.flow.test_flow import LOMPOE, register_resident

pytest_plugins = ["tests.browser"]  # the chromium, page and phone fixtures
pytestmark = pytest.mark.browser

PASSWORD = "kopi pagi di balai desa"

# What each role reads and clicks, in the page's language.
WORDS = {
    "id": {
        "register": "Daftarkan layanan",
        "cases": "Layanan",
        "search": "Cari warga: NIK, nomor KK atau nama",
        "find": "Cari",
        "choose": "Pilih Sitti Aminah",
        "description": "Uraian",
        "need": "Kebutuhan {n}",
        "sector": "Sektor",
        "need_text": "Keterangan kebutuhan",
        "health": "Kesehatan",
        "food": "Pangan",
        "document": "Jenis dokumen",
        "photo": "Foto (rumah, kondisi warga)",
        "file": "Berkas atau foto",
        "submit": "Daftarkan dan buat tanda terima",
        "receipt": "Tanda terima layanan",
        "print": "Cetak tanda terima",
        "ticket": "Nomor tiket",
        "filter": "Saring",
        "start": "Mulai asesmen",
        "again": "Asesmen ulang",
        "dtks": "Status DTSEN",
        "listed": "Terdaftar di DTSEN",
        "desil": "Desil DTSEN",
        "note": "Catatan untuk Manajer SLRT / Koordinator Puskesos",
        "save": "Simpan asesmen",
        "saved": "Asesmen tersimpan.",
        "eligible": "Memenuhi syarat",
        "decide_or_return": "Putuskan atau kembalikan",
        "reason": "Alasan pengembalian",
        "return": "Kembalikan ke back office",
        "returned": "Dikembalikan untuk perbaikan asesmen",
        "decide_note": "Catatan keputusan",
        "decide": "Putuskan",
        "decided": "Sudah diputuskan",
        "refer": "Rujuk ke OPD dan terbitkan surat",
        "referred": "Dirujuk ke program",
        "letter": "Cetak surat {number} (PDF)",
        "revoke": "Cabut surat {number}",
        "revoke_reason": "Alasan pencabutan surat {number}",
        "revoke_button": "Cabut surat",
        "revoked": "Dicabut",
        "history": "Riwayat",
        "photo_link": "Lihat Foto (rumah, kondisi warga)",
    },
    "en": {
        "register": "Register a visit",
        "cases": "Cases",
        "search": "Find the resident: NIK, KK number or name",
        "find": "Search",
        "choose": "Choose Sitti Aminah",
        "description": "Description",
        "need": "Need {n}",
        "sector": "Sector",
        "need_text": "Description of the need",
        "health": "Health",
        "food": "Food",
        "document": "Kind of document",
        "photo": "Photo (home, the resident's situation)",
        "file": "File or photo",
        "submit": "Register and make the receipt",
        "receipt": "Service receipt",
        "print": "Print the receipt",
        "ticket": "Ticket number",
        "filter": "Filter",
        "start": "Start the assessment",
        "again": "Assess again",
        "dtks": "DTSEN status",
        "listed": "Listed in DTSEN",
        "desil": "DTSEN decile",
        "note": "Note for the SLRT manager / Puskesos coordinator",
        "save": "Save the assessment",
        "saved": "Assessment saved.",
        "eligible": "Eligible",
        "decide_or_return": "Decide or return",
        "reason": "Reason for returning",
        "return": "Return to the back office",
        "returned": "Returned for correction",
        "decide_note": "Decision note",
        "decide": "Decide",
        "decided": "Decided",
        "refer": "Refer to the agencies and issue the letters",
        "referred": "Referred",
        "letter": "Print letter {number} (PDF)",
        "revoke": "Revoke letter {number}",
        "revoke_reason": "Reason for revoking letter {number}",
        "revoke_button": "Revoke the letter",
        "revoked": "Revoked",
        "history": "History",
        "photo_link": "View Photo (home, the resident's situation)",
    },
}


def photo(folder: Path) -> Path:
    """A small real JPEG, as a phone camera would give (a picture, not a stub of bytes)."""
    from PIL import Image

    image = Image.new("RGB", (96, 64))
    image.putdata([(x * 2 % 256, y * 4 % 256, (x + y) % 256) for y in range(64) for x in range(96)])
    path = folder / "rumah-sitti.jpg"
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    path.write_bytes(out.getvalue())
    return path


@pytest.fixture
def staff(app, client, parepare):
    ids = flow_catalog(app, parepare)
    people = {
        "fo": member(app, parepare, "front_office", scope_kind="village", scope_codes=[LOMPOE]),
        "bo": member(app, parepare, "back_office"),
        "manager": member(app, parepare, "manager"),
    }
    register_resident(client, people["fo"])  # Sitti Aminah's family is in the registry
    for user in people.values():
        set_password(app, user, PASSWORD)
    return {"ids": ids, **people}


def desk(chromium, live_server, user, lang: str, **kw) -> Page:
    """A fresh browser of one person, signed in, in the chosen language (the top bar's switch)."""
    page = new_context(chromium, live_server.url, **kw).new_page()
    sign_in(page, user.email, PASSWORD)
    expect(page).to_have_url(re.compile(r"/t/parepare/$"))
    if lang == "en":
        page.get_by_role("link", name="English").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")
    return page


def menu(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Menu").get_by_role("link", name=name, exact=True).click()


def open_case(page: Page, w: dict, ticket: str) -> None:
    menu(page, w["cases"])
    page.get_by_label(w["ticket"]).fill(ticket[-6:])
    page.get_by_role("button", name=w["filter"]).click()
    page.get_by_role("link", name=ticket).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(ticket)


def register_visit(page: Page, w: dict, folder: Path, shots: Path, prefix: str) -> str:
    menu(page, w["register"])
    page.get_by_label(w["search"]).fill("Sitti")
    page.get_by_role("button", name=w["find"], exact=True).click()
    page.get_by_role("link", name=w["choose"]).click()
    page.get_by_label(w["description"], exact=True).fill(
        "Butuh jaminan kesehatan dan bantuan pangan."
    )
    first = page.get_by_role("group", name=w["need"].format(n=1))
    first.get_by_label(w["sector"]).select_option(label=w["health"])
    first.get_by_label(w["need_text"]).fill("Belum punya BPJS")
    page.get_by_label(w["document"]).select_option(label=w["photo"])
    page.get_by_label(w["file"]).set_input_files(str(photo(folder)))
    screenshot(page, shots, f"{prefix}-1-intake")
    page.get_by_role("button", name=w["submit"]).click()
    expect(page.get_by_role("heading", name=w["receipt"])).to_be_visible()
    ticket = page.locator("#ticket-number").inner_text()
    assert re.fullmatch(r"7372-\d{4}-\d{6}", ticket), ticket
    expect(page.locator(".qr svg")).to_be_visible()
    expect(page.locator("#status-link")).to_have_attribute("href", re.compile(r"/cek-tiket/.{40,}"))
    expect(page.get_by_role("button", name=w["print"])).to_be_visible()  # the script's button
    screenshot(page, shots, f"{prefix}-2-receipt")
    page.emulate_media(media="print")
    expect(page.get_by_role("button", name=w["print"])).to_be_hidden()
    expect(page.get_by_role("navigation", name="Menu")).to_be_hidden()
    screenshot(page, shots, f"{prefix}-3-receipt-printed")
    page.emulate_media(media="screen")
    return ticket


@pytest.mark.parametrize("lang", ["id", "en"])
def test_the_desk_walks_a_case_to_its_letters(
    app, chromium, live_server, staff, tmp_path, lang
) -> None:
    w = WORDS[lang]
    shots = tmp_path
    # Front office: the visit, with a photo from the camera, and the receipt.
    fo = desk(chromium, live_server, staff["fo"], lang)
    ticket = register_visit(fo, w, tmp_path, shots, lang)

    # Back office: finds the ticket, checks DTKS, records the needs.
    bo = desk(chromium, live_server, staff["bo"], lang)
    open_case(bo, w, ticket)
    expect(bo.get_by_role("link", name=w["photo_link"])).to_be_visible()
    bo.get_by_role("link", name=w["start"]).click()
    bo.get_by_label(w["dtks"]).select_option(label=w["listed"])
    bo.get_by_label(w["desil"]).select_option(label="2")
    second = bo.get_by_role("group", name=w["need"].format(n=2))
    second.get_by_label(w["sector"]).select_option(label=w["food"])
    second.get_by_label(w["need_text"]).fill("Kesulitan pangan")
    bo.get_by_label(w["note"]).fill("Rumah tidak layak huni")
    bo.get_by_role("button", name=w["save"]).click()
    expect(bo.get_by_role("status").filter(has_text=w["saved"])).to_be_visible()
    expect(bo.get_by_text(w["eligible"], exact=True).first).to_be_visible()
    screenshot(bo, shots, f"{lang}-4-assessed")

    # Manager: returns it with a reason.
    manager = desk(chromium, live_server, staff["manager"], lang)
    open_case(manager, w, ticket)
    manager.get_by_role("link", name=w["decide_or_return"]).click()
    expect(manager.get_by_role("checkbox", name=re.compile("PBI-JK"))).to_be_checked()
    screenshot(manager, shots, f"{lang}-5-decision")
    manager.get_by_label(w["reason"]).fill("Lengkapi catatan kebutuhan pangan")
    manager.get_by_role("button", name=w["return"]).click()
    expect(manager.locator(".title-row .badge")).to_have_text(w["returned"])

    # Back office: sees why, assesses again.
    bo.reload()
    expect(bo.get_by_text("Lengkapi catatan kebutuhan pangan").first).to_be_visible()
    bo.get_by_role("link", name=w["again"]).click()
    bo.get_by_label(w["note"]).fill("Catatan dilengkapi: 4 anak usia sekolah")
    bo.get_by_role("button", name=w["save"]).click()
    expect(bo.get_by_role("status").filter(has_text=w["saved"])).to_be_visible()

    # Manager: decides (eligible programs come ticked), refers, prints and revokes a letter.
    manager.reload()
    manager.get_by_role("link", name=w["decide_or_return"]).click()
    expect(manager.get_by_role("checkbox", name=re.compile("PBI-JK"))).to_be_checked()
    expect(manager.get_by_role("checkbox", name=re.compile("BPNT"))).to_be_checked()
    manager.get_by_label(w["decide_note"]).fill("Setuju, rujuk segera")
    manager.get_by_role("button", name=w["decide"], exact=True).click()
    expect(manager.locator(".title-row .badge")).to_have_text(w["decided"])
    manager.get_by_role("button", name=w["refer"]).click()
    expect(manager.locator(".title-row .badge")).to_have_text(w["referred"])
    numbers = re.findall(
        r"\d+(?:\.\d+)?/\d{4}/SLRT/\d{4}", manager.locator("#rujukan").inner_text()
    )
    numbers = sorted(set(numbers))
    assert len(numbers) == 2, numbers
    screenshot(manager, shots, f"{lang}-6-referred")

    # The letter opens in the browser's own PDF viewer.
    with manager.expect_response(re.compile(r"/letters/[0-9a-f-]+\.pdf$")) as opened:
        manager.get_by_role("link", name=w["letter"].format(number=numbers[0])).click()
    assert opened.value.status == 200
    assert opened.value.header_value("content-type") == "application/pdf"
    # (the viewer shows it; its bytes, fetched with the same session, are the letter)
    assert manager.context.request.get(opened.value.url).body().startswith(b"%PDF")
    screenshot(manager, shots, f"{lang}-6b-letter")
    manager.go_back()

    manager.get_by_text(w["revoke"].format(number=numbers[0])).click()
    manager.get_by_label(w["revoke_reason"].format(number=numbers[0])).fill("Surat hilang")
    manager.get_by_role("button", name=w["revoke_button"], exact=True).click()
    expect(manager.locator("#rujukan .badge.danger").first).to_contain_text(w["revoked"])
    expect(manager.get_by_role("heading", name=w["history"])).to_be_visible()
    screenshot(manager, shots, f"{lang}-7-revoked")
    if lang == "en":
        body = manager.locator("main").inner_text()
        for words in ("Riwayat", "Rujukan dan surat", "Warga dan keluarga", "Dokumen"):
            assert words not in body, words
    for page in (fo, bo, manager):
        page.context.close()


def test_front_office_on_a_phone(app, chromium, live_server, staff, tmp_path) -> None:
    w = WORDS["id"]
    phone = desk(
        chromium,
        live_server,
        staff["fo"],
        "id",
        viewport={"width": 360, "height": 740},
        is_mobile=True,
        has_touch=True,
    )
    ticket = register_visit(phone, w, tmp_path, tmp_path, "phone")
    assert horizontal_overflow(phone) == 0
    phone.get_by_role("link", name="Buka kasus").click()
    expect(phone.get_by_role("heading", level=1)).to_contain_text(ticket)
    assert horizontal_overflow(phone) == 0
    screenshot(phone, tmp_path, "phone-4-case")
    menu(phone, w["cases"])
    expect(phone.get_by_role("link", name=ticket)).to_be_visible()
    assert horizontal_overflow(phone) == 0
    screenshot(phone, tmp_path, "phone-5-list")
    menu(phone, w["register"])
    expect(phone.get_by_label(w["search"])).to_be_visible()
    assert horizontal_overflow(phone) == 0
    phone.context.close()
