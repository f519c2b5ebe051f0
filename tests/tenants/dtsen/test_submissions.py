"""Usul and sanggah: an usul from the Puskesos through its clock, the home visit, the decision,
the village meeting's batch and the SIKS-NG file to the result in the family's DTSEN history;
a sanggah left unverified past its clock, deemed rejected by the scheduler with a letter; the
items Kemensos forwards, imported once."""

from __future__ import annotations

import csv
import datetime as dt
import io

import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.tenancy import tenant_context
from slrt.tenants.dtsen.models import Submission
from tests.fixtures import member
from tests.pdf import pdf_text
from tests.platform.jobs.test_jobs import run_burst
from tests.tenants.dtsen.files import (
    ANDI,
    ANDI_KK,
    BASE,
    HASNAH,
    HASNAH_KK,
    LOMPOE,
    THIS,
    TODAY,
    registry,
)
from tests.tenants.flow.test_flow import PNG

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _person_id(client, user, nik: str) -> str:
    return client.get(f"{BASE}/persons?nik={nik}", headers=user.headers).json[0]["id"]


def test_an_usul_from_the_puskesos_to_the_siks_ng_result(app, client, parepare) -> None:
    fas = member(app, parepare, "facilitator", scope_kind="village", scope_codes=[LOMPOE])
    manager = member(app, parepare, "manager")
    households = registry(client, fas)
    hasnah = _person_id(client, fas, HASNAH)

    created = client.post(
        f"{BASE}/dtsen/submissions",
        json={
            "kind": "usul",
            "person_id": hasnah,
            "reason": "Lansia tinggal sendiri, rumah tidak layak huni",
            "latitude": -4.0135,
            "longitude": 119.6255,
        },
        headers=fas.headers,
    )
    assert created.status_code == 201, created.json
    usul = created.json
    today = TODAY
    assert (usul["status"], usul["channel"], usul["nik"]) == ("received", "puskesos", HASNAH)
    assert usul["due_on"] == (today + dt.timedelta(days=14)).isoformat()
    assert usul["status_label"]["id"] == "Diterima, menunggu verifikasi lapangan"
    url = f"{BASE}/dtsen/submissions/{usul['id']}"
    # The same NIK cannot be proposed twice while the first is open.
    twice = client.post(
        f"{BASE}/dtsen/submissions",
        json={"kind": "usul", "person_id": hasnah, "reason": "Lagi"},
        headers=fas.headers,
    )
    assert twice.status_code == 409 and twice.json["existing_submission_id"] == usul["id"]

    # Evidence is checked by its bytes: a text file called .jpg is refused.
    fake = client.post(
        f"{url}/evidence",
        data={"kind": "photo", "file": (io.BytesIO(b"not a photo"), "rumah.jpg")},
        headers=fas.headers,
        content_type="multipart/form-data",
    )
    assert fake.status_code == 415
    pdf_as_photo = client.post(
        f"{url}/evidence",
        data={"kind": "photo", "file": (io.BytesIO(PDF), "rumah.jpg")},
        headers=fas.headers,
        content_type="multipart/form-data",
    )
    assert pdf_as_photo.status_code == 415
    photo = client.post(
        f"{url}/evidence",
        data={"kind": "photo", "file": (io.BytesIO(PNG), "rumah.png")},
        headers=fas.headers,
        content_type="multipart/form-data",
    )
    assert photo.status_code == 201 and photo.json["content_type"] == "image/png"
    evidence = client.get(f"{url}/evidence/{photo.json['id']}", headers=manager.headers)
    assert evidence.status_code == 200 and evidence.get_data() == PNG

    # The decision waits for the home visit.
    early = client.post(f"{url}/accept", json={}, headers=manager.headers)
    assert early.status_code == 409 and early.json["allowed_actions"] == ["deem_reject", "verify"]
    visit = client.post(
        f"{url}/verval",
        json={"result": "eligible", "note": "Rumah bambu, lantai tanah, tidak ada penghasilan"},
        headers=fas.headers,
    )
    assert visit.status_code == 200 and visit.json["status"] == "verified"
    assert client.post(f"{url}/accept", json={}, headers=fas.headers).status_code == 403
    accepted = client.post(f"{url}/accept", json={}, headers=manager.headers)
    assert accepted.status_code == 200, accepted.json
    usul = accepted.json
    assert usul["status"] == "accepted" and usul["proposal_id"]
    assert usul["letter_number"].endswith(f"/SLRT/{today.year}")
    letter = client.get(f"{url}/letter.pdf", headers=fas.headers)
    assert letter.status_code == 200 and letter.mimetype == "application/pdf"
    text = pdf_text(letter.get_data())
    assert "SURAT PEMBERITAHUAN HASIL USUL/SANGGAH DTSEN" in text
    assert "Hasnah" in text and "DITERIMA" in text and usul["letter_number"] in text
    public = client.get(usul["verification_url"].replace("http://127.0.0.1:8000", ""))
    assert public.status_code == 200 and "ASLI" in public.get_data(as_text=True)

    # The village meeting reads it among the DTSEN proposals, then SIKS-NG answers.
    proposal = client.get(f"{BASE}/dtks-proposals?status=proposed", headers=manager.headers).json
    assert [p["id"] for p in proposal] == [usul["proposal_id"]]
    batch = client.post(
        f"{BASE}/dtks-proposal-batches",
        json={"village_code": LOMPOE, "meeting_kind": "muskel"},
        headers=fas.headers,
    ).json
    batch_url = f"{BASE}/dtks-proposal-batches/{batch['id']}"
    held = client.post(
        f"{batch_url}/minutes",
        data={"file": (io.BytesIO(PDF), "berita-acara.pdf")},
        headers=fas.headers,
        content_type="multipart/form-data",
    )
    assert held.status_code == 200
    assert client.post(f"{batch_url}/verify", headers=manager.headers).status_code == 200
    exported = client.post(f"{batch_url}/export?format=csv", headers=manager.headers)
    rows = list(csv.reader(io.StringIO(exported.get_data().decode("utf-8-sig"))))
    assert rows[1][0] == HASNAH and rows[1][1] == HASNAH_KK and rows[1][-1].startswith("Usul:")
    result = client.post(
        f"{BASE}/dtks-proposals/{usul['proposal_id']}/result",
        json={"accepted": True, "desil": 1},
        headers=manager.headers,
    )
    assert result.status_code == 200, result.json
    assert client.get(url, headers=fas.headers).json["status"] == "listed"
    history = client.get(
        f"{BASE}/dtsen/households/{households[HASNAH_KK]}/history", headers=fas.headers
    ).json
    assert [(r["period"], r["listed"], r["desil"], r["source"]) for r in history["records"]] == [
        (str(THIS), True, 1, "result")
    ]
    household = client.get(f"{BASE}/households/{households[HASNAH_KK]}", headers=fas.headers)
    assert (household.json["dtks_status"], household.json["desil"]) == ("in_dtks", 1)
    # A listed family needs no usul.
    again = client.post(
        f"{BASE}/dtsen/submissions",
        json={"kind": "usul", "person_id": hasnah, "reason": "Sekali lagi"},
        headers=fas.headers,
    )
    assert again.status_code == 409 and "sudah terdaftar di DTSEN" in again.json["detail"]


def test_a_sanggah_left_unverified_is_deemed_rejected_by_the_scheduler(
    app, client, parepare
) -> None:
    from slrt.platform.jobs.scheduler import sync_schedules, tick

    admin = member(app, parepare, "district_admin")
    fas = member(app, parepare, "facilitator", scope_kind="village", scope_codes=[LOMPOE])
    registry(client, fas)
    settings = client.get(f"{BASE}/dtsen/settings", headers=admin.headers)
    assert settings.json == {"stale_quarters": 2, "verification_days": 14}
    no_match = client.patch(
        f"{BASE}/dtsen/settings", json={"verification_days": 3}, headers=admin.headers
    )
    assert no_match.status_code == 428
    changed = client.patch(
        f"{BASE}/dtsen/settings",
        json={"verification_days": 3},
        headers={**admin.headers, "If-Match": settings.headers["ETag"]},
    )
    assert changed.status_code == 200 and changed.json["verification_days"] == 3

    today = TODAY
    objection = {
        "kind": "sanggah",
        "person_id": _person_id(client, fas, ANDI),
        "reason": "Punya mobil dan toko, tidak layak menerima bantuan",
        "submitter_name": "Warga RT 02",
    }
    late = client.post(
        f"{BASE}/dtsen/submissions",
        json={**objection, "received_on": (today - dt.timedelta(days=10)).isoformat()},
        headers=fas.headers,
    ).json
    assert late["due_on"] == (today - dt.timedelta(days=7)).isoformat() and late["overdue"]
    fresh = client.post(
        f"{BASE}/dtsen/submissions",
        json={
            "kind": "sanggah",
            "nik": "7372010202100008",
            "name": "La Ode",
            "kk_number": ANDI_KK,
            "village_code": LOMPOE,
            "reason": "Sudah pindah ke Makassar",
        },
        headers=fas.headers,
    ).json
    # Past its clock, the home visit can no longer be recorded.
    refused = client.post(
        f"{BASE}/dtsen/submissions/{late['id']}/verval",
        json={"result": "eligible"},
        headers=fas.headers,
    )
    assert refused.status_code == 409 and "sudah lewat" in refused.json["detail"]

    with app.app_context():
        sync_schedules(now=dt.datetime.combine(today, dt.time(0, 0), tzinfo=dt.UTC))
        db.session.remove()
    tick(now=dt.datetime.combine(today, dt.time(18, 31), tzinfo=dt.UTC))
    run_burst()

    late_now = client.get(f"{BASE}/dtsen/submissions/{late['id']}", headers=fas.headers).json
    assert late_now["status"] == "deemed_rejected" and late_now["letter_number"]
    assert (
        client.get(f"{BASE}/dtsen/submissions/{fresh['id']}", headers=fas.headers).json["status"]
        == "received"
    )
    letter = client.get(f"{BASE}/dtsen/submissions/{late['id']}/letter.pdf", headers=fas.headers)
    text = pdf_text(letter.get_data())
    assert "DIANGGAP DITOLAK" in text and "Warga RT 02" in text
    assert "Kepala Dinas Sosial" in text
    trail = client.get(
        f"{BASE}/audit-events",
        query_string={"entity_id": late["id"]},
        headers=admin.headers,
    ).json
    deemed = next(e for e in trail if e["action"] == "dtsen_submission.deem_reject")
    assert deemed["actor_label"] == "system"
    assert deemed["after"]["status"] == "deemed_rejected"
    # A second run the same day finds nothing more to do.
    with app.app_context(), tenant_context(parepare.ref()):
        from slrt.tenants.dtsen.actions import deem_overdue

        assert deem_overdue() == 0
        assert (
            db.session.execute(
                sa.select(sa.func.count()).where(Submission.status == "deemed_rejected")
            ).scalar()
            == 1
        )
        db.session.remove()


KEMENSOS_FILE = (
    "ID_USULAN;JENIS;NIK;NAMA;NOKK;ALAMAT;KDDESA;ALASAN;TANGGAL_USULAN\n"
    "CB-2026-0001;USUL;7372010202100008;La Ode;7372010101200077;Jl. Lapadde;73.72.01.1004;"
    "Belum terdaftar;2026-11-20\n"
    "CB-2026-0002;SANGGAH;7372010305800001;Andi Baso;7372010101200001;Jl. Lompoe;73.72.01.1004;"
    "Mampu;2026-11-21\n"
    "CB-2026-0003;USUL;7372010202100009;Orang Luar;;;33.24.01.2001;Salah kabupaten;2026-11-21\n"
)


def test_usul_and_sanggah_forwarded_by_kemensos_are_imported_once(app, client, parepare) -> None:
    bo = member(app, parepare, "back_office")
    registry(client, bo)

    def send() -> dict:
        resp = client.post(
            f"{BASE}/dtsen/submission-imports",
            data={"file": (io.BytesIO(KEMENSOS_FILE.encode()), "cekbansos.csv")},
            headers=bo.headers,
            content_type="multipart/form-data",
        )
        assert resp.status_code == 202, resp.json
        run_burst()
        return client.get(f"{BASE}/jobs/{resp.json['id']}", headers=bo.headers).json

    first = send()
    assert first["status"] == "succeeded", first["error_summary"]
    assert first["counts"]["submissions_created"] == 2 and first["counts"]["bad_rows"] == 1
    items = client.get(f"{BASE}/dtsen/submissions", headers=bo.headers).json
    assert sorted((i["kind"], i["channel"], i["nik"]) for i in items) == [
        ("sanggah", "kemensos", ANDI),
        ("usul", "kemensos", "7372010202100008"),
    ]
    assert {i["received_on"] for i in items} == {"2026-11-20", "2026-11-21"}
    second = send()
    assert second["counts"]["submissions_created"] == 0
    assert second["counts"]["submissions_unchanged"] == 2
