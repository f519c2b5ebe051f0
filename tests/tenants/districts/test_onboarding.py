"""Onboarding districts from the Kemendagri reference, suspension, lokus designations."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.audit.models import AuditEvent, PlatformAuditEvent
from slrt.platform.tenancy import tenant_context
from slrt.platform.tenant import Tenant
from slrt.tenants.districts.actions import onboard_tenant
from slrt.tenants.districts.cli import tenants as tenants_cli
from slrt.tenants.regions.models import Kecamatan, Village
from tests.fixtures import member


def _counts(app, tenant: Tenant) -> dict[str, int]:
    with app.app_context(), tenant_context(tenant.ref()):
        kec = db.session.execute(sa.select(sa.func.count()).select_from(Kecamatan)).scalar()
        kinds = dict(
            db.session.execute(
                sa.select(Village.kind, sa.func.count()).group_by(Village.kind)
            ).all()
        )
        db.session.remove()
    return {"kecamatan": kec, **kinds}


def test_parepare_and_kendal_get_exactly_their_regions(app, parepare, kendal) -> None:
    assert _counts(app, parepare) == {"kecamatan": 4, "kelurahan": 22}
    assert _counts(app, kendal) == {"kecamatan": 20, "desa": 266, "kelurahan": 20}


def test_villages_carry_reference_names_and_kinds(app, parepare) -> None:
    with app.app_context(), tenant_context(parepare.ref()):
        village = db.session.execute(
            sa.select(Village).where(Village.code == "73.72.02.1001")
        ).scalar_one()
        kec = db.session.execute(
            sa.select(Kecamatan).where(Kecamatan.id == village.kecamatan_id)
        ).scalar_one()
        assert kec.code == "73.72.02"
        assert village.kind == "kelurahan" and village.source == "reference"
        assert village.name == village.reference_name and village.name
        assert (village.is_intervention, village.funding_source, village.active) == (
            False,
            "apbd",
            True,
        )
        db.session.remove()


def test_onboarding_twice_never_duplicates(app, parepare) -> None:
    with app.app_context():
        tenant, created = onboard_tenant("73.72")
        db.session.commit()
        assert not created and tenant.id == parepare.id
        assert db.session.execute(sa.select(sa.func.count()).select_from(Tenant)).scalar() == 1
        db.session.remove()
    assert _counts(app, parepare) == {"kecamatan": 4, "kelurahan": 22}


def test_cli_create_reports_and_refuses_bad_codes(app) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(tenants_cli, args=["create", "73.72", "73.72"])
    assert result.exit_code == 0, result.output
    assert "73.72 Kota Parepare (parepare): created" in result.output
    assert "already exists" in result.output
    for bad, words in (
        ("73", "bukan kode kabupaten/kota"),
        ("73.72.01", "bukan kode kabupaten/kota"),
        ("7372", "Format kode '7372' salah"),
        ("73.00", "tidak ada dalam referensi"),
    ):
        result = runner.invoke(tenants_cli, args=["create", bad])
        assert result.exit_code == 1
        assert words in result.output, result.output
    with app.app_context():
        assert db.session.execute(sa.select(Tenant.code)).scalars().all() == ["73.72"]
        db.session.remove()


def test_api_onboards_idempotently_and_refuses_wrong_codes(app, client, kemensos_admin) -> None:
    headers = kemensos_admin.headers
    resp = client.post("/api/v1/platform/tenants", json={"code": "73.72"}, headers=headers)
    assert resp.status_code == 201, resp.json
    body = resp.json
    assert body["slug"] == "parepare" and body["kecamatan_count"] == 4
    assert body["village_counts"]["kelurahan"] == 22
    again = client.post("/api/v1/platform/tenants", json={"code": "73.72"}, headers=headers)
    assert again.status_code == 200 and again.json["id"] == body["id"]
    wrong = client.post("/api/v1/platform/tenants", json={"code": "73.72.01"}, headers=headers)
    assert wrong.status_code == 422
    assert wrong.mimetype == "application/problem+json"
    assert wrong.json["errors"][0]["field"] == "code"
    assert "bukan kode kabupaten/kota" in wrong.json["errors"][0]["message"]
    assert "not a kabupaten/kota code" in wrong.json["errors"][0]["message_en"]
    with app.app_context():
        actions = db.session.execute(sa.select(PlatformAuditEvent.action)).scalars().all()
        assert actions == ["tenant.onboard"]
        db.session.remove()


def test_onboarding_api_needs_kemensos(app, client, parepare) -> None:
    admin = member(app, parepare, "district_admin")
    resp = client.post("/api/v1/platform/tenants", json={"code": "33.24"}, headers=admin.headers)
    assert resp.status_code == 403
    assert resp.json["missing_permission"] == "platform.tenants.manage"
    assert client.post("/api/v1/platform/tenants", json={"code": "33.24"}).status_code == 401


def test_suspend_and_reactivate_over_api(app, client, parepare, kemensos_admin) -> None:
    admin = member(app, parepare, "district_admin")
    url = f"/api/v1/platform/tenants/{parepare.id}"
    resp = client.post(
        f"{url}/suspend", json={"reason": "Audit BPK"}, headers=kemensos_admin.headers
    )
    assert resp.status_code == 200 and resp.json["status"] == "suspended"
    again = client.post(f"{url}/suspend", json={"reason": "lagi"}, headers=kemensos_admin.headers)
    assert again.status_code == 409

    # Members read, do not write; strangers see nothing; the data is kept.
    villages = client.get("/api/v1/t/parepare/villages", headers=admin.headers)
    assert villages.status_code == 200 and len(villages.json) == 10
    assert villages.headers["X-Pagination"]
    create = client.post(
        "/api/v1/t/parepare/agencies",
        json={"name": "Dinas Kesehatan", "kind": "dinas"},
        headers=admin.headers,
    )
    assert create.status_code == 423
    assert create.json["detail_en"] == "This district is suspended; its data is read-only."
    assert client.get("/api/v1/t/parepare/villages").status_code == 404
    assert client.get("/api/v1/tenants/parepare").status_code == 404

    resp = client.post(
        f"{url}/reactivate", json={"reason": "Selesai"}, headers=kemensos_admin.headers
    )
    assert resp.status_code == 200 and resp.json["status"] == "active"
    create = client.post(
        "/api/v1/t/parepare/agencies",
        json={"name": "Dinas Kesehatan", "kind": "dinas"},
        headers=admin.headers,
    )
    assert create.status_code == 201

    with app.app_context():
        platform = db.session.execute(
            sa.select(PlatformAuditEvent.action, PlatformAuditEvent.note).order_by(
                PlatformAuditEvent.id
            )
        ).all()
        assert [tuple(r) for r in platform[-2:]] == [
            ("tenant.suspend", "Audit BPK"),
            ("tenant.reactivate", "Selesai"),
        ]
        db.session.remove()
    # The district sees both in its own audit trail, with who did it.
    trail = client.get(
        "/api/v1/t/parepare/audit-events?entity_type=tenant", headers=admin.headers
    ).json
    assert [e["action"] for e in trail] == ["tenant.reactivate", "tenant.suspend", "tenant.onboard"]
    assert trail[1]["actor_label"] == "admin@kemensos.go.id"
    assert trail[1]["before"] == {"status": "active"} and trail[1]["after"] == {
        "status": "suspended"
    }


def test_cli_suspend_reactivate_and_designate(app, parepare) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(tenants_cli, args=["suspend", "73.72", "--reason", "uji"])
    assert result.exit_code == 0 and "suspended" in result.output
    result = runner.invoke(tenants_cli, args=["reactivate", "73.72", "--reason", "uji"])
    assert result.exit_code == 0 and "active" in result.output
    result = runner.invoke(tenants_cli, args=["suspend", "11.01", "--reason", "uji"])
    assert result.exit_code == 1 and "tidak ditemukan" in result.output
    args = ["designate", "73.72", "--wave", "1", "--year", "2021"]
    args += ["--decree", "SK Mensos 12/HUK/2021", "--decree-date", "2021-03-01"]
    assert runner.invoke(tenants_cli, args=args).exit_code == 0
    result = runner.invoke(tenants_cli, args=args)
    assert result.exit_code == 1 and "sudah ditetapkan pada tahap 1 tahun 2021" in result.output
    # The rules are the API's: a decree dated in the future is refused here too.
    future = ["designate", "73.72", "--wave", "2", "--year", "2099"]
    future += ["--decree", "SK Mensos 1/HUK/2099", "--decree-date", "2099-01-01"]
    result = runner.invoke(tenants_cli, args=future)
    assert result.exit_code == 1 and "Tanggal SK tidak boleh di masa depan." in result.output


def test_lokus_designations_accumulate(app, client, parepare, kemensos_admin) -> None:
    admin = member(app, parepare, "district_admin")
    url = f"/api/v1/platform/tenants/{parepare.id}/lokus-designations"
    first = {
        "wave": 1,
        "year": 2021,
        "decree_number": "SK 146/HUK/2021",
        "decree_date": "2021-02-10",
    }
    second = {**first, "wave": 3, "year": 2023, "decree_number": "SK 20/HUK/2023"}
    assert client.post(url, json=first, headers=kemensos_admin.headers).status_code == 201
    assert client.post(url, json=second, headers=kemensos_admin.headers).status_code == 201
    dup = client.post(url, json=first, headers=kemensos_admin.headers)
    assert dup.status_code == 409 and dup.json["errors"][0]["field"] == "wave"
    bad = client.post(
        url, json={**first, "wave": 0, "decree_date": "2999-01-01"}, headers=kemensos_admin.headers
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json["errors"]} == {"wave", "decree_date"}
    own = client.get("/api/v1/t/parepare/lokus-designations", headers=admin.headers)
    assert [(d["year"], d["wave"]) for d in own.json] == [(2021, 1), (2023, 3)]
    detail = client.get(f"/api/v1/platform/tenants/{parepare.id}", headers=kemensos_admin.headers)
    assert len(detail.json["lokus_designations"]) == 2
    with app.app_context(), tenant_context(parepare.ref()):
        actions = db.session.execute(sa.select(AuditEvent.action)).scalars().all()
        assert actions.count("lokus.designate") == 2
        db.session.remove()


def test_unknown_tenant_id_on_platform_routes_is_404(client, kemensos_admin) -> None:
    resp = client.get("/api/v1/platform/tenants/999999", headers=kemensos_admin.headers)
    assert resp.status_code == 404


def test_platform_audit_lists_kemensos_actions(client, parepare, kemensos_admin) -> None:
    client.post(
        f"/api/v1/platform/tenants/{parepare.id}/suspend",
        json={"reason": "Pemeriksaan"},
        headers=kemensos_admin.headers,
    )
    events = client.get(
        f"/api/v1/platform/audit-events?tenant_ref={parepare.id}", headers=kemensos_admin.headers
    ).json
    assert [e["action"] for e in events] == ["tenant.suspend", "tenant.onboard"]
    assert events[0]["actor_label"] == "admin@kemensos.go.id" and events[0]["note"] == "Pemeriksaan"
    assert client.get("/api/v1/platform/audit-events").status_code == 401


@pytest.mark.slow
def test_cli_all_onboards_every_district_once(app) -> None:
    from slrt.platform.tenancy import platform_bypass

    runner = app.test_cli_runner()
    result = runner.invoke(tenants_cli, args=["create", "--all"])
    assert result.exit_code == 0, result.output
    assert "514 created, 0 already there, 0 refused" in result.output
    again = runner.invoke(tenants_cli, args=["create", "--all"])
    assert "0 created, 514 already there, 0 refused" in again.output
    with app.app_context(), platform_bypass("test: count onboarded regions"):
        counts = [
            db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar()
            for model in (Tenant, Kecamatan, Village)
        ]
        db.session.remove()
    assert counts == [514, 7285, 83762]
    usage = runner.invoke(tenants_cli, args=["create", "--all", "73.72"])
    assert usage.exit_code == 2
