"""The agency (OPD) pages: the list, adding one, its page with its programs and its officers
(members bound to it, read through the memberships query), changing it with the conflict
choice, and the refusals (a name taken, a bad email, deactivating an agency that still handles
programs, no permission)."""

from __future__ import annotations

import sqlalchemy as sa

from slrt.platform import db
from slrt.tenants.agencies.actions import update_agency
from slrt.tenants.agencies.models import Agency
from tests.fixtures import flow_catalog, member
from tests.tenants.districts.pages import form_fields, in_district, post, signed_in, text

P = "/t/parepare"


def test_add_an_agency_and_see_its_officers_and_programs(app, monkeypatch, parepare) -> None:
    ids = flow_catalog(app, parepare)
    client, _ = signed_in(app, monkeypatch, parepare)
    done = post(
        client,
        f"{P}/agencies/new",
        {"name": "RSUD Andi Makkasau", "kind": "hospital", "phone": "0421-21823"},
        follow_redirects=True,
    )
    assert "RSUD Andi Makkasau ditambahkan." in text(done)
    assert "Rumah sakit (RSUD)" in text(done)
    officer = member(app, parepare, "agency_officer", agency_id=ids["dinkes"])
    page = text(client.get(f"{P}/agencies/{ids['dinkes']}"))
    assert "Petugas OPD (1)" in page and officer.email in page and "Petugas OPD" in page
    assert "PBI-JK" in page  # the program it handles
    assert "Undang atau atur petugas di halaman Pengguna" in page
    listing = text(client.get(f"{P}/agencies"))
    assert "Dinas Kesehatan Dinas 1" in listing  # one officer
    assert "RSUD Andi Makkasau" in text(client.get(f"{P}/agencies?q=andi"))
    assert "RSUD Andi Makkasau" not in text(client.get(f"{P}/agencies?q=dinas"))


def test_refusals(app, monkeypatch, parepare) -> None:
    ids = flow_catalog(app, parepare)
    client, _ = signed_in(app, monkeypatch, parepare)
    taken = post(client, f"{P}/agencies/new", {"name": "dinas kesehatan", "kind": "dinas"})
    assert taken.status_code == 409
    assert 'id="f-name-error"' in taken.text
    assert "OPD bernama 'dinas kesehatan' sudah ada." in text(taken)
    bad = post(client, f"{P}/agencies/new", {"name": "Dinsos", "kind": "dinas", "email": "x@"})
    assert bad.status_code == 422 and 'id="f-email-error"' in bad.text
    url = f"{P}/agencies/{ids['dinkes']}"
    form = form_fields(client.get(url).text, "seen")
    off = post(client, url, {**form, "active": "false"})
    assert off.status_code == 409
    assert "masih menangani program aktif (PBI-JK)" in text(off)
    facilitator, _ = signed_in(app, monkeypatch, parepare, "facilitator")
    assert facilitator.get(url).status_code == 200
    assert "Petugas OPD" not in text(facilitator.get(url))  # officers need members.read
    assert post(facilitator, url, {**form, "phone": "0421-1"}).status_code == 403
    assert facilitator.get(f"{P}/agencies/new").status_code == 403


def test_change_with_conflict_choice(app, monkeypatch, parepare) -> None:
    ids = flow_catalog(app, parepare)
    client, _ = signed_in(app, monkeypatch, parepare)
    url = f"{P}/agencies/{ids['dinsos']}"
    form = form_fields(client.get(url).text, "seen")
    with in_district(app, parepare):
        agency = db.session.get(Agency, (parepare.id, ids["dinsos"]))
        update_agency(agency, {"contact_name": "Bu Hasnah"})
    stale = post(client, url, {**form, "contact_name": "Pak Amir"})
    assert stale.status_code == 409
    assert "Narahubung Bu Hasnah Pak Amir" in text(stale)
    # Keeping theirs is a link back to the page as stored; nothing of mine was saved.
    assert f'href="{url}"' in stale.text
    with in_district(app, parepare):
        kept = db.session.execute(sa.select(Agency.contact_name).where(Agency.id == ids["dinsos"]))
        assert kept.scalar() == "Bu Hasnah"
    mine = post(client, url, {**form_fields(stale.text, "seen"), "apply": "mine"})
    assert mine.status_code == 302
    with in_district(app, parepare):
        kept = db.session.execute(sa.select(Agency.contact_name).where(Agency.id == ids["dinsos"]))
        assert kept.scalar() == "Pak Amir"
