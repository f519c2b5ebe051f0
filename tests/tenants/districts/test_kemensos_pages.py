"""The Kemensos console's management pages (test client): onboarding a district by code, lokus
designations with their decree, suspending and reactivating with a reason, plans and moving a
district to one, the national program catalog with its rule checked, the cross-district NIK
signal and the platform audit trail with filters. Each write is the action the API calls; a
refusal is shown beside its field."""

from __future__ import annotations

import re

import pytest

from slrt.platform import db
from tests.fixtures import make_account, set_password
from tests.web import PASSWORD, csrf_of, form_token, sign_in


@pytest.fixture
def console(app, monkeypatch):
    monkeypatch.setenv("SLRT_PUBLIC_URL", "http://localhost")
    admin = set_password(
        app, make_account(app, "admin@kemensos.go.id", platform_role="kemensos_admin"), PASSWORD
    )
    web = app.test_client()
    sign_in(web, admin.email)
    return web


def send(web, url: str, **data):
    return web.post(url, data={"csrf_token": form_token(web), **data}, follow_redirects=True)


def test_onboard_designate_suspend_and_reactivate(app, console) -> None:
    bad = console.post(
        "/kemensos/districts/new", data={"csrf_token": form_token(console), "code": "73"}
    )
    assert bad.status_code == 422
    assert "bukan kode kabupaten/kota" in bad.get_data(as_text=True)
    done = send(console, "/kemensos/districts/new", code="73.72")
    html = done.get_data(as_text=True)
    assert "Kota Parepare (73.72) ditambahkan" in html
    manage = done.request.path
    tenant_id = int(re.search(r"/kemensos/districts/(\d+)/manage", manage).group(1))
    again = send(console, "/kemensos/districts/new", code="73.72")
    assert "sudah terdaftar" in again.get_data(as_text=True)
    future = console.post(
        f"/kemensos/districts/{tenant_id}/lokus",
        data={
            "csrf_token": form_token(console),
            "wave": "1",
            "year": "2021",
            "decree_number": "146/HUK/2021",
            "decree_date": "2099-01-01",
        },
    )
    assert future.status_code == 422
    assert "Tanggal SK tidak boleh di masa depan." in future.get_data(as_text=True)
    lokus = send(
        console,
        f"/kemensos/districts/{tenant_id}/lokus",
        wave="1",
        year="2021",
        decree_number="146/HUK/2021",
        decree_date="2021-03-01",
    ).get_data(as_text=True)
    assert "ditetapkan sebagai lokus tahap 1 tahun 2021" in lokus and "SK 146/HUK/2021" in lokus
    national = console.get("/kemensos/?wave=1&year=2021").get_data(as_text=True)
    assert "Kota Parepare" in national and "Tahap 1, 2021" in national
    no_reason = console.post(
        f"/kemensos/districts/{tenant_id}/status",
        data={"csrf_token": form_token(console), "to": "suspended", "reason": ""},
    )
    assert no_reason.status_code == 422
    suspended = send(
        console, f"/kemensos/districts/{tenant_id}/status", to="suspended", reason="Audit BPK"
    ).get_data(as_text=True)
    assert "ditangguhkan" in suspended and 'value="active"' in suspended
    # A second tab's stale "suspend" does not undo anything.
    stale = console.post(
        f"/kemensos/districts/{tenant_id}/status",
        data={"csrf_token": form_token(console), "to": "suspended", "reason": "lagi"},
    )
    assert stale.status_code == 409
    back = send(
        console, f"/kemensos/districts/{tenant_id}/status", to="active", reason="Selesai"
    ).get_data(as_text=True)
    assert "aktif kembali" in back
    audit = console.get(f"/kemensos/audit?district={tenant_id}").get_data(as_text=True)
    for words in ("Kabupaten/kota ditambahkan", "Penetapan lokus", "Kabupaten/kota ditangguhkan"):
        assert words in audit
    only = console.get("/kemensos/audit?action=tenant.suspend").get_data(as_text=True)
    assert only.count('class="event-row"') == 1 and "Audit BPK" in only
    nobody = console.get("/kemensos/audit?who=nobody@x").get_data(as_text=True)
    assert 'class="event-row"' not in nobody


def test_plans_and_a_district_moved_to_one(app, console, parepare) -> None:
    from slrt.billing_free.plans import ensure_standard_plans

    with app.app_context():
        ensure_standard_plans()
        db.session.commit()
        db.session.remove()
    plans = console.get("/kemensos/plans").get_data(as_text=True)
    assert "Lokus Kemensos" in plans and "Uji coba" in plans
    form = console.get(f"/kemensos/districts/{parepare.id}/plan").get_data(as_text=True)
    assert "Sekarang: Lokus Kemensos (Rp 0)" in form
    moved = console.post(
        f"/kemensos/districts/{parepare.id}/plan",
        data={"csrf_token": csrf_of(form), "plan": "uji-coba", "reason": "Uji coba 3 bulan"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Kota Parepare kini memakai paket Uji coba." in moved
    assert "Uji coba 3 bulan" in moved and "admin@kemensos.go.id" in moved
    edit = console.get("/kemensos/plans/uji-coba").get_data(as_text=True)
    version = re.search(r'name="version" value="([^"]+)"', edit).group(1)
    values = {
        "csrf_token": csrf_of(edit),
        "version": version,
        "name": "Uji coba",
        "duration_days": "90",
        "max_accounts": "12",
        "max_puskesos": "1",
        "max_storage_bytes": "1073741824",
        "api_requests_per_minute": "120",
        "max_concurrent_jobs": "1",
        "import_rows_per_day": "10000",
        "exports_per_day": "10",
        "active": "1",
    }
    changed = console.post("/kemensos/plans/uji-coba", data=values, follow_redirects=True)
    assert "Paket Uji coba diubah." in changed.get_data(as_text=True)
    stale = console.post("/kemensos/plans/uji-coba", data={**values, "max_accounts": "99"})
    assert stale.status_code == 409 and "diubah orang lain" in stale.get_data(as_text=True)
    new = console.get("/kemensos/plans/new").get_data(as_text=True)
    created = console.post(
        "/kemensos/plans/new",
        data={**values, "csrf_token": csrf_of(new), "key": "mandiri-kota", "name": "Mandiri Kota"},
        follow_redirects=True,
    )
    assert "Paket Mandiri Kota dibuat." in created.get_data(as_text=True)


def test_the_national_catalog_checks_the_rule(app, console) -> None:
    form = console.get("/kemensos/programs/new").get_data(as_text=True)
    values = {
        "csrf_token": csrf_of(form),
        "code": "ASPD",
        "name": "Asistensi Penyandang Disabilitas",
        "sector": "social_rehabilitation",
        "owner": "Kemensos",
        "funding": "apbn",
        "deadline_days": "30",
        "required_documents": "KTP\nKK",
        "rule_text": "age >= 18 and and",
    }
    wrong = console.post("/kemensos/programs/new", data=values)
    html = wrong.get_data(as_text=True)
    assert wrong.status_code == 422 and "baris 1" in html.lower()
    assert "KTP\nKK</textarea>" in html  # what was typed is kept
    added = console.post(
        "/kemensos/programs/new", data={**values, "rule_text": "age >= 18"}, follow_redirects=True
    )
    text = added.get_data(as_text=True)

    assert "Program ASPD ditambahkan." in text and "Rehabilitasi sosial" in text
    href = re.search(r'href="(/kemensos/programs/[0-9a-f-]{36})">ASPD', text).group(1)
    edit = console.get(href).get_data(as_text=True)
    assert "age &gt;= 18" in edit
    version = re.search(r'name="version" value="([^"]+)"', edit).group(1)
    update = {k: v for k, v in values.items() if k != "code"}
    update.update(csrf_token=csrf_of(edit), version=version, deadline_days="21", active="1")
    changed = console.post(href, data={**update, "rule_text": "age >= 18"}, follow_redirects=True)
    assert "Program ASPD diubah" in changed.get_data(as_text=True)


def test_the_nik_signal_shows_hashes_and_district_codes_only(
    app, console, parepare, kendal
) -> None:
    from slrt.tenants.registry.models import NikRegistration
    from slrt.tenants.registry.nik import nik_hash

    shared, alone = "7372014506850004", "3324011203900002"
    with app.app_context():
        for tenant, nik in ((parepare, shared), (kendal, shared), (parepare, alone)):
            db.session.add(
                NikRegistration(
                    nik_hash=nik_hash(nik), tenant_ref=tenant.id, district_code=tenant.code
                )
            )
        db.session.commit()
        db.session.remove()
    page = console.get("/kemensos/nik-signals").get_data(as_text=True)
    assert page.count('class="signal-row"') == 1
    assert "Kota Parepare (73.72)" in page and "Kabupaten Kendal (33.24)" in page
    assert shared not in page and nik_hash(shared)[:16] in page
    found = console.post(
        "/kemensos/nik-signals", data={"csrf_token": form_token(console), "nik": shared}
    ).get_data(as_text=True)
    assert "Terdaftar di 2 kabupaten/kota" in found and shared not in found
    bad = console.post(
        "/kemensos/nik-signals", data={"csrf_token": form_token(console), "nik": "123"}
    )
    assert bad.status_code == 422 and 'id="f-nik-error"' in bad.get_data(as_text=True)
