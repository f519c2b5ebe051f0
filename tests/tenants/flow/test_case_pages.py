"""The desk's case pages with a signed-in browser's session (Flask test client): intake with a
document and the receipt, the case list and page, assessment, decision or return, referral,
the letter PDF and its revocation. Each page and form: the happy path, the refusal with the
field's problem in words, the permission refusal, and the state machine's refusal as a
sentence naming the state and what can be done now."""

from __future__ import annotations

import io
import re
import uuid

import pytest
import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.tenancy import tenant_context
from tests.fixtures import flow_catalog, member, set_password
from tests.tenants.dtsen.files import THIS as THIS_QUARTER
from tests.tenants.flow.test_flow import LOMPOE, NIK, PNG, SOREANG, register_resident
from tests.web import PASSWORD, csrf_of, form_token, sign_in

PAGES = "/t/parepare/cases"
HTML = {"Accept": "text/html"}


@pytest.fixture
def desk(app, client, parepare, monkeypatch):
    """Parepare's desk: the catalog, Sitti Aminah's family in the registry (by API), and a
    signed-in browser (test client) per role."""
    monkeypatch.setenv("SLRT_PUBLIC_URL", "http://localhost")
    ids = flow_catalog(app, parepare)
    people = {
        "fo": member(app, parepare, "front_office", scope_kind="village", scope_codes=[LOMPOE]),
        "bo": member(app, parepare, "back_office"),
        "manager": member(app, parepare, "manager"),
        "outsider": member(
            app, parepare, "facilitator", scope_kind="village", scope_codes=[SOREANG]
        ),
    }
    household, person = register_resident(client, people["fo"])
    browsers = {}
    for key, user in people.items():
        set_password(app, user, PASSWORD)
        browser = app.test_client()
        sign_in(browser, user.email)
        browsers[key] = browser
    return {"ids": ids, "users": people, "person": person, "household": household, **browsers}


def token(browser, path: str) -> str:
    """The session's CSRF token, from the form page when it has one."""
    page = browser.get(path, headers=HTML).get_data(as_text=True)
    return csrf_of(page) if 'name="csrf_token"' in page else form_token(browser)


def text(resp) -> str:
    """The page as read: tags dropped, entities and white space folded."""
    import html

    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", resp.get_data(as_text=True), flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))


def post(browser, path: str, data: dict, *, form_page: str | None = None, **kw):
    data = {"csrf_token": token(browser, form_page or path), **data}
    return browser.post(path, data=data, headers=HTML, **kw)


def register_visit(desk, **extra) -> tuple[str, str]:
    """Front office registers Sitti's visit with a photo; (case id, receipt page)."""
    fo = desk["fo"]
    data = {
        "person_id": desk["person"]["id"],
        "kind": "service_request",
        "channel": "puskesos",
        "description": "Butuh jaminan kesehatan.",
        "needs.0.sector": "health",
        "needs.0.description": "Belum punya BPJS",
        "file_kind": "photo",
        "file": (io.BytesIO(PNG), "rumah.jpg"),
        **extra,
    }
    resp = post(fo, f"{PAGES}/new", data, content_type="multipart/form-data")
    assert resp.status_code == 302, text(resp)[:2000]
    receipt = resp.headers["Location"]
    case_id = re.search(r"/cases/([0-9a-f-]{36})/receipt", receipt).group(1)
    return case_id, receipt


def case_row(app, parepare, case_id: str):
    from slrt.tenants.flow.models import Case

    with app.app_context(), tenant_context(parepare.ref()):
        case = db.session.get(Case, (parepare.id, uuid.UUID(case_id)))
        db.session.expunge(case)
        db.session.remove()
    return case


def audit_actions(app, parepare) -> list[str]:
    from slrt.platform.audit.models import AuditEvent

    with app.app_context(), tenant_context(parepare.ref()):
        found = list(db.session.execute(sa.select(AuditEvent.action)).scalars())
        db.session.remove()
    return found


# --- intake and receipt -------------------------------------------------------------------------


def test_intake_finds_the_resident_registers_with_a_photo_and_prints_a_receipt(
    app, desk, parepare
) -> None:
    from slrt.tenants.flow.access import case_by_status_token

    fo = desk["fo"]
    search = fo.get(f"{PAGES}/new?q=Sitti", headers=HTML)
    assert search.status_code == 200
    assert "Pilih Sitti Aminah" in text(search) and f"NIK {NIK}" in text(search)
    by_kk = text(fo.get(f"{PAGES}/new?q=7372010101110009", headers=HTML))
    assert "Keluarga KK 7372010101110009" in by_kk
    family = text(fo.get(f"{PAGES}/new?household={desk['household']['id']}", headers=HTML))
    assert "Pilih Sitti Aminah" in family and "Layanan ini untuk keluarga tersebut" in family
    chosen = fo.get(f"{PAGES}/new?person={desk['person']['id']}", headers=HTML)
    page = chosen.get_data(as_text=True)
    assert 'name="person_id"' in page and 'capture="environment"' in page
    assert 'accept="image/*,application/pdf"' in page
    # A front office at a Puskesos (village scope) starts from the Puskesos channel.
    assert re.search(r'<option value="puskesos" selected>', page)

    case_id, receipt_url = register_visit(desk)
    receipt = fo.get(receipt_url, headers=HTML)
    shown = text(receipt)
    case = case_row(app, parepare, case_id)
    assert case.ticket_number in shown and "Tanda terima layanan" in shown
    assert f"Tiket {case.ticket_number} terdaftar." in shown  # the notice
    assert "SLRT Kota Parepare" in shown  # no Puskesos configured: the district's SLRT
    link = re.search(r'href="(http://localhost/t/parepare/cek-tiket/([^"]+))"', receipt.text)
    assert link, "the receipt carries the secret status link"
    assert "<svg" in receipt.text and "<path" in receipt.text  # the QR code, drawn on the server
    assert "http://localhost/t/parepare/cek-tiket, lalu ketik nomor tiket" in shown
    with app.test_request_context(), tenant_context(parepare.ref()):
        found = case_by_status_token(link.group(2))
        assert found is not None and str(found.id) == case_id
        db.session.remove()
    # Shown again in the same browser (the print reloads it), not in another one.
    assert link.group(1) in fo.get(receipt_url, headers=HTML).text
    other = desk["bo"].get(receipt_url, headers=HTML)
    assert other.status_code == 200 and "cek-tiket/" not in other.text
    assert "Buat tanda terima baru" in text(other)

    page = text(fo.get(f"{PAGES}/{case_id}", headers=HTML))
    assert "Lihat Foto (rumah, kondisi warga)" in page and "Belum punya BPJS" in page
    assert "Didaftarkan" in page and "Terdaftar" in page


def test_intake_with_a_typed_nik_and_its_refusals(app, desk, parepare) -> None:
    from slrt.tenants.flow.models import Case

    fo = desk["fo"]
    empty = post(fo, f"{PAGES}/new", {}, content_type="multipart/form-data")
    assert empty.status_code == 422
    shown = text(empty)
    assert "Periksa isian yang ditandai." in shown
    assert "Pilih warga dari hasil pencarian, atau ketik NIK warga yang sudah terdaftar." in shown
    assert shown.count("Wajib diisi.") >= 2  # kind and description
    assert 'aria-invalid="true"' in empty.text

    unknown = post(
        fo,
        f"{PAGES}/new",
        {"nik": "7372010101990001", "kind": "complaint", "channel": "puskesos", "description": "x"},
    )
    assert unknown.status_code == 422
    assert "NIK ini belum terdaftar di registri wilayah Anda." in text(unknown)
    short = post(fo, f"{PAGES}/new", {"nik": "12345", "kind": "complaint"})
    assert "NIK terdiri dari 16 angka." in text(short)

    half_need = post(
        fo,
        f"{PAGES}/new",
        {
            "nik": NIK,
            "kind": "complaint",
            "channel": "puskesos",
            "description": "Bantuan belum cair",
            "needs.1.sector": "food",
        },
    )
    assert half_need.status_code == 422
    assert re.search(r'id="f-needs\.1\.description-error"[^>]*>Wajib diisi\.', half_need.text)

    # A file that is not what it claims: nothing is registered, the problem is beside the file.
    fake = post(
        fo,
        f"{PAGES}/new",
        {
            "nik": NIK,
            "kind": "complaint",
            "channel": "puskesos",
            "description": "Bantuan belum cair",
            "file_kind": "ktp",
            "file": (io.BytesIO(b"MZ\x90\x00 not an image"), "ktp.jpg"),
        },
        content_type="multipart/form-data",
    )
    assert fake.status_code == 415, text(fake)[:1500]
    assert re.search(r'id="f-file-error"', fake.text)
    with app.app_context(), tenant_context(parepare.ref()):
        assert db.session.execute(sa.select(sa.func.count()).select_from(Case)).scalar() == 0
        db.session.remove()

    typed = post(
        fo,
        f"{PAGES}/new",
        {"nik": NIK, "kind": "complaint", "channel": "puskesos", "description": "Bantuan belum"},
    )
    assert typed.status_code == 302 and typed.headers["Location"].endswith("/receipt")


def test_receipt_renewed_in_another_browser_replaces_the_link(app, desk, parepare) -> None:
    from slrt.tenants.flow.access import case_by_status_token

    case_id, receipt_url = register_visit(desk)
    first = re.search(r"/cek-tiket/([^\"]+)\"", desk["fo"].get(receipt_url, headers=HTML).text)
    bo = desk["bo"]
    renewed = post(bo, receipt_url, {})
    assert renewed.status_code == 302
    page = bo.get(receipt_url, headers=HTML)
    second = re.search(r"/cek-tiket/([^\"]+)\"", page.text)
    assert second and second.group(1) != first.group(1)
    assert "tautan pada tanda terima lama tidak berlaku lagi" in text(page)
    with app.test_request_context(), tenant_context(parepare.ref()):
        assert case_by_status_token(first.group(1)) is None
        assert str(case_by_status_token(second.group(1)).id) == case_id
        db.session.remove()
    assert "case.status_token" in audit_actions(app, parepare)
    # The manager may read the receipt but not make a new one.
    assert "Buat tanda terima baru" not in text(desk["manager"].get(receipt_url, headers=HTML))
    assert post(desk["manager"], receipt_url, {}, form_page=f"{PAGES}").status_code == 403


def test_permissions_are_the_apis(desk) -> None:
    case_id, _ = register_visit(desk)
    manager, fo, bo = desk["manager"], desk["fo"], desk["bo"]
    assert manager.get(f"{PAGES}/new", headers=HTML).status_code == 403
    assert fo.get(f"{PAGES}/{case_id}/assess", headers=HTML).status_code == 403
    assert fo.get(f"{PAGES}/{case_id}/decide", headers=HTML).status_code == 403
    assert bo.get(f"{PAGES}/{case_id}/decide", headers=HTML).status_code == 403
    refused = post(bo, f"{PAGES}/{case_id}/decide", {"program_ids": str(desk["ids"]["pbi"])})
    assert refused.status_code == 403
    assert post(bo, f"{PAGES}/{case_id}/refer", {}, form_page=f"{PAGES}").status_code == 403
    assert (
        post(bo, f"{PAGES}/{case_id}/return", {"reason": "x"}, form_page=PAGES).status_code == 403
    )
    # Out of region: like a missing case.
    outsider = desk["outsider"]
    assert outsider.get(f"{PAGES}/{case_id}", headers=HTML).status_code == 404
    assert outsider.get(f"{PAGES}/{uuid.uuid4()}", headers=HTML).status_code == 404
    # The menu offers what the member may open: the manager gets the list, not the intake.
    home = manager.get("/t/parepare/", headers=HTML).get_data(as_text=True)
    assert f'href="{PAGES}"' in home and f'href="{PAGES}/new"' not in home
    assert f'href="{PAGES}/new"' in fo.get("/t/parepare/", headers=HTML).get_data(as_text=True)


# --- assessment, decision, return, referral, letters --------------------------------------------


def test_the_desk_flow_with_its_refusals(app, desk, parepare, owner_engine) -> None:
    bo, manager, fo = desk["bo"], desk["manager"], desk["fo"]
    ids = desk["ids"]
    case_id, _ = register_visit(desk)
    case_url = f"{PAGES}/{case_id}"

    # The manager cannot decide before the assessment: a sentence, not a code.
    early = manager.get(f"{case_url}/decide", headers=HTML)
    assert early.status_code == 409
    assert (
        "Langkah ini tidak dapat dilakukan karena kasus berstatus “Terdaftar”. Yang dapat "
        "dilakukan sekarang: asesmen (back office), penutupan kasus." in text(early)
    )
    assert 'name="program_ids"' not in early.text and "registered" not in text(early)
    early_post = post(
        manager, f"{case_url}/decide", {"program_ids": str(ids["pbi"])}, form_page=case_url
    )
    assert early_post.status_code == 409 and "berstatus “Terdaftar”" in text(early_post)

    # Back office: a desil without being listed is refused beside the field.
    form = bo.get(f"{case_url}/assess", headers=HTML)
    assert form.status_code == 200 and "Cek DTSEN" in text(form)
    seen = re.search(r'name="seen" value="([^"]+)"', form.text).group(1)
    bad = post(
        bo,
        f"{case_url}/assess",
        {"seen": seen, "dtks.status": "not_in_dtks", "dtks.desil": "2"},
    )
    assert bad.status_code == 422
    assert re.search(
        r'id="f-dtks\.desil-error"[^>]*>Desil hanya diisi bila terdaftar di DTSEN\.', bad.text
    )
    good = post(
        bo,
        f"{case_url}/assess",
        {
            "seen": seen,
            "dtks.status": "in_dtks",
            "dtks.desil": "2",
            "needs.0.sector": "health",
            "needs.0.description": "Belum punya BPJS",
            "needs.1.sector": "food",
            "needs.1.description": "Kesulitan pangan",
            "note": "Rumah tidak layak",
        },
    )
    assert good.status_code == 302, text(good)[:1500]
    page = text(bo.get(case_url, headers=HTML))
    assert "program memenuhi syarat; menunggu keputusan." in page  # the notice
    assert "Sudah dinilai (asesmen)" in page and "Terdaftar di DTSEN · desil 2" in page
    # The check is kept as the family's dated DTSEN record: its period is shown beside it.
    assert f"Terdaftar di DTSEN, desil 2 (periode {THIS_QUARTER})" in page
    assert "Kesulitan pangan" in page
    # The rule in words: each condition with the resident's value, met or not.
    assert "Memenuhi syarat" in page
    assert "Terdaftar di DTSEN ✓" not in page  # the mark is separate from the words
    assert "Desil kesejahteraan DTSEN (1 = termiskin, 10 = terkaya): paling tinggi 4" in page
    assert "data warga: 2; terpenuhi" in page
    assert "in_dtks" not in page and "desil <=" not in page

    # The manager's decision page: eligible programs ticked, the others not.
    decide_page = manager.get(f"{case_url}/decide", headers=HTML)
    assert decide_page.status_code == 200
    assert re.search(rf'value="{ids["pbi"]}" checked', decide_page.text)
    assert re.search(rf'value="{ids["bpnt"]}" checked', decide_page.text)

    # Return: the reason is required, in words.
    no_reason = post(
        manager, f"{case_url}/return", {"reason": "  "}, form_page=f"{case_url}/decide"
    )
    assert no_reason.status_code == 422
    assert "Tulis alasan pengembalian untuk back office." in text(no_reason)
    returned = post(
        manager,
        f"{case_url}/return",
        {"reason": "Lengkapi catatan kebutuhan"},
        form_page=f"{case_url}/decide",
    )
    assert returned.status_code == 302
    page = text(bo.get(case_url, headers=HTML))
    assert "Lengkapi catatan kebutuhan" in page and "Asesmen ulang" in page
    # The returned case cannot be decided; the refusal says what can be done.
    again = post(
        manager, f"{case_url}/decide", {"program_ids": str(ids["pbi"])}, form_page=case_url
    )
    assert again.status_code == 409
    assert "Yang dapat dilakukan sekarang: asesmen (back office)." in text(again)

    reassess_form = bo.get(f"{case_url}/assess", headers=HTML)
    assert "Lengkapi catatan kebutuhan" in text(reassess_form)
    seen = re.search(r'name="seen" value="([^"]+)"', reassess_form.text).group(1)
    values = {
        k: v
        for k, v in re.findall(
            r'name="(needs\.\d\.description)"[^>]*value="([^"]*)"', reassess_form.text
        )
    }
    assert values["needs.0.description"] == "Belum punya BPJS"  # the form starts from the record
    reassess = post(
        bo,
        f"{case_url}/assess",
        {
            "seen": seen,
            "needs.0.sector": "health",
            "needs.0.description": "Belum punya BPJS",
            "needs.1.sector": "food",
            "needs.1.description": "Kesulitan pangan, 4 anak",
            "note": "Catatan dilengkapi",
        },
    )
    assert reassess.status_code == 302

    # No program chosen: refused in words; then the decision.
    none = post(manager, f"{case_url}/decide", {"note": "x"}, form_page=case_url)
    assert none.status_code == 422 and "Pilih sedikitnya satu program." in text(none)
    decided = post(
        manager,
        f"{case_url}/decide",
        {"program_ids": [str(ids["pbi"]), str(ids["bpnt"])], "note": "Setuju"},
        form_page=case_url,
    )
    assert decided.status_code == 302
    page = text(manager.get(case_url, headers=HTML))
    assert "Sudah diputuskan" in page and "Menunggu dikirim" in page
    assert "Rujuk ke OPD dan terbitkan surat" in page
    # A decided case is not assessed again: the sentence, no form.
    late_assess = bo.get(f"{case_url}/assess", headers=HTML)
    assert late_assess.status_code == 409 and 'name="seen"' not in late_assess.text
    assert "Yang dapat dilakukan sekarang: rujukan dan penerbitan surat." in text(late_assess)

    # Refer: numbered letters, deadlines, the PDF, the revocation.
    referred = post(manager, f"{case_url}/refer", {}, form_page=case_url)
    assert referred.status_code == 302
    page_resp = manager.get(case_url, headers=HTML)
    page = text(page_resp)
    numbers = re.findall(r"Surat nomor (\S+/\d{4}/SLRT/\d{4}), terbit", page)
    assert len(numbers) == 2, page
    assert f"Surat rujukan terbit: {', '.join(sorted(numbers))}." in page  # the notice
    assert "Batas tanggapan OPD:" in page and "WITA" in page
    pdf_links = re.findall(rf'href="({case_url}/letters/[0-9a-f-]+\.pdf)"', page_resp.text)
    assert len(pdf_links) == 2
    pdf = manager.get(pdf_links[0])
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF")
    assert "letter.print" in audit_actions(app, parepare)
    assert fo.get(pdf_links[0]).status_code == 403  # front office does not read referrals

    referral_id = re.search(r"/letters/([0-9a-f-]+)\.pdf", pdf_links[0]).group(1)
    revoke_url = f"{case_url}/letters/{referral_id}/revoke"
    blank = post(manager, revoke_url, {"reason": ""}, form_page=case_url)
    assert blank.status_code == 422
    assert "Tulis alasan pencabutan surat (hilang, data salah, ...)." in text(blank)
    assert re.search(r"<details class=\"revoke\" open>", blank.text)
    revoked = post(manager, revoke_url, {"reason": "Surat hilang"}, form_page=case_url)
    assert revoked.status_code == 302
    page = text(manager.get(case_url, headers=HTML))
    assert "Dicabut" in page and "halaman verifikasinya kini menyatakan dicabut" in page
    assert "Alasan pencabutan: Surat hilang" in page
    twice = post(manager, revoke_url, {"reason": "lagi"}, form_page=case_url)
    assert twice.status_code == 409 and "Surat ini sudah dicabut." in text(twice)

    # Refer again: nothing left to refer, said in words.
    late = post(manager, f"{case_url}/refer", {}, form_page=case_url)
    assert late.status_code == 409
    assert "kasus berstatus “Dirujuk ke program”" in text(late)
    assert "Periksa isian yang ditandai." not in text(late)  # no field to check: the sentence
    assert "tindak lanjut (fasilitator)" in text(late)

    # The whole history, in district time, with who did it.
    history = text(manager.get(case_url, headers=HTML)).split("Riwayat", 1)[1]
    for step in (
        "Didaftarkan",
        "Dinilai (asesmen)",
        "Dikembalikan untuk perbaikan",
        "Lengkapi catatan kebutuhan",
        "Diputuskan",
        "Surat rujukan dikirim ke OPD",
        "Dirujuk",
        "Surat rujukan dicabut",
    ):
        assert step in history, step
    assert history.count("WITA") >= 8
    # Waiting for the facilitator's follow-up, in words.
    assert "Menunggu: tindak lanjut (fasilitator)." in text(manager.get(case_url, headers=HTML))


def test_state_refusal_in_english(desk) -> None:
    case_id, _ = register_visit(desk)
    manager = desk["manager"]
    page = manager.get(f"{PAGES}/{case_id}/decide?lang=en", headers=HTML)
    assert page.status_code == 409
    shown = text(page)
    assert (
        "This step cannot be taken: the case is “Registered”. What can be done now: "
        "assessment (back office), closing the case." in shown
    )
    for words in ("Langkah", "berstatus", "Keputusan", "Warga dan keluarga"):
        assert words not in shown, words


def test_assessment_meanwhile_changed_offers_a_choice(desk) -> None:
    bo, manager = desk["bo"], desk["manager"]
    case_id, _ = register_visit(desk)
    case_url = f"{PAGES}/{case_id}"
    post(bo, f"{case_url}/assess", {"dtks.status": "in_dtks", "dtks.desil": "3"})
    form = bo.get(f"{case_url}/assess", headers=HTML)
    seen = re.search(r'name="seen" value="([^"]+)"', form.text).group(1)
    # Meanwhile the manager returns it.
    post(manager, f"{case_url}/return", {"reason": "Cek ulang desil"}, form_page=case_url)
    stale = post(
        bo, f"{case_url}/assess", {"seen": seen, "dtks.status": "in_dtks", "dtks.desil": "4"}
    )
    assert stale.status_code == 409
    shown = text(stale)
    assert "Kasus ini diubah orang lain sejak Anda membuka formulir ini." in shown
    assert "Simpan isian saya" in shown and "Lihat versi terbaru" in shown
    fresh_seen = re.search(r'name="seen" value="([^"]+)"', stale.text).group(1)
    mine = post(
        bo,
        f"{case_url}/assess",
        {"seen": seen, "apply": "mine", "dtks.status": "in_dtks", "dtks.desil": "4"},
    )
    assert mine.status_code == 302 and fresh_seen != seen
    assert "desil 4" in text(bo.get(case_url, headers=HTML))


# --- list, page, documents ----------------------------------------------------------------------


def test_case_list_filters_and_search(app, desk, parepare, owner_engine) -> None:
    bo = desk["bo"]
    first, _ = register_visit(desk)
    second, _ = register_visit(desk, kind="complaint", channel="secretariat")
    post(bo, f"{PAGES}/{first}/assess", {"dtks.status": "in_dtks", "dtks.desil": "3"})
    tickets = {c: case_row(app, parepare, c).ticket_number for c in (first, second)}

    everything = text(bo.get(PAGES, headers=HTML))
    assert all(t in everything for t in tickets.values()) and "Sitti Aminah" in everything
    assert "Ditemukan 2 layanan" in everything
    assessed = text(bo.get(f"{PAGES}?status=assessed", headers=HTML))
    assert tickets[first] in assessed and tickets[second] not in assessed
    complaints = text(bo.get(f"{PAGES}?kind=complaint", headers=HTML))
    assert tickets[second] in complaints and tickets[first] not in complaints
    by_channel = text(bo.get(f"{PAGES}?channel=secretariat", headers=HTML))
    assert tickets[second] in by_channel and tickets[first] not in by_channel
    suffix = tickets[second][-6:]
    found = text(bo.get(f"{PAGES}?q={suffix}", headers=HTML))
    assert tickets[second] in found and tickets[first] not in found
    by_village = text(bo.get(f"{PAGES}?village_code={LOMPOE}", headers=HTML))
    assert "Ditemukan 2 layanan" in by_village
    mine = text(bo.get(f"{PAGES}?mine=1", headers=HTML))
    assert tickets[first] in mine and tickets[second] not in mine  # the back office assessed one
    # "Visits today" (the front office's home links here) in the district's own day.
    with owner_engine.begin() as conn:
        conn.execute(sa.select(sa.func.set_config("slrt.tenant_id", str(parepare.id), True)))
        conn.execute(
            sa.text("UPDATE cases SET created_at = now() - interval '2 days' WHERE id = :id"),
            {"id": first},
        )
    today = text(bo.get(f"{PAGES}?created=today", headers=HTML))
    assert tickets[second] in today and tickets[first] not in today
    nothing = text(bo.get(f"{PAGES}?q=999999", headers=HTML))
    assert "Tidak ada layanan yang cocok dengan saringan ini." in nothing
    bad = bo.get(f"{PAGES}?status=bogus", headers=HTML)
    assert bad.status_code == 422 and "Harus salah satu dari" in text(bad)
    # Out of region: an empty list.
    assert "Belum ada layanan di wilayah Anda." in text(desk["outsider"].get(PAGES, headers=HTML))
    assert "person.list" in audit_actions(app, parepare)


def test_documents_are_viewable_and_every_view_is_audited(app, desk, parepare) -> None:
    fo, bo = desk["fo"], desk["bo"]
    case_id, _ = register_visit(desk)
    case_url = f"{PAGES}/{case_id}"
    page = bo.get(case_url, headers=HTML)
    link = re.search(rf'href="({case_url}/attachments/[0-9a-f-]+)"', page.text).group(1)
    shown = bo.get(link)
    assert shown.status_code == 200 and shown.data == PNG and shown.mimetype == "image/png"
    assert shown.headers["Content-Disposition"].startswith("inline")
    assert audit_actions(app, parepare).count("attachment.read") == 1
    assert "person.read" in audit_actions(app, parepare)
    # Another document from the case page; refused without a file, in words.
    missing = post(fo, f"{case_url}/attachments", {"file_kind": "kk"}, form_page=case_url)
    assert missing.status_code == 422 and "Pilih berkas atau ambil foto." in text(missing)
    added = post(
        fo,
        f"{case_url}/attachments",
        {"file_kind": "kk", "file": (io.BytesIO(PNG), "kk.png")},
        form_page=case_url,
        content_type="multipart/form-data",
    )
    assert added.status_code == 302
    assert "Lihat KK (kartu keluarga)" in text(fo.get(case_url, headers=HTML))
    # A manager does not attach (cases.register): no form, and the post is refused.
    assert "Lampirkan" not in text(desk["manager"].get(case_url, headers=HTML))


def test_case_page_in_english(desk) -> None:
    case_id, _ = register_visit(desk)
    page = text(desk["bo"].get(f"{PAGES}/{case_id}?lang=en", headers=HTML))
    for words in ("Resident and family", "Needs by sector", "History", "Registered", "Health"):
        assert words in page, words
    for words in ("Warga dan keluarga", "Riwayat", "Kebutuhan per sektor", "Langkah berikutnya"):
        assert words not in page, words


def test_action_urls_opened_as_pages_lead_back_to_their_form(desk) -> None:
    """A refused form stays at its action's URL; the language switch or a reload there asks for
    it by GET and lands on the page that holds the form (in the chosen language)."""
    manager = desk["manager"]
    case_id, _ = register_visit(desk)
    case_url = f"{PAGES}/{case_id}"
    refused = post(manager, f"{case_url}/refer", {}, form_page=case_url)
    assert refused.status_code == 409
    switch = re.search(r'href="([^"]*lang=en)"', refused.text).group(1).replace("&amp;", "&")
    english = manager.get(switch, headers=HTML, follow_redirects=True)
    assert english.request.path == case_url and "Referrals and letters" in text(english)
    targets = {
        f"{case_url}/refer": f"{case_url}#rujukan",
        f"{case_url}/attachments": f"{case_url}#dokumen",
        f"{case_url}/return": f"{case_url}/decide",
    }
    for url, target in targets.items():
        resp = manager.get(url, headers=HTML)
        assert resp.status_code == 302 and resp.headers["Location"] == target, url
    assert desk["outsider"].get(f"{case_url}/refer", headers=HTML).status_code == 404
