"""Daily quotas, usage days, "held until tomorrow" and statement months are the district's own:
Parepare (WITA, UTC+8) starts its day an hour before Kendal (WIB, UTC+7)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from slrt.billing_free import meter, plans, quotas
from slrt.billing_free.meter import Metric
from slrt.billing_free.models import UsageDaily
from slrt.billing_free.plans import Quota
from slrt.platform import db
from slrt.platform.tenancy import tenant_context
from tests.billing_free.test_metering import count_committed
from tests.billing_free.test_quotas import put_on_plan

WITA, WIB = ZoneInfo("Asia/Makassar"), ZoneInfo("Asia/Jakarta")
# 00:30 on 11 March in Parepare; still 23:30 on 10 March in Kendal and 16:30 in UTC.
MOMENT = dt.datetime(2026, 3, 11, 0, 30, tzinfo=WITA)


def test_usage_is_counted_on_the_districts_own_day(app, parepare, kendal, monkeypatch) -> None:
    monkeypatch.setattr(plans, "utcnow", lambda: MOMENT.astimezone(dt.UTC))
    count_committed(app, parepare, Metric.INTAKES)
    count_committed(app, kendal, Metric.INTAKES)
    with app.app_context():
        meter.flush()
        days = {}
        for tenant in (parepare, kendal):
            with tenant_context(tenant.ref()):
                days[tenant.slug] = db.session.execute(
                    sa.select(UsageDaily.day).where(UsageDaily.metric == str(Metric.INTAKES))
                ).scalar_one()
        db.session.remove()
    assert days == {"parepare": dt.date(2026, 3, 11), "kendal": dt.date(2026, 3, 10)}


def test_a_daily_quota_renews_and_a_held_import_resumes_at_the_districts_midnight(
    app, parepare, kendal
) -> None:
    for tenant in (parepare, kendal):
        put_on_plan(app, tenant, import_rows_per_day=10)
    resumes = {}
    for tenant in (parepare, kendal):
        with app.app_context(), tenant_context(tenant.ref()):
            grant = quotas.take_daily(Quota.IMPORT_ROWS, 15, key="j:0", now=MOMENT)
            assert grant.granted == 10 and grant.held
            resumes[tenant.slug] = grant.resume_at
            db.session.remove()
    assert resumes["parepare"] == dt.datetime(2026, 3, 12, 0, 0, tzinfo=WITA)
    # Kendal's day ends half an hour later, at its own midnight (not 24 hours on).
    assert resumes["kendal"] == dt.datetime(2026, 3, 11, 0, 0, tzinfo=WIB)
    with app.app_context(), tenant_context(parepare.ref()):
        next_day = quotas.take_daily(Quota.IMPORT_ROWS, 5, key="j:10", now=resumes["parepare"])
        assert next_day.granted == 5
        db.session.remove()


def test_a_statement_month_is_the_districts_calendar_month(app, parepare, monkeypatch) -> None:
    from slrt.billing_free import actions
    from slrt.billing_free.statements import build_statement
    from slrt.platform.actor import Actor, acting_as
    from slrt.platform.tenant import Tenant

    # Kemensos moves Parepare to the trial plan at 00:30 on 1 March, Parepare's time (28
    # February in Jakarta and in UTC).
    monkeypatch.setattr(actions, "_now", lambda: dt.datetime(2026, 3, 1, 0, 30, tzinfo=WITA))
    with app.app_context(), acting_as(Actor(kind="account", label="admin@kemensos.go.id")):
        tenant = db.session.get(Tenant, parepare.id)
        trial = plans.plan_by_key("uji-coba")
        actions.assign_plan(tenant, trial, "Uji coba")
        db.session.remove()
    with app.app_context(), tenant_context(parepare.ref()):
        february = build_statement(parepare.ref(), "2026-02")
        march = build_statement(parepare.ref(), "2026-03")
        db.session.remove()
    assert "uji-coba" not in [p["key"] for p in february.plans]
    [period] = [p for p in march.plans if p["key"] == "uji-coba"]
    assert period["from"] == dt.date(2026, 3, 1)
    assert period["expires_on"] == dt.date(2026, 3, 1) + dt.timedelta(days=90)
