"""The whole Parepare walk-through of the README in a real Chromium, one continuous story where
every step is a click or a keystroke of the person whose step it is, signed in as themselves:
the front office (desktop) registers Sitti Aminah's household, the visit with a photo, and
prints the receipt; the back office assesses; the manager returns it with a reason; the back
office assesses again; the manager decides, refers to PBI-JK (Dinas Kesehatan) and BPNT (Dinas
Sosial) and opens a letter; on 360 px phones Dinas Kesehatan receives, accepts and fulfils,
Dinas Sosial rejects with a reason, the facilitator follows up and closes; the resident, signed
in nowhere, opens the receipt's status link, checks the ticket with the last four NIK digits and
opens the letter's public check. Nothing is made through the API: the fixtures give only the
accounts and the programs. Once in Indonesian and once in English (the top bar's switch)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser import PHONE, horizontal_overflow, new_context, screenshot
from tests.fixtures import set_password
from tests.tenants.flow.desk import make_cast
from tests.tenants.flow.test_case_pages_browser import (
    PASSWORD,
    WORDS,
    desk,
    open_case,
    register_visit,
)

pytest_plugins = ["tests.browser"]  # the chromium, page and phone fixtures
pytestmark = pytest.mark.browser

KK = "7372010101200099"
NIK = "7372014502920002"  # Sitti Aminah: a woman born on 5 February 1992, Kecamatan Bacukiki
OUTCOME = "Terdaftar PBI-JK, kartu KIS terbit"
REJECTION = "Kuota BPNT tahun ini penuh"

# What the registry, the agencies, the facilitator and the resident read, in the page's
# language (the desk's words are the desk test's WORDS).
MORE = {
    "id": {
        "registry": "Registrasi",
        "registry_title": "Registrasi keluarga dan warga",
        "new_household": "Daftarkan keluarga baru",
        "kk": "Nomor KK",
        "address": "Alamat",
        "village": "Desa/kelurahan",
        "save_household": "Simpan dan tambah anggota",
        "add_member": "Tambah anggota keluarga",
        "household_saved": "Keluarga terdaftar",
        "name": "Nama lengkap",
        "relation": "Hubungan dalam keluarga",
        "finish": "Simpan dan selesai",
        "nik_valid": "NIK sah: Perempuan, lahir 5 Februari 1992",
        "members": "Anggota keluarga (1)",
        "head": "Kepala keluarga",
        "verify_link": "Halaman verifikasi surat",
        "new_referrals": "Rujukan baru",
        "inbox": "Rujukan masuk",
        "receive": "Tandai sudah diterima",
        "received": "Rujukan {t} ditandai sudah diterima.",
        "open_tab": "Belum selesai",
        "accept": "Setujui",
        "accepted": "Rujukan {t} disetujui.",
        "outcome": "Layanan yang diberikan",
        "fulfil": "Catat layanan yang diberikan",
        "fulfilled": "Layanan untuk rujukan {t} tercatat sudah diberikan.",
        "answered_tab": "Sudah dijawab",
        "service_delivered": "Layanan sudah diberikan",
        "reject_open": "Tolak rujukan…",
        "reject_reason": "Alasan penolakan",
        "reject": "Tolak rujukan",
        "rejected": "Rujukan {t} ditolak",
        "rejected_state": "Ditolak OPD",
        "to_follow_up": "Kasus untuk ditindaklanjuti",
        "service_line": "Layanan: {text}",
        "rejection_line": "Alasan penolakan: {text}",
        "found": "Hasil pemeriksaan bersama warga",
        "save_follow_up": "Simpan tindak lanjut",
        "followed_up": "Tindak lanjut kasus {t} tercatat.",
        "resolved": "Selesai: kebutuhan terpenuhi",
        "close_note": "Catatan penutupan",
        "close": "Tutup kasus",
        "closed": "Kasus {t} ditutup",
        "nothing_left": "Tidak ada kasus yang menunggu tindak lanjut.",
        "ticket_heading": "Tiket {t}",
        "closed_state": "Selesai",
        "done_step": "Layanan selesai.",
        "check_title": "Cek status layanan SLRT",
        "nik_last4": "4 digit terakhir NIK",
        "check": "Cek",
        "verify_title": "Verifikasi surat rujukan",
        "genuine": "Surat ini ASLI",
    },
    "en": {
        "registry": "Registry",
        "registry_title": "Households and residents",
        "new_household": "Register a new household",
        "kk": "KK number",
        "address": "Address",
        "village": "Village",
        "save_household": "Save and add members",
        "add_member": "Add a household member",
        "household_saved": "Household registered",
        "name": "Full name",
        "relation": "Relation in the household",
        "finish": "Save and finish",
        "nik_valid": "Valid NIK: Female, born 5 February 1992",
        "members": "Household members (1)",
        "head": "Head of household",
        "verify_link": "The letter's verification page",
        "new_referrals": "New referrals",
        "inbox": "Referrals in",
        "receive": "Mark as received",
        "received": "Referral {t} marked as received.",
        "open_tab": "Open",
        "accept": "Accept",
        "accepted": "Referral {t} accepted.",
        "outcome": "Service given",
        "fulfil": "Record the service given",
        "fulfilled": "Referral {t}: the service given is recorded.",
        "answered_tab": "Answered",
        "service_delivered": "Service delivered",
        "reject_open": "Reject the referral…",
        "reject_reason": "Reason for rejecting",
        "reject": "Reject the referral",
        "rejected": "Referral {t} rejected",
        "rejected_state": "Rejected by the agency",
        "to_follow_up": "Cases to follow up",
        "service_line": "Service: {text}",
        "rejection_line": "Reason for rejecting: {text}",
        "found": "What you found with the resident",
        "save_follow_up": "Save the follow-up",
        "followed_up": "Follow-up of case {t} recorded.",
        "resolved": "Resolved: the need is met",
        "close_note": "Closing note",
        "close": "Close the case",
        "closed": "Case {t} closed",
        "nothing_left": "No case is waiting for a follow-up.",
        "ticket_heading": "Ticket {t}",
        "closed_state": "Closed",
        "done_step": "The service is complete.",
        "check_title": "Check your SLRT service status",
        "nik_last4": "Last four digits of the NIK",
        "check": "Check",
        "verify_title": "Referral letter verification",
        "genuine": "This letter is GENUINE",
    },
}


def signed_in(chromium, live_server, app, user, lang: str, *, on_phone: bool = False) -> Page:
    """A fresh browser (desktop, or a 360 px touch phone) of `user`, signed in, in `lang`."""
    set_password(app, user, PASSWORD)
    if on_phone:
        return desk(
            chromium, live_server, user, lang, viewport=PHONE, is_mobile=True, has_touch=True
        )
    return desk(chromium, live_server, user, lang)


def resident_phone(chromium, live_server, lang: str, url: str) -> Page:
    """The resident's own phone, no account: opens `url` and, for English, taps the switch."""
    page = new_context(
        chromium, live_server.url, viewport=PHONE, is_mobile=True, has_touch=True
    ).new_page()
    page.goto(url)
    if lang == "en":
        page.get_by_role("link", name="English").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")
    return page


def fits(page: Page) -> None:
    assert horizontal_overflow(page) == 0, page.url


def nav(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Menu").get_by_role("link", name=name, exact=True).click()


def register_household(page: Page, w: dict) -> None:
    """The front office puts the family card and its head into the registry."""
    nav(page, w["registry"])
    expect(page.get_by_role("heading", name=w["registry_title"])).to_be_visible()
    page.get_by_role("link", name=w["new_household"]).first.click()
    page.get_by_label(w["kk"]).fill(KK)
    page.get_by_label(w["address"]).fill("Jl. Lompoe No. 7, RT 02/RW 01")
    expect(page.get_by_label(w["village"])).to_have_value("73.72.01.1004")  # her one village
    page.get_by_role("button", name=w["save_household"]).click()
    expect(page.get_by_role("heading", name=w["add_member"])).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text(w["household_saved"])
    page.get_by_label("NIK", exact=True).fill(NIK)
    expect(page.locator("#f-nik-check")).to_contain_text(w["nik_valid"])
    page.get_by_label(w["name"]).fill("Sitti Aminah")
    expect(page.get_by_label(w["relation"])).to_have_value("kepala_keluarga")
    page.get_by_role("button", name=w["finish"]).click()
    expect(page.get_by_role("heading", name=w["members"])).to_be_visible()
    expect(page.locator("tr.member").filter(has_text="Sitti Aminah")).to_contain_text(w["head"])


@pytest.mark.parametrize("lang", ["id", "en"])
def test_the_parepare_walk_through_by_clicking_only(
    app, parepare, chromium, live_server, tmp_path, lang
) -> None:
    w = {**WORDS[lang], **MORE[lang]}
    cast = make_cast(app, parepare)  # accounts and programs only: no household, no case

    # Front office, at the desk: the household, the visit with a photo, the receipt.
    fo = signed_in(chromium, live_server, app, cast["fo"], lang)
    register_household(fo, w)
    screenshot(fo, tmp_path, f"{lang}-01-household")
    ticket = register_visit(fo, w, tmp_path, tmp_path, f"{lang}-02")
    status_link = fo.locator("#status-link").get_attribute("href")
    assert status_link and status_link.startswith(live_server.url), status_link
    fo.context.close()

    # Back office: DTKS, a second need, a note.
    bo = signed_in(chromium, live_server, app, cast["bo"], lang)
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

    # Manager: returns it with a reason.
    manager = signed_in(chromium, live_server, app, cast["manager"], lang)
    open_case(manager, w, ticket)
    manager.get_by_role("link", name=w["decide_or_return"]).click()
    manager.get_by_label(w["reason"]).fill("Lengkapi catatan kebutuhan")
    manager.get_by_role("button", name=w["return"]).click()
    expect(manager.locator(".title-row .badge")).to_have_text(w["returned"])

    # Back office: reads why, assesses again.
    bo.reload()
    expect(bo.get_by_text("Lengkapi catatan kebutuhan").first).to_be_visible()
    bo.get_by_role("link", name=w["again"]).click()
    bo.get_by_label(w["note"]).fill("Catatan dilengkapi: 4 anak usia sekolah")
    bo.get_by_role("button", name=w["save"]).click()
    expect(bo.get_by_role("status").filter(has_text=w["saved"])).to_be_visible()
    bo.context.close()

    # Manager: decides for PBI-JK and BPNT (two agencies), refers, opens a letter.
    manager.reload()
    manager.get_by_role("link", name=w["decide_or_return"]).click()
    expect(manager.get_by_role("checkbox", name=re.compile("PBI-JK"))).to_be_checked()
    expect(manager.get_by_role("checkbox", name=re.compile("BPNT"))).to_be_checked()
    manager.get_by_label(w["decide_note"]).fill("Setuju, rujuk segera")
    manager.get_by_role("button", name=w["decide"], exact=True).click()
    expect(manager.locator(".title-row .badge")).to_have_text(w["decided"])
    manager.get_by_role("button", name=w["refer"]).click()
    expect(manager.locator(".title-row .badge")).to_have_text(w["referred"])
    referrals = manager.locator("#rujukan li.referral")
    expect(referrals).to_have_count(2)
    pbi = referrals.filter(has_text="Dinas Kesehatan")
    expect(referrals.filter(has_text="Dinas Sosial")).to_have_count(1)
    number = re.search(r"\d+(?:\.\d+)?/\d{4}/SLRT/\d{4}", pbi.inner_text()).group(0)
    screenshot(manager, tmp_path, f"{lang}-03-referred")
    with manager.expect_response(re.compile(r"/letters/[0-9a-f-]+\.pdf$")) as opened:
        pbi.get_by_role("link", name=w["letter"].format(number=number)).click()
    assert opened.value.status == 200
    assert opened.value.header_value("content-type") == "application/pdf"
    pdf = manager.context.request.get(opened.value.url).body()
    assert pdf.startswith(b"%PDF")
    manager.go_back()
    # The letter's QR code (a link over it in the PDF) opens its public check.
    verify_url = pbi.get_by_role("link", name=w["verify_link"]).get_attribute("href")
    assert re.search(rb"/URI \(" + re.escape(verify_url.encode()) + rb"\)", pdf), verify_url
    manager.context.close()

    # Dinas Kesehatan, on the move: the home's counter, the inbox; receive, accept, fulfil.
    dinkes = signed_in(chromium, live_server, app, cast["dinkes"], lang, on_phone=True)
    expect(dinkes.locator("#tile-new-referrals")).to_contain_text("1")
    fits(dinkes)
    dinkes.get_by_role("link", name=re.compile(w["new_referrals"])).click()
    card = dinkes.locator("li.card", has_text=ticket)
    expect(card).to_contain_text("PBI")
    expect(card).not_to_contain_text("BPNT")
    fits(dinkes)
    card.get_by_role("button", name=w["receive"]).click()
    expect(dinkes.get_by_role("status")).to_contain_text(w["received"].format(t=ticket))
    dinkes.get_by_role("link", name=re.compile(w["open_tab"])).click()
    dinkes.locator("li.card", has_text=ticket).get_by_role("button", name=w["accept"]).click()
    expect(dinkes.get_by_role("status")).to_contain_text(w["accepted"].format(t=ticket))
    card = dinkes.locator("li.card", has_text=ticket)
    card.get_by_label(w["outcome"]).fill(OUTCOME)
    screenshot(dinkes, tmp_path, f"{lang}-04-dinkes-fulfil")
    fits(dinkes)
    card.get_by_role("button", name=w["fulfil"]).click()
    expect(dinkes.get_by_role("status")).to_contain_text(w["fulfilled"].format(t=ticket))
    dinkes.get_by_role("link", name=re.compile(w["answered_tab"])).click()
    dinkes.get_by_role("link", name=ticket).click()
    expect(dinkes.locator("#referral-status")).to_contain_text(w["service_delivered"])
    expect(dinkes.locator("#outcome")).to_have_text(OUTCOME)
    expect(dinkes.locator("#letter-number")).to_contain_text(number)
    screenshot(dinkes, tmp_path, f"{lang}-05-dinkes-referral")
    fits(dinkes)
    dinkes.context.close()

    # Dinas Sosial, on the move: from the menu; receive, then reject with the reason inline.
    dinsos = signed_in(chromium, live_server, app, cast["dinsos"], lang, on_phone=True)
    nav(dinsos, w["inbox"])
    card = dinsos.locator("li.card", has_text=ticket)
    expect(card).to_contain_text("BPNT")
    card.get_by_role("button", name=w["receive"]).click()
    card = dinsos.locator("li.card", has_text=ticket)
    card.get_by_text(w["reject_open"]).click()
    card.get_by_label(w["reject_reason"]).fill(REJECTION)
    screenshot(dinsos, tmp_path, f"{lang}-06-dinsos-reject")
    fits(dinsos)
    card.get_by_role("button", name=w["reject"], exact=True).click()
    expect(dinsos.get_by_role("status")).to_contain_text(w["rejected"].format(t=ticket))
    expect(dinsos.locator("ul.items")).to_have_count(0)  # nothing left open
    fits(dinsos)
    dinsos.context.close()

    # The facilitator of Lompoe: both answers, the follow-up with the resident, the closure.
    fac = signed_in(chromium, live_server, app, cast["facilitator"], lang, on_phone=True)
    expect(fac.locator("#tile-follow-up")).to_contain_text("1")
    fits(fac)
    fac.get_by_role("link", name=re.compile(w["to_follow_up"])).click()
    fac.get_by_role("link", name=ticket).click()
    expect(fac.get_by_text(w["service_line"].format(text=OUTCOME))).to_be_visible()
    expect(fac.get_by_text(w["rejection_line"].format(text=REJECTION))).to_be_visible()
    fac.get_by_label(w["found"]).fill("Ibu Sitti sudah memegang kartu KIS.")
    fits(fac)
    fac.get_by_role("button", name=w["save_follow_up"]).click()
    expect(fac.get_by_role("status")).to_contain_text(w["followed_up"].format(t=ticket))
    fac.get_by_label(w["resolved"]).check()
    fac.get_by_label(w["close_note"]).fill("Kebutuhan kesehatan terpenuhi")
    screenshot(fac, tmp_path, f"{lang}-07-facilitator-close")
    fits(fac)
    fac.get_by_role("button", name=w["close"]).click()
    expect(fac.get_by_role("status")).to_contain_text(w["closed"].format(t=ticket))
    expect(fac.get_by_text(w["nothing_left"])).to_be_visible()
    fits(fac)
    fac.context.close()

    # The resident, on her phone and signed in nowhere: the receipt's link first.
    resident = resident_phone(chromium, live_server, lang, status_link)
    expect(
        resident.get_by_role("heading", name=w["ticket_heading"].format(t=ticket))
    ).to_be_visible()
    expect(resident.locator("#status")).to_have_text(w["closed_state"])
    expect(resident.get_by_text(w["done_step"])).to_be_visible()
    expect(resident.locator("ul.plain li", has_text="BPNT")).to_contain_text(w["rejected_state"])
    expect(resident.locator("ul.plain li", has_text="PBI")).to_contain_text(w["service_delivered"])
    expect(resident.get_by_text("Sitti Aminah")).to_have_count(0)
    screenshot(resident, tmp_path, f"{lang}-08-resident-status-link")
    fits(resident)

    # Then by the ticket number and the last four digits of her NIK.
    resident.goto("/t/parepare/cek-tiket")
    expect(resident.get_by_role("heading", name=w["check_title"])).to_be_visible()
    resident.get_by_label(w["ticket"]).fill(ticket)
    resident.get_by_label(w["nik_last4"]).fill(NIK[-4:])
    resident.get_by_role("button", name=w["check"], exact=True).click()
    expect(resident.get_by_role("heading", name=ticket)).to_be_visible()
    expect(resident.locator("#status")).to_have_text(w["closed_state"])
    expect(resident.get_by_text(w["rejected_state"])).to_be_visible()
    screenshot(resident, tmp_path, f"{lang}-09-resident-ticket-check")
    fits(resident)

    # And the letter's QR code: genuine, with its number and the referral's outcome.
    resident.goto(verify_url)
    expect(resident.get_by_role("heading", name=w["verify_title"])).to_be_visible()
    expect(resident.get_by_text(w["genuine"])).to_be_visible()
    facts = resident.locator("dl.facts")
    expect(facts).to_contain_text(number)
    expect(facts).to_contain_text(w["service_delivered"])
    expect(resident.get_by_text("Sitti Aminah")).to_have_count(0)
    screenshot(resident, tmp_path, f"{lang}-10-letter-check")
    fits(resident)
    resident.context.close()
