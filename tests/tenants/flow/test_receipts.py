"""The receipt's secret status link: every registration gets one, only its hash is stored, it
opens exactly its own case in its own district without sign-in, and a new receipt replaces it."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.tenancy import tenant_context
from slrt.tenants.flow.access import case_by_status_token
from slrt.tenants.flow.models import Case
from slrt.tenants.flow.receipts import hash_status_token, qr_svg, status_check_url
from tests.fixtures import flow_catalog, member
from tests.tenants.flow.test_flow import LOMPOE, post, register_resident


def _register(client, fo, person_id: str) -> dict:
    resp = post(
        client,
        fo,
        "/cases",
        {"kind": "complaint", "channel": "secretariat", "person_id": person_id, "description": "x"},
    )
    assert resp.status_code == 201, resp.json
    return resp.json


def test_token_given_at_registration_opens_only_its_case(app, client, parepare, kendal) -> None:
    from slrt.auth.policy import Principal
    from slrt.platform.actor import Actor, acting_as
    from slrt.tenants.flow import actions

    flow_catalog(app, parepare)
    fo = member(app, parepare, "front_office", scope_kind="village", scope_codes=[LOMPOE])
    _household, person = register_resident(client, fo)
    first = _register(client, fo, person["id"])
    assert "status_token" not in first  # the API does not hand it out

    with app.test_request_context(), tenant_context(parepare.ref()):
        from flask import g

        actor = Actor(kind="account", label=fo.email, account_id=fo.account_id)
        with acting_as(actor):
            g.principal = Principal(actor=actor, account_id=fo.account_id, permissions=frozenset())
            case = db.session.get(Case, (parepare.id, uuid.UUID(first["id"])))
            stored = case.status_token_hash
            assert stored and len(stored) == 64
            token = actions.renew_status_token(case)
            assert case.status_token == token and token not in stored
            assert case.status_token_hash == hash_status_token(token) != stored
        db.session.remove()

    with app.test_request_context(), tenant_context(parepare.ref()):
        found = case_by_status_token(token)
        assert found is not None and str(found.id) == first["id"]
        assert case_by_status_token(token + "x") is None
        assert case_by_status_token("") is None
        assert case_by_status_token("a" * 500) is None
        url = status_check_url(parepare, token)
        assert url.endswith(f"/t/parepare/cek-tiket/{token}")
        svg = qr_svg(url, "QR")
        assert svg.startswith("<svg") and "<path" in svg
        db.session.remove()
    # Another district's context never finds it.
    with app.test_request_context(), tenant_context(kendal.ref()):
        assert case_by_status_token(token) is None
        db.session.remove()


def test_every_registration_stores_a_different_hash(app, client, parepare) -> None:
    flow_catalog(app, parepare)
    fo = member(app, parepare, "front_office", scope_kind="village", scope_codes=[LOMPOE])
    _household, person = register_resident(client, fo)
    ids = [_register(client, fo, person["id"])["id"] for _ in range(3)]
    with app.app_context(), tenant_context(parepare.ref()):
        hashes = db.session.execute(
            sa.select(Case.status_token_hash).where(Case.id.in_(ids))
        ).scalars()
        assert len({h for h in hashes if h}) == 3
        db.session.remove()
