"""Program catalogs over the API: national catalog, enabling and mapping, local programs with
rules, versions, evaluation with explanation, national changes carried into districts."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.tenancy import tenant_context
from slrt.tenants.programs.access import current_version
from slrt.tenants.programs.models import Program
from tests.fixtures import member

BASE = "/api/v1/t/parepare"


def _agency(client, headers: dict, name: str = "Dinas Sosial", kind: str = "dinas") -> str:
    resp = client.post(f"{BASE}/agencies", json={"name": name, "kind": kind}, headers=headers)
    assert resp.status_code == 201, resp.json
    return resp.json["id"]


def _national(client, headers: dict) -> dict[str, dict]:
    rows = client.get(f"{BASE}/national-programs", headers=headers).json
    return {row["code"]: row for row in rows}


def _patch(client, url: str, body: dict, headers: dict):
    etag = client.get(url, headers=headers).headers["ETag"]
    return client.patch(url, json=body, headers={**headers, "If-Match": etag})


LOCAL = {
    "code": "ASLUT-DA",
    "name": "Asistensi Lansia Daerah",
    "sector": "cash_transfer",
    "owner": "Pemerintah Kota Parepare",
    "funding": "apbd",
    "required_documents": ["KTP (NIK)", "KK"],
    "deadline_days": 21,
    "rule_text": "age >= 60 and in_dtks and desil <= 5",
}


def test_national_catalog_is_seeded(client, parepare_admin, national_catalog) -> None:
    catalog = _national(client, parepare_admin.headers)
    assert set(catalog) == {"PKH", "BPNT", "PBI-JK", "PIP", "RTLH", "ATENSI"}
    pbi = catalog["PBI-JK"]
    assert pbi["sector"] == "health" and pbi["funding"] == "apbn"
    assert pbi["deadline_days"] == 14 and pbi["required_documents"]
    assert pbi["rule_text"] == "in_dtks and desil <= 5" and pbi["rule_ast"]["type"] == "and"
    assert pbi["enabled"] is False


def test_enable_national_programs_mapped_to_agencies(
    app, client, parepare, parepare_admin, national_catalog
) -> None:
    h = parepare_admin.headers
    dinsos = _agency(client, h)
    dinkes = _agency(client, h, "Dinas Kesehatan")
    catalog = _national(client, h)
    for code, agency in (("PKH", dinsos), ("BPNT", dinsos), ("PBI-JK", dinkes)):
        resp = client.post(
            f"{BASE}/programs/national",
            json={"national_program_id": catalog[code]["id"], "agency_id": agency},
            headers=h,
        )
        assert resp.status_code == 201, resp.json
        assert resp.json["kind"] == "national" and resp.json["version"] == 1
    pbi = client.get(f"{BASE}/programs?q=PBI", headers=h).json[0]
    assert pbi["agency_id"] == dinkes and pbi["rule_text"] == "in_dtks and desil <= 5"
    assert sorted(p["code"] for p in client.get(f"{BASE}/programs", headers=h).json) == [
        "BPNT",
        "PBI-JK",
        "PKH",
    ]
    assert [p["code"] for p in client.get(f"{BASE}/programs?sector=health", headers=h).json] == [
        "PBI-JK"
    ]
    enabled = client.get(f"{BASE}/national-programs?enabled=true", headers=h).json
    assert {p["code"] for p in enabled} == {"PKH", "BPNT", "PBI-JK"}
    # Enabling again re-maps instead of duplicating.
    again = client.post(
        f"{BASE}/programs/national",
        json={"national_program_id": catalog["PKH"]["id"], "agency_id": dinkes},
        headers=h,
    )
    assert again.status_code == 200 and again.json["version"] == 2
    assert len(client.get(f"{BASE}/programs", headers=h).json) == 3
    # Only an agency of this district can be mapped (here: an id that is no agency).
    bad = client.post(
        f"{BASE}/programs/national",
        json={"national_program_id": catalog["PIP"]["id"], "agency_id": pbi["id"]},
        headers=h,
    )
    assert bad.status_code == 422 and bad.json["errors"][0]["field"] == "agency_id"
    trail = client.get(f"{BASE}/audit-events?entity_type=program", headers=h).json
    assert [e["action"] for e in trail].count("program.enable") == 3
    # An agency still handling active programs cannot be deactivated.
    url = f"{BASE}/agencies/{dinkes}"
    etag = client.get(url, headers=h).headers["ETag"]
    busy = client.patch(url, json={"active": False}, headers={**h, "If-Match": etag})
    assert busy.status_code == 409
    assert "(PBI-JK, PKH)" in busy.json["errors"][0]["message"]
    assert client.get(url, headers=h).json["active"] is True


def test_local_program_rule_is_validated_with_position(
    client, parepare_admin, national_catalog
) -> None:
    h = parepare_admin.headers
    agency = _agency(client, h)
    bad = client.post(
        f"{BASE}/programs",
        json={**LOCAL, "agency_id": agency, "rule_text": "age >= 60 and\n  desl <= 4"},
        headers=h,
    )
    assert bad.status_code == 422
    error = bad.json["errors"][0]
    assert (error["field"], error["line"], error["column"]) == ("rule_text", 2, 3)
    assert error["message"].startswith("Baris 2, kolom 3: fakta 'desl' tidak dikenal")
    assert error["message_en"].startswith("Line 2, column 3: unknown field 'desl'")
    syntax = client.post(
        f"{BASE}/programs", json={**LOCAL, "agency_id": agency, "rule_text": "age >="}, headers=h
    )
    assert syntax.status_code == 422 and syntax.json["errors"][0]["column"] == 7
    assert client.get(f"{BASE}/programs", headers=h).json == []
    ok = client.post(f"{BASE}/programs", json={**LOCAL, "agency_id": agency}, headers=h)
    assert ok.status_code == 201, ok.json
    assert ok.json["kind"] == "local" and ok.json["rule_ast"]["type"] == "and"
    dup = client.post(f"{BASE}/programs", json={**LOCAL, "agency_id": agency}, headers=h)
    assert dup.status_code == 409 and dup.json["errors"][0]["field"] == "code"
    fields = client.post(
        f"{BASE}/programs",
        json={**LOCAL, "code": "x", "deadline_days": 0, "sector": "magic", "agency_id": agency},
        headers=h,
    )
    assert fields.status_code == 422
    assert {e["field"] for e in fields.json["errors"]} == {"code", "deadline_days", "sector"}


def test_versions_are_kept_and_referrals_can_point_at_them(
    app, client, parepare, parepare_admin
) -> None:
    h = parepare_admin.headers
    agency = _agency(client, h)
    program = client.post(f"{BASE}/programs", json={**LOCAL, "agency_id": agency}, headers=h).json
    url = f"{BASE}/programs/{program['id']}"
    with app.app_context(), tenant_context(parepare.ref()):
        first = current_version(db.session.get(Program, (parepare.id, program["id"])))
        first_id = first.id
        db.session.remove()
    resp = _patch(client, url, {"deadline_days": 30, "rule_text": "age >= 65"}, h)
    assert resp.status_code == 200 and resp.json["version"] == 2
    same = _patch(client, url, {"deadline_days": 30}, h)
    assert same.json["version"] == 2  # nothing changed, no new version
    versions = client.get(f"{url}/versions", headers=h).json
    assert [(v["version"], v["deadline_days"], v["rule_text"]) for v in versions] == [
        (2, 30, "age >= 65"),
        (1, 21, LOCAL["rule_text"]),
    ]
    old = client.get(f"{url}/versions/{first_id}", headers=h).json
    assert old["snapshot"]["deadline_days"] == 21 and old["version"] == 1
    # The rule of the version a referral was made under still decides for it.
    facts = {"age": 62, "in_dtks": True, "desil": 3}
    now = client.post(f"{url}/evaluate", json={"facts": facts}, headers=h).json
    then = client.post(
        f"{url}/evaluate", json={"facts": facts, "version_id": str(first_id)}, headers=h
    ).json
    assert now["eligible"] is False and now["failed"] == ["age >= 65"]
    assert then["eligible"] is True
    with app.app_context(), tenant_context(parepare.ref()):
        with pytest.raises(sa.exc.DBAPIError):
            db.session.execute(sa.text("UPDATE program_versions SET deadline_days = 1"))
        db.session.rollback()
        db.session.remove()


def test_evaluation_explains_each_condition(client, parepare_admin) -> None:
    h = parepare_admin.headers
    agency = _agency(client, h)
    program = client.post(f"{BASE}/programs", json={**LOCAL, "agency_id": agency}, headers=h).json
    resp = client.post(
        f"{BASE}/programs/{program['id']}/evaluate",
        json={"facts": {"age": 70, "in_dtks": True, "desil": None}},
        headers=h,
    )
    assert resp.status_code == 200, resp.json
    body = resp.json
    assert body["eligible"] is False and body["failed"] == ["desil <= 5"]
    desil = body["conditions"][2]
    assert desil["missing"] is True and desil["value"] is None
    assert "tidak diketahui" in desil["explanation"]
    age = body["conditions"][0]
    assert (age["held"], age["value"], age["explanation"]) == (
        True,
        70,
        "age = 70: 'age >= 60' terpenuhi.",
    )
    bad = client.post(
        f"{BASE}/programs/{program['id']}/evaluate",
        json={"facts": {"desil": 11, "sex": "X", "shoe_size": 4}},
        headers=h,
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json["errors"]} == {
        "facts.desil",
        "facts.sex",
        "facts.shoe_size",
    }


def test_national_program_fields_belong_to_kemensos(
    client, parepare_admin, national_catalog
) -> None:
    h = parepare_admin.headers
    agency = _agency(client, h)
    pkh = client.post(
        f"{BASE}/programs/national",
        json={"national_program_id": _national(client, h)["PKH"]["id"], "agency_id": agency},
        headers=h,
    ).json
    url = f"{BASE}/programs/{pkh['id']}"
    resp = _patch(client, url, {"rule_text": "age >= 1", "name": "Nama Lain"}, h)
    assert resp.status_code == 422
    assert {e["field"] for e in resp.json["errors"]} == {"name", "rule_text"}
    assert resp.json["errors"][0]["message_en"] == "Set by Kemensos for a national program."
    resp = _patch(client, url, {"deadline_days": 10, "active": False}, h)
    assert resp.status_code == 200 and resp.json["active"] is False
    assert client.get(f"{BASE}/programs?active=false", headers=h).json[0]["code"] == "PKH"


def test_national_change_reaches_districts_with_new_versions(
    app, client, parepare, kendal, kemensos_admin, national_catalog
) -> None:
    pare = member(app, parepare, "district_admin")
    kend = member(app, kendal, "district_admin")
    catalog = _national(client, pare.headers)
    bpnt_id = catalog["BPNT"]["id"]
    for slug, user, deadline in (("parepare", pare, None), ("kendal", kend, 7)):
        agency = client.post(
            f"/api/v1/t/{slug}/agencies",
            json={"name": "Dinas Sosial", "kind": "dinas"},
            headers=user.headers,
        ).json["id"]
        program = client.post(
            f"/api/v1/t/{slug}/programs/national",
            json={"national_program_id": bpnt_id, "agency_id": agency},
            headers=user.headers,
        ).json
        if deadline:
            _patch(
                client,
                f"/api/v1/t/{slug}/programs/{program['id']}",
                {"deadline_days": deadline},
                user.headers,
            )
    url = f"/api/v1/platform/programs/{bpnt_id}"
    stale = client.get(url, headers=kemensos_admin.headers).headers["ETag"]
    resp = _patch(
        client,
        url,
        {"rule_text": "in_dtks and desil <= 3", "deadline_days": 45},
        kemensos_admin.headers,
    )
    assert resp.status_code == 200 and resp.json["version"] == 2
    stale_resp = client.patch(
        url, json={"deadline_days": 1}, headers={**kemensos_admin.headers, "If-Match": stale}
    )
    assert stale_resp.status_code == 412
    pare_bpnt = client.get("/api/v1/t/parepare/programs", headers=pare.headers).json[0]
    kend_bpnt = client.get("/api/v1/t/kendal/programs", headers=kend.headers).json[0]
    assert pare_bpnt["rule_text"] == kend_bpnt["rule_text"] == "in_dtks and desil <= 3"
    assert pare_bpnt["deadline_days"] == 45  # followed the national default
    assert kend_bpnt["deadline_days"] == 7  # kept its own
    versions = client.get(
        f"/api/v1/t/parepare/programs/{pare_bpnt['id']}/versions", headers=pare.headers
    ).json
    assert [(v["version"], v["national_version"]) for v in versions] == [(2, 2), (1, 1)]
    bad = _patch(client, url, {"rule_text": "desil <== 3"}, kemensos_admin.headers)
    assert bad.status_code == 422 and bad.json["errors"][0]["column"] == 9
    # Withdrawn nationally: stops in every district, which can no longer enable it.
    assert _patch(client, url, {"active": False}, kemensos_admin.headers).status_code == 200
    assert client.get("/api/v1/t/kendal/programs?active=true", headers=kend.headers).json == []
    offered = client.get("/api/v1/t/kendal/national-programs", headers=kend.headers).json
    assert {p["code"] for p in offered} == {"PKH", "PBI-JK", "PIP", "RTLH", "ATENSI"}
    refused = client.post(
        "/api/v1/t/kendal/programs/national",
        json={"national_program_id": bpnt_id, "agency_id": kend_bpnt["agency_id"]},
        headers=kend.headers,
    )
    assert refused.status_code == 409 and "BPNT" in refused.json["detail"]


def test_catalog_is_kemensos_only(client, parepare_admin, kemensos_admin, national_catalog) -> None:
    new = {
        "code": "ASPD",
        "name": "Asistensi Sosial Penyandang Disabilitas",
        "sector": "social_rehabilitation",
        "owner": "Kementerian Sosial",
        "deadline_days": 14,
        "rule_text": "has_disability",
    }
    refused = client.post("/api/v1/platform/programs", json=new, headers=parepare_admin.headers)
    assert refused.status_code == 403
    created = client.post("/api/v1/platform/programs", json=new, headers=kemensos_admin.headers)
    assert created.status_code == 201 and created.json["funding"] == "apbn"
    listing = client.get(
        "/api/v1/platform/programs?sector=social_rehabilitation", headers=kemensos_admin.headers
    ).json
    assert [p["code"] for p in listing] == ["ASPD", "ATENSI"]


def test_rule_tools(client, parepare_admin) -> None:
    h = parepare_admin.headers
    fields = client.get(f"{BASE}/rule-fields", headers=h).json
    assert {f["name"] for f in fields} >= {"in_dtks", "desil", "age", "sex", "village_kind"}
    desil = next(f for f in fields if f["name"] == "desil")
    assert (desil["type"], desil["minimum"], desil["maximum"]) == ("int", 1, 10)
    ok = client.post(
        f"{BASE}/rules/check",
        json={"rule_text": "not in_dtks or desil <= 2", "facts": {"in_dtks": True, "desil": 4}},
        headers=h,
    ).json
    assert ok["valid"] and ok["fields_used"] == ["in_dtks", "desil"]
    assert ok["evaluation"]["eligible"] is False
    bad = client.post(f"{BASE}/rules/check", json={"rule_text": "age >= 60 or"}, headers=h)
    assert bad.status_code == 422 and bad.json["errors"][0]["line"] == 1
