"""README's curl walk-through, step by step, on the demo: the demo accounts' tokens come from
`slrt flow demo-token`, exactly as in the README."""

from __future__ import annotations

import io
from urllib.parse import urlsplit

import pytest

from slrt.platform import db
from slrt.platform.commands.demo import load_demo
from slrt.tenants.flow.cli import demo_token, flow

T = "/api/v1/t/parepare"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f01f00050001ff89993d1d0000000049454e44ae426082"
)


@pytest.fixture
def demo(app, monkeypatch):
    monkeypatch.setenv("SLRT_DEMO", "1")
    with app.app_context():
        lines = load_demo()
        db.session.remove()
    assert any("case" in line and "referred" in line for line in lines)
    runner = app.test_cli_runner()

    def tok(who: str) -> dict:
        result = runner.invoke(flow, ["demo-token", f"{who}.parepare@demo.slrt.id"])
        assert result.exit_code == 0, result.output
        return {"Authorization": f"Bearer {result.output.strip()}"}

    return tok


def test_demo_token_only_for_demo_accounts(app, demo, monkeypatch) -> None:
    runner = app.test_cli_runner()
    refused = runner.invoke(flow, ["demo-token", "someone@dinsos.parepare.go.id"])
    assert refused.exit_code != 0 and "only demo accounts" in refused.output
    monkeypatch.setenv("SLRT_DEMO", "0")
    refused = runner.invoke(flow, ["demo-token", "manager.parepare@demo.slrt.id"])
    assert refused.exit_code != 0
    assert demo_token.name == "demo-token"


def test_readme_walkthrough(client, demo) -> None:
    FO, BO, MGR = demo("frontoffice"), demo("backoffice"), demo("manager")
    DINKES, DINSOS, FAS = demo("dinkes"), demo("dinsos"), demo("fasilitator")

    def api(who, url, body=None):
        if body is None:
            return client.get(T + url, headers=who)
        return client.post(T + url, json=body, headers=who)

    # The demo's own case in progress is visible to the facilitator of Lompoe.
    assert [c["status"] for c in api(FAS, "/cases").json] == ["referred"]

    # 1. Front office at the Puskesos of Lompoe.
    HH = api(
        FO,
        "/households",
        {
            "kk_number": "7372010101200099",
            "address": "Jl. Lompoe No. 7",
            "village_code": "73.72.01.1004",
        },
    ).json["id"]
    P = api(
        FO,
        "/persons",
        {
            "nik": "7372014506850004",
            "name": "Hasnah",
            "household_id": HH,
            "relation": "kepala_keluarga",
        },
    ).json["id"]
    CASE = api(
        FO,
        "/cases",
        {
            "kind": "service_request",
            "channel": "puskesos",
            "person_id": P,
            "description": "Butuh BPJS dan bantuan pangan",
            "needs": [{"sector": "health", "description": "Belum punya BPJS"}],
        },
    ).json
    C, TICKET = CASE["id"], CASE["ticket_number"]
    up = client.post(
        T + f"/cases/{C}/attachments",
        data={"kind": "ktp", "file": (io.BytesIO(PNG), "ktp.jpg")},
        headers=FO,
        content_type="multipart/form-data",
    )
    assert up.status_code == 201

    # 2. Back office.
    assessed = api(
        BO,
        f"/cases/{C}/assess",
        {
            "dtks": {"status": "in_dtks", "desil": 2},
            "needs": [
                {"sector": "health", "description": "Belum punya BPJS"},
                {"sector": "food", "description": "Kesulitan pangan"},
            ],
        },
    ).json
    assert {s["program_code"] for s in assessed["suggestions"] if s["eligible"]} >= {
        "PBI-JK",
        "BPNT",
    }

    # 3. Return once, re-assess, decide.
    assert (
        api(MGR, f"/cases/{C}/return", {"reason": "Lengkapi catatan kebutuhan"}).json["status"]
        == "returned"
    )
    assert (
        api(BO, f"/cases/{C}/assess", {"note": "Catatan dilengkapi"}).json["status"] == "assessed"
    )
    PROGS = [
        s["program_id"]
        for s in api(BO, f"/cases/{C}/suggestions").json
        if s["eligible"] and s["program_code"] in ("PBI-JK", "BPNT")
    ]
    assert api(MGR, f"/cases/{C}/decide", {"program_ids": PROGS}).json["status"] == "decided"

    # 4. Referral, letter, verification page.
    referred = api(MGR, f"/cases/{C}/refer", {}).json
    assert referred["status"] == "referred" and len(referred["referrals"]) == 2
    R_PBI = api(DINKES, f"/referrals?case_id={C}").json[0]["id"]
    R_BPNT = api(DINSOS, f"/referrals?case_id={C}").json[0]["id"]
    assert R_PBI != R_BPNT
    pdf = client.get(T + f"/referrals/{R_PBI}/letter.pdf", headers=MGR)
    assert pdf.status_code == 200 and pdf.get_data().startswith(b"%PDF")
    url = api(MGR, f"/referrals/{R_PBI}/letter").json["verification_url"]
    page = client.get(urlsplit(url).path)
    assert page.status_code == 200 and "ASLI" in page.get_data(as_text=True)

    # 5. Agencies answer.
    api(DINKES, f"/referrals/{R_PBI}/receive", {})
    api(DINKES, f"/referrals/{R_PBI}/accept", {})
    assert (
        api(DINKES, f"/referrals/{R_PBI}/fulfil", {"outcome": "Terdaftar PBI-JK, KIS terbit"}).json[
            "status"
        ]
        == "fulfilled"
    )
    api(DINSOS, f"/referrals/{R_BPNT}/receive", {})
    assert (
        api(DINSOS, f"/referrals/{R_BPNT}/reject", {"reason": "Kuota BPNT tahun ini penuh"}).json[
            "status"
        ]
        == "rejected"
    )

    # 6. Follow-up and closure by the facilitator.
    assert (
        api(FAS, f"/cases/{C}/follow-up", {"note": "KIS sudah diterima"}).json["status"]
        == "follow_up"
    )
    assert api(FAS, f"/cases/{C}/close", {"resolution": "resolved"}).json["status"] == "closed"
    actions = [t["action"] for t in api(BO, f"/cases/{C}/transitions").json]
    assert actions[0] == "register" and "return" in actions and actions[-1] == "close"

    # 7. Public status check.
    status = client.post(T + "/public/status", json={"ticket_number": TICKET, "nik_last4": "0004"})
    assert status.status_code == 200 and status.json["status"] == "closed"
