"""The Puskesos and secretariat pages: the list, adding one (address, decree, opening date,
village), its page with its staff, changing it with the conflict choice, and the refusals (a
Puskesos without a village, two in one village, the plan's Puskesos quota, no permission)."""

from __future__ import annotations

import re

import sqlalchemy as sa

from slrt.platform import db
from slrt.tenants.regions.models import Village
from slrt.tenants.service_points.actions import update_service_point
from slrt.tenants.service_points.models import ServicePoint
from tests.fixtures import member, put_on_plan
from tests.tenants.districts.pages import (
    field_value,
    form_fields,
    in_district,
    post,
    signed_in,
    text,
)

P = "/t/parepare"


def _village_id(app, tenant, code: str) -> str:
    with in_district(app, tenant):
        return str(db.session.execute(sa.select(Village.id).where(Village.code == code)).scalar())


def test_add_a_puskesos_and_see_it_with_its_staff(app, monkeypatch, parepare) -> None:
    client, _ = signed_in(app, monkeypatch, parepare)
    lompoe = _village_id(app, parepare, "73.72.01.1004")
    new = client.get(f"{P}/service-points/new")
    assert new.status_code == 200 and "Lompoe (Bacukiki)" in text(new)
    done = post(
        client,
        f"{P}/service-points/new",
        {
            "kind": "puskesos",
            "name": "Puskesos Lompoe",
            "village_id": lompoe,
            "address": "Jl. Jend. Sudirman 12, Lompoe",
            "decree_number": "SK Wali Kota 460/12/2021",
            "decree_date": "2021-07-01",
            "opened_on": "2021-09-01",
        },
        follow_redirects=True,
    )
    words = text(done)
    assert "Puskesos Lompoe ditambahkan." in words
    assert "SK Wali Kota 460/12/2021 · 1 Juli 2021" in words
    assert "1 September 2021" in words
    staff = member(
        app, parepare, "facilitator", scope_kind="village", scope_codes=["73.72.01.1004"]
    )
    elsewhere = member(
        app, parepare, "facilitator", scope_kind="village", scope_codes=["73.72.01.1005"]
    )
    page = text(client.get(done.request.path))
    assert "Petugas (1)" in page and staff.email in page and elsewhere.email not in page
    listing = text(client.get(f"{P}/service-points"))
    assert "Puskesos Lompoe Puskesos Lompoe 1 September 2021 Aktif" in listing


def test_refusals_when_adding(app, monkeypatch, parepare) -> None:
    client, _ = signed_in(app, monkeypatch, parepare)
    lompoe = _village_id(app, parepare, "73.72.01.1004")
    no_village = post(client, f"{P}/service-points/new", {"kind": "puskesos", "name": "Puskesos X"})
    assert no_village.status_code == 422
    assert 'id="f-village_id-error"' in no_village.text
    assert "Puskesos harus berada di satu desa/kelurahan." in text(no_village)
    bad_date = post(
        client,
        f"{P}/service-points/new",
        {"kind": "puskesos", "name": "P", "village_id": lompoe, "opened_on": "1 Sept"},
    )
    assert bad_date.status_code == 422
    assert 'id="f-name-error"' in bad_date.text and 'id="f-opened_on-error"' in bad_date.text
    first = post(
        client,
        f"{P}/service-points/new",
        {"kind": "puskesos", "name": "Puskesos Lompoe", "village_id": lompoe},
    )
    assert first.status_code == 302
    second = post(
        client,
        f"{P}/service-points/new",
        {"kind": "puskesos", "name": "Puskesos Lompoe Dua", "village_id": lompoe},
    )
    assert second.status_code == 409
    assert "Lompoe sudah memiliki Puskesos aktif (Puskesos Lompoe)." in text(second)
    assert field_value(second.text, "name") == "Puskesos Lompoe Dua"  # kept as typed
    put_on_plan(app, parepare, max_puskesos=1)
    full = post(
        client,
        f"{P}/service-points/new",
        {
            "kind": "puskesos",
            "name": "Puskesos Lemoe",
            "village_id": _village_id(app, parepare, "73.72.01.1009"),
        },
    )
    assert full.status_code == 403
    assert "Kuota unit Puskesos" in text(full) and "sudah penuh" in text(full)


def test_change_with_conflict_choice(app, monkeypatch, parepare) -> None:
    client, _ = signed_in(app, monkeypatch, parepare)
    created = post(
        client,
        f"{P}/service-points/new",
        {"kind": "secretariat", "name": "Sekretariat SLRT Parepare", "phone": "0421-21000"},
    )
    url = created.headers["Location"]
    form = form_fields(client.get(url).text, "seen")
    done = post(client, url, {**form, "address": "Jl. Bau Massepe 1"}, follow_redirects=True)
    assert "Sekretariat SLRT Parepare disimpan." in text(done)
    assert "Jl. Bau Massepe 1" in text(done)
    with in_district(app, parepare):  # another admin changes the phone meanwhile
        point = db.session.execute(sa.select(ServicePoint)).scalar_one()
        update_service_point(point, {"phone": "0421-22222"})
    # The old form (read before both changes) now changes the phone only.
    stale = post(client, url, {**form, "phone": "0421-99999"})
    assert stale.status_code == 409
    assert "Telepon 0421-22222 0421-99999" in text(stale)
    assert "Alamat" not in text(stale).split("Versi Anda")[1].split("Simpan versi saya")[0]
    # Saving mine anyway: my phone, and the address saved meanwhile stays.
    mine = form_fields(stale.text, "seen")
    assert mine["phone"] == "0421-99999" and mine["address"] == "Jl. Bau Massepe 1"
    saved = post(client, url, {**mine, "apply": "mine"}, follow_redirects=True)
    assert "Sekretariat SLRT Parepare disimpan." in text(saved)
    with in_district(app, parepare):
        point = db.session.execute(sa.select(ServicePoint)).scalar_one()
        assert (point.phone, point.address) == ("0421-99999", "Jl. Bau Massepe 1")
    cleared = post(client, url, {**form_fields(client.get(url).text, "seen"), "phone": ""})
    assert cleared.status_code == 302
    with in_district(app, parepare):
        assert db.session.execute(sa.select(ServicePoint.phone)).scalar() is None


def test_who_may_read_and_change(app, monkeypatch, parepare) -> None:
    admin, _ = signed_in(app, monkeypatch, parepare)
    url = post(
        admin, f"{P}/service-points/new", {"kind": "secretariat", "name": "Sekretariat SLRT"}
    ).headers["Location"]
    viewer, _ = signed_in(app, monkeypatch, parepare, "viewer")
    page = viewer.get(url)
    assert page.status_code == 200 and "Sekretariat SLRT" in text(page)
    assert "Petugas" not in text(page)  # the staff list needs members.read
    assert not re.search(r'<form method="post"', page.text.split("</header>")[1])
    assert viewer.get(f"{P}/service-points/new").status_code == 403
    assert post(viewer, url, {"name": "X"}).status_code == 403
