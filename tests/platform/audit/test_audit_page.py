"""The district's audit trail page: events in words (action, record by name, before/after as a
table, never JSON), filters by who, kind, record and days in the district's own zone, pages,
and personal-data events only for holders of personal_data.audit (as in the API)."""

from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa

from slrt.auth.memberships.actions import create_role
from slrt.platform import db
from slrt.platform.audit.models import AuditEvent
from slrt.tenants.regions.actions import update_village
from slrt.tenants.regions.models import Village
from slrt.tenants.registry.actions import record_person_reads
from tests.tenants.districts.pages import in_district, post, signed_in, text

P = "/t/parepare"


def _lompoe(app, tenant) -> Village:
    with in_district(app, tenant):
        village = db.session.execute(
            sa.select(Village).where(Village.code == "73.72.01.1004")
        ).scalar_one()
        update_village(village, {"is_intervention": True})
        db.session.expunge(village)
        return village


def test_events_read_in_words(app, monkeypatch, parepare) -> None:
    lompoe = _lompoe(app, parepare)
    client, admin = signed_in(app, monkeypatch, parepare)
    page = client.get(f"{P}/audit")
    assert page.status_code == 200
    words = text(page)
    assert "Desa/kelurahan diubah" in words and "Perubahan pengaturan" in words
    assert "Desa/kelurahan Lompoe" in words
    assert "Desa intervensi Tidak Ya" in words
    assert "Sumber dana APBD APBN Kemensos (intervensi)" in words
    assert "Kabupaten/kota didaftarkan di SLRT" in words
    assert "{" not in words and "village.update" not in words and "funding_source" not in words
    # A change made from a page is filed under the person who made it.
    html = client.get(f"{P}/villages/{lompoe.id}").text
    fields = dict(re.findall(r'name="(seen|shown\.[a-z_]+)" value="([^"]*)"', html))
    post(
        client,
        f"{P}/villages/{lompoe.id}",
        {**fields, "name": "Lompoe Raya", "active": "true", "funding_source": "apbn_kemensos"},
    )
    mine = text(client.get(f"{P}/audit?who={admin.email.split('@')[0]}"))
    assert "Nama Lompoe Lompoe Raya" in mine and "Kabupaten/kota didaftarkan" not in mine
    record = text(client.get(f"{P}/audit?entity_type=village&entity_id={lompoe.id}"))
    assert "Hanya catatan tentang Desa/kelurahan Lompoe Raya." in record
    assert "2 catatan" in record


def test_filters_by_kind_and_by_days_in_the_districts_zone(
    app, monkeypatch, parepare, owner_engine
) -> None:
    _lompoe(app, parepare)
    with owner_engine.begin() as conn:  # the change happened at 23.30 WITA on 1 March 2026
        conn.execute(sa.select(sa.func.set_config("slrt.tenant_id", str(parepare.id), True)))
        conn.execute(
            sa.update(AuditEvent.__table__)
            .where(AuditEvent.__table__.c.action == "village.update")
            .values(occurred_at=dt.datetime(2026, 3, 1, 15, 30, tzinfo=dt.UTC))
        )
    client, _ = signed_in(app, monkeypatch, parepare)
    first = text(client.get(f"{P}/audit?since=2026-03-01&until=2026-03-01"))
    assert "1 catatan" in first and "1 Mar 2026 23.30 WITA" in first
    assert "0 catatan" in text(client.get(f"{P}/audit?since=2026-03-02&until=2026-03-02"))
    config = text(client.get(f"{P}/audit?kind=config"))
    assert "Desa/kelurahan diubah" in config
    security = text(client.get(f"{P}/audit?kind=security"))
    assert "Desa/kelurahan diubah" not in security
    wrong = client.get(f"{P}/audit?since=1-3-2026&kind=gossip")
    assert wrong.status_code == 422
    assert 'id="f-since-error"' in wrong.text and 'id="f-kind-error"' in wrong.text


def test_personal_data_events_only_with_personal_data_audit(app, monkeypatch, parepare):
    import uuid

    with in_district(app, parepare):
        record_person_reads([uuid.uuid4(), uuid.uuid4()], "person.list", note="uji")
        create_role(
            key="auditor",
            name="Auditor konfigurasi",
            name_en="Configuration auditor",
            permissions=["tenant.read", "audit.read"],
        )
    admin, _ = signed_in(app, monkeypatch, parepare)
    seen = text(admin.get(f"{P}/audit?kind=read"))
    assert "Daftar warga dibaca" in seen and "Isian Nilai Warga 2 data" in seen
    auditor, _ = signed_in(app, monkeypatch, parepare, "auditor")
    everything = auditor.get(f"{P}/audit")
    assert everything.status_code == 200
    assert "Daftar warga dibaca" not in text(everything)
    assert "Data pribadi dibaca" not in text(everything)  # not even offered as a kind
    assert auditor.get(f"{P}/audit?kind=read").status_code == 403
    viewer, _ = signed_in(app, monkeypatch, parepare, "viewer")
    assert viewer.get(f"{P}/audit").status_code == 403


def test_pages_of_events(app, monkeypatch, parepare) -> None:
    with in_district(app, parepare):
        villages = db.session.execute(sa.select(Village).order_by(Village.code)).scalars().all()
        for funding in ("dana_desa", "apbd"):
            for village in villages:
                update_village(village, {"funding_source": funding})
    client, _ = signed_in(app, monkeypatch, parepare)
    first = text(client.get(f"{P}/audit?kind=config"))
    assert "Halaman 1 dari 2" in first and "Bumi Harapan" in first  # newest first
    second = text(client.get(f"{P}/audit?kind=config&page=2"))
    assert "Halaman 2 dari 2" in second and "Kabupaten/kota didaftarkan" in second
