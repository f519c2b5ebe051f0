"""The person and household lists keep their statement per caller's region scope, set of
filters and page, and bind each request's values: callers of different regions asking in turn
in one process each get their own rows, and a kept statement never answers with another
caller's scope or another request's values."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.tenancy import tenant_context
from slrt.tenants.registry.models import Household, Person
from tests.fixtures import member

BACUKIKI = "73.72.01.1001"  # a kelurahan in kecamatan 73.72.01
SOREANG = "73.72.03.1001"  # a kelurahan in kecamatan 73.72.03
URL = "/api/v1/t/parepare"


def _seed(app, tenant) -> dict[str, str]:
    """Two households with two persons each, one per kelurahan; returns name -> person id."""
    rows = {
        "Andi Lapawawoi": ("7372010101900001", BACUKIKI, "7372010101000001"),
        "Hasnah Daeng": ("7372010101900002", BACUKIKI, "7372010101000001"),
        "Andi Saputra": ("7372030101900003", SOREANG, "7372030101000002"),
        "Sitti Hasnah": ("7372030101900004", SOREANG, "7372030101000002"),
    }
    households = {kk: uuid.uuid4() for _, _, kk in rows.values()}
    ids = {name: uuid.uuid4() for name in rows}
    with app.app_context(), tenant_context(tenant.ref()):
        for kk, hid in households.items():
            village = next(v for _, v, k in rows.values() if k == kk)
            db.session.execute(
                sa.insert(Household).values(
                    tenant_id=tenant.id,
                    id=hid,
                    kk_number=kk,
                    village_code=village,
                    address="Jl. Contoh",
                    dtks_status="unknown",
                )
            )
        db.session.execute(
            sa.insert(Person),
            [
                {
                    "tenant_id": tenant.id,
                    "id": ids[name],
                    "household_id": households[kk],
                    "nik": nik,
                    "name": name,
                    "sex": "P",
                    "village_code": village,
                }
                for name, (nik, village, kk) in rows.items()
            ],
        )
        db.session.commit()
        db.session.remove()
    return {name: str(i) for name, i in ids.items()}


def _names(client, user, path: str = "/persons", **query) -> tuple[set[str], str]:
    resp = client.get(URL + path, query_string=query, headers=user.headers)
    assert resp.status_code == 200, resp.data
    key = "name" if path == "/persons" else "kk_number"
    return {row[key] for row in resp.json}, resp.headers["X-Pagination"]


def test_callers_in_turn_each_get_their_own_persons(app, client, parepare) -> None:
    _seed(app, parepare)
    everyone = {"Andi Lapawawoi", "Hasnah Daeng", "Andi Saputra", "Sitti Hasnah"}
    cast = {
        "admin": member(app, parepare, "district_admin"),
        "bacukiki": member(
            app, parepare, "facilitator", scope_kind="village", scope_codes=[BACUKIKI]
        ),
        "soreang": member(
            app, parepare, "facilitator", scope_kind="village", scope_codes=[SOREANG]
        ),
        "kecamatan": member(
            app, parepare, "supervisor", scope_kind="kecamatan", scope_codes=["73.72.01"]
        ),
    }
    # caller, query, expected names
    asked = [
        ("admin", {}, everyone),
        ("bacukiki", {}, {"Andi Lapawawoi", "Hasnah Daeng"}),
        ("soreang", {}, {"Andi Saputra", "Sitti Hasnah"}),
        ("kecamatan", {}, {"Andi Lapawawoi", "Hasnah Daeng"}),
        ("admin", {"nik": "7372010101900001"}, {"Andi Lapawawoi"}),
        ("admin", {"nik": "7372030101900004"}, {"Sitti Hasnah"}),
        ("bacukiki", {"nik": "7372030101900004"}, set()),  # outside their kelurahan
        ("soreang", {"nik": "7372030101900004"}, {"Sitti Hasnah"}),
        ("admin", {"name": "andi"}, {"Andi Lapawawoi", "Andi Saputra"}),
        ("admin", {"name": "hasnah"}, {"Hasnah Daeng", "Sitti Hasnah"}),
        ("soreang", {"name": "andi"}, {"Andi Saputra"}),
        ("kecamatan", {"name": "hasnah"}, {"Hasnah Daeng"}),
        ("admin", {"village_code": SOREANG}, {"Andi Saputra", "Sitti Hasnah"}),
        ("admin", {"village_code": BACUKIKI}, {"Andi Lapawawoi", "Hasnah Daeng"}),
        ("bacukiki", {"village_code": SOREANG}, set()),
        ("admin", {"kecamatan_code": "73.72.03"}, {"Andi Saputra", "Sitti Hasnah"}),
        ("kecamatan", {"kecamatan_code": "73.72.03"}, set()),
        ("admin", {"name": "andi", "village_code": SOREANG}, {"Andi Saputra"}),
    ]
    # Twice, in two orders: the second time every statement is a kept one.
    for order in (asked, list(reversed(asked))):
        for caller, query, expected in order:
            assert _names(client, cast[caller], **query)[0] == expected, (caller, query)
    # Pages are part of what is kept, and the total is the caller's own.
    admin = cast["admin"]
    for _ in range(2):
        first, paging = _names(client, admin, page_size=3, page=1)
        second, _ = _names(client, admin, page_size=3, page=2)
        assert first | second == everyone and not first & second
        assert '"total": 4' in paging, paging
        assert _names(client, admin, page_size=3, page=3)[0] == set()
        _, paging = _names(client, cast["soreang"], page_size=3, page=1)
        assert '"total": 2' in paging, paging


def test_households_likewise(app, client, parepare) -> None:
    _seed(app, parepare)
    admin = member(app, parepare, "district_admin")
    soreang = member(app, parepare, "facilitator", scope_kind="village", scope_codes=[SOREANG])
    for _ in range(2):
        assert _names(client, admin, "/households")[0] == {"7372010101000001", "7372030101000002"}
        assert _names(client, soreang, "/households")[0] == {"7372030101000002"}
        assert _names(client, admin, "/households", kk_number="7372030101000002")[0] == {
            "7372030101000002"
        }
        assert _names(client, soreang, "/households", kk_number="7372010101000001")[0] == set()
        assert _names(client, admin, "/households", kecamatan_code="73.72.01")[0] == {
            "7372010101000001"
        }
