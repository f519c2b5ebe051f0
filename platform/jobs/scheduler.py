"""`slrt scheduler`: scheduled work, the outbox relay, retries and recovery, one active instance.

Several schedulers may run (one per host, for availability); only the one holding the PostgreSQL
advisory lock `SCHEDULER_LOCK` acts. The lock lives on a dedicated connection, so it is released
the moment that process or its connection dies, and a standby takes over on its next try. Each
tick of the active scheduler:

1. relays outbox rows left behind (jobs_outbox.relay_pending);
2. moves rq jobs whose retry time has come from the scheduled registries back onto their queues
   (rq's own RQScheduler code, over the current set of district queues);
3. cleans rq's registries: abandoned jobs retried, exhausted ones marked failed, and jobs whose
   rq job Redis lost (a crash loses its last second of writes) pushed again (jobs_recovery);
4. fires due schedules: for every active district, in that district's context, `enqueue(kind)`
   with a dedup key naming the schedule and the period, all in one transaction with advancing the
   schedule, so a period runs exactly once per district even if the scheduler crashes mid-way.

A schedule whose kind is in PLATFORM_TASKS is platform-level work (e.g. the OAuth purge): the
scheduler calls that function itself, once per period, not once per district.

Schedules are rows of `job_schedules` (a platform table; a Kemensos operator may disable or move
one). Features declare their defaults in SCHEDULES; the scheduler inserts missing rows at start
and never overwrites a row an operator changed.

Times are UTC, one moment for every district, chosen to fall in the night in all three of
Indonesia's zones: the nightly work runs between 18:00 and 20:00 UTC, which is 01:00-03:00 WIB,
02:00-04:00 WITA and 03:00-05:00 WIT, after every district's midnight and before its offices
open. What a run counts as "today" or "last month" is the district's own (its zone: its
province's, or its admin's choice), so the single UTC moment shifts nobody's figures: the
monthly report on the 1st at 20:00 UTC finds the previous month closed in every zone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module

import sqlalchemy as sa
from rq.scheduler import RQScheduler

from slrt.platform import db
from slrt.platform.actor import SYSTEM
from slrt.platform.jobs.models import JobSchedule
from slrt.platform.tenancy import tenant_context

log = logging.getLogger(__name__)


SCHEDULER_LOCK = 0x534C5254_0006  # "SLRT" + 6: one active scheduler per database

CADENCES = ("hourly", "daily", "monthly")


@dataclass(frozen=True)
class Schedule:
    key: str
    kind: str
    cadence: str
    minute: int = 0
    hour: int = 0
    day: int = 1


# Default schedules; a feature adds its line (its handler must be registered under `kind`).
SCHEDULES: list[Schedule] = [
    Schedule("purge-job-files", "jobs.purge_files", "daily", minute=30, hour=19),
    Schedule("escalate-overdue-referrals", "referrals.escalate", "hourly", minute=5),
    Schedule("refresh-aggregates", "reports.aggregates", "daily", minute=0, hour=18),
    Schedule("monthly-report", "reports.monthly", "monthly", minute=0, hour=20, day=1),
    Schedule("purge-oauth", "auth.purge_oauth", "daily", minute=45, hour=19),
    Schedule("purge-field-uploads", "field.purge", "daily", minute=15, hour=19),
    # After midnight in all three zones: "past its deadline" is the district's own day.
    Schedule("deem-overdue-submissions", "dtsen.deem_overdue", "daily", minute=30, hour=18),
    Schedule("mail-digest", "mail.digest", "daily", minute=0, hour=23),  # 06:00 WIB
]


# Platform-level schedule kinds: "module:function" run once per period by the scheduler (not a
# district job). The function commits its own work and must be idempotent (a crash before the
# schedule advances runs it again).
PLATFORM_TASKS: dict[str, str] = {
    "auth.purge_oauth": "slrt.auth.oauth.purge:purge_expired_oauth_rows",
}


def platform_task(kind: str) -> Callable[[], object] | None:
    spec = PLATFORM_TASKS.get(kind)
    if spec is None:
        return None
    module, attribute = spec.split(":")
    return getattr(import_module(module), attribute)


def next_run(cadence: str, minute: int, hour: int, day: int, after: dt.datetime) -> dt.datetime:
    """The first time strictly after `after` (UTC) that the cadence names."""
    after = after.astimezone(dt.UTC)
    if cadence == "hourly":
        candidate = after.replace(minute=minute, second=0, microsecond=0)
        if candidate <= after:
            candidate += dt.timedelta(hours=1)
        return candidate
    if cadence == "daily":
        candidate = after.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if candidate <= after:
            candidate += dt.timedelta(days=1)
        return candidate
    if cadence == "monthly":
        candidate = after.replace(day=day, hour=hour, minute=minute, second=0, microsecond=0)
        if candidate <= after:
            year, month = (
                (after.year + 1, 1) if after.month == 12 else (after.year, after.month + 1)
            )
            candidate = candidate.replace(year=year, month=month)
        return candidate
    raise ValueError(f"unknown cadence {cadence!r}")


def sync_schedules(now: dt.datetime | None = None) -> None:
    """Insert the default schedules that are missing; leave existing rows alone."""
    now = now or dt.datetime.now(dt.UTC)
    existing = set(db.session.execute(sa.select(JobSchedule.key)).scalars())
    for s in SCHEDULES:
        if s.key in existing:
            continue
        db.session.add(
            JobSchedule(
                key=s.key,
                kind=s.kind,
                cadence=s.cadence,
                minute=s.minute,
                hour=s.hour,
                day=s.day,
                enabled=True,
                next_run_at=next_run(s.cadence, s.minute, s.hour, s.day, now),
            )
        )
    db.session.commit()


def active_tenants() -> list:
    """Every active district (tenants is a platform table: no bypass needed to list it)."""
    from slrt.platform.tenant import Tenant, TenantStatus

    rows = db.session.execute(
        sa.select(Tenant).where(Tenant.status == TenantStatus.active.value).order_by(Tenant.id)
    ).scalars()
    return [t.ref() for t in rows]


def fire_due(now: dt.datetime | None = None) -> int:
    """Fan every due schedule out to every active district; return the jobs enqueued."""
    from slrt.platform.jobs.actions import enqueue
    from slrt.platform.jobs.handlers import handler_for

    now = now or dt.datetime.now(dt.UTC)
    due = (
        db.session.execute(
            sa.select(JobSchedule)
            .where(JobSchedule.enabled.is_(True), JobSchedule.next_run_at <= now)
            .order_by(JobSchedule.next_run_at)
            .with_for_update(skip_locked=True)
        )
        .scalars()
        .all()
    )
    enqueued = 0
    for schedule in due:
        task = platform_task(schedule.kind)
        if task is not None:
            task()  # commits its own work; the schedule advances in the commit below
            schedule.last_run_at = now
            schedule.next_run_at = next_run(
                schedule.cadence, schedule.minute, schedule.hour, schedule.day, now
            )
            continue
        try:
            handler_for(schedule.kind)
        except LookupError:
            log.error("schedule %s names unknown job kind %s; skipped", schedule.key, schedule.kind)
            continue
        period = schedule.next_run_at.astimezone(dt.UTC).isoformat()
        for tenant in active_tenants():
            with tenant_context(tenant):
                enqueue(
                    schedule.kind,
                    {"schedule": schedule.key, "period": period},
                    dedup_key=f"schedule:{schedule.key}:{period}",
                    actor=SYSTEM,
                )
                db.session.flush()
            enqueued += 1
        schedule.last_run_at = now
        schedule.next_run_at = next_run(
            schedule.cadence, schedule.minute, schedule.hour, schedule.day, now
        )
    db.session.commit()  # the outbox rows go out after this commit
    return enqueued


def promote_retries() -> None:
    """Move rq jobs whose retry time has come back onto their district queues."""
    from slrt.platform.jobs.queue import known_queue_names
    from slrt.platform.redis_client import get_redis

    names = known_queue_names()
    if not names:
        return
    scheduler = RQScheduler(names, connection=get_redis())
    scheduler._connection = get_redis()
    scheduler.prepare_registries(names)
    scheduler.enqueue_scheduled_jobs()


def tick(now: dt.datetime | None = None, *, relay_only: bool = False) -> None:
    """One round of the active scheduler's duties (each guarded: one failing does not stop the
    others). `relay_only`: just the outbox, the cheap step run every second; the rest walks
    every district queue and runs once per heartbeat interval."""
    from slrt.billing_free.meter import flush_if_due
    from slrt.platform.jobs.outbox import relay_pending
    from slrt.platform.jobs.recovery import recover, requeue_lost
    from slrt.platform.mail import deliver_due

    steps = [relay_pending]
    if not relay_only:
        # flush_if_due: usage counters from Redis to PostgreSQL every SLRT_USAGE_FLUSH_SECONDS.
        # deliver_due: mail outside any district (password resets), which has no district job.
        steps += [
            promote_retries,
            recover,
            requeue_lost,
            lambda: fire_due(now),
            flush_if_due,
            deliver_due,
        ]
    for step in steps:
        try:
            step()
        except Exception:
            log.exception("scheduler step failed")
            db.session.rollback()
        finally:
            db.session.remove()


class Leadership:
    """The advisory lock that makes one scheduler active."""

    def __init__(self) -> None:
        self.conn: sa.Connection | None = None

    def acquire(self) -> bool:
        try:
            if self.conn is None:
                self.conn = db.engine().connect()
            held = self.conn.execute(
                sa.select(sa.func.pg_try_advisory_lock(SCHEDULER_LOCK))
            ).scalar()
            self.conn.commit()
            return bool(held)
        except sa.exc.DBAPIError:
            self.release()
            return False

    def release(self) -> None:
        if self.conn is not None:
            # The connection goes back to a pool: the session-level lock must be let go first.
            with contextlib.suppress(Exception):  # the connection may already be dead
                self.conn.execute(sa.select(sa.func.pg_advisory_unlock(SCHEDULER_LOCK)))
                self.conn.commit()
            with contextlib.suppress(Exception):
                self.conn.close()
            self.conn = None


def run_scheduler(interval: float = 1.0, once: bool = False) -> None:
    from slrt.platform.jobs.handlers import load_handlers
    from slrt.platform.logs import configure_logging
    from slrt.platform.runtime import database_url

    configure_logging()
    db.init_engine(database_url())
    load_handlers()
    stopping = False

    def _stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    from slrt.platform.jobs.worker import heartbeat_seconds, touch_alive

    leader = Leadership()
    synced = False
    full_every = heartbeat_seconds()
    last_full = 0.0
    while not stopping:
        touch_alive()
        if leader.acquire():
            if not synced:
                sync_schedules()
                synced = True
            full = once or time.monotonic() - last_full >= full_every
            tick(relay_only=not full)
            if full:
                last_full = time.monotonic()
        if once:
            break
        time.sleep(interval)
    leader.release()
