"""billing_free wired into the service flow: real intakes and referrals are metered and split by
their village's funding source; attachments are refused (nothing stored) once the plan's storage
is full."""

from __future__ import annotations

import io

import pytest

from slrt.billing_free import meter
from slrt.billing_free.plans import district_today
from slrt.platform import db
from tests.fixtures import flow_catalog, member, put_on_plan
from tests.tenants.flow.test_flow import BASE, LOMPOE, PNG, SOREANG, post, register_resident


@pytest.fixture
def crew(app, parepare):
    ids = flow_catalog(app, parepare)
    return {
        "ids": ids,
        "fo": member(app, parepare, "front_office"),
        "bo": member(app, parepare, "back_office"),
        "manager": member(app, parepare, "manager"),
        "admin": member(app, parepare, "district_admin"),
    }


def _case(client, crew, person_id: str, village: str | None = None) -> dict:
    body = {
        "kind": "service_request",
        "channel": "puskesos",
        "person_id": person_id,
        "description": "Butuh bantuan",
    }
    if village:
        body["village_code"] = village
    resp = post(client, crew["fo"], "/cases", body)
    assert resp.status_code == 201, resp.json
    return resp.json


def _refer(client, crew, case: dict) -> None:
    m = crew["manager"]
    assert (
        post(
            client,
            crew["bo"],
            f"/cases/{case['id']}/assess",
            {"dtks": {"status": "in_dtks", "desil": 3}},
        ).status_code
        == 200
    )
    decided = post(
        client,
        m,
        f"/cases/{case['id']}/decide",
        {"program_ids": [str(crew["ids"]["pbi"]), str(crew["ids"]["bpnt"])]},
    )
    assert decided.status_code == 200, decided.json
    referred = post(client, m, f"/cases/{case['id']}/refer")
    assert referred.status_code == 200, referred.json


def _intervention(client, admin, code: str) -> None:
    found = client.get(f"{BASE}/villages?q={code}", headers=admin.headers).json
    village = next(v for v in found if v["code"] == code)
    url = f"{BASE}/villages/{village['id']}"
    etag = client.get(url, headers=admin.headers).headers["ETag"]
    resp = client.patch(
        url, json={"is_intervention": True}, headers={**admin.headers, "If-Match": etag}
    )
    assert resp.status_code == 200, resp.json


def test_intakes_and_referrals_are_metered_by_village_funding(app, client, parepare, crew):
    _intervention(client, crew["admin"], LOMPOE)  # Lompoe: Kemensos intervention village
    _hh, person = register_resident(client, crew["fo"])  # lives in Lompoe
    first = _case(client, crew, person["id"])
    _case(client, crew, person["id"])
    soreang = _case(client, crew, person["id"], SOREANG)  # served in an APBD kelurahan
    _refer(client, crew, first)  # 2 referrals from Lompoe
    _refer(client, crew, soreang)  # 2 referrals from Soreang
    # A refused registration is not an intake.
    bad = post(
        client,
        crew["fo"],
        "/cases",
        {"kind": "complaint", "channel": "puskesos", "description": "x"},
    )
    assert bad.status_code == 422
    with app.app_context():
        meter.flush()
        db.session.remove()
    month = district_today(zone=parepare.zone).strftime("%Y-%m")
    st = client.get(f"{BASE}/statements/{month}", headers=crew["admin"].headers).json
    lines = {line["metric"]: line for line in st["lines"]}
    split = {
        m: {f["funding_source"]: f["value"] for f in lines[m]["by_funding"]}
        for m in ("intakes", "referrals")
    }
    assert lines["intakes"]["total"] == 3
    assert split["intakes"] == {"apbn_kemensos": 2, "apbd": 1}
    assert lines["referrals"]["total"] == 4
    assert split["referrals"] == {"apbn_kemensos": 2, "apbd": 2}
    assert st["total_idr"] == 0


def test_attachments_stop_at_the_storage_quota(app, client, parepare, crew):
    put_on_plan(app, parepare, max_storage_bytes=2 * len(PNG))
    _hh, person = register_resident(client, crew["fo"])
    case = _case(client, crew, person["id"])
    url = f"{BASE}/cases/{case['id']}/attachments"

    def upload(name: str):
        return client.post(
            url,
            data={"kind": "photo", "file": (io.BytesIO(PNG), name)},
            headers=crew["fo"].headers,
            content_type="multipart/form-data",
        )

    assert upload("satu.png").status_code == 201  # under
    assert upload("dua.png").status_code == 201  # exactly at the limit
    refused = upload("tiga.png")  # over
    assert refused.status_code == 403
    body = refused.json
    assert body["quota"] == "storage_bytes"
    assert body["limit"] == 2 * len(PNG) and body["used"] == 2 * len(PNG)
    assert body["requested"] == len(PNG)
    assert "Kuota penyimpanan berkas (byte) paket" in body["detail"]
    assert "file storage (bytes) quota" in body["detail_en"]
    listed = client.get(f"{BASE}/cases/{case['id']}", headers=crew["fo"].headers).json
    assert sorted(a["filename"] for a in listed["attachments"]) == ["dua.png", "satu.png"]
    usage = client.get(f"{BASE}/usage", headers=crew["admin"].headers).json
    storage = next(q for q in usage["quotas"] if q["quota"] == "storage_bytes")
    assert storage["used"] == 2 * len(PNG) and storage["level"] == "limit"
