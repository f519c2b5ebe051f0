"""Kecamatan and villages over the API: filters, pagination, renames, intervention villages,
local villages, deactivation, ETag / If-Match, audit."""

from __future__ import annotations

import json

import pytest

from tests.fixtures import member

BASE = "/api/v1/t/kendal"


def _all(client, url: str, headers: dict) -> list[dict]:
    rows, page = [], 1
    while True:
        sep = "&" if "?" in url else "?"
        resp = client.get(f"{url}{sep}page={page}&page_size=100", headers=headers)
        assert resp.status_code == 200, resp.json
        rows += resp.json
        meta = json.loads(resp.headers["X-Pagination"])
        if page >= meta["total_pages"]:
            return rows
        page += 1


def _village(client, code: str, headers: dict) -> dict:
    found = client.get(f"{BASE}/villages?q={code}", headers=headers).json
    assert len(found) == 1, found
    return found[0]


def _patch(client, url: str, body: dict, headers: dict):
    etag = client.get(url, headers=headers).headers["ETag"]
    return client.patch(url, json=body, headers={**headers, "If-Match": etag})


def test_village_filters_and_stable_pages(client, kendal_admin) -> None:
    h = kendal_admin.headers
    everything = _all(client, f"{BASE}/villages", h)
    assert len(everything) == 286
    assert [v["code"] for v in everything] == sorted(v["code"] for v in everything)
    assert len({v["id"] for v in everything}) == 286
    kelurahan = _all(client, f"{BASE}/villages?kind=kelurahan", h)
    assert len(kelurahan) == 20 and {v["kind"] for v in kelurahan} == {"kelurahan"}
    assert len(_all(client, f"{BASE}/villages?kind=desa", h)) == 266
    kec = client.get(f"{BASE}/kecamatan?page_size=100", headers=h).json
    assert len(kec) == 20
    first = kec[0]
    by_code = _all(client, f"{BASE}/villages?kecamatan={first['code']}", h)
    by_id = _all(client, f"{BASE}/villages?kecamatan_id={first['id']}", h)
    assert by_code == by_id and by_code
    assert all(v["kecamatan_code"] == first["code"] for v in by_code)
    assert _all(client, f"{BASE}/villages?intervention=true", h) == []
    assert len(_all(client, f"{BASE}/villages?active=ya", h)) == 286
    bad = client.get(f"{BASE}/villages?kind=kota", headers=h)
    assert bad.status_code == 422
    assert bad.json["errors"][0]["field"] == "kind"
    assert bad.json["errors"][0]["message"].startswith("Harus salah satu dari")


def test_mine_limits_to_the_callers_region(app, client, kendal) -> None:
    facilitator = member(
        app, kendal, "facilitator", scope_kind="kecamatan", scope_codes=["33.24.01"]
    )
    mine = _all(client, f"{BASE}/villages?mine=true", facilitator.headers)
    assert mine and all(v["code"].startswith("33.24.01.") for v in mine)
    assert len(_all(client, f"{BASE}/villages", facilitator.headers)) == 286


def test_rename_and_intervention_with_etag_and_audit(client, kendal_admin) -> None:
    h = kendal_admin.headers
    village = _village(client, "33.24.01.2001", h)
    url = f"{BASE}/villages/{village['id']}"
    resp = _patch(client, url, {"name": "Desa Baru", "is_intervention": True}, h)
    assert resp.status_code == 200, resp.json
    assert resp.json["name"] == "Desa Baru"
    assert resp.json["reference_name"] == village["name"]
    assert (resp.json["is_intervention"], resp.json["funding_source"]) == (True, "apbn_kemensos")
    assert resp.headers["ETag"]
    flagged = _all(client, f"{BASE}/villages?intervention=true", h)
    assert [v["code"] for v in flagged] == ["33.24.01.2001"]
    # Back to a non-intervention village: funding falls back to APBD unless given.
    resp = _patch(client, url, {"funding_source": "dana_desa"}, h)
    assert (resp.json["is_intervention"], resp.json["funding_source"]) == (False, "dana_desa")
    trail = client.get(f"{BASE}/audit-events?entity_id={village['id']}", headers=h).json
    assert [e["action"] for e in trail] == ["village.update", "village.update"]
    assert trail[1]["before"] == {
        "name": village["name"],
        "is_intervention": False,
        "funding_source": "apbd",
    }
    assert trail[1]["after"] == {
        "name": "Desa Baru",
        "is_intervention": True,
        "funding_source": "apbn_kemensos",
    }
    assert trail[0]["actor_account_id"] == str(kendal_admin.account_id)


def test_contradicting_funding_is_refused(client, kendal_admin) -> None:
    h = kendal_admin.headers
    village = _village(client, "33.24.01.2002", h)
    url = f"{BASE}/villages/{village['id']}"
    resp = _patch(client, url, {"is_intervention": True, "funding_source": "apbd"}, h)
    assert resp.status_code == 422
    assert resp.json["errors"][0]["field"] == "funding_source"
    assert "APBN-Kemensos" in resp.json["errors"][0]["message_en"]
    assert client.get(url, headers=h).json["is_intervention"] is False


def test_etag_mismatch_answers_412_and_changes_nothing(client, kendal_admin) -> None:
    h = kendal_admin.headers
    village = _village(client, "33.24.01.2003", h)
    url = f"{BASE}/villages/{village['id']}"
    stale = client.get(url, headers=h).headers["ETag"]
    assert _patch(client, url, {"name": "Nama Pertama"}, h).status_code == 200
    resp = client.patch(url, json={"name": "Nama Kedua"}, headers={**h, "If-Match": stale})
    assert resp.status_code == 412
    assert resp.mimetype == "application/problem+json"
    assert resp.json["title_en"] == "Precondition failed: the resource changed"
    missing = client.patch(url, json={"name": "Nama Kedua"}, headers=h)
    assert missing.status_code == 428
    assert "If-Match" in missing.json["detail_en"]
    assert client.get(url, headers=h).json["name"] == "Nama Pertama"
    trail = client.get(f"{BASE}/audit-events?entity_id={village['id']}", headers=h).json
    assert len(trail) == 1


def test_kecamatan_rename(client, kendal_admin) -> None:
    h = kendal_admin.headers
    kec = client.get(f"{BASE}/kecamatan?q=Weleri", headers=h).json
    assert len(kec) == 1
    url = f"{BASE}/kecamatan/{kec[0]['id']}"
    resp = _patch(client, url, {"name": "Weleri Kota"}, h)
    assert resp.status_code == 200 and resp.json["name"] == "Weleri Kota"
    assert resp.json["reference_name"] == "Weleri"
    for blank in ("", "   "):
        empty = _patch(client, url, {"name": blank}, h)
        assert empty.status_code == 422 and empty.json["errors"][0]["field"] == "name"
    trail = client.get(f"{BASE}/audit-events?entity_type=kecamatan", headers=h).json
    assert [(e["action"], e["before"], e["after"]) for e in trail] == [
        ("kecamatan.update", {"name": "Weleri"}, {"name": "Weleri Kota"})
    ]


def test_local_village_code_must_fit_and_not_collide(client, kendal_admin) -> None:
    h = kendal_admin.headers
    ok = client.post(
        f"{BASE}/villages",
        json={"code": "33.24.01.2999", "name": "Desa Pemekaran"},
        headers=h,
    )
    assert ok.status_code == 201, ok.json
    assert (ok.json["source"], ok.json["kind"], ok.json["kecamatan_code"]) == (
        "local",
        "desa",
        "33.24.01",
    )
    adat = client.post(
        f"{BASE}/villages",
        json={"code": "33.24.02.3001", "name": "Desa Adat", "is_intervention": True},
        headers=h,
    )
    assert adat.status_code == 201 and adat.json["kind"] == "desa_adat"
    assert adat.json["funding_source"] == "apbn_kemensos"
    cases = [
        ("33.24.01.2999", 409, "sudah dipakai"),
        ("33.24.01.2001", 409, "sudah dipakai"),
        ("73.72.01.1999", 422, "bukan bagian dari Kabupaten Kendal"),
        ("33.24.99.2001", 422, "bukan bagian dari"),
        ("33.24.01.4001", 422, "Format kode"),
        ("33.24.01", 422, "Format kode"),
    ]
    for code, status, words in cases:
        resp = client.post(f"{BASE}/villages", json={"code": code, "name": "X"}, headers=h)
        assert resp.status_code == status, (code, resp.json)
        assert resp.json["errors"][0]["field"] == "code"
        assert words in resp.json["errors"][0]["message"], resp.json
    assert len(_all(client, f"{BASE}/villages?source=local", h)) == 2
    created = client.get(f"{BASE}/audit-events?entity_type=village", headers=h).json
    assert [e["action"] for e in created] == ["village.create", "village.create"]


def test_villages_are_deactivated_never_deleted(client, kendal_admin) -> None:
    h = kendal_admin.headers
    village = _village(client, "33.24.01.2004", h)
    url = f"{BASE}/villages/{village['id']}"
    assert client.delete(url, headers=h).status_code == 405
    resp = _patch(client, url, {"active": False}, h)
    assert resp.status_code == 200 and resp.json["active"] is False
    assert len(_all(client, f"{BASE}/villages", h)) == 286
    assert [v["code"] for v in _all(client, f"{BASE}/villages?active=false", h)] == [
        "33.24.01.2004"
    ]
    # Its code stays taken.
    again = client.post(f"{BASE}/villages", json={"code": "33.24.01.2004", "name": "X"}, headers=h)
    assert again.status_code == 409 and "nonaktif" in again.json["errors"][0]["message"]


@pytest.mark.parametrize("role", ["facilitator", "viewer"])
def test_reading_roles_cannot_configure(app, client, kendal, role) -> None:
    user = member(app, kendal, role)
    village = _village(client, "33.24.01.2001", user.headers)
    url = f"{BASE}/villages/{village['id']}"
    resp = _patch(client, url, {"name": "X"}, user.headers)
    assert resp.status_code == 403 and resp.json["missing_permission"] == "tenant.configure"


def test_region_helpers_resolve_codes(app, kendal) -> None:
    from slrt.platform import db
    from slrt.platform.errors import Problem
    from slrt.platform.tenancy import tenant_context
    from slrt.tenants.regions.access import (
        access_village_by_code,
        resolve_village_code,
        village_facts,
    )

    with app.app_context(), tenant_context(kendal.ref()):
        village = access_village_by_code("33.24.01.2001")
        assert village_facts(village) == {"village_is_intervention": False, "village_kind": "desa"}
        with pytest.raises(Problem) as err:
            access_village_by_code("73.72.01.1004")
        assert err.value.code == 404
        with pytest.raises(Problem) as err:
            resolve_village_code("73.72.01.1004", field="village")
        assert err.value.code == 422 and err.value.errors[0]["field"] == "village"
        assert "tidak ada di Kabupaten Kendal" in err.value.errors[0]["message"]
        db.session.remove()


def test_two_updates_with_one_etag_cannot_both_win(app, client, kendal_admin) -> None:
    """The second writer waits for the first (row lock) and then gets 412, never a lost update."""
    import threading

    h = kendal_admin.headers
    village = _village(client, "33.24.01.2005", h)
    url = f"{BASE}/villages/{village['id']}"
    etag = client.get(url, headers=h).headers["ETag"]
    results: list[int] = []

    def write(name: str) -> None:
        with app.test_client() as own:
            resp = own.patch(url, json={"name": name}, headers={**h, "If-Match": etag})
            results.append(resp.status_code)

    threads = [threading.Thread(target=write, args=(f"Nama {i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200, 412]
    trail = client.get(f"{BASE}/audit-events?entity_id={village['id']}", headers=h).json
    assert len(trail) == 1
