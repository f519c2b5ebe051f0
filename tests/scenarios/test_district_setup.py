"""Setting up a district, through the documented API only: Kemensos onboards a third district,
its configuration is done (agency, three national programs, a local program with a rule, two
intervention villages) and the audit trail shows each change."""

from __future__ import annotations


def test_onboard_and_configure_a_third_district(client, kemensos_admin, national_catalog) -> None:
    h = kemensos_admin.headers
    created = client.post("/api/v1/platform/tenants", json={"code": "63.71"}, headers=h)
    assert created.status_code == 201, created.json
    slug = created.json["slug"]
    base = f"/api/v1/t/{slug}"
    assert created.json["kecamatan_count"] == len(client.get(f"{base}/kecamatan", headers=h).json)

    dinsos = client.post(
        f"{base}/agencies", json={"name": "Dinas Sosial", "kind": "dinas"}, headers=h
    ).json["id"]
    catalog = {p["code"]: p["id"] for p in client.get(f"{base}/national-programs", headers=h).json}
    for code in ("PKH", "BPNT", "ATENSI"):
        resp = client.post(
            f"{base}/programs/national",
            json={"national_program_id": catalog[code], "agency_id": dinsos},
            headers=h,
        )
        assert resp.status_code == 201, resp.json
    local = client.post(
        f"{base}/programs",
        json={
            "code": "SANTUNAN-KEMATIAN",
            "name": "Santunan Kematian",
            "sector": "cash_transfer",
            "owner": "Pemerintah Kota Banjarmasin",
            "deadline_days": 7,
            "rule_text": "in_dtks and desil <= 4",
            "agency_id": dinsos,
        },
        headers=h,
    )
    assert local.status_code == 201, local.json
    villages = client.get(f"{base}/villages?page_size=2", headers=h).json
    for village in villages:
        url = f"{base}/villages/{village['id']}"
        etag = client.get(url, headers=h).headers["ETag"]
        resp = client.patch(url, json={"is_intervention": True}, headers={**h, "If-Match": etag})
        assert resp.status_code == 200 and resp.json["funding_source"] == "apbn_kemensos"

    trail = client.get(f"{base}/audit-events?page_size=50", headers=h).json
    actions = [e["action"] for e in reversed(trail)]
    assert actions == [
        "tenant.onboard",
        "agency.create",
        "program.enable",
        "program.enable",
        "program.enable",
        "program.create",
        "village.update",
        "village.update",
    ]
    assert all(e["actor_label"] == "admin@kemensos.go.id" for e in trail[:-1])
    assert len(client.get(f"{base}/villages?intervention=true", headers=h).json) == 2
