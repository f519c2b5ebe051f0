"""Plans (all Rp 0), plan changes with history and audit, over the API and the CLI."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from slrt.billing_free.cli import plans
from slrt.billing_free.models import Plan, PlanAssignment
from slrt.billing_free.plans import district_today
from slrt.platform import db
from slrt.platform.audit.models import AuditEvent, PlatformAuditEvent
from slrt.platform.tenancy import tenant_context


def test_standard_plans_and_default_for_new_district(app, client, parepare, kemensos_admin):
    resp = client.get("/api/v1/platform/plans", headers=kemensos_admin.headers)
    assert resp.status_code == 200
    plans = {p["key"]: p for p in resp.json}
    assert {"lokus-kemensos", "mandiri-apbd", "uji-coba"} <= set(plans)
    assert all(p["price_idr"] == 0 for p in plans.values())
    lokus = plans["lokus-kemensos"]
    assert lokus["is_default"] and lokus["max_puskesos"] == 2 and lokus["max_accounts"] >= 53
    assert plans["uji-coba"]["duration_days"] == 90
    assert plans["mandiri-apbd"]["max_accounts"] > lokus["max_accounts"]
    resp = client.get("/api/v1/platform/tenants/parepare/plan", headers=kemensos_admin.headers)
    assert resp.json["plan"] == "lokus-kemensos"
    assert resp.json["price_idr"] == 0
    assert resp.json["history"][0]["reason"].startswith("Paket awal")


def test_kemensos_moves_parepare_to_trial_with_history_and_audit(
    app, client, parepare, kemensos_admin, parepare_admin
):
    resp = client.put(
        "/api/v1/platform/tenants/parepare/plan",
        json={"plan": "uji-coba", "reason": "Uji coba sebelum penetapan lokus"},
        headers=kemensos_admin.headers,
    )
    assert resp.status_code == 200, resp.json
    assert resp.json["plan"] == "uji-coba"
    trial_end = district_today(zone=parepare.zone) + dt.timedelta(days=90)
    assert resp.json["expires_on"] == trial_end.isoformat()
    history = resp.json["history"]
    assert [h["plan"] for h in history] == ["uji-coba", "lokus-kemensos"]
    assert history[0]["actor_label"] == "admin@kemensos.go.id"
    assert history[0]["reason"] == "Uji coba sebelum penetapan lokus"
    assert history[1]["ended_at"] is not None and history[0]["ended_at"] is None
    # The district admin sees the same plan and history in the district.
    mine = client.get("/api/v1/t/parepare/plan", headers=parepare_admin.headers)
    assert mine.status_code == 200
    assert mine.json["plan"] == "uji-coba"
    quotas = {q["quota"]: q["limit"] for q in mine.json["quotas"]}
    assert quotas["accounts"] == 10
    with app.app_context():
        platform_events = (
            db.session.execute(
                sa.select(PlatformAuditEvent).where(
                    PlatformAuditEvent.action == "tenant.plan.assign"
                )
            )
            .scalars()
            .all()
        )
        moved = [e for e in platform_events if e.after["plan"] == "uji-coba"]
        assert len(moved) == 1
        assert moved[0].before["plan"] == "lokus-kemensos"
        assert moved[0].actor_label == "admin@kemensos.go.id"
        assert moved[0].note == "Uji coba sebelum penetapan lokus"
        with tenant_context(parepare.ref()):
            actions = (
                db.session.execute(
                    sa.select(AuditEvent.after).where(AuditEvent.action == "plan.assign")
                )
                .scalars()
                .all()
            )
            assert {"plan": "uji-coba", "expires_on": history[0]["expires_on"]} in actions
        assert (
            db.session.execute(
                sa.select(sa.func.count())
                .select_from(PlanAssignment)
                .where(PlanAssignment.tenant_ref == parepare.id, PlanAssignment.ended_at.is_(None))
            ).scalar()
            == 1
        )
        db.session.remove()


def test_plan_change_refusals(client, parepare, kemensos_admin, parepare_admin):
    no_reason = client.put(
        "/api/v1/platform/tenants/parepare/plan",
        json={"plan": "uji-coba"},
        headers=kemensos_admin.headers,
    )
    assert no_reason.status_code == 422
    assert no_reason.json["errors"][0]["field"] == "reason"
    unknown = client.put(
        "/api/v1/platform/tenants/parepare/plan",
        json={"plan": "emas", "reason": "coba"},
        headers=kemensos_admin.headers,
    )
    assert unknown.status_code == 422
    assert unknown.json["errors"] == [
        {
            "field": "plan",
            "message": "Paket 'emas' tidak ada.",
            "message_en": "There is no plan 'emas'.",
        }
    ]
    past = client.put(
        "/api/v1/platform/tenants/parepare/plan",
        json={"plan": "uji-coba", "reason": "coba", "expires_on": "2020-01-01"},
        headers=kemensos_admin.headers,
    )
    assert past.status_code == 422 and past.json["errors"][0]["field"] == "expires_on"
    # A district admin cannot choose their own plan.
    own = client.put(
        "/api/v1/platform/tenants/parepare/plan",
        json={"plan": "mandiri-apbd", "reason": "lebih besar"},
        headers=parepare_admin.headers,
    )
    assert own.status_code == 403
    assert own.json["missing_permission"] == "platform.plans.manage"
    still = client.get("/api/v1/platform/tenants/parepare/plan", headers=kemensos_admin.headers)
    assert still.json["plan"] == "lokus-kemensos" and len(still.json["history"]) == 1


def test_create_and_update_plan_with_etag(app, client, parepare, kemensos_admin):
    body = {
        "key": "lokus-tahap-2",
        "name": "Lokus tahap 2",
        "max_accounts": 120,
        "max_puskesos": 4,
        "max_storage_bytes": 10_000_000_000,
        "api_requests_per_minute": 900,
        "max_concurrent_jobs": 2,
        "import_rows_per_day": 300_000,
        "exports_per_day": 60,
    }
    created = client.post("/api/v1/platform/plans", json=body, headers=kemensos_admin.headers)
    assert created.status_code == 201, created.json
    assert created.json["price_idr"] == 0
    priced = client.post(
        "/api/v1/platform/plans",
        json={**body, "key": "berbayar", "price_idr": 5000},
        headers=kemensos_admin.headers,
    )
    assert priced.status_code == 422
    assert priced.json["errors"][0]["field"] == "price_idr"
    dup = client.post("/api/v1/platform/plans", json=body, headers=kemensos_admin.headers)
    assert dup.status_code == 409
    bad = client.post(
        "/api/v1/platform/plans",
        json={**body, "key": "x y", "max_accounts": -1},
        headers=kemensos_admin.headers,
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json["errors"]} == {"key", "max_accounts"}

    url = "/api/v1/platform/plans/lokus-tahap-2"
    no_if_match = client.patch(url, json={"max_accounts": 150}, headers=kemensos_admin.headers)
    assert no_if_match.status_code == 428
    stale = client.patch(
        url, json={"max_accounts": 150}, headers={**kemensos_admin.headers, "If-Match": '"stale"'}
    )
    assert stale.status_code == 412
    etag = client.get(url, headers=kemensos_admin.headers).headers["ETag"]
    ok = client.patch(
        url,
        json={"max_accounts": 150, "is_default": True},
        headers={**kemensos_admin.headers, "If-Match": etag},
    )
    assert ok.status_code == 200, ok.json
    assert ok.json["max_accounts"] == 150 and ok.json["is_default"] is True
    with app.app_context():
        defaults = db.session.execute(sa.select(Plan.key).where(Plan.is_default)).scalars().all()
        assert defaults == ["lokus-tahap-2"]
        update = db.session.execute(
            sa.select(PlatformAuditEvent).where(PlatformAuditEvent.action == "plan.update")
        ).scalar_one()
        assert update.before == {"max_accounts": 120, "is_default": False}
        assert update.after == {"max_accounts": 150, "is_default": True}
        db.session.remove()


def test_viewer_reads_but_cannot_manage(client, parepare, kemensos_viewer):
    assert client.get("/api/v1/platform/plans", headers=kemensos_viewer.headers).status_code == 200
    resp = client.put(
        "/api/v1/platform/tenants/parepare/plan",
        json={"plan": "uji-coba", "reason": "x" * 5},
        headers=kemensos_viewer.headers,
    )
    assert resp.status_code == 403


def test_cli_assign_list_and_history(app, parepare):
    runner = app.test_cli_runner()
    listed = runner.invoke(plans, ["list"])
    assert listed.exit_code == 0 and "uji-coba" in listed.output
    moved = runner.invoke(plans, ["assign", "73.72", "uji-coba", "--reason", "uji coba 3 bulan"])
    assert moved.exit_code == 0, moved.output
    assert "Uji coba" in moved.output
    refused = runner.invoke(plans, ["assign", "parepare", "emas", "--reason", "x"])
    assert refused.exit_code != 0 and "emas" in refused.output
    history = runner.invoke(plans, ["history", "parepare"])
    lines = history.output.strip().splitlines()
    assert "uji-coba" in lines[0] and "uji coba 3 bulan" in lines[0] and "cli:" in lines[0]
    assert "lokus-kemensos" in lines[1]
    created = runner.invoke(
        plans,
        [
            "create", "kecil", "--name", "Kecil", "--max-accounts", "5",
            "--max-puskesos", "1", "--max-storage-bytes", "1000", "--api-requests-per-minute", "10",
            "--max-concurrent-jobs", "1", "--import-rows-per-day", "10", "--exports-per-day", "1",
        ]
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    updated = runner.invoke(plans, ["update", "kecil", "--max-accounts", "6"])
    assert updated.exit_code == 0, updated.output
    with app.app_context():
        assert (
            db.session.execute(sa.select(Plan.max_accounts).where(Plan.key == "kecil")).scalar()
            == 6
        )
        db.session.remove()
