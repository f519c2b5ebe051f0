"""The district's settings: the menu entry and the settings page that leads to every admin page
the member may open (each link working), and the letterhead and letter-number page (change,
defaults restored, refusals beside their fields, the conflict choice, permissions)."""

from __future__ import annotations

import re

import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.tenant import Tenant
from slrt.tenants.districts.actions import update_letterhead
from slrt.tenants.districts.settings import letterhead
from tests.tenants.districts.pages import form_fields, in_district, post, signed_in, text

P = "/t/parepare"


def test_menu_and_settings_page_lead_to_working_pages(app, monkeypatch, parepare) -> None:
    client, _ = signed_in(app, monkeypatch, parepare)
    home = client.get(f"{P}/")
    assert f'href="{P}/settings"' in home.text and "Pengaturan" in text(home)
    settings = client.get(f"{P}/settings")
    assert settings.status_code == 200
    links = re.findall(r'<li><a href="([^"]+)"', settings.text.split('class="settings-list"')[1])
    assert len(links) == 10  # nine pages and the people page
    for link in links:
        assert client.get(link).status_code == 200, link
    words = text(settings)
    for label in (
        "Desa/kelurahan",
        "Program",
        "DTSEN",
        "Jejak audit",
        "Paket dan pemakaian",
        "Pengguna",
    ):
        assert label in words
    facilitator, _ = signed_in(app, monkeypatch, parepare, "facilitator")
    assert f'href="{P}/settings"' not in facilitator.get(f"{P}/").text
    assert facilitator.get(f"{P}/settings").status_code == 403


def test_letterhead_and_letter_numbers(app, monkeypatch, parepare) -> None:
    client, _ = signed_in(app, monkeypatch, parepare)
    url = f"{P}/settings/profile"
    page = client.get(url)
    assert "PEMERINTAH KOTA PAREPARE" in text(page)
    assert re.search(r"400\.9/0001/SLRT/20\d\d", text(page))
    form = form_fields(page.text, "seen")
    done = post(
        client,
        url,
        {
            **form,
            "letter_code": "460",
            "letter_unit": "DINSOS-SLRT",
            "head_name": "Drs. H. Muhammad Tahir",
            "address": "Jl. Jend. Sudirman No. 78, Parepare",
        },
        follow_redirects=True,
    )
    words = text(done)
    assert "Profil disimpan." in words
    assert re.search(r"460/0001/DINSOS-SLRT/20\d\d", words)
    assert "Jl. Jend. Sudirman No. 78, Parepare" in words
    with in_district(app, parepare):
        stored = db.session.get(Tenant, parepare.id).settings["letterhead"]
    # Only what was changed is stored: untouched defaults stay defaults.
    assert set(stored) == {"letter_code", "letter_unit", "head_name", "address"}
    restored = post(
        client, url, {**form_fields(done.text, "seen"), "letter_unit": ""}, follow_redirects=True
    )
    assert re.search(r"460/0001/SLRT/20\d\d", text(restored))


def test_letterhead_refusals_and_conflict(app, monkeypatch, parepare) -> None:
    client, _ = signed_in(app, monkeypatch, parepare)
    url = f"{P}/settings/profile"
    form = form_fields(client.get(url).text, "seen")
    bad = post(client, url, {**form, "head_nip": "1234", "letter_code": "400/9"})
    assert bad.status_code == 422
    assert 'id="f-head_nip-error"' in bad.text and "NIP terdiri dari 18 angka." in text(bad)
    assert 'id="f-letter_code-error"' in bad.text
    with in_district(app, parepare):
        update_letterhead(db.session.get(Tenant, parepare.id), {"office_name": "DINAS SOSIAL P3A"})
    stale = post(client, url, {**form, "office_name": "DINAS SOSIAL DAN PMD"})
    assert stale.status_code == 409
    assert "Nama dinas DINAS SOSIAL P3A DINAS SOSIAL DAN PMD" in text(stale)
    mine = post(client, url, {**form_fields(stale.text, "seen"), "apply": "mine"})
    assert mine.status_code == 302
    with in_district(app, parepare):
        assert letterhead(db.session.get(Tenant, parepare.id))["office_name"] == (
            "DINAS SOSIAL DAN PMD"
        )
    viewer, _ = signed_in(app, monkeypatch, parepare, "viewer")
    assert viewer.get(url).status_code == 200
    assert post(viewer, url, {**form, "office_name": "X"}).status_code == 403


def test_the_districts_time_zone(app, monkeypatch, parepare) -> None:
    from slrt.platform.audit.models import AuditEvent

    client, _ = signed_in(app, monkeypatch, parepare)
    url = f"{P}/settings/profile"
    page = client.get(url)
    assert "Ikuti provinsi: WITA" in text(page) and "Sekarang: WITA." in text(page)
    done = post(
        client,
        url,
        {**form_fields(page.text, "seen"), "timezone": "Asia/Jakarta"},
        follow_redirects=True,
    )
    assert "Profil disimpan." in text(done) and "Sekarang: WIB." in text(done)
    with in_district(app, parepare):
        event = db.session.execute(
            sa.select(AuditEvent).where(AuditEvent.action == "profile.timezone")
        ).scalar_one()
        assert (event.before, event.after) == (
            {"timezone": "Asia/Makassar"},
            {"timezone": "Asia/Jakarta"},
        )
    audit = text(client.get(f"{P}/audit"))
    assert "Zona waktu diubah" in audit
    assert "Zona waktu WITA (Asia/Makassar) WIB (Asia/Jakarta)" in audit
    back = post(
        client, url, {**form_fields(done.text, "seen"), "timezone": ""}, follow_redirects=True
    )
    assert "Sekarang: WITA." in text(back)
    wrong = post(client, url, {**form_fields(back.text, "seen"), "timezone": "Europe/Paris"})
    assert wrong.status_code == 422 and 'id="f-timezone-error"' in wrong.text
