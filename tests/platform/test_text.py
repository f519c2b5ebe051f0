"""Text coming in: control characters refused at every input (API bodies, nested fields, lists,
plain string fields, queries, web forms), no-break spaces made plain."""

from __future__ import annotations

import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.tenancy import tenant_context
from slrt.tenants.registry.models import Person
from tests.fixtures import member

PERSONS = "/api/v1/t/parepare/persons"


def test_control_characters_are_refused_in_every_request_field(app, client, parepare) -> None:
    fo = member(app, parepare, "front_office")
    admin = member(app, parepare, "district_admin")
    # A NUL in a name failed deep in PostgreSQL (500); others were stored and broke exports.
    resp = client.post(
        PERSONS, json={"nik": "7372010101900001", "name": "Andi\x00Baso"}, headers=fo.headers
    )
    assert resp.status_code == 422, resp.json
    [err] = resp.json["errors"]
    assert err["field"] == "name" and "karakter kontrol" in err["message"]
    assert "U+0000" in err["message_en"]
    # nested, in a plain (non-Text) field, in a list, in a query
    nested = client.patch(
        "/api/v1/t/parepare/profile",
        json={"letterhead": {"city": "Pare\x07pare"}},
        headers={**admin.headers, "If-Match": '"x"'},
    )
    assert nested.status_code == 422
    assert nested.json["errors"][0]["field"] == "letterhead.city"
    invite = client.post(
        "/api/v1/t/parepare/invitations",
        json={
            "email": "staf@pareparekota.go.id",
            "role": "facilitator",
            "name": "Staf\x1b",
            "scope_kind": "village",
            "scope_codes": ["73.72.01.1004", "73.72.01.1005\x0b"],
        },
        headers=admin.headers,
    )
    assert invite.status_code == 422
    assert {e["field"] for e in invite.json["errors"]} == {"name", "scope_codes.1"}
    query = client.get(PERSONS, query_string={"name": "Andi\x1f"}, headers=fo.headers)
    assert query.status_code == 422 and query.json["errors"][0]["field"] == "name"
    with app.app_context(), tenant_context(parepare.ref()):
        assert db.session.execute(sa.select(sa.func.count()).select_from(Person)).scalar() == 0
        db.session.remove()


def test_no_break_spaces_in_names_become_plain_spaces(app, client, parepare) -> None:
    fo = member(app, parepare, "front_office")
    resp = client.post(
        PERSONS,
        json={
            "nik": "7372010101900001",
            "name": "\u00a0Andi\u00a0Baso\u202fDaeng ",
            "village_code": "73.72.01.1004",
        },
        headers=fo.headers,
    )
    assert resp.status_code == 201, resp.json
    assert resp.json["name"] == "Andi Baso Daeng"


def test_web_forms_refuse_control_characters_with_the_same_schema(app) -> None:
    from slrt.platform.web import parse_form
    from slrt.tenants.registry.api import PersonSchema

    with app.test_request_context("/"):
        data, form = parse_form(PersonSchema(), {"nik": "7372010101900001", "name": "Andi\x08"})
    assert data is None
    assert "karakter kontrol" in form.errors["name"] and "U+0008" in form.errors["name"].en
