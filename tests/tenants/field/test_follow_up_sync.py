"""A follow-up note written in the field: the case waiting for it is in the facilitator's
offline reference data (with the resident's name, an audited read), and the note synced once
moves the case on through the same state machine as the desk; a replay changes nothing."""

from __future__ import annotations

from tests.tenants.flow.test_flow import BASE
from tests.tenants.flow.test_followup_pages import answered

pytest_plugins = ["tests.tenants.flow.desk"]  # the cast fixture


def test_a_follow_up_note_from_the_field(app, client, cast) -> None:
    case = answered(app, client, cast)
    facilitator = cast["facilitator"]
    reference = client.get(f"{BASE}/field/reference", headers=facilitator.headers).json
    (waiting,) = [c for c in reference["follow_ups"] if c["id"] == case["id"]]
    assert waiting["ticket_number"] == case["ticket_number"]
    assert waiting["person"] == "Sitti Aminah"
    assert reference["villages"] and all(
        v["code"].startswith("73.72.") for v in reference["villages"]
    )
    assert "737201" in reference["kecamatan"] and "7372" in reference["regencies"]
    item = {
        "key": "fu-000000000001",
        "kind": "follow_up",
        "captured_at": "2026-11-30T09:00:00+08:00",
        "data": {"case_id": case["id"], "note": "KIS sudah diterima, beras belum"},
    }
    for replayed in (False, True):
        resp = client.post(
            f"{BASE}/field/sync", json={"items": [item]}, headers=facilitator.headers
        )
        (outcome,) = resp.json["items"]
        assert outcome["status"] == "applied" and outcome["replayed"] is replayed
    shown = client.get(f"{BASE}/cases/{case['id']}", headers=facilitator.headers).json
    assert shown["status"] == "follow_up"
    assert shown["follow_up_note"] == "KIS sudah diterima, beras belum"
    history = client.get(f"{BASE}/cases/{case['id']}/transitions", headers=facilitator.headers)
    assert [t["action"] for t in history.json].count("follow_up") == 1
