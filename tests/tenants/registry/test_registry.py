"""Registry: NIK validation, households and persons over HTTP, duplicate NIK, region scope, the
cross-district NIK signal without leakage, lawful export and erasure."""

from __future__ import annotations

import datetime as dt

import pytest

from slrt.tenants.registry.nik import kk_problems, nik_problems, parse_nik
from tests.fixtures import make_account, member

TODAY = dt.date(2026, 11, 22)

# (nik, sex, birth_date, expected problem fragments (English); empty = valid)
NIK_CASES = [
    ("7372010101900001", None, None, []),  # Bacukiki, man born 1990-01-01
    ("7372014101900002", None, None, []),  # woman: day 01 + 40
    ("7372017112850003", "P", dt.date(1985, 12, 31), []),  # woman, 31 + 40 = 71
    ("3324011502100004", "L", dt.date(2010, 2, 15), []),  # Kendal, Plantungan
    ("7372010101900001", "L", dt.date(1990, 1, 1), []),
    ("737201010190001", None, None, ["must be 16 digits (got 15"]),
    ("73720101019000011", None, None, ["must be 16 digits (got 17"]),
    ("7372O10101900001", None, None, ["must be 16 digits"]),
    ("3.32401E+15", None, None, ["scientific notation"]),
    ("9999990101900001", None, None, ["first six digits of the NIK (999999)"]),
    ("7372993101900001", None, None, ["first six digits of the NIK (737299)"]),
    ("7372013202900001", None, None, ["birth-date part of the NIK (320290)"]),  # 32 Feb
    ("7372017202900001", None, None, ["birth-date part"]),  # woman, 32 Feb
    ("7372010113900001", None, None, ["birth-date part"]),  # month 13
    ("7372010000900001", None, None, ["birth-date part"]),  # day 00
    ("7372012902010001", None, None, ["birth-date part"]),  # 29 Feb 2001 is not a date
    ("7372010101900000", None, None, ["serial part"]),
    ("7372010101900001", "P", None, ["Sex (P) does not match the NIK (day 01 means L)"]),
    ("7372014101900002", "L", None, ["Sex (L) does not match"]),
    ("7372010101900001", None, dt.date(1990, 1, 2), ["Birth date (1990-01-02) does not match"]),
    ("9999993202900000", None, None, ["first six digits", "birth-date part", "serial part"]),
]


@pytest.mark.parametrize(("nik", "sex", "born", "expected"), NIK_CASES)
def test_nik_validation_table(nik, sex, born, expected) -> None:
    problems = nik_problems(nik, sex=sex, birth_date=born, today=TODAY)
    assert len(problems) == len(expected), [p.en for p in problems]
    for problem, fragment in zip(problems, expected, strict=True):
        assert fragment in problem.en
        assert str(problem) and str(problem) != problem.en  # Indonesian text too


def test_nik_parts_and_century() -> None:
    parts = parse_nik("7372014101250002", today=TODAY)
    assert (parts.kecamatan_code, parts.sex, parts.birth_date) == (
        "73.72.01",
        "P",
        dt.date(2025, 1, 1),
    )
    assert parse_nik("7372010101300001", today=TODAY).birth_date == dt.date(1930, 1, 1)
    assert kk_problems("7372010101900001") == []
    assert "16 digits" in kk_problems("12345")[0].en


BACUKIKI = "73.72.01.1004"  # Lompoe
SOREANG = "73.72.03.1001"


@pytest.fixture
def fo(app, parepare):
    return member(app, parepare, "front_office")


def _household(client, user, kk="7372010101110001", village=BACUKIKI, **kw):
    return client.post(
        "/api/v1/t/parepare/households",
        json={"kk_number": kk, "address": "Jl. Lompoe 1", "village_code": village, **kw},
        headers=user.headers,
    )


def _person(client, user, nik="7372010101900001", **kw):
    body = {"nik": nik, "name": "Andi Baso", **kw}
    return client.post("/api/v1/t/parepare/persons", json=body, headers=user.headers)


def test_register_household_and_person(client, fo) -> None:
    resp = _household(client, fo, dtks_status="in_dtks", desil=2)
    assert resp.status_code == 201, resp.json
    household = resp.json
    assert household["village_name"] == "Lompoe"
    assert household["dtks_checked_on"] is not None
    resp = _person(client, fo, household_id=household["id"], relation="kepala_keluarga")
    assert resp.status_code == 201, resp.json
    person = resp.json
    # Sex and birth date come from the NIK when not given; the village from the household.
    assert (person["sex"], person["birth_date"], person["village_code"]) == (
        "L",
        "1990-01-01",
        BACUKIKI,
    )


def test_bad_nik_gets_field_errors_in_both_languages(client, fo) -> None:
    resp = _person(client, fo, nik="9999993202900000", village_code=BACUKIKI)
    assert resp.status_code == 422
    errors = resp.json["errors"]
    assert [e["field"] for e in errors] == ["nik", "nik", "nik"]
    assert "kecamatan" in errors[0]["message"] and "kecamatan" in errors[0]["message_en"]
    resp = _person(client, fo, nik="7372010101900001", sex="P", village_code=BACUKIKI)
    assert resp.status_code == 422
    assert "Jenis kelamin (P) tidak sesuai" in resp.json["errors"][0]["message"]
    resp = _household(client, fo, kk="123")
    assert resp.status_code == 422 and resp.json["errors"][0]["field"] == "kk_number"
    resp = _household(client, fo, village="33.24.01.2001")  # a Kendal village
    assert resp.status_code == 422 and resp.json["errors"][0]["field"] == "village_code"
    resp = _household(client, fo, dtks_status="not_in_dtks", desil=3)
    assert resp.status_code == 422 and resp.json["errors"][0]["field"] == "desil"


def test_duplicate_nik_finds_the_first(client, fo) -> None:
    first = _person(client, fo, village_code=BACUKIKI).json
    again = _person(client, fo, name="Andi B.", village_code=SOREANG)
    assert again.status_code == 409
    assert again.json["existing_person_id"] == first["id"]
    assert "sudah terdaftar" in again.json["detail"]
    dup_kk = _household(client, fo)
    assert _household(client, fo).status_code == 409
    assert _household(client, fo).json["existing_household_id"] == dup_kk.json["id"]


def test_region_scope_on_registry(app, client, parepare, fo) -> None:
    lompoe = _household(client, fo).json
    andi = _person(client, fo, household_id=lompoe["id"]).json
    soreang_hh = _household(client, fo, kk="7372030101110002", village=SOREANG).json
    _person(client, fo, nik="7372034101950003", name="Sitti", household_id=soreang_hh["id"])
    facilitator = member(app, parepare, "facilitator", scope_kind="village", scope_codes=[SOREANG])
    kec = member(app, parepare, "supervisor", scope_kind="kecamatan", scope_codes=["73.72.01"])
    listed = client.get("/api/v1/t/parepare/persons", headers=facilitator.headers).json
    assert [p["name"] for p in listed] == ["Sitti"]
    assert [
        p["name"] for p in client.get("/api/v1/t/parepare/persons", headers=kec.headers).json
    ] == ["Andi Baso"]
    hh = client.get("/api/v1/t/parepare/households", headers=facilitator.headers).json
    assert [h["id"] for h in hh] == [soreang_hh["id"]]
    for url in (
        f"/api/v1/t/parepare/persons/{andi['id']}",
        f"/api/v1/t/parepare/households/{lompoe['id']}",
        f"/api/v1/t/parepare/households/{lompoe['id']}/members",
    ):
        assert client.get(url, headers=facilitator.headers).status_code == 404, url
    resp = client.patch(
        f"/api/v1/t/parepare/persons/{andi['id']}",
        json={"phone": "081199887766"},
        headers={**facilitator.headers, "If-Match": '"x"'},
    )
    assert resp.status_code == 404
    # Registering into a village outside one's region is refused.
    resp = _person(client, facilitator, nik="7372010202900005", village_code=BACUKIKI)
    assert resp.status_code == 403 and resp.json["errors"][0]["field"] == "village_code"


def test_person_update_needs_if_match_and_reads_are_audited(app, client, parepare, fo) -> None:
    person = _person(client, fo, village_code=BACUKIKI).json
    url = f"/api/v1/t/parepare/persons/{person['id']}"
    got = client.get(url, headers=fo.headers)
    assert client.patch(url, json={"phone": "081234567"}, headers=fo.headers).status_code == 428
    stale = client.patch(
        url, json={"phone": "081234567"}, headers={**fo.headers, "If-Match": '"stale"'}
    )
    assert stale.status_code == 412
    ok = client.patch(
        url, json={"phone": "081234567"}, headers={**fo.headers, "If-Match": got.headers["ETag"]}
    )
    assert ok.status_code == 200 and ok.json["phone"] == "081234567"
    admin = member(app, parepare, "district_admin")
    events = client.get(
        "/api/v1/t/parepare/audit-events",
        query_string={"kind": "read", "entity_id": person["id"]},
        headers=admin.headers,
    ).json
    assert events and events[0]["action"] == "person.read"
    assert events[0]["endpoint"] == f"GET {url}"
    assert events[0]["actor_account_id"] == str(fo.account_id)


def test_cross_district_signal_without_leakage(app, client, parepare, kendal) -> None:
    nik = "3324011502100004"
    fo_p = member(app, parepare, "front_office")
    fo_k = member(app, kendal, "front_office")
    assert _person(client, fo_p, nik=nik, name="Budi", village_code=BACUKIKI).status_code == 201
    resp = client.post(
        "/api/v1/t/kendal/persons",
        json={"nik": nik, "name": "Budi Santoso", "village_code": "33.24.01.2001"},
        headers=fo_k.headers,
    )
    assert resp.status_code == 201, resp.json
    kendal_id = resp.json["id"]
    # Neither district sees the other's record: same NIK, each sees only its own.
    mine = client.get(
        "/api/v1/t/parepare/persons", query_string={"nik": nik}, headers=fo_p.headers
    ).json
    assert [p["name"] for p in mine] == ["Budi"]
    assert (
        client.get(f"/api/v1/t/parepare/persons/{kendal_id}", headers=fo_p.headers).status_code
        == 404
    )
    # Kemensos sees the signal: two districts, their codes, and nothing else.
    kemensos = make_account(app, "viewer@kemensos.go.id", platform_role="kemensos_viewer")
    signals = client.get("/api/v1/nik-signals", headers=kemensos.headers)
    assert signals.status_code == 200
    assert len(signals.json) == 1
    signal = signals.json[0]
    assert signal["district_count"] == 2 and signal["district_codes"] == ["33.24", "73.72"]
    assert set(signal) == {"nik_hash", "district_count", "district_codes"}
    assert nik not in signals.get_data(as_text=True) and "Budi" not in signals.get_data(
        as_text=True
    )
    looked = client.post(
        "/api/v1/nik-signals/lookup", json={"nik": nik}, headers=kemensos.headers
    ).json
    assert looked["district_codes"] == ["33.24", "73.72"]
    # A provincial viewer of Sulawesi Selatan (73) sees only its province's side of it.
    sulsel = make_account(
        app, "viewer@sulsel.go.id", platform_role="provincial_viewer", province_code="73"
    )
    assert client.get("/api/v1/nik-signals", headers=sulsel.headers).json == []
    one = client.post("/api/v1/nik-signals/lookup", json={"nik": nik}, headers=sulsel.headers).json
    assert one["district_codes"] == ["73.72"] and one["district_count"] == 1
    # A district member cannot read the signal.
    assert client.get("/api/v1/nik-signals", headers=fo_p.headers).status_code == 403
    # Kemensos cannot read the district's persons.
    assert client.get("/api/v1/t/parepare/persons", headers=kemensos.headers).status_code == 403


def test_lawful_export_and_erasure(app, client, parepare, fo) -> None:
    hh = _household(client, fo).json
    person = _person(client, fo, household_id=hh["id"], phone="0811222333").json
    case = client.post(
        "/api/v1/t/parepare/cases",
        json={
            "kind": "complaint",
            "channel": "secretariat",
            "person_id": person["id"],
            "description": "Andi Baso belum menerima bantuan",
        },
        headers=fo.headers,
    ).json
    admin = member(app, parepare, "district_admin")
    closed = client.post(
        f"/api/v1/t/parepare/cases/{case['id']}/close",
        json={"resolution": "resolved", "note": "Pak Andi Baso sudah dijelaskan"},
        headers=admin.headers,
    )
    assert closed.status_code == 200, closed.json
    export = client.get(f"/api/v1/t/parepare/persons/{person['id']}/export", headers=admin.headers)
    assert export.status_code == 200
    assert export.json["person"]["nik"] == "7372010101900001"
    assert export.json["cases"][0]["ticket_number"] == case["ticket_number"]
    assert (
        client.get(
            f"/api/v1/t/parepare/persons/{person['id']}/export", headers=fo.headers
        ).status_code
        == 403
    )
    erased = client.post(
        f"/api/v1/t/parepare/persons/{person['id']}/erase",
        json={"reason": "Permintaan subjek data, surat 12/2026"},
        headers=admin.headers,
    )
    assert erased.status_code == 200 and erased.json == {"cases": 1, "household_erased": True}
    after = client.get(f"/api/v1/t/parepare/persons/{person['id']}", headers=fo.headers).json
    assert after["nik"] is None and after["phone"] is None and after["erased"] is True
    assert "Andi" not in after["name"]
    case_after = client.get(f"/api/v1/t/parepare/cases/{case['id']}", headers=fo.headers).json
    assert "Andi" not in case_after["description"]
    assert (
        case_after["ticket_number"] == case["ticket_number"] and case_after["kind"] == "complaint"
    )
    # The NIK can be registered afresh (it is no longer held).
    assert _person(client, fo, village_code=BACUKIKI).status_code == 201
    kinds = client.get(
        "/api/v1/t/parepare/audit-events", query_string={"kind": "export"}, headers=admin.headers
    ).json
    assert kinds[0]["entity_id"] == person["id"]
    assert (
        client.get(
            "/api/v1/t/parepare/audit-events",
            query_string={"kind": "erasure"},
            headers=admin.headers,
        )
        .json[0]["note"]
        .startswith("Permintaan")
    )


def test_ticket_numbers_are_unique_under_concurrency(app, parepare, fo) -> None:
    """Eight front offices registering at the same moment get eight different, consecutive
    ticket numbers (the counter row is locked by the upsert until each commit)."""
    from concurrent.futures import ThreadPoolExecutor

    setup = app.test_client()
    person = _person(setup, fo, village_code=BACUKIKI).json
    body = {
        "kind": "question",
        "channel": "phone_whatsapp",
        "person_id": person["id"],
        "description": "Tanya syarat PKH",
    }

    def register(_: int) -> str:
        resp = app.test_client().post("/api/v1/t/parepare/cases", json=body, headers=fo.headers)
        assert resp.status_code == 201, resp.json
        return resp.json["ticket_number"]

    # Four at a time: what one web process runs at once (SLRT_WEB_ACTIVE); more would be shed.
    with ThreadPoolExecutor(max_workers=4) as pool:
        tickets = list(pool.map(register, range(8)))
    serials = sorted(int(t.rsplit("-", 1)[1]) for t in tickets)
    assert serials == list(range(1, 9))
    assert all(t.startswith(f"7372-{dt.date.today().year}-") for t in tickets)


def test_one_nik_registered_at_once_by_several_desks_is_one_person(app, fo) -> None:
    """Those who lose the race to the unique index get the duplicate's 409, never a 500."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    start = Barrier(4)  # what one web process runs at once (SLRT_WEB_ACTIVE)

    def register(_: int) -> int:
        client = app.test_client()
        start.wait()
        return _person(client, fo, nik="7372014101900011", village_code=BACUKIKI).status_code

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = sorted(pool.map(register, range(4)))
    assert statuses == [201, 409, 409, 409]
