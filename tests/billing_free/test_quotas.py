"""Every quota type at, just under and just over its limit; the 403 and 429 bodies; the jobs cap;
the 80% warning header and notices; held imports resuming the next day with nothing lost."""

from __future__ import annotations

import datetime as dt
import json
import time
from zoneinfo import ZoneInfo

import pytest

from slrt.billing_free import quotas
from slrt.billing_free.plans import Quota
from slrt.platform import db, errors
from slrt.platform.tenancy import tenant_context
from tests.fixtures import member, put_on_plan


def _wait_for_fresh_minute(margin: int = 12) -> None:
    """The per-minute window is fixed; start a burst early in a minute so it fits in one."""
    left = 60 - time.time() % 60
    if left < margin:
        time.sleep(left + 0.2)


def _problem(app, exc: errors.Problem) -> tuple[int, dict, dict]:
    with app.test_request_context("/api/v1/t/parepare/members", method="POST"):
        resp = errors.handle_http_exception(exc)
        return resp.status_code, json.loads(resp.get_data()), dict(resp.headers)


def _check(app, tenant, quota: Quota, adding: int = 1):
    with app.app_context(), tenant_context(tenant.ref()):
        try:
            quotas.check_count(quota, adding)
            return None
        finally:
            db.session.rollback()
            db.session.remove()


# --- count quotas ------------------------------------------------------------------------------


def test_accounts_quota_under_at_and_over(app, parepare, parepare_admin):
    put_on_plan(app, parepare, max_accounts=3)
    member(app, parepare, "facilitator")  # 2 active accounts with the admin
    assert _check(app, parepare, Quota.ACCOUNTS) is None  # just under: the 3rd fits
    member(app, parepare, "supervisor")  # 3 of 3: at the limit
    with pytest.raises(quotas.QuotaExceeded) as at_limit:
        _check(app, parepare, Quota.ACCOUNTS)
    status, body, headers = _problem(app, at_limit.value)
    assert status == 403
    assert headers["Content-Type"] == "application/problem+json"
    assert body["quota"] == "accounts"
    assert body["limit"] == 3 and body["used"] == 3 and body["requested"] == 1
    assert body["detail"].startswith("Kuota akun aktif paket Uji test-")
    assert "terpakai 3 dari batas 3" in body["detail"]
    assert "The active accounts quota of plan" in body["detail_en"]
    assert "3 in use of a limit of 3" in body["detail_en"]
    assert body["quota_label"] == "akun aktif" and body["quota_label_en"] == "active accounts"
    # Over: the plan was lowered below what the district already has. Nothing is removed,
    # new accounts are refused.
    put_on_plan(app, parepare, max_accounts=2)
    with pytest.raises(quotas.QuotaExceeded) as over:
        _check(app, parepare, Quota.ACCOUNTS)
    assert over.value.extra["used"] == 3 and over.value.extra["limit"] == 2
    with app.app_context(), tenant_context(parepare.ref()):
        assert quotas.current_use(Quota.ACCOUNTS) == 3
        db.session.remove()


def test_accounts_quota_counts_only_active_memberships(app, parepare, parepare_admin):
    from slrt.auth.memberships.models import Membership

    put_on_plan(app, parepare, max_accounts=2)
    leaver = member(app, parepare, "facilitator")
    with pytest.raises(quotas.QuotaExceeded):
        _check(app, parepare, Quota.ACCOUNTS)
    with app.app_context(), tenant_context(parepare.ref()):
        row = db.session.query(Membership).filter_by(account_id=leaver.account_id).one()
        row.status = "revoked"
        db.session.commit()
        db.session.remove()
    assert _check(app, parepare, Quota.ACCOUNTS) is None


def _villages(client, headers) -> list[dict]:
    resp = client.get("/api/v1/t/parepare/villages?page_size=5", headers=headers)
    assert resp.status_code == 200, resp.json
    return resp.json


def test_puskesos_quota_under_at_and_over_over_http(app, client, parepare, parepare_admin):
    put_on_plan(app, parepare, max_puskesos=2)
    villages = _villages(client, parepare_admin.headers)
    url = "/api/v1/t/parepare/service-points"

    def add(village: dict):
        return client.post(
            url,
            json={
                "kind": "puskesos",
                "name": f"Puskesos {village['name']}",
                "village_id": village["id"],
            },
            headers=parepare_admin.headers,
        )

    assert add(villages[0]).status_code == 201  # under
    second = add(villages[1])
    assert second.status_code == 201  # reaches the limit: 2 of 2
    refused = add(villages[2])  # over
    assert refused.status_code == 403
    assert refused.headers["Content-Type"] == "application/problem+json"
    body = refused.json
    assert body["quota"] == "puskesos" and body["limit"] == 2 and body["used"] == 2
    assert (
        "Kuota unit Puskesos paket" in body["detail"]
        and "terpakai 2 dari batas 2" in body["detail"]
    )
    assert "The Puskesos units quota of plan" in body["detail_en"]
    # The secretariat is not a Puskesos unit.
    secretariat = client.post(
        url,
        json={"kind": "secretariat", "name": "Sekretariat SLRT Parepare"},
        headers=parepare_admin.headers,
    )
    assert secretariat.status_code == 201
    # Over after a plan change: nothing is removed; deactivating one is allowed, reactivating
    # it while over is refused.
    put_on_plan(app, parepare, max_puskesos=1)
    listed = client.get(url + "?kind=puskesos", headers=parepare_admin.headers).json
    assert len(listed) == 2 and all(p["active"] for p in listed)
    point = f"{url}/{second.json['id']}"
    etag = client.get(point, headers=parepare_admin.headers).headers["ETag"]
    off = client.patch(
        point, json={"active": False}, headers={**parepare_admin.headers, "If-Match": etag}
    )
    assert off.status_code == 200, off.json
    etag = off.headers["ETag"]
    again = client.patch(
        point, json={"active": True}, headers={**parepare_admin.headers, "If-Match": etag}
    )
    assert again.status_code == 403 and again.json["quota"] == "puskesos"
    assert client.get(point, headers=parepare_admin.headers).json["active"] is False


def test_storage_quota_under_at_and_over(app, parepare, monkeypatch):
    """Stored bytes are what the file-owning features report through STORAGE_SOURCES; the
    decision and the body are the same as for every count quota."""
    put_on_plan(app, parepare, max_storage_bytes=1000)
    use = {"now": 500}
    monkeypatch.setattr(quotas, "STORAGE_SOURCES", [lambda: use["now"]])
    assert _check(app, parepare, Quota.STORAGE, 500) is None  # just under / up to the limit
    with pytest.raises(quotas.QuotaExceeded):
        _check(app, parepare, Quota.STORAGE, 501)  # would go over
    use["now"] = 1000  # at
    with pytest.raises(quotas.QuotaExceeded) as at_limit:
        _check(app, parepare, Quota.STORAGE, 1)
    status, body, _ = _problem(app, at_limit.value)
    assert status == 403 and body["quota"] == "storage_bytes"
    assert body["limit"] == 1000 and body["used"] == 1000 and body["requested"] == 1
    assert "penyimpanan berkas" in body["detail"] and "file storage" in body["detail_en"]
    use["now"] = 1200  # over (plan lowered)
    with pytest.raises(quotas.QuotaExceeded):
        _check(app, parepare, Quota.STORAGE, 1)


# --- API requests per minute ---------------------------------------------------------------------


def test_api_rate_under_at_over_and_429_body(app, client, parepare, parepare_admin):
    put_on_plan(app, parepare, api_requests_per_minute=3)
    _wait_for_fresh_minute()
    first = client.get("/api/v1/t/parepare/usage", headers=parepare_admin.headers)
    second = client.get("/api/v1/t/parepare/usage", headers=parepare_admin.headers)
    assert first.status_code == 200 and second.status_code == 200  # under
    third = client.get("/api/v1/t/parepare/plan", headers=parepare_admin.headers)
    assert third.status_code == 200  # at the limit: the 3rd of 3 is served
    fourth = client.get("/api/v1/t/parepare/plan", headers=parepare_admin.headers)
    assert fourth.status_code == 429  # over
    assert fourth.headers["Content-Type"] == "application/problem+json"
    retry = int(fourth.headers["Retry-After"])
    assert 1 <= retry <= 60
    body = fourth.json
    assert body["quota"] == "api_requests_per_minute"
    assert body["limit"] == 3 and body["used"] == 3 and body["retry_after"] == retry
    assert body["title"] == "Terlalu banyak permintaan"
    assert f"Coba lagi dalam {retry} detik" in body["detail"]
    assert f"Try again in {retry} seconds" in body["detail_en"]
    # Three were served and are the district's usage; the refused one is not.
    from slrt.billing_free.meter import LIVE_KEY, Metric, field_for
    from slrt.billing_free.plans import district_today
    from slrt.platform.redis_client import get_redis

    with app.app_context():
        field = field_for(parepare.id, Metric.API_CALLS, day=district_today(zone=parepare.zone))
        assert int(get_redis().hget(LIVE_KEY, field)) == 3


def test_api_rate_is_per_district_and_strangers_do_not_use_it(
    app, client, parepare, kendal, parepare_admin, kendal_admin
):
    put_on_plan(app, parepare, api_requests_per_minute=2)
    _wait_for_fresh_minute()
    # Kendal's admin probing Parepare gets 404 and uses none of Parepare's allowance.
    for _ in range(5):
        assert (
            client.get("/api/v1/t/parepare/plan", headers=kendal_admin.headers).status_code == 404
        )
        assert client.get("/api/v1/t/parepare/plan").status_code in (401, 404)
    assert client.get("/api/v1/t/parepare/plan", headers=parepare_admin.headers).status_code == 200
    assert client.get("/api/v1/t/parepare/plan", headers=parepare_admin.headers).status_code == 200
    assert client.get("/api/v1/t/parepare/plan", headers=parepare_admin.headers).status_code == 429
    # Kendal is on its own allowance.
    assert client.get("/api/v1/t/kendal/plan", headers=kendal_admin.headers).status_code == 200


# --- daily quotas ------------------------------------------------------------------------------


def test_exports_per_day_under_at_over_and_next_day(app, parepare):
    put_on_plan(app, parepare, exports_per_day=2)
    with app.app_context(), tenant_context(parepare.ref()):
        assert quotas.require_daily(Quota.EXPORTS).granted == 1  # under
        assert quotas.require_daily(Quota.EXPORTS).granted == 1  # reaches the limit
        with pytest.raises(quotas.RateLimited) as over:
            quotas.require_daily(Quota.EXPORTS)
        exc = over.value
        assert exc.code == 429
        assert exc.extra["quota"] == "exports_per_day"
        assert exc.extra["limit"] == 2 and exc.extra["used"] == 2
        zone = ZoneInfo(parepare.zone)  # Parepare's day (WITA), not Jakarta's
        midnight = dt.datetime.combine(
            dt.datetime.now(zone).date() + dt.timedelta(days=1), dt.time(0), tzinfo=zone
        )
        expected = (midnight - dt.datetime.now(dt.UTC)).total_seconds()
        assert abs(int(exc.extra_headers["Retry-After"]) - expected) < 5
        assert "Coba lagi dalam" in str(exc.detail)
        # A refused request takes nothing: still 2 used.
        assert quotas.daily_used(parepare.id, Quota.EXPORTS) == 2
        # Tomorrow (Parepare's) the allowance is fresh.
        tomorrow = midnight + dt.timedelta(minutes=1)
        assert quotas.take_daily(Quota.EXPORTS, 1, partial=False, now=tomorrow).granted == 1
        db.session.remove()


def test_import_rows_grant_is_partial_and_idempotent(app, parepare):
    put_on_plan(app, parepare, import_rows_per_day=100)
    with app.app_context(), tenant_context(parepare.ref()):
        assert quotas.take_daily(Quota.IMPORT_ROWS, 60, key="job1:0").granted == 60
        # The same chunk retried (worker died after taking it) gets the same grant, not more.
        assert quotas.take_daily(Quota.IMPORT_ROWS, 60, key="job1:0").granted == 60
        assert quotas.daily_used(parepare.id, Quota.IMPORT_ROWS) == 60
        grant = quotas.take_daily(Quota.IMPORT_ROWS, 60, key="job1:60")
        assert grant.granted == 40 and grant.held  # just over: the rest waits
        resumes = grant.resume_at.astimezone(ZoneInfo(parepare.zone))
        assert resumes.hour == resumes.minute == 0  # Parepare's midnight
        assert quotas.take_daily(Quota.IMPORT_ROWS, 1, key="job2:0").granted == 0  # at the limit
        db.session.remove()


def _run_import(rows: list[int], position: int, stored: list[int], job: str, now=None):
    """The import loop as the jobs feature runs it: chunks, a grant per chunk (idempotent by
    job and first row), store what is granted, hold the rest."""
    chunk = 25
    while position < len(rows):
        part = rows[position : position + chunk]
        grant = quotas.take_daily(Quota.IMPORT_ROWS, len(part), key=f"{job}:{position}", now=now)
        stored.extend(part[: grant.granted])
        position += grant.granted
        if grant.held:
            return position, grant.resume_at
    return position, None


def test_import_over_daily_rows_is_held_and_resumes_next_day_with_nothing_lost(app, parepare):
    put_on_plan(app, parepare, import_rows_per_day=60)
    rows = list(range(130))
    stored: list[int] = []
    today = dt.datetime.now(dt.UTC)
    zone = ZoneInfo(parepare.zone)
    with app.app_context(), tenant_context(parepare.ref()):
        position, held_until = _run_import(rows, 0, stored, "imp", now=today)
        assert position == 60 and stored == rows[:60]
        assert held_until == dt.datetime.combine(
            today.astimezone(zone).date() + dt.timedelta(days=1), dt.time(0), tzinfo=zone
        )
        # Resuming the same day grants nothing more.
        assert _run_import(rows, position, stored, "imp", now=today) == (60, held_until)
        day2 = held_until + dt.timedelta(seconds=1)
        position, held_until2 = _run_import(rows, position, stored, "imp", now=day2)
        assert position == 120 and held_until2 is not None
        position, done = _run_import(rows, position, stored, "imp", now=held_until2)
        assert done is None and position == 130
        assert stored == rows  # every row once, in order: nothing lost, nothing doubled
        db.session.remove()


# --- jobs cap ------------------------------------------------------------------------------------


def test_jobs_cap_follows_the_plan(app, parepare, kendal):
    with app.app_context():
        assert quotas.jobs_cap(parepare.id) == 2  # Lokus Kemensos
        db.session.remove()
    put_on_plan(app, parepare, max_concurrent_jobs=1)
    with app.app_context():
        assert quotas.jobs_cap(parepare.id) == 1
        assert quotas.jobs_cap(kendal.id) == 2
        db.session.remove()


# --- soft limit -----------------------------------------------------------------------------------


def test_warning_header_and_notices_at_80_percent(app, client, parepare, parepare_admin):
    put_on_plan(app, parepare, max_accounts=5)
    for role in ("facilitator", "supervisor"):
        member(app, parepare, role)
    below = client.get("/api/v1/t/parepare/plan", headers=parepare_admin.headers)
    assert "SLRT-Quota-Warning" not in below.headers  # 3 of 5: 60%
    assert client.get("/api/v1/t/parepare/usage/notices", headers=parepare_admin.headers).json == []
    member(app, parepare, "front_office")  # 4 of 5: 80%
    quotas_cache_reset(app, parepare)
    warned = client.get("/api/v1/t/parepare/plan", headers=parepare_admin.headers)
    assert warned.headers["SLRT-Quota-Warning"] == "accounts=4/5"
    notices = client.get("/api/v1/t/parepare/usage/notices", headers=parepare_admin.headers).json
    assert [n["code"] for n in notices] == ["quota.warning"]
    assert notices[0]["quota"] == "accounts" and notices[0]["used"] == 4
    assert notices[0]["message"].startswith("Pemakaian akun aktif sudah 80% dari kuota paket")
    assert "Active accounts use is at 80%" in notices[0]["message_en"]
    member(app, parepare, "back_office")  # 5 of 5
    quotas_cache_reset(app, parepare)
    full = client.get("/api/v1/t/parepare/usage/notices", headers=parepare_admin.headers)
    assert full.headers["SLRT-Quota-Warning"] == "accounts=5/5"
    assert full.json[0]["code"] == "quota.limit" and "sudah penuh" in full.json[0]["message"]
    # Strangers learn nothing from the header.
    other = client.get("/api/v1/t/parepare/plan")
    assert "SLRT-Quota-Warning" not in other.headers


def quotas_cache_reset(app, tenant) -> None:
    """Members added straight through the membership helper (not through a checked API call)
    leave the 30-second soft-limit cache as it was; drop it as a checked addition would."""
    with app.app_context():
        quotas.forget_snapshot(tenant.id)


def test_import_rows_notice_says_held_imports_resume(app, client, parepare, parepare_admin):
    put_on_plan(app, parepare, import_rows_per_day=10)
    with app.app_context(), tenant_context(parepare.ref()):
        assert quotas.take_daily(Quota.IMPORT_ROWS, 15, key="j:0").granted == 10
        db.session.remove()
    notices = client.get("/api/v1/t/parepare/usage/notices", headers=parepare_admin.headers).json
    held = [n for n in notices if n["quota"] == "import_rows_per_day"]
    assert held and held[0]["code"] == "quota.limit"
    assert "dilanjutkan otomatis besok" in held[0]["message"]
    assert "resume automatically tomorrow" in held[0]["message_en"]


def test_trial_end_notice(app, client, parepare, parepare_admin, kemensos_admin):
    soon = (dt.datetime.now(ZoneInfo(parepare.zone)).date() + dt.timedelta(days=5)).isoformat()
    resp = client.put(
        "/api/v1/platform/tenants/parepare/plan",
        json={"plan": "uji-coba", "reason": "uji coba singkat", "expires_on": soon},
        headers=kemensos_admin.headers,
    )
    assert resp.status_code == 200
    notices = client.get("/api/v1/t/parepare/usage/notices", headers=parepare_admin.headers).json
    ending = [n for n in notices if n["code"] == "plan.ending"]
    assert ending and soon in ending[0]["message"] and "(5 hari lagi)" in ending[0]["message"]


def test_api_rate_reserved_a_few_at_a_time_serves_exactly_the_limit(
    app, client, parepare, parepare_admin
):
    """The process reserves requests in growing leases, and another process serving the same
    district reserves its own: together they are never served more than the limit, and this
    process serves all it reserved (the meter counts what was served, not what was reserved)."""
    from slrt.billing_free.meter import Metric, unflushed
    from slrt.billing_free.plans import district_today
    from slrt.platform.redis_client import get_redis

    put_on_plan(app, parepare, api_requests_per_minute=100)
    _wait_for_fresh_minute(margin=20)
    quotas._leases.clear()
    url = "/api/v1/t/parepare/plan"
    served = 0
    for _ in range(10):
        assert client.get(url, headers=parepare_admin.headers).status_code == 200
        served += 1
    window, _ = quotas._minute_window(time.time())
    with app.app_context():
        key = quotas._rate_key(parepare.id, window)
        get_redis().incrby(key, 35)  # another process's reservations
    while (status := client.get(url, headers=parepare_admin.headers).status_code) == 200:
        served += 1
        assert served <= 100
    assert status == 429
    assert served == 100 - 35
    with app.app_context():
        assert int(get_redis().get(key)) >= 100
        today = district_today(zone=parepare.zone).isoformat()
        assert unflushed(parepare.id)[(today, str(Metric.API_CALLS), "")] == served


def test_a_forked_process_neither_spends_nor_sends_what_its_parent_holds(app, parepare):
    import os

    from slrt.billing_free import meter

    field = meter.field_for(parepare.id, meter.Metric.API_CALLS, day=dt.date(2026, 1, 2))
    meter.hold(field, 3)
    with quotas._leases_lock:
        quotas._leases[parepare.id] = quotas._Lease(window=1, left=5, counted=5, size=8)
    pid = os.fork()
    if pid == 0:  # the child: exits 0 only if it starts with nothing of its parent's
        os._exit(0 if not meter.take_held() and not quotas._leases else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert meter.take_held() == {field: 3}  # the parent still holds its own
    assert quotas._leases[parepare.id].left == 5
