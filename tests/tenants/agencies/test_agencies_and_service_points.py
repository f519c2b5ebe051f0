"""Agencies (OPD), agency officers bound to them, and service points (secretariat, Puskesos)."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.tenancy import tenant_context
from tests.fixtures import add_member, make_account

BASE = "/api/v1/t/parepare"


def _patch(client, url: str, body: dict, headers: dict):
    etag = client.get(url, headers=headers).headers["ETag"]
    return client.patch(url, json=body, headers={**headers, "If-Match": etag})


def _village_id(client, headers: dict, code: str) -> str:
    return client.get(f"{BASE}/villages?q={code}", headers=headers).json[0]["id"]


def test_agencies_create_filter_update_audit(client, parepare_admin) -> None:
    h = parepare_admin.headers
    for name, kind in (
        ("Dinas Kesehatan", "dinas"),
        ("RSUD Andi Makkasau", "hospital"),
        ("BAZNAS Kota Parepare", "baznas"),
    ):
        resp = client.post(
            f"{BASE}/agencies",
            json={"name": name, "kind": kind, "contact_name": "Ibu Rahma", "phone": "0421-21123"},
            headers=h,
        )
        assert resp.status_code == 201, resp.json
    dup = client.post(
        f"{BASE}/agencies", json={"name": "dinas kesehatan", "kind": "dinas"}, headers=h
    )
    assert dup.status_code == 409 and dup.json["errors"][0]["field"] == "name"
    bad = client.post(
        f"{BASE}/agencies", json={"name": "X", "kind": "ministry", "email": "nope"}, headers=h
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json["errors"]} == {"name", "kind", "email"}
    assert [a["name"] for a in client.get(f"{BASE}/agencies", headers=h).json] == [
        "BAZNAS Kota Parepare",
        "Dinas Kesehatan",
        "RSUD Andi Makkasau",
    ]
    hospital = client.get(f"{BASE}/agencies?kind=hospital", headers=h).json
    assert [a["name"] for a in hospital] == ["RSUD Andi Makkasau"]
    url = f"{BASE}/agencies/{hospital[0]['id']}"
    resp = _patch(client, url, {"active": False, "phone": "0421-22000"}, h)
    assert resp.status_code == 200 and resp.json["active"] is False
    assert client.get(f"{BASE}/agencies?active=false", headers=h).json[0]["id"] == hospital[0]["id"]
    trail = client.get(f"{BASE}/audit-events?entity_type=agency", headers=h).json
    assert [e["action"] for e in trail] == ["agency.update"] + ["agency.create"] * 3
    assert trail[0]["before"] == {"phone": "0421-21123", "active": True}
    assert trail[0]["after"] == {"phone": "0421-22000", "active": False}


def test_agency_officer_membership_is_bound_to_own_district_agency(
    app, client, parepare, kendal, parepare_admin, kendal_admin
) -> None:
    from slrt.auth.memberships.actions import grant_membership

    own = client.post(
        f"{BASE}/agencies",
        json={"name": "Dinas Kesehatan", "kind": "dinas"},
        headers=parepare_admin.headers,
    ).json["id"]
    foreign = client.post(
        "/api/v1/t/kendal/agencies",
        json={"name": "Dinas Kesehatan", "kind": "dinas"},
        headers=kendal_admin.headers,
    ).json["id"]
    officer = make_account(app, "officer@parepare.go.id")
    add_member(app, parepare, officer, "agency_officer", agency_id=uuid.UUID(own))
    with app.app_context(), tenant_context(parepare.ref()):
        with pytest.raises(sa.exc.IntegrityError):
            grant_membership(officer.account_id, "agency_officer", agency_id=uuid.UUID(foreign))
        db.session.rollback()
        db.session.remove()


def test_service_points(client, parepare_admin) -> None:
    h = parepare_admin.headers
    v1 = _village_id(client, h, "73.72.02.1001")
    v2 = _village_id(client, h, "73.72.02.1002")
    sec = client.post(
        f"{BASE}/service-points",
        json={
            "kind": "secretariat",
            "name": "Sekretariat SLRT Parepare",
            "address": "Jl. Jend. Sudirman",
            "decree_number": "SK Wali Kota 460/12/2021",
            "decree_date": "2021-07-01",
            "opened_on": "2021-08-02",
        },
        headers=h,
    )
    assert sec.status_code == 201, sec.json
    second = client.post(
        f"{BASE}/service-points", json={"kind": "secretariat", "name": "Sekretariat Dua"}, headers=h
    )
    assert (
        second.status_code == 409
        and "Sekretariat SLRT Parepare" in second.json["errors"][0]["message"]
    )
    no_village = client.post(
        f"{BASE}/service-points", json={"kind": "puskesos", "name": "Puskesos X"}, headers=h
    )
    assert no_village.status_code == 422 and no_village.json["errors"][0]["field"] == "village_id"
    p1 = client.post(
        f"{BASE}/service-points",
        json={"kind": "puskesos", "name": "Puskesos Satu", "village_id": v1},
        headers=h,
    )
    assert p1.status_code == 201
    clash = client.post(
        f"{BASE}/service-points",
        json={"kind": "puskesos", "name": "Puskesos Lain", "village_id": v1},
        headers=h,
    )
    assert clash.status_code == 409 and "Puskesos Satu" in clash.json["errors"][0]["message"]
    stranger = client.post(
        f"{BASE}/service-points",
        json={"kind": "puskesos", "name": "Puskesos Asing", "village_id": str(uuid.uuid4())},
        headers=h,
    )
    assert stranger.status_code == 422
    listing = client.get(f"{BASE}/service-points", headers=h).json
    assert [p["kind"] for p in listing] == ["secretariat", "puskesos"]
    in_kec = client.get(f"{BASE}/service-points?kecamatan=73.72.02", headers=h).json
    assert [p["name"] for p in in_kec] == ["Puskesos Satu"]
    # A village with an active Puskesos cannot be deactivated; move the Puskesos first.
    village_url = f"{BASE}/villages/{v1}"
    refused = _patch(client, village_url, {"active": False}, h)
    assert refused.status_code == 409 and "Puskesos Satu" in refused.json["errors"][0]["message"]
    moved = _patch(client, f"{BASE}/service-points/{p1.json['id']}", {"village_id": v2}, h)
    assert moved.status_code == 200 and moved.json["village_id"] == v2
    assert _patch(client, village_url, {"active": False}, h).status_code == 200
    trail = client.get(f"{BASE}/audit-events?entity_type=service_point", headers=h).json
    assert [e["action"] for e in trail] == [
        "service_point.update",
        "service_point.create",
        "service_point.create",
    ]
    assert trail[0]["before"] == {"village_id": v1} and trail[0]["after"] == {"village_id": v2}


def test_profile_letterhead(client, parepare_admin) -> None:
    h = parepare_admin.headers
    url = f"{BASE}/profile"
    profile = client.get(url, headers=h)
    assert profile.json["letterhead"]["government_name"] == "PEMERINTAH KOTA PAREPARE"
    assert profile.json["letterhead"]["city"] == "Parepare"
    body = {"letterhead": {"address": "Jl. Bau Massepe No. 1", "head_nip": "1970"}}
    bad = client.patch(url, json=body, headers={**h, "If-Match": profile.headers["ETag"]})
    assert bad.status_code == 422 and bad.json["errors"][0]["field"] == "letterhead.head_nip"
    body["letterhead"]["head_nip"] = "197001011995031001"
    ok = client.patch(url, json=body, headers={**h, "If-Match": profile.headers["ETag"]})
    assert ok.status_code == 200, ok.json
    assert ok.json["letterhead"]["address"] == "Jl. Bau Massepe No. 1"
    stale = client.patch(
        url, json={"letterhead": {"city": "X"}}, headers={**h, "If-Match": profile.headers["ETag"]}
    )
    assert stale.status_code == 412
    assert client.get(url, headers=h).json["letterhead"]["city"] == "Parepare"
    trail = client.get(f"{BASE}/audit-events?entity_type=tenant", headers=h).json
    assert trail[0]["action"] == "profile.update"
    assert trail[0]["after"]["address"] == "Jl. Bau Massepe No. 1"


def test_service_point_staff_are_the_memberships_of_its_place(app, client, parepare) -> None:
    from tests.fixtures import member

    admin = member(app, parepare, "district_admin", email="admin@parepare.go.id")
    h = admin.headers
    village = client.get(f"{BASE}/villages?q=73.72.02.1001", headers=h).json[0]
    puskesos = client.post(
        f"{BASE}/service-points",
        json={"kind": "puskesos", "name": "Puskesos Lompoe", "village_id": village["id"]},
        headers=h,
    ).json
    secretariat = client.post(
        f"{BASE}/service-points", json={"kind": "secretariat", "name": "Sekretariat"}, headers=h
    ).json
    member(
        app,
        parepare,
        "puskesos_coordinator",
        email="koordinator@parepare.go.id",
        scope_kind="village",
        scope_codes=["73.72.02.1001"],
    )
    member(
        app,
        parepare,
        "facilitator",
        email="fasilitator@parepare.go.id",
        scope_kind="village",
        scope_codes=["73.72.02.1002"],
    )
    staff = client.get(f"{BASE}/service-points/{puskesos['id']}/staff", headers=h).json
    assert [(s["email"], s["role_key"]) for s in staff] == [
        ("koordinator@parepare.go.id", "puskesos_coordinator")
    ]
    office = client.get(f"{BASE}/service-points/{secretariat['id']}/staff", headers=h).json
    assert [s["email"] for s in office] == ["admin@parepare.go.id"]
    facilitator = member(app, parepare, "facilitator")
    denied = client.get(
        f"{BASE}/service-points/{puskesos['id']}/staff", headers=facilitator.headers
    )
    assert denied.status_code == 403 and denied.json["missing_permission"] == "members.read"
