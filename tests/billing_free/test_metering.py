"""Metering: counts match the actions performed; flushes are idempotent; losing Redis loses at most
the counts since the last flush."""

from __future__ import annotations

import shutil

import sqlalchemy as sa

from slrt.billing_free import meter
from slrt.billing_free.meter import Metric
from slrt.billing_free.models import UsageDaily
from slrt.billing_free.plans import district_today
from slrt.platform import db
from slrt.platform.commands.embedded import EmbeddedRedis, free_port
from slrt.platform.redis_client import get_redis, reset_redis
from slrt.platform.tenancy import tenant_context
from tests.fixtures import member


def stored(app, tenant, metric: Metric, village: str | None = None) -> int:
    with app.app_context(), tenant_context(tenant.ref()):
        stmt = sa.select(sa.func.coalesce(sa.func.sum(UsageDaily.value), 0)).where(
            UsageDaily.metric == str(metric), UsageDaily.day == district_today()
        )
        if village is not None:
            stmt = stmt.where(UsageDaily.village_code == village)
        value = db.session.execute(stmt).scalar_one()
        db.session.remove()
        return int(value)


def flush(app) -> meter.FlushResult:
    with app.app_context():
        result = meter.flush()
        db.session.remove()
        return result


def count_committed(
    app, tenant, metric: Metric, n: int = 1, village: str | None = None, *, commit=True
):
    with app.app_context(), tenant_context(tenant.ref()):
        db.session.execute(sa.select(1))  # inside a transaction, as a feature's write would be
        meter.count(metric, n, village_code=village)
        if commit:
            db.session.commit()
        else:
            db.session.rollback()
        db.session.remove()


def test_counts_match_actions(app, client, parepare, kendal, parepare_admin, kendal_admin):
    for _ in range(7):
        assert (
            client.get("/api/v1/t/parepare/plan", headers=parepare_admin.headers).status_code == 200
        )
    for _ in range(2):
        assert client.get("/api/v1/t/kendal/usage", headers=kendal_admin.headers).status_code == 200
    # Strangers' refused requests are not the district's usage.
    assert client.get("/api/v1/t/parepare/plan", headers=kendal_admin.headers).status_code == 404
    for village in ("73.72.01.1004", "73.72.01.1004", "73.72.02.1005"):
        count_committed(app, parepare, Metric.INTAKES, village=village)
    count_committed(app, parepare, Metric.INTAKES, village="73.72.01.1004", commit=False)
    count_committed(app, parepare, Metric.REFERRALS, 2, village="73.72.02.1005")
    count_committed(app, parepare, Metric.IMPORT_ROWS, 1500)
    count_committed(app, parepare, Metric.EXPORTS)
    count_committed(app, parepare, Metric.JOBS_RUN, 2)
    member(app, parepare, "facilitator")

    result = flush(app)
    assert result.batches == 1 and result.replayed == 0
    assert stored(app, parepare, Metric.API_CALLS) == 7
    assert stored(app, kendal, Metric.API_CALLS) == 2
    assert stored(app, parepare, Metric.INTAKES) == 3  # the rolled-back one is not usage
    assert stored(app, parepare, Metric.INTAKES, "73.72.01.1004") == 2
    assert stored(app, parepare, Metric.INTAKES, "73.72.02.1005") == 1
    assert stored(app, parepare, Metric.REFERRALS) == 2
    assert stored(app, parepare, Metric.IMPORT_ROWS) == 1500
    assert stored(app, parepare, Metric.EXPORTS) == 1
    assert stored(app, parepare, Metric.JOBS_RUN) == 2
    assert stored(app, parepare, Metric.ACTIVE_ACCOUNTS) == 2  # admin + facilitator
    assert stored(app, kendal, Metric.ACTIVE_ACCOUNTS) == 1
    assert stored(app, kendal, Metric.INTAKES) == 0

    # A second flush with nothing new changes nothing; new counts add up.
    flush(app)
    assert stored(app, parepare, Metric.API_CALLS) == 7
    client.get("/api/v1/t/parepare/plan", headers=parepare_admin.headers)
    flush(app)
    assert stored(app, parepare, Metric.API_CALLS) == 8


def test_current_usage_shows_unflushed_counts(app, client, parepare, parepare_admin):
    count_committed(app, parepare, Metric.REFERRALS, 4, village="73.72.01.1004")
    resp = client.get("/api/v1/t/parepare/usage", headers=parepare_admin.headers)
    assert resp.status_code == 200
    assert resp.json["today"]["referrals"] == 4
    assert resp.json["today"]["api_calls"] == 1  # this very request
    assert resp.json["today"]["active_accounts"] == 1
    flush(app)
    again = client.get("/api/v1/t/parepare/usage", headers=parepare_admin.headers).json
    assert again["today"]["referrals"] == 4 and again["today"]["api_calls"] == 2
    assert again["month_to_date"]["referrals"] == 4


def test_flush_is_idempotent_across_crashes(app, parepare):
    conn = get_redis()
    count_committed(app, parepare, Metric.INTAKES, 5)
    # Crash after the DB commit but before the batch was deleted from Redis.
    with app.app_context():
        key = meter.move_live_to_pending(conn)
        assert key is not None
        assert meter.write_batch(key, conn) is True
        db.session.remove()
    assert stored(app, parepare, Metric.INTAKES) == 5
    count_committed(app, parepare, Metric.INTAKES, 2)
    result = flush(app)
    assert result.replayed == 1 and result.batches == 1
    assert stored(app, parepare, Metric.INTAKES) == 7  # 5 once, not twice, plus the 2 new
    # Crash after moving to pending but before the DB write: the next flush writes it once.
    count_committed(app, parepare, Metric.INTAKES, 3)
    with app.app_context():
        assert meter.move_live_to_pending(conn) is not None
    assert stored(app, parepare, Metric.INTAKES) == 7
    flush(app)
    flush(app)
    assert stored(app, parepare, Metric.INTAKES) == 10
    assert conn.scard(meter.PENDING_SET) == 0 and not conn.exists(meter.LIVE_KEY)


def test_redis_restart_loses_at_most_one_flush_interval(app, parepare, tmp_path, monkeypatch):
    redis_dir = tmp_path / "own-redis"
    own = EmbeddedRedis(redis_dir, free_port(), "meter-test-pw")
    own.start()
    try:
        monkeypatch.setenv("REDIS_URL", own.url())
        reset_redis()
        count_committed(app, parepare, Metric.API_CALLS, 10)
        flush(app)
        assert stored(app, parepare, Metric.API_CALLS) == 10

        # A graceful restart (append-only file) keeps even the unflushed counts.
        count_committed(app, parepare, Metric.API_CALLS, 4)
        own.stop()
        own.start()
        reset_redis()
        flush(app)
        assert stored(app, parepare, Metric.API_CALLS) == 14

        # The worst case: Redis dies and its data is gone. Only what was counted since the last
        # flush (this interval's 6) is lost; everything flushed before stays.
        count_committed(app, parepare, Metric.API_CALLS, 6)
        own.process.kill()
        own.process.wait()
        own.process = None
        shutil.rmtree(redis_dir)
        own.start()
        reset_redis()
        assert get_redis().exists(meter.LIVE_KEY) == 0
        assert stored(app, parepare, Metric.API_CALLS) == 14
        count_committed(app, parepare, Metric.API_CALLS, 3)
        flush(app)
        assert stored(app, parepare, Metric.API_CALLS) == 17  # 14 + 3: lost exactly the 6
    finally:
        reset_redis()
        own.stop()


def test_metering_survives_redis_down_without_failing_the_action(app, parepare, monkeypatch):
    monkeypatch.setenv("REDIS_URL", f"redis://:x@127.0.0.1:{free_port()}/0")
    reset_redis()
    try:
        count_committed(app, parepare, Metric.INTAKES)  # no exception: the intake is kept
    finally:
        monkeypatch.undo()
        reset_redis()


def test_held_api_calls_are_sent_once_hold_seconds_old_and_when_the_process_exits(
    app, parepare, monkeypatch
):
    import datetime as dt
    import subprocess
    import sys

    field = meter.field_for(parepare.id, Metric.API_CALLS, day=dt.date(2026, 1, 2))
    with app.app_context():
        live = get_redis()
        monkeypatch.setattr(meter, "HOLD_SECONDS", 3600.0)
        meter.hold(field, 2)
        assert live.hget(meter.LIVE_KEY, field) is None  # held in the process
        monkeypatch.setattr(meter, "HOLD_SECONDS", 0.0)
        meter.hold(field)
        assert int(live.hget(meter.LIVE_KEY, field)) == 3  # the oldest was old enough: all sent
        # A process that ends sends what it holds on its way out.
        code = f"from slrt.billing_free import meter; meter.hold({field!r}, 4)"
        subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
        assert int(live.hget(meter.LIVE_KEY, field)) == 7
