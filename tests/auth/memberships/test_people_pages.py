"""The district's People pages as a district admin uses them (test client): inviting by email or
by phone with a region scope picked kecamatan first, then villages; pending invitations sent
again or revoked; a member's role and scope changed (and a change made meanwhile by someone
else shown, not overwritten); a membership revoked; custom roles composed from the permission
list in words. Someone invited by phone joins without an email and signs in with the number."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from slrt.platform import db
from tests.fixtures import member, set_password
from tests.web import PASSWORD, csrf_of, form_token, sign_in


@pytest.fixture
def admin_web(app, parepare, monkeypatch):
    monkeypatch.setenv("SLRT_PUBLIC_URL", "http://localhost")
    admin = set_password(app, member(app, parepare, "district_admin"), PASSWORD)
    web = app.test_client()
    sign_in(web, admin.email)
    web.admin = admin
    return web


def post(web, url: str, **data):
    return web.post(url, data={"csrf_token": form_token(web), **data})


def shown_link(html: str) -> str:
    return re.search(r'id="f-link" type="text" readonly value="([^"]+)"', html).group(1)


def test_the_list_moved_and_shows_people_with_words(app, admin_web, parepare) -> None:
    assert admin_web.get("/t/parepare/members").headers["Location"] == "/t/parepare/people"
    member(
        app,
        parepare,
        "facilitator",
        email="ani@example.id",
        scope_kind="village",
        scope_codes=["73.72.01.1004"],
    )
    html = admin_web.get("/t/parepare/people").get_data(as_text=True)
    assert html.count('class="member"') == 2
    assert "Kelurahan Lompoe (73.72.01.1004)" in html and "Seluruh kabupaten/kota" in html
    text = re.sub(r"<[^>]+>", "", html.replace(admin_web.admin.email, ""))
    assert "Fasilitator SLRT" in html and "facilitator" not in text  # roles as words
    facilitators = admin_web.get("/t/parepare/people?role=facilitator").get_data(as_text=True)
    assert facilitators.count('class="member"') == 1
    roles = admin_web.get("/t/parepare/people/roles").get_data(as_text=True)
    assert "Menilai kasus (asesmen)" in roles and "cases.assess" not in roles


def test_invite_by_phone_with_villages_picked_after_their_kecamatan(
    app, admin_web, parepare
) -> None:
    url = "/t/parepare/people/invite"
    form = admin_web.get(url).get_data(as_text=True)
    assert 'value="73.72.01"' in form and 'name="village_codes"' not in form
    step = post(
        admin_web,
        url,
        phone="0813 1111 2222",
        name="Bu Ani",
        role="facilitator",
        scope_kind="village",
        kecamatan_codes="73.72.01",
        action="villages",
    )
    html = step.get_data(as_text=True)
    assert step.status_code == 200 and 'value="73.72.01.1004"' in html
    assert 'value="73.72.02.1001"' not in html  # only the chosen kecamatan's villages
    assert 'value="0813 1111 2222"' in html  # what was typed is kept
    done = admin_web.post(
        url,
        data={
            "csrf_token": csrf_of(html),
            "phone": "0813 1111 2222",
            "name": "Bu Ani",
            "role": "facilitator",
            "scope_kind": "village",
            "kecamatan_codes": "73.72.01",
            "village_codes": "73.72.01.1004",
        },
        follow_redirects=True,
    )
    people = done.get_data(as_text=True)
    assert "belum ada SMS" in people  # by phone: the link is to pass on by hand
    link = shown_link(people)
    assert "+6281311112222" in people and "Kelurahan Lompoe (73.72.01.1004)" in people
    # The invited person joins without an email and signs in with the number.
    path = link.removeprefix("http://localhost")
    stranger = app.test_client()
    page = stranger.get(path).get_data(as_text=True)
    assert "Tanpa email, Anda masuk dengan nomor HP +6281311112222" in page
    joined = stranger.post(
        path,
        data={
            "csrf_token": csrf_of(page),
            "name": "Ani",
            "password": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert joined.status_code == 302
    fresh = app.test_client()
    login = fresh.get("/auth/login", follow_redirects=True).get_data(as_text=True)
    cont = re.search(r'name="continue" value="([^"]*)"', login).group(1)
    home = fresh.post(
        "/auth/sign-in",
        data={
            "csrf_token": csrf_of(login),
            "continue": cont.replace("&amp;", "&"),
            "identifier": "+62 813-1111-2222",
            "password": PASSWORD,
        },
        follow_redirects=True,
    )
    assert home.request.path == "/t/parepare/" and "Lompoe" in home.get_data(as_text=True)


def test_a_wrong_scope_is_shown_beside_the_pickers(admin_web) -> None:
    refused = post(
        admin_web,
        "/t/parepare/people/invite",
        email="x@example.id",
        role="viewer",
        scope_kind="kecamatan",
    )
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "Sebutkan minimal satu kode wilayah." in html and 'value="x@example.id"' in html
    nothing = post(admin_web, "/t/parepare/people/invite", role="viewer", scope_kind="district")
    assert nothing.status_code == 422 and "Isi email atau nomor telepon." in nothing.get_data(
        as_text=True
    )


def test_pending_invitations_are_sent_again_or_revoked(app, admin_web, parepare) -> None:
    first = post(
        admin_web,
        "/t/parepare/people/invite",
        email="satu@example.id",
        role="viewer",
        scope_kind="district",
    )
    old = shown_link(admin_web.get(first.headers["Location"]).get_data(as_text=True))
    people = admin_web.get("/t/parepare/people").get_data(as_text=True)
    resend = re.search(r'action="(/t/parepare/people/invitations/[^"]+/resend)"', people).group(1)
    new = shown_link(
        admin_web.get(post(admin_web, resend).headers["Location"]).get_data(as_text=True)
    )
    assert new != old
    stranger = app.test_client()
    assert stranger.get(old.removeprefix("http://localhost")).status_code == 404
    assert stranger.get(new.removeprefix("http://localhost")).status_code == 200
    revoke = resend.replace("/resend", "/revoke")
    done = admin_web.get(post(admin_web, revoke).headers["Location"]).get_data(as_text=True)
    assert "Undangan untuk satu@example.id dicabut." in done
    assert 'class="invitation"' not in done
    assert stranger.get(new.removeprefix("http://localhost")).status_code == 404


def test_a_member_is_changed_and_a_concurrent_change_is_not_overwritten(
    app, admin_web, parepare
) -> None:
    someone = member(
        app, parepare, "facilitator", scope_kind="village", scope_codes=["73.72.01.1004"]
    )
    people = admin_web.get("/t/parepare/people").get_data(as_text=True)
    href = re.search(
        r'href="(/t/parepare/people/[0-9a-f-]{36})">[^<]+</a><br><small>'
        + re.escape(someone.email),
        people,
    ).group(1)
    page = admin_web.get(href).get_data(as_text=True)
    version = re.search(r'name="version" value="([^"]+)"', page).group(1)
    changed = admin_web.post(
        href,
        data={
            "csrf_token": csrf_of(page),
            "version": version,
            "role": "supervisor",
            "scope_kind": "kecamatan",
            "kecamatan_codes": "73.72.01",
        },
        follow_redirects=True,
    )
    html = changed.get_data(as_text=True)
    assert "Supervisor" in html and "Kecamatan Bacukiki (73.72.01)" in html
    # The old form, sent after the change: the current state is shown, nothing is overwritten.
    stale = admin_web.post(
        href,
        data={
            "csrf_token": csrf_of(page),
            "version": version,
            "role": "viewer",
            "scope_kind": "district",
        },
    )
    text = stale.get_data(as_text=True)
    assert stale.status_code == 409 and "diubah orang lain" in text
    assert 'name="force" value="1"' in text
    mine = admin_web.post(
        href,
        data={
            "csrf_token": csrf_of(text),
            "version": version,
            "force": "1",
            "role": "viewer",
            "scope_kind": "district",
        },
        follow_redirects=True,
    )
    assert "Pemantau" in mine.get_data(as_text=True)
    revoked = admin_web.post(
        href + "/revoke", data={"csrf_token": form_token(admin_web)}, follow_redirects=True
    )
    assert "dicabut" in revoked.get_data(as_text=True)


def test_custom_roles_from_the_permission_list_in_words(admin_web) -> None:
    form = admin_web.get("/t/parepare/people/roles/new").get_data(as_text=True)
    assert "Melihat data keluarga dan penduduk" in form  # registry.read, as words
    created = admin_web.post(
        "/t/parepare/people/roles/new",
        data={
            "csrf_token": csrf_of(form),
            "key": "petugas_data",
            "name": "Petugas Data",
            "permissions": ["registry.read", "registry.write"],
        },
        follow_redirects=True,
    )
    html = created.get_data(as_text=True)
    assert "Peran Petugas Data dibuat." in html
    assert "Mencatat data keluarga dan penduduk" in html
    href = re.search(r'href="(/t/parepare/people/roles/[0-9a-f-]{36})">Petugas Data', html).group(1)
    edit = admin_web.get(href).get_data(as_text=True)
    changed = admin_web.post(
        href,
        data={
            "csrf_token": csrf_of(edit),
            "name": "Petugas Data Desa",
            "permissions": ["registry.read"],
        },
        follow_redirects=True,
    )
    assert "Petugas Data Desa" in changed.get_data(as_text=True)
    deleted = admin_web.post(
        href + "/delete", data={"csrf_token": form_token(admin_web)}, follow_redirects=True
    )
    assert "dihapus" in deleted.get_data(as_text=True)


def test_a_facilitator_sees_no_invite_form(app, parepare, monkeypatch) -> None:
    monkeypatch.setenv("SLRT_PUBLIC_URL", "http://localhost")
    user = set_password(app, member(app, parepare, "facilitator"), PASSWORD)
    web = app.test_client()
    sign_in(web, user.email)
    assert web.get("/t/parepare/people").status_code == 403
    assert web.get("/t/parepare/people/invite").status_code == 403
    assert post(web, "/t/parepare/people/invite", email="a@b.id", role="viewer").status_code == 403
    with app.app_context():
        from slrt.auth.memberships.models import Invitation
        from slrt.platform.tenancy import tenant_context

        with tenant_context(parepare.ref()):
            assert (
                db.session.execute(sa.select(sa.func.count()).select_from(Invitation)).scalar() == 0
            )
        db.session.remove()
