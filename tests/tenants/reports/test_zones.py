"""Reports count the district's own days and months: Parepare lives in WITA (UTC+8), not UTC."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from slrt.platform import db
from slrt.platform.tenancy import tenant_context
from tests.scenarios.test_scheduled_work import LOMPOE, SOREANG, add_case

WITA = ZoneInfo("Asia/Makassar")


def wita(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=WITA)


def test_aggregates_count_the_districts_own_days(app, parepare) -> None:
    from slrt.tenants.reports.aggregates import refresh

    # The nightly run at 17:00 UTC is 01:00 on 11 March in Parepare: its day is the 11th, and
    # its last 30 days are 10 February to 11 March, from Parepare's midnight.
    at = wita(2026, 3, 11, 1, 0)
    add_case(app, parepare, LOMPOE, ticket="7372-2026-000001", created_at=wita(2026, 2, 10, 0, 30))
    add_case(app, parepare, SOREANG, ticket="7372-2026-000002", created_at=wita(2026, 2, 9, 12, 0))
    with app.app_context(), tenant_context(parepare.ref()):
        row = refresh(at)
        db.session.commit()
        assert row.day == dt.date(2026, 3, 11)  # was 10 March: UTC's day
        assert row.intakes_total == 2
        assert (row.intakes_last_30_days, row.active_villages) == (1, 1)  # not 9 February
        db.session.remove()


def test_the_monthly_report_takes_the_districts_calendar_month(app, parepare) -> None:
    from slrt.tenants.reports.monthly import build

    # 00:30 on 1 February in Parepare is still 31 January in UTC; 00:30 on 1 March is 28 Feb.
    add_case(app, parepare, LOMPOE, ticket="7372-2026-000011", created_at=wita(2026, 2, 1, 0, 30))
    add_case(app, parepare, LOMPOE, ticket="7372-2026-000012", created_at=wita(2026, 3, 1, 0, 30))
    add_case(
        app,
        parepare,
        LOMPOE,
        ticket="7372-2026-000013",
        created_at=wita(2026, 2, 14, 10, 0),
        referrals=[{"program": "pbi", "sent_at": wita(2026, 2, 14, 10, 0),
                    "due_at": wita(2026, 2, 21, 0, 30)}],
    )  # fmt: skip
    with app.app_context(), tenant_context(parepare.ref()):
        report = build("2026-02", now=wita(2026, 3, 2, 3, 0))
        db.session.remove()
    assert report.intakes_total == 2  # the 1 February case in, the 1 March case out
    [late] = report.overdue
    assert late["due_on"] == dt.date(2026, 2, 21)  # Parepare's date, not UTC's 20 February
