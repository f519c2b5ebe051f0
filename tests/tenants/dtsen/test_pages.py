"""DTSEN pages through a signed-in browser session (no script): a SIKS-NG file uploaded, its
columns mapped (recognised ones chosen already, a hand-made choice remembered for the next
file), the dry run's counts and preview with the match rule per row, the application; a
family's desil history; a village's reconciliation and its spreadsheet; an usul recorded at the
Puskesos with a house photo (a disguised file refused), its home visit, the decision and the
outcome letter."""

from __future__ import annotations

import io
import re

import sqlalchemy as sa
from openpyxl import load_workbook

from slrt.platform import db
from slrt.platform.tenancy import tenant_context
from slrt.tenants.regions.models import Village
from tests.fixtures import member
from tests.platform.jobs.test_jobs import run_burst
from tests.tenants.dtsen.files import (
    ANDI_KK,
    HASNAH,
    HASNAH_KK,
    LOMPOE,
    PREVIOUS,
    THIS,
    WA_ODE_KK,
    bnba_xlsx,
    desil_csv,
    registry,
)
from tests.tenants.flow.test_flow import PNG
from tests.tenants.registry import test_registry_pages
from tests.tenants.registry.test_registry_pages import post, text

web = test_registry_pages.web  # signed-in test clients (a fixture)

PAGES = "/t/parepare/dtsen"


def upload(client, content: bytes, name: str, kind: str, period) -> str:
    resp = client.post(
        f"{PAGES}/imports/",
        data={
            "csrf_token": client.csrf,
            "kind": kind,
            "period": str(period),
            "file": (io.BytesIO(content), name),
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302, text(resp)
    return resp.headers["Location"]


def selected(page: str, header: str) -> str:
    """The field chosen for the column whose label is `header` ("" when ignored)."""
    match = re.search(
        rf'<label for="(column-\d+)">{re.escape(header)}</label>.*?<select id="\1" name="\1">(.*?)</select>',
        page,
        re.S,
    )
    assert match, header
    chosen = re.search(r'<option value="([^"]*)" selected>', match.group(2))
    return chosen.group(1) if chosen else ""


def village_id(app, tenant) -> str:
    with app.app_context(), tenant_context(tenant.ref()):
        found = db.session.execute(sa.select(Village.id).where(Village.code == LOMPOE)).scalar_one()
        db.session.remove()
    return str(found)


def test_import_mapping_dry_run_history_and_reconciliation(app, client, web, parepare) -> None:
    api_user = member(app, parepare, "back_office")
    households = registry(client, api_user)
    admin = web(member(app, parepare, "district_admin"))

    # A period that is not a quarter is refused beside its field; nothing is stored.
    refused = admin.post(
        f"{PAGES}/imports/",
        data={
            "csrf_token": admin.csrf,
            "kind": "bnba",
            "period": "2026-Q9",
            "file": (io.BytesIO(bnba_xlsx()), "bnba.xlsx"),
        },
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422 and 'id="f-period-error"' in text(refused)

    # The previous quarter's BNBA: every column recognised, applied as it is.
    url = upload(admin, bnba_xlsx(), "BNBA.xlsx", "bnba", PREVIOUS)
    page = text(admin.get(url))
    assert "Langkah 1: pemetaan kolom" in page
    assert selected(page, "NIK") == "nik" and selected(page, "NO_KK") == "no_kk"
    assert selected(page, "KETERANGAN PADAN") == ""
    # The first data row is shown under its header, so the admin sees what a column holds.
    assert "ANDI BASO" in page
    mapping = {
        f"column-{i}": v
        for i, v in enumerate(
            ["", "nik", "nama", "no_kk", "hubungan", "alamat", "kode_desa", "desil", ""]
        )
    }
    checked = post(admin, f"{url}/check", **mapping)
    assert checked.status_code == 302
    run_burst()
    dry = text(admin.get(url))
    assert "Langkah 2: uji coba (belum ada yang ditulis)" in dry
    assert "NIK anggota keluarga" in dry  # Baco's family, found only through Rudi's NIK
    assert "Laporan kesalahan (CSV)" in dry  # the NIK Excel stored as a number
    report = admin.get(f"{url}/files/laporan-kesalahan.csv")
    assert report.status_code == 200 and "7372010101900009" in text(report)
    assert post(admin, f"{url}/apply").status_code == 302
    run_burst()
    assert "Sudah diterapkan" in text(admin.get(url))

    # This quarter's desil file: "KK DTSEN" is not a usual spelling; the admin maps it.
    url = upload(admin, desil_csv(), "desil.csv", "desil", THIS)
    page = text(admin.get(url))
    assert selected(page, "KK DTSEN") == "" and selected(page, "NIK") == "nik"
    # NIK left out: the mapping is refused and shown again as chosen.
    missing = post(admin, f"{url}/check", **{"column-0": "no_kk", "column-3": "desil"})
    assert missing.status_code == 422 and "NIK" in text(missing)
    assert selected(text(missing), "KK DTSEN") == "no_kk"
    mapped = {"column-0": "no_kk", "column-1": "nik", "column-2": "nama", "column-3": "desil"}
    assert post(admin, f"{url}/check", save_mapping="1", **mapped).status_code == 302
    run_burst()
    dry = text(admin.get(url))
    assert f"desil berubah dari {PREVIOUS}: 3 menjadi 2" in dry
    assert post(admin, f"{url}/apply").status_code == 302
    run_burst()
    # The next file of the same shape: the hand-made choice is remembered.
    again = upload(admin, desil_csv(), "desil.csv", "desil", THIS)
    assert selected(text(admin.get(again)), "KK DTSEN") == "no_kk"

    # Andi's family: both quarters, newest first, nothing overwritten.
    history = text(admin.get(f"{PAGES}/households/{households[ANDI_KK]}"))
    assert f"Terdaftar di DTSEN, desil 2 (periode {THIS})" in history
    rows = re.findall(r'<tr class="record[^"]*">\s*<td>([^<]+)</td>', history)
    assert rows == [str(THIS), str(PREVIOUS)]

    # Lompoe's reconciliation: one list at a time, and the spreadsheet for the meeting.
    vid = village_id(app, parepare)
    rec = text(admin.get(f"{PAGES}/villages/{vid}"))
    assert f"Periode {THIS} dibandingkan" in rec and WA_ODE_KK in rec
    not_listed = text(admin.get(f"{PAGES}/villages/{vid}?list=not_in_dtsen"))
    assert HASNAH_KK in not_listed and WA_ODE_KK not in not_listed
    changed = text(admin.get(f"{PAGES}/villages/{vid}?list=desil_changed"))
    assert ANDI_KK in changed
    sheet = post(admin, f"{PAGES}/villages/{vid}/export", format="xlsx", period=str(THIS))
    assert sheet.status_code == 200 and "attachment" in sheet.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(sheet.get_data()))
    assert "Desil berubah" in book.sheetnames
    assert [c.value for c in book["Desil berubah"][2]][:1] == [ANDI_KK]


def test_an_usul_recorded_verified_and_decided_on_the_pages(app, client, web, parepare) -> None:
    api_user = member(app, parepare, "back_office")
    registry(client, api_user)
    fas = web(member(app, parepare, "facilitator", scope_kind="village", scope_codes=[LOMPOE]))
    manager = web(member(app, parepare, "manager"))

    form = fas.get(f"{PAGES}/submissions/new")
    assert form.status_code == 200 and 'capture="environment"' in text(form)
    # A text file named as a photo: the usul is kept, the file refused on its page.
    created = fas.post(
        f"{PAGES}/submissions/new",
        data={
            "csrf_token": fas.csrf,
            "kind": "usul",
            "nik": HASNAH,
            "name": "Hasnah",
            "village_code": LOMPOE,
            "reason": "Lansia tinggal sendiri, rumah tidak layak huni",
            "file": (io.BytesIO(b"not a photo"), "rumah.jpg"),
        },
        content_type="multipart/form-data",
    )
    assert created.status_code == 415, text(created)
    page = text(created)
    assert "Hasnah" in page and "Bukti (0)" in page
    item = re.search(r"/dtsen/submissions/([0-9a-f-]{36})/evidence", page).group(1)
    url = f"{PAGES}/submissions/{item}"
    photo = fas.post(
        f"{url}/evidence",
        data={"csrf_token": fas.csrf, "kind": "photo", "file": (io.BytesIO(PNG), "rumah.png")},
        content_type="multipart/form-data",
    )
    assert photo.status_code == 302
    page = text(fas.get(url))
    assert "Bukti (1)" in page and "Diterima, menunggu verifikasi lapangan" in page
    # The facilitator records the visit but may not decide.
    assert "Keputusan" not in page
    assert post(fas, f"{url}/verval", result="eligible", note="Rumah bambu").status_code == 302
    assert post(fas, f"{url}/decide", action="accept").status_code == 403

    # Rejecting needs a note, shown beside the field.
    no_note = post(manager, f"{url}/decide", action="reject")
    assert no_note.status_code == 422 and 'id="f-decision_note-error"' in text(no_note)
    accepted = post(manager, f"{url}/decide", action="accept")
    assert accepted.status_code == 302
    page = text(manager.get(url))
    assert "Masuk usulan untuk musyawarah desa/kelurahan" in page
    letter = manager.get(f"{url}/letter.pdf")
    assert letter.status_code == 200 and letter.mimetype == "application/pdf"
    listed = text(fas.get(f"{PAGES}/submissions/?kind=usul"))
    assert "Hasnah" in listed and "Diterima" in listed
    assert HASNAH_KK not in listed  # typed without a KK


def test_settings_change_with_the_lock_shown_as_a_choice(app, web, parepare) -> None:
    admin = web(member(app, parepare, "district_admin"))
    other = web(member(app, parepare, "district_admin"))
    manager = web(member(app, parepare, "manager"))
    page = text(admin.get(f"{PAGES}/settings"))
    seen = re.search(r'name="seen" value="([^"]+)"', page).group(1)
    form = {"seen": seen, "shown.stale_quarters": "2", "shown.verification_days": "14"}
    # Someone else shortens the clock after this form was read.
    first = post(other, f"{PAGES}/settings", **form, stale_quarters="2", verification_days="7")
    assert first.status_code == 302
    clash = post(admin, f"{PAGES}/settings", **form, stale_quarters="2", verification_days="21")
    assert clash.status_code == 409
    choice = text(clash)
    assert "Batas verifikasi usul/sanggah (hari)" in choice and ">7<" in choice and ">21<" in choice
    assert 'id="f-verification_days" name="verification_days" type="number" value="21"' in choice
    anyway = post(
        admin,
        f"{PAGES}/settings",
        **form,
        stale_quarters="2",
        verification_days="21",
        apply="mine",
    )
    assert anyway.status_code == 302
    assert 'name="verification_days" type="number" value="21"' in text(
        admin.get(f"{PAGES}/settings")
    )
    bad = post(admin, f"{PAGES}/settings", **form, stale_quarters="99", verification_days="14")
    assert bad.status_code == 422 and 'id="f-stale_quarters-error"' in text(bad)
    # The manager reads the settings; changing them is the district admin's.
    assert 'disabled="disabled"' in text(manager.get(f"{PAGES}/settings"))
    assert post(manager, f"{PAGES}/settings", **form, verification_days="30").status_code == 403


def test_the_file_kemensos_forwarded_imported_from_the_list(app, client, web, parepare) -> None:
    from tests.tenants.dtsen.test_submissions import KEMENSOS_FILE

    registry(client, member(app, parepare, "back_office"))
    bo = web(member(app, parepare, "back_office"))
    listing = text(bo.get(f"{PAGES}/submissions/"))
    assert "Usul/sanggah yang diteruskan Kemensos" in listing
    sent = bo.post(
        f"{PAGES}/submissions/import",
        data={"csrf_token": bo.csrf, "file": (io.BytesIO(KEMENSOS_FILE.encode()), "cb.csv")},
        content_type="multipart/form-data",
    )
    assert sent.status_code == 302
    run_burst()
    page = text(bo.get(sent.headers["Location"]))
    assert re.search(r"<dt>Usul/sanggah baru</dt><dd>2</dd>", page)
    assert "Baris bermasalah" in page and "Laporan kesalahan (CSV)" in page
    report = re.search(r'href="([^"]+laporan-kesalahan\.csv)"', page).group(1)
    assert "33.24.01.2001" in text(bo.get(report))
    listed = text(bo.get(f"{PAGES}/submissions/"))
    assert "Andi Baso" in listed and "La Ode" in listed
    # Without a file: the refusal beside the field.
    empty = post(bo, f"{PAGES}/submissions/import")
    assert empty.status_code == 422 and 'id="f-file-error"' in text(empty)
