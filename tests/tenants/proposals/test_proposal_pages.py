"""DTKS proposal pages: propose from the person's page, a batch per village for its meeting, the
minutes from the phone, verification, the SIKS-NG download (audited) and the results per person,
each step offered only to whom it belongs; another village's batch answers 404."""

from __future__ import annotations

import io
import re

import sqlalchemy as sa
from openpyxl import load_workbook

from slrt.platform import db
from slrt.platform.audit.models import AuditEvent
from slrt.platform.tenancy import tenant_context
from tests.fixtures import member
from tests.tenants.registry import test_registry_pages
from tests.tenants.registry.test_registry_pages import _family, post, text

web = test_registry_pages.web  # signed-in test clients (a fixture)

LOMPOE = "73.72.01.1004"  # a kelurahan: its meeting is a muskel
SOREANG = "73.72.03.1001"
BASE = "/t/parepare/dtks-proposals"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def upload(client, batch_id, data, name="berita-acara.pdf"):
    return client.post(
        f"{BASE}/batches/{batch_id}/minutes",
        data={"csrf_token": client.csrf, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def propose(client, person_id, reason="Janda, tidak bekerja"):
    return post(client, f"{BASE}/propose/{person_id}", reason=reason)


def new_batch(client, village=LOMPOE):
    created = post(client, f"{BASE}/batches/new", village_code=village, meeting_date="2026-11-20")
    assert created.status_code == 302, text(created)
    return re.search(r"/batches/([0-9a-f-]{36})", created.headers["Location"]).group(1)


def test_a_batch_from_proposal_to_siks_ng_and_back(app, web, parepare) -> None:
    facilitator = web(
        member(app, parepare, "facilitator", scope_kind="village", scope_codes=[LOMPOE])
    )
    manager = web(member(app, parepare, "manager"))
    hid, pid = _family(facilitator)
    person_page = text(facilitator.get(f"/t/parepare/registry/persons/{pid}"))
    assert "Usulkan masuk DTSEN" in person_page and "Belum pernah diusulkan" not in person_page
    proposed = propose(facilitator, pid)
    assert proposed.status_code == 302 and proposed.headers["Location"].endswith(pid)
    after = text(facilitator.get(proposed.headers["Location"]))
    assert "diusulkan masuk DTSEN" in after and "Diusulkan" in after
    assert "Usulkan masuk DTSEN</button>" not in after  # one open proposal per person
    again = propose(facilitator, pid)
    assert again.status_code == 409 and "Orang ini sudah diusulkan" in text(again)
    index = text(facilitator.get(BASE + "/"))
    assert "Lompoe (73.72.01.1004)" in index and "1 usulan" in index
    batch_id = new_batch(facilitator)
    page = text(facilitator.get(f"{BASE}/batches/{batch_id}"))
    assert "Musyawarah kelurahan (muskel)" in page  # chosen from the village, not asked
    assert "Menunggu musyawarah desa/kelurahan" in page and "Andi Baso" in page
    assert 'capture="environment"' in page and "Verifikasi berkas" not in page
    # The minutes: none chosen, then a text file posing as a PDF, then the real one.
    none = post(facilitator, f"{BASE}/batches/{batch_id}/minutes")
    assert none.status_code == 422 and "Pilih berkas berita acara" in text(none)
    fake = upload(facilitator, batch_id, b"just text")
    assert fake.status_code == 415 and "yang diterima: application/pdf" in text(fake)
    held = upload(facilitator, batch_id, PDF)
    assert held.status_code == 302
    assert "Musyawarah sudah diadakan" in text(facilitator.get(f"{BASE}/batches/{batch_id}"))
    assert facilitator.get(f"{BASE}/batches/{batch_id}/minutes").get_data() == PDF
    # Verification and export are the manager's.
    assert post(facilitator, f"{BASE}/batches/{batch_id}/verify").status_code == 403
    early = post(manager, f"{BASE}/batches/{batch_id}/export", format="csv")
    assert early.status_code == 409 and "tidak diizinkan" in text(early)
    assert "Verifikasi berkas" in text(manager.get(f"{BASE}/batches/{batch_id}"))
    verified = post(manager, f"{BASE}/batches/{batch_id}/verify")
    assert verified.status_code == 302
    assert "Unduh berkas SIKS-NG" in text(manager.get(verified.headers["Location"]))
    xlsx = post(manager, f"{BASE}/batches/{batch_id}/export", format="xlsx")
    assert xlsx.status_code == 200 and "attachment" in xlsx.headers["Content-Disposition"]
    rows = list(load_workbook(io.BytesIO(xlsx.get_data())).active.iter_rows(values_only=True))
    assert rows[0][0] == "NIK" and rows[1][0] == "7372010101900001" and rows[1][2] == "Andi Baso"
    csv = post(manager, f"{BASE}/batches/{batch_id}/export", format="csv")
    assert csv.mimetype == "text/csv"
    page = text(manager.get(f"{BASE}/batches/{batch_id}"))
    assert "Sudah diekspor untuk SIKS-NG" in page and "Hasil SIKS-NG untuk Andi Baso" in page
    # The result per person; a desil only with an acceptance.
    proposal_id = re.search(r"/dtks-proposals/([0-9a-f-]{36})/result", page).group(1)
    wrong = post(manager, f"{BASE}/{proposal_id}/result", accepted="false", desil="3")
    assert wrong.status_code == 422 and "Desil hanya diisi bila usulan diterima" in text(wrong)
    missing = post(manager, f"{BASE}/{proposal_id}/result")
    assert missing.status_code == 422 and "Andi Baso" in text(missing)
    done = post(manager, f"{BASE}/{proposal_id}/result", accepted="true", desil="2")
    assert done.status_code == 302
    assert "Diterima di DTSEN" in text(manager.get(f"{BASE}/batches/{batch_id}"))
    household = text(facilitator.get(f"/t/parepare/registry/households/{hid}"))
    assert "Terdaftar di DTSEN" in household and "desil 2" in household
    # Each download was audited as an export.
    with app.app_context(), tenant_context(parepare.ref()):
        formats = db.session.execute(
            sa.select(AuditEvent.after["format"].astext)
            .where(AuditEvent.kind == "export", AuditEvent.action == "proposal_batch.export")
            .order_by(AuditEvent.occurred_at)
        ).scalars()
        assert list(formats) == ["xlsx", "csv"]
        db.session.remove()


def test_back_office_runs_a_batch_but_leaves_verification_to_the_manager(
    app, web, parepare
) -> None:
    bo = web(member(app, parepare, "back_office"))
    _hid, pid = _family(bo)
    assert propose(bo, pid).status_code == 302
    batch_id = new_batch(bo)
    assert upload(bo, batch_id, PDF).status_code == 302
    page = text(bo.get(f"{BASE}/batches/{batch_id}"))
    assert "Menunggu verifikasi oleh Manajer SLRT" in page and "Verifikasi berkas" not in page
    assert post(bo, f"{BASE}/batches/{batch_id}/export", format="csv").status_code == 403


def test_another_villages_batch_is_404_for_a_scoped_facilitator(app, web, parepare) -> None:
    bo = web(member(app, parepare, "back_office"))
    _hid, pid = _family(bo, village=SOREANG)
    propose(bo, pid)
    batch_id = new_batch(bo, village=SOREANG)
    lompoe = web(member(app, parepare, "facilitator", scope_kind="village", scope_codes=[LOMPOE]))
    assert lompoe.get(f"{BASE}/batches/{batch_id}").status_code == 404
    assert lompoe.get(f"{BASE}/batches/{batch_id}/minutes").status_code == 404
    assert upload(lompoe, batch_id, PDF).status_code == 404
    assert lompoe.get(f"{BASE}/propose/{pid}").status_code == 404
    assert "Soreang" not in text(lompoe.get(BASE + "/"))
    # Nor can the facilitator batch a village outside the region.
    outside = post(lompoe, f"{BASE}/batches/new", village_code=SOREANG)
    assert outside.status_code in (403, 409)
    supervisor = web(member(app, parepare, "supervisor"))
    assert supervisor.get(f"{BASE}/batches/{batch_id}").status_code == 200
    assert "Unggah berita acara" not in text(supervisor.get(f"{BASE}/batches/{batch_id}"))
    assert supervisor.get(f"{BASE}/batches/new").status_code == 403
    agency = web(member(app, parepare, "agency_officer"))
    assert agency.get(BASE + "/").status_code == 403
