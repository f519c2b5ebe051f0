"""The residents' pages, no sign-in: the public complaint form (a case with a ticket and its
receipt; the honeypot and the per-address limit hold robots back), the receipt's secret status
link, the ticket check by last four NIK digits that a stranger's guesses cannot lock, one
language per page."""

from __future__ import annotations

import re

import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.tenancy import tenant_context
from slrt.tenants.flow.models import Case
from tests.fixtures import member
from tests.tenants.flow import test_flow
from tests.tenants.flow.test_flow import NIK as OWNER_NIK
from tests.tenants.flow.test_flow import _referred_case, register_resident

cast = test_flow.cast  # the service-flow cast of staff and programs (a fixture)

LOMPOE = "73.72.01.1004"
FORM = "/t/parepare/pengaduan"
CHECK = "/t/parepare/cek-tiket"
NIK = "7372014101800007"  # a woman born 1980-01-01, Bacukiki
STRANGER = {"REMOTE_ADDR": "203.0.113.9"}


def csrf(client, url=FORM, **kw) -> str:
    page = client.get(url, **kw).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def send(client, token, environ=None, **fields):
    data = {
        "csrf_token": token,
        "kind": "complaint",
        "village_code": LOMPOE,
        "description": "Bantuan sembako bulan ini belum diterima keluarga kami.",
        "name": "Ibu Rahma",
        **fields,
    }
    return client.post(FORM, data=data, environ_base=environ or {})


def cases(app, tenant) -> list[Case]:
    with app.app_context(), tenant_context(tenant.ref()):
        rows = list(db.session.execute(sa.select(Case).order_by(Case.created_at)).scalars())
        db.session.expunge_all()
        db.session.remove()
    return rows


def test_the_form_registers_a_case_and_shows_its_receipt(app, client, parepare) -> None:
    page = client.get(FORM)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Sampaikan pengaduan" in html
    assert "Kecamatan Bacukiki" in html and 'value="73.72.01.1004"' in html
    sent = send(client, csrf(client), phone="0812 3456 7890")
    assert sent.status_code == 303
    link = sent.headers["Location"]
    assert re.fullmatch(r"/t/parepare/cek-tiket/[A-Za-z0-9_-]{43}", link)
    (case,) = cases(app, parepare)
    assert (case.channel, case.kind, case.status) == ("public_form", "complaint", "registered")
    assert (case.reporter_name, case.reporter_phone) == ("Ibu Rahma", "0812 3456 7890")
    assert case.person_id is None and case.reporter_nik is None
    receipt = client.get(link)
    html = receipt.get_data(as_text=True)
    assert receipt.status_code == 200
    assert f"nomor tiket {case.ticket_number}" in html and "<svg" in html
    assert "Terdaftar" in html and link in html
    assert "hanya tautan ini yang membuka status" in html  # no NIK given
    assert "Ibu Rahma" not in html and "0812" not in html  # nothing personal on the page
    assert receipt.headers["Referrer-Policy"] == "no-referrer"
    assert "no-store" in receipt.headers["Cache-Control"]


def test_the_form_is_audited_as_the_public_forms_doing(app, client, parepare) -> None:
    from slrt.platform.audit.models import AuditEvent
    from slrt.tenants.flow.models import Transition

    send(client, csrf(client))
    with app.app_context(), tenant_context(parepare.ref()):
        event = db.session.execute(
            sa.select(AuditEvent).where(AuditEvent.action == "case.register")
        ).scalar_one()
        assert (event.actor_kind, event.actor_label) == ("public", "Formulir publik")
        assert event.after["channel"] == "public_form"
        step = db.session.execute(sa.select(Transition)).scalar_one()
        assert step.actor_label == "Formulir publik" and step.actor_account_id is None
        db.session.remove()


def test_field_errors_in_words_and_values_kept(app, client, parepare) -> None:
    token = csrf(client)
    bad = send(client, token, description="Tolong", name="", nik="7372013202900001", phone="x")
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert "Periksa isian yang ditandai" in html
    assert 'value="7372013202900001"' in html and "Tolong" in html
    assert html.count('class="field-error"') >= 3  # name, description, phone
    assert cases(app, parepare) == []
    wrong_nik = send(client, token, nik="7372013202900001")
    assert wrong_nik.status_code == 422
    assert "bukan tanggal yang sah" in wrong_nik.get_data(as_text=True)
    unknown_village = send(client, token, village_code="33.24.01.2001")
    assert unknown_village.status_code == 422 and "tidak ada di Kota Parepare" in (
        unknown_village.get_data(as_text=True)
    )
    assert cases(app, parepare) == []
    english = client.get(FORM + "?lang=en").get_data(as_text=True)
    assert "Send a complaint or a service request" in english and "Sampaikan" not in english


def test_a_registered_nik_links_the_case_without_saying_so(app, client, parepare) -> None:
    fo = member(app, parepare, "front_office")
    _hh, person = register_resident(client, fo)
    sent = send(client, csrf(client), nik=person["nik"])
    assert sent.status_code == 303
    receipt = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert person["name"] not in receipt and "terdaftar atas nama" not in receipt
    assert "4 digit terakhir NIK" in receipt  # this ticket can also be checked with the digits
    (case,) = cases(app, parepare)
    assert str(case.person_id) == person["id"] and case.reporter_nik is None
    unknown = send(client, csrf(client), nik="7372010101900001")
    assert unknown.status_code == 303
    assert cases(app, parepare)[-1].reporter_nik == "7372010101900001"


def test_a_robot_filling_the_honeypot_creates_nothing(app, client, parepare) -> None:
    robot = send(client, csrf(client), website="http://spam.example")
    assert robot.status_code == 400
    assert "Pesan tidak terkirim" in robot.get_data(as_text=True)
    assert cases(app, parepare) == []
    # The field is there for robots only: hidden by the stylesheet, out of the tab order.
    html = client.get(FORM).get_data(as_text=True)
    assert re.search(r'<div class="hp" aria-hidden="true">', html)
    assert re.search(r'name="website"[^>]*tabindex="-1"', html)


def test_the_nth_message_from_one_address_is_held(app, client, parepare, monkeypatch) -> None:
    from slrt.tenants.flow.web import public

    monkeypatch.setattr(public, "FORM_LIMIT", (3, 3600))
    token = csrf(client)
    codes = [send(client, token).status_code for _ in range(3)]
    assert codes == [303, 303, 303]
    held = send(client, token, description="Pesan keempat dari alamat yang sama.")
    html = held.get_data(as_text=True)
    assert held.status_code == 429
    assert "Terlalu banyak percobaan" in html and "sudah banyak pesan terkirim" in html
    assert "Pesan keempat dari alamat yang sama." in html  # nothing typed is lost
    assert len(cases(app, parepare)) == 3
    # Another address is not held.
    other = app.test_client()
    assert send(other, csrf(other, environ_base=STRANGER), STRANGER).status_code == 303


def test_the_status_link_opens_without_a_nik_and_wrong_tokens_are_404(
    app, client, parepare
) -> None:
    link = send(client, csrf(client)).headers["Location"]
    fresh = app.test_client()
    assert fresh.get(link).status_code == 200  # another browser, no session, no digits
    for wrong in (link[:-1] + ("A" if link[-1] != "A" else "B"), "/t/parepare/cek-tiket/x"):
        page = fresh.get(wrong)
        assert page.status_code == 404 and "Tautan status tidak dikenal" in page.text
    # Another district's page never opens this district's ticket.
    from tests.fixtures import onboard

    onboard(app, "33.24")
    assert fresh.get(link.replace("/parepare/", "/kendal/")).status_code == 404


def test_a_strangers_guesses_lock_neither_the_owner_nor_the_link(
    app,
    client,
    parepare,
    cast,
) -> None:
    case, _referral = _referred_case(client, cast)
    ticket = case["ticket_number"]
    stranger = app.test_client()
    token = csrf(stranger, CHECK, environ_base=STRANGER)
    codes = [
        stranger.post(
            CHECK,
            data={"csrf_token": token, "ticket_number": ticket, "nik_last4": f"{n:04d}"},
            environ_base=STRANGER,
        ).status_code
        for n in range(7)
    ]
    assert codes == [404] * 5 + [429] * 2
    limited = stranger.post(
        CHECK,
        data={"csrf_token": token, "ticket_number": ticket, "nik_last4": "1234"},
        environ_base=STRANGER,
    ).get_data(as_text=True)
    assert "Tautan pada tanda terima Anda tetap bisa dibuka" in limited
    # The resident, from their own phone, is not locked out by the stranger's guesses.
    owner = app.test_client()
    page = owner.post(
        CHECK,
        data={
            "csrf_token": csrf(owner, CHECK),
            "ticket_number": ticket,
            "nik_last4": OWNER_NIK[-4:],
        },
    )
    assert page.status_code == 200 and "Dirujuk ke program" in page.get_data(as_text=True)
    # Nor is the receipt's link, from the stranger's own address even.
    with app.app_context(), tenant_context(parepare.ref()):
        from slrt.tenants.flow.actions import renew_status_token
        from slrt.tenants.flow.models import Case as CaseRow

        row = db.session.execute(
            sa.select(CaseRow).where(CaseRow.ticket_number == ticket)
        ).scalar_one()
        secret = renew_status_token(row)
        db.session.remove()
    opened = stranger.get(f"{CHECK}/{secret}", environ_base=STRANGER)
    assert opened.status_code == 200 and "Dirujuk ke program" in opened.get_data(as_text=True)


def test_many_addresses_reach_the_daily_ceiling_of_wrong_answers(
    app,
    client,
    cast,
    monkeypatch,
) -> None:
    from slrt.tenants.flow import public_api

    monkeypatch.setattr(public_api, "TICKET_FAILURES", (6, 86400))
    case, _referral = _referred_case(client, cast)
    ticket = case["ticket_number"]
    codes = []
    for n in range(4):
        guesser = {"REMOTE_ADDR": f"198.51.100.{n}"}
        other = app.test_client()
        token = csrf(other, CHECK, environ_base=guesser)
        for digits in ("1111", "2222"):
            codes.append(
                other.post(
                    CHECK,
                    data={"csrf_token": token, "ticket_number": ticket, "nik_last4": digits},
                    environ_base=guesser,
                ).status_code
            )
    assert codes == [404] * 6 + [429] * 2


def test_ticket_and_letter_pages_speak_one_language(app, client, parepare) -> None:
    indonesian = client.get(CHECK).get_data(as_text=True)
    assert "4 digit terakhir NIK" in indonesian and "last four" not in indonesian
    english = client.get(CHECK + "?lang=en").get_data(as_text=True)
    assert "Last four digits of the NIK" in english and "4 digit terakhir" not in english
    assert "Bahasa Indonesia" in english  # the switch back
    link = send(client, csrf(client)).headers["Location"]
    receipt = client.get(link + "?lang=en").get_data(as_text=True)
    assert "Keep this link" in receipt and "Simpan tautan" not in receipt
    assert "Registered" in receipt
    letter = client.get("/t/parepare/surat/" + "x" * 43 + "?lang=en").get_data(as_text=True)
    assert "Unknown letter" in letter and "Surat tidak dikenal" not in letter


def test_erasure_and_export_reach_a_public_message_sent_with_the_nik(app, client, parepare) -> None:
    from tests.fixtures import member as make_member

    nik = "7372010101900001"
    send(client, csrf(client), nik=nik, phone="0812 0000 1111")
    admin = make_member(app, parepare, "district_admin")
    fo = make_member(app, parepare, "front_office")
    # The writer is registered afterwards: the lawful export already names the message.
    hh = client.post(
        "/api/v1/t/parepare/households",
        json={"kk_number": "7372010101119999", "village_code": LOMPOE},
        headers=fo.headers,
    ).json
    person = client.post(
        "/api/v1/t/parepare/persons",
        json={"nik": nik, "name": "Ibu Rahma", "household_id": hh["id"]},
        headers=fo.headers,
    ).json
    exported = client.get(
        f"/api/v1/t/parepare/persons/{person['id']}/export", headers=admin.headers
    ).json
    assert [c["reporter_phone"] for c in exported["cases"]] == ["0812 0000 1111"]
    erased = client.post(
        f"/api/v1/t/parepare/persons/{person['id']}/erase",
        json={"reason": "Permintaan pemilik data"},
        headers=admin.headers,
    )
    assert erased.status_code == 200 and erased.json["cases"] == 1
    (case,) = cases(app, parepare)
    assert (case.reporter_name, case.reporter_phone, case.reporter_nik) == (None, None, None)
    assert case.description == "(data dihapus)"
