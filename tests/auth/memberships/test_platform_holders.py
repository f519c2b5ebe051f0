"""A holder of a platform role (Kemensos, provincial viewer) is never given a role that reads
personal data in a district: not by inviting itself, not by a district admin, not by a change of
membership, not by accepting an old invitation, and the CLI does not make a district data reader
a Kemensos admin. The refusal is the one grant check's, seen alike through the API and the pages.
Who accepted an invitation is the actor of its record."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from slrt.platform import db
from tests.fixtures import add_member, make_account, member, set_password
from tests.web import PASSWORD, form_token, sign_in

REFUSED_EN = "An account holding a platform role (Kemensos or provincial viewer) cannot be given"


def invite(client, user, **body):
    return client.post("/api/v1/t/parepare/invitations", json=body, headers=user.headers)


def test_a_kemensos_admin_cannot_invite_itself_as_district_admin(
    app, client, parepare, kemensos_admin
) -> None:
    refused = invite(client, kemensos_admin, email=kemensos_admin.email, role="district_admin")
    assert refused.status_code == 403
    assert refused.json["detail_en"].startswith(REFUSED_EN)
    assert "Akun dengan peran platform" in refused.json["detail"]
    # Roles without personal data stay open to it, and it still onboards a district's admin.
    assert (
        invite(client, kemensos_admin, email=kemensos_admin.email, role="viewer").status_code == 201
    )
    assert (
        invite(
            client, kemensos_admin, email="kadis@pareparekota.go.id", role="district_admin"
        ).status_code
        == 201
    )


def test_a_district_admin_cannot_give_platform_holders_personal_data(
    app, client, parepare, parepare_admin
) -> None:
    viewer = make_account(
        app, "pemantau@sulselprov.go.id", platform_role="provincial_viewer", province_code="73"
    )
    with app.app_context():
        from slrt.auth.accounts.models import Account

        db.session.get(Account, viewer.account_id).phone = "+6281299990000"
        db.session.commit()
        db.session.remove()
    for body in (
        {"email": "PEMANTAU@sulselprov.go.id", "role": "facilitator"},
        {"phone": "0812 9999 0000", "role": "front_office"},
    ):
        refused = invite(client, parepare_admin, **body)
        assert refused.status_code == 403, body
        assert refused.json["detail_en"].startswith(REFUSED_EN)
    # A membership change is the same check.
    add_member(app, parepare, viewer, "viewer")
    [row] = [
        m
        for m in client.get("/api/v1/t/parepare/memberships", headers=parepare_admin.headers).json
        if m["account_id"] == str(viewer.account_id)
    ]
    url = f"/api/v1/t/parepare/memberships/{row['id']}"
    tag = client.get(url, headers=parepare_admin.headers).headers["ETag"]
    changed = client.patch(
        url, json={"role": "manager"}, headers={**parepare_admin.headers, "If-Match": tag}
    )
    assert changed.status_code == 403 and changed.json["detail_en"].startswith(REFUSED_EN)


def test_an_old_invitation_is_not_accepted_by_a_platform_holder(
    app, client, parepare, monkeypatch
) -> None:
    from slrt.auth.accounts.models import PlatformRoleGrant

    monkeypatch.setenv("SLRT_PUBLIC_URL", "http://localhost")  # before any token is issued
    parepare_admin = member(app, parepare, "district_admin")
    someone = set_password(app, make_account(app, "calon@example.id"), PASSWORD)
    made = invite(client, parepare_admin, email=someone.email, role="back_office")
    assert made.status_code == 201
    with app.app_context():  # a platform role granted after the invitation was sent
        db.session.add(PlatformRoleGrant(account_id=someone.account_id, role="kemensos_viewer"))
        db.session.commit()
        db.session.remove()
    path = made.json["link"].removeprefix("http://localhost")
    browser = app.test_client()
    sign_in(browser, someone.email, start=f"/auth/sign-in?continue={path}")
    token = form_token(browser)
    refused = browser.post(path, data={"csrf_token": token, "action": "accept"})
    assert refused.status_code == 403
    assert "Akun dengan peran platform" in refused.get_data(as_text=True)
    with app.app_context():
        from slrt.auth.memberships.models import Membership
        from slrt.platform.tenancy import tenant_context

        with tenant_context(parepare.ref()):
            mine = db.session.execute(
                sa.select(Membership).where(Membership.account_id == someone.account_id)
            ).first()
            assert mine is None
        db.session.remove()


def test_the_people_page_refuses_a_kemensos_admin_becoming_district_admin(
    app, parepare, monkeypatch
) -> None:
    monkeypatch.setenv("SLRT_PUBLIC_URL", "http://localhost")
    admin = set_password(
        app, make_account(app, "admin@kemensos.go.id", platform_role="kemensos_admin"), PASSWORD
    )
    web = app.test_client()
    sign_in(web, admin.email)
    form = web.get("/t/parepare/people/invite")
    assert form.status_code == 200
    refused = web.post(
        "/t/parepare/people/invite",
        data={
            "csrf_token": form_token(web),
            "email": admin.email,
            "role": "district_admin",
            "scope_kind": "district",
        },
    )
    html = refused.get_data(as_text=True)
    assert refused.status_code == 403
    assert "Akun dengan peran platform (Kemensos atau pemantau provinsi)" in html
    assert admin.email in html  # the form keeps what was typed


def test_who_accepted_an_invitation_is_its_actor(app, client, parepare, monkeypatch) -> None:
    monkeypatch.setenv("SLRT_PUBLIC_URL", "http://localhost")  # before any token is issued
    parepare_admin = member(app, parepare, "district_admin")
    made = invite(client, parepare_admin, email="baru@example.id", role="viewer")
    path = made.json["link"].removeprefix("http://localhost")
    page = client.get(path).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    joined = client.post(
        path,
        data={
            "csrf_token": token,
            "name": "Warga Baru",
            "password": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert joined.status_code == 302
    events = client.get(
        "/api/v1/t/parepare/audit-events?kind=security", headers=parepare_admin.headers
    ).json
    [accepted] = [e for e in events if e["action"] == "invitation.accept"]
    assert (accepted["actor_kind"], accepted["actor_label"]) == ("account", "baru@example.id")
    [created] = [e for e in events if e["action"] == "invitation.create"]
    assert created["actor_label"] == parepare_admin.email


def test_the_cli_does_not_make_a_district_data_reader_a_kemensos_admin(app, parepare) -> None:
    from click.testing import CliRunner

    from slrt.platform.commands.main import main

    reader = member(app, parepare, "back_office", email="bo@pareparekota.go.id")
    out = CliRunner().invoke(main, ["accounts", "create-admin", "--email", reader.email])
    assert out.exit_code != 0 and "73.72" in out.output
    viewer = member(app, parepare, "viewer", email="bappeda@pareparekota.go.id")
    assert (
        CliRunner().invoke(main, ["accounts", "create-admin", "--email", viewer.email]).exit_code
        == 0
    )


@pytest.mark.parametrize("role", ["district_admin", "facilitator", "agency_officer"])
def test_personal_data_roles_are_exactly_the_refused_ones(app, parepare, role) -> None:
    from slrt.auth.memberships.access import role_by_key
    from slrt.auth.memberships.actions import reads_personal_data
    from slrt.platform.tenancy import tenant_context

    with app.app_context(), tenant_context(parepare.ref()):
        assert reads_personal_data(role_by_key(role))
        assert not reads_personal_data(role_by_key("viewer"))
        db.session.remove()
