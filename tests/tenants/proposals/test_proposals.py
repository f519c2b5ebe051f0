"""DTKS proposals: propose, batch per village, minutes, district verification, SIKS-NG export
(formula-safe CSV and XLSX), results recorded back into the household's DTKS status."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from tests.fixtures import member

LOMPOE = "73.72.01.1004"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_proposal_round_trip(app, client, parepare) -> None:
    facilitator = member(app, parepare, "facilitator", scope_kind="village", scope_codes=[LOMPOE])
    manager = member(app, parepare, "manager")
    base = "/api/v1/t/parepare"
    hh = client.post(
        f"{base}/households",
        json={
            "kk_number": "7372010101110009",
            "address": '=HYPERLINK("http://x")',
            "village_code": LOMPOE,
            "dtks_status": "not_in_dtks",
        },
        headers=facilitator.headers,
    ).json
    person = client.post(
        f"{base}/persons",
        json={
            "nik": "7372014101800007",
            "name": "@Sitti Aminah",
            "household_id": hh["id"],
            "relation": "kepala_keluarga",
        },
        headers=facilitator.headers,
    ).json
    resp = client.post(
        f"{base}/dtks-proposals",
        json={"person_id": person["id"], "reason": "Janda, tidak bekerja"},
        headers=facilitator.headers,
    )
    assert resp.status_code == 201, resp.json
    proposal = resp.json
    again = client.post(
        f"{base}/dtks-proposals", json={"person_id": person["id"]}, headers=facilitator.headers
    )
    assert again.status_code == 409 and again.json["existing_proposal_id"] == proposal["id"]
    # Lompoe is a kelurahan: its meeting is a muskel.
    wrong = client.post(
        f"{base}/dtks-proposal-batches",
        json={"village_code": LOMPOE, "meeting_kind": "musdes"},
        headers=facilitator.headers,
    )
    assert wrong.status_code == 422 and wrong.json["errors"][0]["field"] == "meeting_kind"
    batch = client.post(
        f"{base}/dtks-proposal-batches",
        json={"village_code": LOMPOE, "meeting_kind": "muskel", "meeting_date": "2026-11-20"},
        headers=facilitator.headers,
    ).json
    assert batch["proposal_count"] == 1 and batch["status"] == "open"
    batch_url = f"{base}/dtks-proposal-batches/{batch['id']}"
    # Verification before the meeting's minutes: 409 naming the state.
    early = client.post(f"{batch_url}/verify", headers=manager.headers)
    assert early.status_code == 409 and early.json["current_state"] == "open"
    assert early.json["allowed_actions"] == ["minutes"]
    assert "'verify' is not allowed. Allowed actions: minutes." in early.json["detail_en"]
    # Minutes are checked by content: a text file named .pdf is refused.
    fake = client.post(
        f"{batch_url}/minutes",
        data={"file": (io.BytesIO(b"just text"), "berita-acara.pdf")},
        headers=facilitator.headers,
        content_type="multipart/form-data",
    )
    assert fake.status_code == 415
    held = client.post(
        f"{batch_url}/minutes",
        data={"file": (io.BytesIO(PDF), "ba.pdf")},
        headers=facilitator.headers,
        content_type="multipart/form-data",
    )
    assert held.status_code == 200 and held.json["status"] == "held"
    assert client.post(f"{batch_url}/verify", headers=facilitator.headers).status_code == 403
    minutes = client.get(f"{batch_url}/minutes", headers=manager.headers)
    assert minutes.status_code == 200 and minutes.get_data() == PDF
    listed = client.get(
        f"{base}/dtks-proposals", query_string={"batch_id": batch["id"]}, headers=manager.headers
    ).json
    assert [(p["person_name"], p["status"]) for p in listed] == [("@Sitti Aminah", "in_batch")]
    assert client.post(f"{batch_url}/verify", headers=manager.headers).json["status"] == "verified"
    # A result is recorded only once the batch went out to SIKS-NG.
    result_url = f"{base}/dtks-proposals/{proposal['id']}/result"
    too_early = client.post(result_url, json={"accepted": True}, headers=manager.headers)
    assert too_early.status_code == 409
    assert (too_early.json["current_state"], too_early.json["allowed_actions"]) == (
        "verified",
        ["export"],
    )
    exported = client.post(f"{batch_url}/export?format=csv", headers=manager.headers)
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(exported.get_data().decode("utf-8-sig"))))
    assert rows[0][0] == "NIK" and rows[1][0] == "7372014101800007"
    assert rows[1][2] == "'@Sitti Aminah"  # formula injection neutralised
    assert rows[1][7].startswith("'=HYPERLINK")
    xlsx = client.post(f"{batch_url}/export?format=xlsx", headers=manager.headers)
    sheet = load_workbook(io.BytesIO(xlsx.get_data())).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[1][0] == "7372014101800007" and values[1][2] == "'@Sitti Aminah"
    result = client.post(
        result_url,
        json={"accepted": True, "desil": 1},
        headers=manager.headers,
    )
    assert result.status_code == 200 and result.json["status"] == "accepted"
    again = client.post(result_url, json={"accepted": False}, headers=manager.headers)
    assert again.status_code == 409 and again.json["current_state"] == "accepted"
    assert again.json["allowed_actions"] == []
    household = client.get(f"{base}/households/{hh['id']}", headers=facilitator.headers).json
    assert (household["dtks_status"], household["desil"]) == ("in_dtks", 1)
    admin = member(app, parepare, "district_admin")
    exports = client.get(
        f"{base}/audit-events", query_string={"kind": "export"}, headers=admin.headers
    ).json
    assert len(exports) == 2 and exports[0]["entity_id"] == batch["id"]
    assert [(e["before"], e["after"]) for e in reversed(exports)] == [
        ({"status": "verified"}, {"status": "exported", "format": "csv", "rows": 1}),
        ({"status": "exported"}, {"status": "exported", "format": "xlsx", "rows": 1}),
    ]
    trail = client.get(
        f"{base}/audit-events",
        query_string={"kind": "workflow", "entity_id": proposal["id"]},
        headers=admin.headers,
    ).json
    assert [e["action"] for e in reversed(trail)] == [
        "proposal.create",
        "proposal.batch",
        "proposal.accept",
    ]
