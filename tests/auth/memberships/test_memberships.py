"""Memberships, invitations and roles of a district, and region scope through
Principal.region_clause on the memberships listing."""

from __future__ import annotations

import logging
import re

from slrt.platform import db
from tests.fixtures import member, set_password

BACUKIKI = "73.72.01"
BACUKIKI_A, BACUKIKI_B = "73.72.01.1004", "73.72.01.1005"
UJUNG_A = "73.72.02.1001"
PASSWORD = "kopi pagi di balai desa"


def emails(resp) -> set[str]:
    assert resp.status_code == 200, resp.json
    return {m["email"] for m in resp.json}


def add_agency(app, tenant) -> str:
    from slrt.platform.tenancy import tenant_context
    from slrt.tenants.agencies.models import Agency

    with app.app_context():
        with tenant_context(tenant.ref()):
            agency = Agency(name="Dinas Kesehatan", kind="dinas")
            db.session.add(agency)
            db.session.commit()
            agency_id = str(agency.id)
        db.session.remove()
    return agency_id


def custom_role(client, admin, key: str, permissions: list[str]) -> dict:
    resp = client.post(
        "/api/v1/t/parepare/roles",
        json={"key": key, "name": key.replace("_", " ").title(), "permissions": permissions},
        headers=admin.headers,
    )
    assert resp.status_code == 201, resp.json
    return resp.json


def test_region_scope_on_the_memberships_listing(app, client, parepare) -> None:
    admin = member(app, parepare, "district_admin")
    fac_a = member(app, parepare, "facilitator", scope_kind="village", scope_codes=[BACUKIKI_A])
    fac_b = member(app, parepare, "facilitator", scope_kind="village", scope_codes=[BACUKIKI_B])
    fac_u = member(app, parepare, "facilitator", scope_kind="village", scope_codes=[UJUNG_A])
    sup = member(app, parepare, "supervisor", scope_kind="kecamatan", scope_codes=[BACUKIKI])
    # A village lead of desa A with members.read (a custom role).
    custom_role(client, admin, "village_lead", ["members.read"])
    lead = member(app, parepare, "village_lead", scope_kind="village", scope_codes=[BACUKIKI_A])

    everyone = emails(client.get("/api/v1/t/parepare/memberships", headers=admin.headers))
    assert {fac_a.email, fac_b.email, fac_u.email, sup.email, lead.email, admin.email} == everyone

    # Supervisor of kecamatan Bacukiki: every desa in Bacukiki (and itself), nothing in Ujung,
    # no district-wide member.
    seen = emails(client.get("/api/v1/t/parepare/memberships", headers=sup.headers))
    assert seen == {fac_a.email, fac_b.email, sup.email, lead.email}

    # Facilitator-level scope of desa A: only desa A; desa B is not listed and not readable.
    seen = emails(client.get("/api/v1/t/parepare/memberships", headers=lead.headers))
    assert seen == {fac_a.email, lead.email}
    all_rows = client.get("/api/v1/t/parepare/memberships", headers=admin.headers).json
    b_id = next(m["id"] for m in all_rows if m["email"] == fac_b.email)
    a_id = next(m["id"] for m in all_rows if m["email"] == fac_a.email)
    assert (
        client.get(f"/api/v1/t/parepare/memberships/{b_id}", headers=lead.headers).status_code
        == 404
    )
    one = client.get(f"/api/v1/t/parepare/memberships/{a_id}", headers=lead.headers)
    assert one.status_code == 200 and one.json["scope_codes"] == [BACUKIKI_A]
    assert one.json["scope_names"][0].startswith("Kelurahan ")

    # Filters.
    only_fac = emails(
        client.get(
            "/api/v1/t/parepare/memberships?role=facilitator&region=73.72.02", headers=admin.headers
        )
    )
    assert only_fac == {fac_u.email}


def test_region_helpers_are_plain_sql_conditions(app, parepare) -> None:
    """The helpers the registry will reuse: village-code rows inside a scope."""
    import sqlalchemy as sa

    from slrt.auth.policy import Principal
    from slrt.auth.region_scope import code_in_scope
    from slrt.platform.actor import SYSTEM

    sup = Principal(actor=SYSTEM, scope_kind="kecamatan", scope_codes=(BACUKIKI,))
    fac = Principal(actor=SYSTEM, scope_kind="village", scope_codes=(BACUKIKI_A,))
    values = sa.values(sa.column("village_code", sa.String), name="t").data(
        [(BACUKIKI_A,), (BACUKIKI_B,), (UJUNG_A,)]
    )
    with app.app_context():

        def visible(principal):
            col = values.c.village_code
            return set(
                db.session.execute(sa.select(col).where(code_in_scope(principal, col))).scalars()
            )

        assert visible(sup) == {BACUKIKI_A, BACUKIKI_B}
        assert visible(fac) == {BACUKIKI_A}
        assert sup.covers(BACUKIKI_B) and not fac.covers(BACUKIKI_B)
        db.session.remove()


def test_invitation_by_email_creates_account_and_membership(
    app, client, parepare, monkeypatch, caplog
) -> None:
    monkeypatch.setenv("SLRT_PUBLIC_URL", "http://localhost")
    caplog.set_level(logging.INFO, logger="slrt.auth.memberships.actions")
    admin = member(app, parepare, "district_admin")
    resp = client.post(
        "/api/v1/t/parepare/invitations",
        json={
            "email": "Rina@Example.id",
            "name": "Rina",
            "role": "facilitator",
            "scope_kind": "village",
            "scope_codes": [BACUKIKI_A],
        },
        headers=admin.headers,
    )
    assert resp.status_code == 201, resp.json
    link = resp.json["link"]
    assert link.startswith("http://localhost/auth/invitations/parepare/")
    assert link in caplog.text  # no mail gateway: the link is also in the log
    path = link.removeprefix("http://localhost")
    page = client.get(path)
    html = page.get_data(as_text=True)
    assert "Undangan ke Kota Parepare" in html
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    short = client.post(
        path,
        data={
            "csrf_token": token,
            "action": "create",
            "name": "Rina",
            "password": "pendek",
            "password2": "pendek",
        },
    )
    assert short.status_code == 422 and "minimal 10 karakter" in short.get_data(as_text=True)
    done = client.post(
        path,
        data={
            "csrf_token": token,
            "action": "create",
            "name": "Rina",
            "password": PASSWORD,
            "password2": PASSWORD,
        },
        follow_redirects=True,
    )
    assert done.request.path == "/t/parepare/"
    assert "73.72.01.1004" in done.get_data(as_text=True)
    # Single use.
    assert client.get(path).status_code == 404
    listing = client.get("/api/v1/t/parepare/memberships?role=facilitator", headers=admin.headers)
    assert emails(listing) == {"rina@example.id"}
    invitations = client.get("/api/v1/t/parepare/invitations", headers=admin.headers).json
    assert invitations[0]["status"] == "accepted" and invitations[0]["link"] is None
    events = client.get("/api/v1/t/parepare/audit-events?kind=security", headers=admin.headers).json
    assert {"invitation.create", "invitation.accept"} <= {e["action"] for e in events}


def test_invitation_validation(app, client, parepare) -> None:
    admin = member(app, parepare, "district_admin")
    sup = member(app, parepare, "supervisor", scope_kind="kecamatan", scope_codes=[BACUKIKI])

    def invite(body, who=admin):
        return client.post("/api/v1/t/parepare/invitations", json=body, headers=who.headers)

    outside = invite(
        {
            "phone": "+62 812 1234 5678",
            "role": "facilitator",
            "scope_kind": "village",
            "scope_codes": ["33.24.01.2001"],
        }
    )
    assert outside.status_code == 422
    [err] = outside.json["errors"]
    assert err["field"] == "scope_codes.0" and "di luar kabupaten/kota ini" in err["message"]
    unknown = invite(
        {
            "email": "a@b.id",
            "role": "supervisor",
            "scope_kind": "kecamatan",
            "scope_codes": ["73.72.09"],
        }
    )
    assert unknown.json["errors"][0]["message_en"].startswith(
        "Code 73.72.09 is not in the Kemendagri"
    )
    agency = invite({"email": "opd@b.id", "role": "agency_officer"})
    assert agency.status_code == 422 and agency.json["errors"][0]["field"] == "agency_id"
    import uuid

    missing = invite(
        {"email": "opd@b.id", "role": "agency_officer", "agency_id": str(uuid.uuid4())}
    )
    assert missing.json["errors"][0]["message_en"] == "No such agency in this district."
    agency_id = add_agency(app, parepare)
    ok = invite({"email": "opd@b.id", "role": "agency_officer", "agency_id": agency_id})
    assert ok.status_code == 201 and ok.json["agency_id"] == agency_id
    not_opd = invite({"email": "v@b.id", "role": "viewer", "agency_id": agency_id})
    assert not_opd.json["errors"][0]["message_en"] == "Only agency officers are bound to an agency."
    nothing = invite({"role": "viewer"})
    assert nothing.status_code == 422
    # Supervisors lack members.manage.
    assert invite({"email": "x@b.id", "role": "viewer"}, sup).status_code == 403


def test_the_cli_invites_through_the_same_grant_check_as_the_api(app, client, parepare) -> None:
    from click.testing import CliRunner

    from slrt.auth.memberships.models import Invitation
    from slrt.platform.commands.main import main
    from slrt.platform.tenancy import tenant_context

    agency_id = add_agency(app, parepare)
    admin = member(app, parepare, "district_admin")
    body = {"email": "kadis@example.id", "role": "district_admin", "agency_id": agency_id}
    api = client.post("/api/v1/t/parepare/invitations", json=body, headers=admin.headers)
    assert api.status_code == 422
    [error] = api.json["errors"]
    assert error["field"] == "agency_id"
    assert error["message_en"] == "Only agency officers are bound to an agency."
    args = ["accounts", "invite", "parepare", "--email", "kadis@example.id"]
    args += ["--role", "district_admin", "--agency-id", agency_id]
    out = CliRunner().invoke(main, args, catch_exceptions=False)
    assert out.exit_code != 0
    assert out.output.strip() == f"Error: {error['message']} / {error['message_en']}"
    with app.app_context():
        with tenant_context(parepare.ref()):
            assert db.session.query(Invitation).count() == 0
        db.session.remove()


def test_roles_custom_and_builtin(app, client, parepare) -> None:
    admin = member(app, parepare, "district_admin")
    roles = client.get("/api/v1/t/parepare/roles", headers=admin.headers).json
    builtin = next(r for r in roles if r["key"] == "facilitator")
    bad = client.post(
        "/api/v1/t/parepare/roles",
        json={"key": "x_role", "name": "Peran X", "permissions": ["cases.fly"]},
        headers=admin.headers,
    )
    assert bad.status_code == 422 and bad.json["errors"][0]["field"] == "permissions.0"
    created = custom_role(client, admin, "data_clerk", ["registry.read", "registry.write"])
    url = f"/api/v1/t/parepare/roles/{created['id']}"
    # Changing and deleting need the current ETag.
    assert client.delete(url, headers=admin.headers).status_code == 428
    stale = {**admin.headers, "If-Match": '"nope"'}
    assert client.delete(url, headers=stale).status_code == 412
    tag = client.get(url, headers=admin.headers).headers["ETag"]
    renamed = client.patch(
        url, json={"name": "Petugas Data"}, headers={**admin.headers, "If-Match": tag}
    )
    assert renamed.status_code == 200 and renamed.json["name"] == "Petugas Data"
    tag = client.get(url, headers=admin.headers).headers["ETag"]
    assert client.delete(url, headers={**admin.headers, "If-Match": tag}).status_code == 204
    assert client.get(url, headers=admin.headers).status_code == 404
    # Built-in roles can be neither changed nor deleted.
    builtin_url = f"/api/v1/t/parepare/roles/{builtin['id']}"
    tag = client.get(builtin_url, headers=admin.headers).headers["ETag"]
    refused = client.delete(builtin_url, headers={**admin.headers, "If-Match": tag})
    assert (
        refused.status_code == 409
        and refused.json["detail_en"] == "Built-in roles cannot be deleted."
    )
    # A role in use cannot be deleted either.
    custom_role(client, admin, "helper", ["tenant.read"])
    roles = client.get("/api/v1/t/parepare/roles", headers=admin.headers).json
    helper = next(r for r in roles if r["key"] == "helper")
    member(app, parepare, "helper")
    helper_url = f"/api/v1/t/parepare/roles/{helper['id']}"
    tag = client.get(helper_url, headers=admin.headers).headers["ETag"]
    assert client.delete(helper_url, headers={**admin.headers, "If-Match": tag}).status_code == 409
    events = client.get("/api/v1/t/parepare/audit-events?kind=config", headers=admin.headers).json
    assert {"role.create", "role.update", "role.delete"} <= {e["action"] for e in events}


def test_invitation_for_existing_account_is_accepted_after_sign_in(
    app, client, parepare, kendal, monkeypatch
) -> None:
    monkeypatch.setenv("SLRT_PUBLIC_URL", "http://localhost")
    admin = member(app, parepare, "district_admin")
    someone = set_password(app, member(app, kendal, "viewer"), PASSWORD)
    resp = client.post(
        "/api/v1/t/parepare/invitations",
        json={"email": someone.email, "role": "viewer"},
        headers=admin.headers,
    )
    path = resp.json["link"].removeprefix("http://localhost")
    page = client.get(path).get_data(as_text=True)
    assert "Sudah ada akun untuk" in page and "Buat akun" not in page
    # Sign in, come back to the invitation, accept.
    signin = client.get(f"/auth/sign-in?continue={path}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', signin).group(1)
    back = client.post(
        "/auth/sign-in",
        data={"csrf_token": token, "continue": path, "email": someone.email, "password": PASSWORD},
        follow_redirects=True,
    )
    assert back.request.path == path and "Terima undangan" in back.get_data(as_text=True)
    done = client.post(path, data={"csrf_token": token, "action": "accept"}, follow_redirects=True)
    assert done.request.path == "/t/parepare/" and "Pemantau" in done.get_data(as_text=True)
    html = client.get("/auth/choose").get_data(as_text=True)
    assert 'href="/t/parepare/"' in html and 'href="/t/kendal/"' in html
