"""billing_free wired into the jobs: an import that crosses the daily rows quota is held (job
status "held") and resumes the next day with nothing lost; exports per day answer 429; the jobs
cap is the plan's; jobs run, rows imported and exports are metered."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from slrt.billing_free import meter, plans
from slrt.platform import db
from slrt.platform.jobs.queue import concurrency_cap
from slrt.platform.tenancy import tenant_context
from slrt.tenants.registry.models import Person
from tests.fixtures import put_on_plan
from tests.platform.jobs.test_jobs import run_burst
from tests.tenants.registry.test_import_export import _big_csv, _upload


def _persons(app, tenant) -> list[str]:
    with app.app_context(), tenant_context(tenant.ref()):
        niks = db.session.execute(sa.select(Person.nik)).scalars().all()
        db.session.remove()
    return niks


def _next_day(owner_engine, monkeypatch, days: int) -> None:
    """Let `days` days pass for the quota clock, and for the held job's resumption time."""
    real = plans.utcnow
    monkeypatch.setattr(plans, "utcnow", lambda: real() + dt.timedelta(days=days))
    with owner_engine.begin() as conn:
        conn.execute(sa.text("UPDATE job_outbox SET run_after = now() WHERE run_after IS NOT NULL"))


def _relay() -> None:
    from slrt.platform.jobs.outbox import relay_pending

    relay_pending()


def test_import_over_daily_rows_is_held_and_resumes_next_day_with_nothing_lost(
    app, client, parepare, parepare_admin, owner_engine, monkeypatch
):
    put_on_plan(app, parepare, import_rows_per_day=2500)
    resp = _upload(client, parepare_admin, _big_csv(6000))
    assert resp.status_code == 202, resp.get_json()
    job_url = f"/api/v1/t/parepare/jobs/{resp.get_json()['id']}"
    run_burst()

    job = client.get(job_url, headers=parepare_admin.headers).get_json()
    assert job["status"] == "held"
    assert "Ditahan: kuota baris impor hari ini habis setelah baris" in job["progress"]["message"]
    # Parepare's midnight (WITA), not Jakarta's
    tomorrow = (dt.datetime.now(ZoneInfo(parepare.zone)) + dt.timedelta(days=1)).strftime(
        "%Y-%m-%d"
    )
    assert f"{tomorrow} 00.00 WITA" in job["progress"]["message"]
    assert len(_persons(app, parepare)) == 2500  # today's allowance, not a row more
    notices = client.get("/api/v1/t/parepare/usage/notices", headers=parepare_admin.headers)
    codes = {n["code"] for n in notices.get_json()}
    assert {"job.held", "quota.limit"} <= codes
    # Running again the same day changes nothing: the job waits for its time.
    _relay()
    run_burst()
    assert len(_persons(app, parepare)) == 2500

    _next_day(owner_engine, monkeypatch, 1)
    _relay()
    run_burst()
    job = client.get(job_url, headers=parepare_admin.headers).get_json()
    assert job["status"] == "held"
    assert len(_persons(app, parepare)) == 5000

    _next_day(owner_engine, monkeypatch, 2)
    _relay()
    run_burst()
    job = client.get(job_url, headers=parepare_admin.headers).get_json()
    assert job["status"] == "succeeded", job
    niks = _persons(app, parepare)
    assert len(niks) == 6000 and len(set(niks)) == 6000  # every row once: nothing lost or doubled

    # Metering: rows imported per day as granted, one job run (the successful end).
    with app.app_context():
        meter.flush()
        with tenant_context(parepare.ref()):
            rows = db.session.execute(
                sa.text(
                    "SELECT day, metric, sum(value) FROM usage_daily "
                    "WHERE metric IN ('import_rows', 'jobs_run') GROUP BY day, metric ORDER BY day"
                )
            ).all()
        db.session.remove()
    per_day = [(r[1], int(r[2])) for r in rows]
    assert [v for m, v in per_day if m == "import_rows"] == [2500, 2500, 1000]
    assert sum(v for m, v in per_day if m == "jobs_run") == 1


def test_exports_per_day_answer_429_and_are_metered(app, client, parepare, parepare_admin):
    put_on_plan(app, parepare, exports_per_day=1)
    first = client.post(
        "/api/v1/t/parepare/exports/cases", json={"format": "csv"}, headers=parepare_admin.headers
    )
    assert first.status_code == 202, first.get_json()
    second = client.post(
        "/api/v1/t/parepare/exports/referrals",
        json={"format": "csv"},
        headers=parepare_admin.headers,
    )
    assert second.status_code == 429
    body = second.get_json()
    assert body["quota"] == "exports_per_day" and body["limit"] == 1 and body["used"] == 1
    assert int(second.headers["Retry-After"]) >= 1
    run_burst()
    with app.app_context():
        meter.flush()
        with tenant_context(parepare.ref()):
            exports = db.session.execute(
                sa.text("SELECT coalesce(sum(value), 0) FROM usage_daily WHERE metric = 'exports'")
            ).scalar()
        db.session.remove()
    assert exports == 1


def test_jobs_cap_is_the_plans(app, parepare, kendal):
    put_on_plan(app, parepare, max_concurrent_jobs=3)
    with app.app_context():
        assert concurrency_cap(parepare.id) == 3
        assert concurrency_cap(kendal.id) == 2  # Lokus Kemensos
        db.session.remove()


def test_import_upload_counts_against_storage(app, client, parepare, parepare_admin):
    content = _big_csv(10)
    put_on_plan(app, parepare, max_storage_bytes=len(content) + 10)
    assert _upload(client, parepare_admin, content).status_code == 202
    refused = _upload(client, parepare_admin, content)
    assert refused.status_code == 403
    assert refused.get_json()["quota"] == "storage_bytes"
    assert refused.get_json()["used"] == len(content)
