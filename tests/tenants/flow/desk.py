"""What the referral, follow-up, notification and home page tests share: a Parepare cast with
web passwords, a resident's case referred to Dinas Kesehatan (PBI-JK) and Dinas Sosial (BPNT)
through the API's own operations, and a signed-in web client per person. Test modules load it as
a plugin for its `cast` fixture: `pytest_plugins = ["tests.tenants.flow.desk"]`.

PYTEST_DONT_REWRITE: test modules import these helpers before pytest loads the module as their
plugin, and nothing here asserts what a test checks."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from html import unescape

import pytest
import sqlalchemy as sa

from tests.fixtures import flow_catalog, member, set_password
from tests.tenants.flow.test_flow import BASE, LOMPOE, post, register_resident
from tests.web import PASSWORD, form_token, sign_in

WEB = "/t/parepare"
BACUKIKI = "73.72.01"
SOREANG = "73.72.03.1001"


@pytest.fixture
def cast(app, parepare, monkeypatch) -> dict:
    """The cast, for page tests (web sign-in needs the public URL of the test client)."""
    monkeypatch.setenv("SLRT_PUBLIC_URL", "http://localhost")
    return make_cast(app, parepare)


def make_cast(app, parepare) -> dict:
    ids = flow_catalog(app, parepare)
    people = {
        "fo": member(app, parepare, "front_office", scope_kind="village", scope_codes=[LOMPOE]),
        "bo": member(app, parepare, "back_office"),
        "manager": member(app, parepare, "manager"),
        "dinkes": member(app, parepare, "agency_officer", agency_id=ids["dinkes"]),
        "dinsos": member(app, parepare, "agency_officer", agency_id=ids["dinsos"]),
        "facilitator": member(
            app, parepare, "facilitator", scope_kind="village", scope_codes=[LOMPOE]
        ),
        "outsider": member(
            app, parepare, "facilitator", scope_kind="village", scope_codes=[SOREANG]
        ),
        "supervisor": member(
            app, parepare, "supervisor", scope_kind="kecamatan", scope_codes=[BACUKIKI]
        ),
        "far_supervisor": member(
            app, parepare, "supervisor", scope_kind="kecamatan", scope_codes=["73.72.03"]
        ),
    }
    return {"ids": ids, **people}


def refer(client, cast) -> dict:
    """A case of Sitti, a resident of Lompoe (registered once per cast), assessed, decided for
    PBI-JK and BPNT and referred."""
    if "person" not in cast:
        cast["person"] = register_resident(client, cast["fo"])[1]
    person = cast["person"]
    case = post(
        client,
        cast["fo"],
        "/cases",
        {
            "kind": "service_request",
            "channel": "puskesos",
            "person_id": person["id"],
            "description": "Butuh jaminan kesehatan dan bantuan pangan.",
            "needs": [{"sector": "health", "description": "Belum punya BPJS"}],
        },
    ).json
    url = f"/cases/{case['id']}"
    assessed = post(
        client, cast["bo"], url + "/assess", {"dtks": {"status": "in_dtks", "desil": 2}}
    )
    assert assessed.status_code == 200, assessed.json
    programs = [str(cast["ids"]["pbi"]), str(cast["ids"]["bpnt"])]
    assert (
        post(client, cast["manager"], url + "/decide", {"program_ids": programs}).status_code == 200
    )
    referred = post(client, cast["manager"], url + "/refer").json
    assert referred["status"] == "referred", referred
    by_program = {r["program_id"]: r for r in referred["referrals"]}
    referred["pbi"] = by_program[programs[0]]
    referred["bpnt"] = by_program[programs[1]]
    return referred


def web_client(app, user):
    """A browser-like test client signed in as `user` (SLRT_PUBLIC_URL set by the caller)."""
    set_password(app, user, PASSWORD)
    client = app.test_client()
    landed = sign_in(client, user.email)
    assert landed.status_code == 200, landed.status_code
    client.token = form_token(client)
    return client


def form_post(client, url: str, data: dict | None = None, **kw):
    return client.post(url, data={"csrf_token": client.token, **(data or {})}, **kw)


def answer(client, referral_id: str, action: str, **fields):
    return form_post(client, f"{WEB}/referrals/{referral_id}/respond", {"action": action, **fields})


def text(resp) -> str:
    """The page as a person reads it: tags gone, spaces folded."""
    html = resp.get_data(as_text=True)
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    plain = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace(" .", ".").strip()
    return unescape(plain)


def listed(resp) -> str:
    """The text of a page's list of items, from the list to the end of the page's content
    (notices and filters left out); empty when the page lists nothing."""
    html = resp.get_data(as_text=True)
    start = html.find('<ul class="items">')
    if start < 0:
        return ""
    part = html[start : html.find("</main>", start)]
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", part)).strip())


def set_due(app, parepare, referral_id: str, due_at: dt.datetime) -> None:
    """Move a referral's deadline (what time passing would do)."""
    from slrt.platform import db
    from slrt.platform.tenancy import tenant_context
    from slrt.tenants.flow.models import Referral

    with app.app_context(), tenant_context(parepare.ref()):
        db.session.execute(
            sa.update(Referral).where(Referral.id == uuid.UUID(referral_id)).values(due_at=due_at)
        )
        db.session.commit()
        db.session.remove()


def api_answer(client, user, referral_id: str, action: str, body: dict | None = None):
    resp = post(client, user, f"/referrals/{referral_id}/{action}", body or {})
    assert resp.status_code == 200, resp.json
    return resp.json


__all__ = ["BASE", "LOMPOE", "WEB"]
