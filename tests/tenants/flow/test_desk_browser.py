"""The agencies' and the facilitator's part of the Parepare walk-through on a 360 px phone, in
Chromium, each person signed in as themselves and only tapping and typing: Dinas Kesehatan
receives, accepts and fulfils a referral, Dinas Sosial rejects one with a reason, the
facilitator sees the case to follow up, records the follow-up and closes it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser import PHONE, horizontal_overflow, new_context, screenshot, sign_in
from tests.fixtures import set_password
from tests.tenants.flow.desk import make_cast, refer
from tests.web import PASSWORD

pytest_plugins = ["tests.browser"]  # the chromium, page and phone fixtures
pytestmark = pytest.mark.browser


def phone_of(chromium, live_server, app, user) -> Page:
    """A fresh phone with `user` signed in, on their home page."""
    set_password(app, user, PASSWORD)
    context = new_context(chromium, live_server.url, viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    sign_in(page, user.email, PASSWORD)
    expect(page).to_have_url(re.compile(r"/t/parepare/$"))
    return page


def fits(page: Page) -> None:
    assert horizontal_overflow(page) == 0, page.url


def test_agencies_answer_and_the_facilitator_closes_on_phones(
    app, client, parepare, chromium, live_server, tmp_path
) -> None:
    cast = make_cast(app, parepare)
    case = refer(client, cast)
    ticket = case["ticket_number"]

    # Dinas Kesehatan: from the home's counter to the inbox; receive, accept, fulfil.
    dinkes = phone_of(chromium, live_server, app, cast["dinkes"])
    expect(dinkes.locator("#tile-new-referrals")).to_contain_text("1")
    screenshot(dinkes, tmp_path, "01-dinkes-home")
    fits(dinkes)
    dinkes.get_by_role("link", name=re.compile("Rujukan baru")).click()
    card = dinkes.locator("li.card", has_text=ticket)
    expect(card).to_contain_text("Penerima Bantuan Iuran Jaminan Kesehatan")
    expect(card).not_to_contain_text("BPNT")
    screenshot(dinkes, tmp_path, "02-dinkes-inbox-new")
    fits(dinkes)
    card.get_by_role("button", name="Tandai sudah diterima").click()
    expect(dinkes.get_by_role("status")).to_contain_text(
        f"Rujukan {ticket} ditandai sudah diterima."
    )
    dinkes.get_by_role("link", name=re.compile("Belum selesai")).click()
    dinkes.locator("li.card", has_text=ticket).get_by_role("button", name="Setujui").click()
    expect(dinkes.get_by_role("status")).to_contain_text(f"Rujukan {ticket} disetujui.")
    card = dinkes.locator("li.card", has_text=ticket)
    card.get_by_label("Layanan yang diberikan").fill("Terdaftar PBI-JK, kartu KIS terbit")
    screenshot(dinkes, tmp_path, "03-dinkes-fulfil")
    fits(dinkes)
    card.get_by_role("button", name="Catat layanan yang diberikan").click()
    expect(dinkes.get_by_role("status")).to_contain_text("tercatat sudah diberikan")
    dinkes.get_by_role("link", name=re.compile("Sudah dijawab")).click()
    dinkes.get_by_role("link", name=ticket).click()
    expect(dinkes.locator("#referral-status")).to_contain_text("Layanan sudah diberikan")
    expect(dinkes.locator("#outcome")).to_have_text("Terdaftar PBI-JK, kartu KIS terbit")
    expect(dinkes.locator("#letter-number")).to_contain_text("/SLRT/")
    screenshot(dinkes, tmp_path, "04-dinkes-referral")
    fits(dinkes)
    dinkes.context.close()

    # Dinas Sosial: from the menu; receive, then reject with the reason typed inline.
    dinsos = phone_of(chromium, live_server, app, cast["dinsos"])
    dinsos.get_by_role("navigation", name="Menu").get_by_role("link", name="Rujukan masuk").click()
    card = dinsos.locator("li.card", has_text=ticket)
    expect(card).to_contain_text("BPNT")
    card.get_by_role("button", name="Tandai sudah diterima").click()
    card = dinsos.locator("li.card", has_text=ticket)
    card.get_by_text("Tolak rujukan…").click()
    card.get_by_label("Alasan penolakan").fill("Keluarga sudah menerima BPNT di desa asal")
    screenshot(dinsos, tmp_path, "05-dinsos-reject")
    fits(dinsos)
    card.get_by_role("button", name="Tolak rujukan").click()
    expect(dinsos.get_by_role("status")).to_contain_text(f"Rujukan {ticket} ditolak")
    expect(dinsos.locator("ul.items")).to_have_count(0)  # nothing left open
    dinsos.context.close()

    # The facilitator of Lompoe: the case to follow up, the note, the closure.
    fac = phone_of(chromium, live_server, app, cast["facilitator"])
    expect(fac.locator("#tile-follow-up")).to_contain_text("1")
    screenshot(fac, tmp_path, "06-facilitator-home")
    fits(fac)
    fac.get_by_role("link", name=re.compile("Kasus untuk ditindaklanjuti")).click()
    fac.get_by_role("link", name=ticket).click()
    expect(fac.get_by_text("Layanan: Terdaftar PBI-JK, kartu KIS terbit")).to_be_visible()
    expect(fac.get_by_text("Alasan penolakan: Keluarga sudah menerima BPNT")).to_be_visible()
    fac.get_by_label("Hasil pemeriksaan bersama warga").fill("Ibu Sitti sudah memegang kartu KIS.")
    screenshot(fac, tmp_path, "07-facilitator-follow-up")
    fits(fac)
    fac.get_by_role("button", name="Simpan tindak lanjut").click()
    expect(fac.get_by_role("status")).to_contain_text(f"Tindak lanjut kasus {ticket} tercatat.")
    fac.get_by_label("Selesai: kebutuhan terpenuhi").check()
    fac.get_by_label("Catatan penutupan").fill("Kebutuhan kesehatan terpenuhi")
    screenshot(fac, tmp_path, "08-facilitator-close")
    fits(fac)
    fac.get_by_role("button", name="Tutup kasus").click()
    expect(fac.get_by_role("status")).to_contain_text(f"Kasus {ticket} ditutup")
    expect(fac.get_by_text("Tidak ada kasus yang menunggu tindak lanjut.")).to_be_visible()
    screenshot(fac, tmp_path, "09-facilitator-done")
    fits(fac)
    fac.context.close()


def test_supervisor_follows_an_escalation_on_a_phone(
    app, client, parepare, chromium, live_server, tmp_path
) -> None:
    import datetime as dt

    from slrt.platform import db
    from slrt.platform.tenancy import tenant_context
    from slrt.tenants.flow.escalation import escalate_overdue
    from tests.tenants.flow.desk import set_due

    cast = make_cast(app, parepare)
    case = refer(client, cast)
    ticket = case["ticket_number"]
    set_due(app, parepare, case["pbi"]["id"], dt.datetime.now(dt.UTC) - dt.timedelta(days=2))
    with app.app_context(), tenant_context(parepare.ref()):
        escalate_overdue()
        db.session.commit()
        db.session.remove()

    sup = phone_of(chromium, live_server, app, cast["supervisor"])
    expect(sup.locator("#tile-overdue-region")).to_contain_text("1")
    expect(sup.locator("#unread-notifications")).to_have_text("1 belum dibaca")
    screenshot(sup, tmp_path, "10-supervisor-home")
    fits(sup)
    sup.get_by_role("link", name=re.compile("Rujukan terlambat di kecamatan saya")).click()
    expect(sup.get_by_role("heading", name="Rujukan terlambat", exact=True)).to_be_visible()
    expect(sup.locator("li.card.overdue", has_text=ticket)).to_contain_text("Terlambat 2 hari")
    screenshot(sup, tmp_path, "11-supervisor-overdue")
    fits(sup)
    sup.get_by_role("navigation", name="Menu").get_by_role("link", name="Notifikasi").click()
    screenshot(sup, tmp_path, "12-supervisor-notifications")
    fits(sup)
    sup.get_by_role("button", name=re.compile(f"Rujukan {ticket} melewati tenggat")).click()
    expect(sup.get_by_role("heading", name=f"Rujukan {ticket}")).to_be_visible()
    expect(sup.get_by_text("Diteruskan ke atasan (eskalasi)")).to_be_visible()
    fits(sup)
    sup.get_by_role("navigation", name="Menu").get_by_role("link", name="Beranda").click()
    expect(sup.locator("#unread-notifications")).to_have_text("0 belum dibaca")
    # In English, the same home speaks English only.
    sup.get_by_role("link", name="English").click()
    expect(sup.get_by_role("heading", name="Your work")).to_be_visible()
    expect(sup.get_by_text("Overdue referrals in my kecamatan")).to_be_visible()
    expect(sup.get_by_text("Pekerjaan Anda")).to_have_count(0)
    screenshot(sup, tmp_path, "13-supervisor-home-english")
    fits(sup)
    sup.context.close()
