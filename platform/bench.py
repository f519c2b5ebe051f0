"""`make bench` (python -m slrt.platform.bench): benchmarks that print, never assert.

Runs on its own embedded PostgreSQL and Redis in a temporary directory (or on DATABASE_URL /
DATABASE_OWNER_URL / REDIS_URL when all three are set), with real forking workers.

(b) Fairness: district A enqueues 5,000 jobs, district B 20. B's median and worst wait (enqueue
    to start) is measured three ways with the same two workers and the same job code:
    B alone; A's backlog + B with the fair dispatch (per-district queues, round robin, cap);
    A's backlog + B on one plain FIFO rq queue. Printed side by side, with ratios to B alone.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from slrt.platform.jobs import job_handler

A_JOBS = int(os.environ.get("SLRT_BENCH_A_JOBS", "5000"))
B_JOBS = 20
WORKERS = 2
FIFO_QUEUE = "bench-fifo"


@job_handler("bench.noop", max_attempts=1)
def bench_noop(ctx) -> dict:
    return {}


# --- environment -------------------------------------------------------------------------------


def start_services(root: Path) -> tuple[dict[str, str], list]:
    if all(os.environ.get(k) for k in ("DATABASE_URL", "DATABASE_OWNER_URL", "REDIS_URL")):
        return {k: os.environ[k] for k in ("DATABASE_URL", "DATABASE_OWNER_URL", "REDIS_URL")}, []
    from slrt.platform.dbroles import RolePasswords, ensure_roles_and_database
    from slrt.platform.embedded import EmbeddedPostgres, EmbeddedRedis, free_port

    pg = EmbeddedPostgres(root / "pg", free_port(), "bench-superuser")
    pg.start()
    redis = EmbeddedRedis(root / "redis", free_port(), "bench-redis")
    redis.start()
    passwords = RolePasswords(owner="bench-owner", app="bench-app")
    ensure_roles_and_database(pg.url(), "slrt", passwords)
    urls = {
        "DATABASE_URL": pg.url("slrt_app", passwords.app, "slrt"),
        "DATABASE_OWNER_URL": pg.url("slrt_owner", passwords.owner, "slrt"),
        "REDIS_URL": redis.url(),
        "SLRT_DATA_DIR": str(root / "data"),
    }
    return urls, [redis, pg]


def stop_services(started: list) -> None:
    for service in started:
        if hasattr(service, "destroy"):
            service.destroy()
        else:
            service.stop()


def _workers(kind: str, n: int) -> list[subprocess.Popen]:
    env = dict(os.environ, SLRT_LOG_LEVEL="WARNING")
    return [
        subprocess.Popen(
            [sys.executable, "-m", "slrt.platform.bench", kind],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for _ in range(n)
    ]


def _stop(procs: list[subprocess.Popen]) -> None:
    import signal

    for p in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


# --- fairness ----------------------------------------------------------------------------------


def _enqueue(tenant, n: int, *, fifo: bool) -> list[uuid.UUID]:
    """Job records (and, for the fair path, the outbox) for `n` jobs of `tenant`."""
    from rq import Queue

    from slrt.platform import db
    from slrt.platform.jobs import enqueue
    from slrt.platform.jobs_outbox import JobOutbox, relay_pending
    from slrt.platform.redis_client import get_redis
    from slrt.platform.tenancy import tenant_context

    with tenant_context(tenant):
        ids = [enqueue("bench.noop", {"i": i}).id for i in range(n)]
        if fifo:  # the baseline skips the outbox and goes to one plain queue
            db.session.execute(sa.delete(JobOutbox).where(JobOutbox.job_id.in_(ids)))
        db.session.commit()
    if fifo:
        q = Queue(FIFO_QUEUE, connection=get_redis())
        with get_redis().pipeline() as pipe:
            for job_id in ids:
                q.enqueue(
                    "slrt.platform.jobs_runner.run_job",
                    args=(tenant.id, str(job_id)),
                    job_id=str(job_id),
                    pipeline=pipe,
                )
            pipe.execute()
    else:
        while relay_pending():
            pass
    return ids


def _waits(tenant, ids: list[uuid.UUID], timeout: float) -> list[float]:
    from slrt.platform import db
    from slrt.platform.jobs import Job
    from slrt.platform.tenancy import tenant_context

    deadline = time.monotonic() + timeout
    while True:
        with tenant_context(tenant):
            rows = db.session.execute(
                sa.select(Job.created_at, Job.started_at, Job.status).where(Job.id.in_(ids))
            ).all()
            db.session.commit()
        if all(r.status == "succeeded" for r in rows):
            return [(r.started_at - r.created_at).total_seconds() for r in rows]
        if time.monotonic() > deadline:
            raise RuntimeError("benchmark jobs did not finish in time")
        time.sleep(0.2)


def _reset() -> None:
    from slrt.platform import db
    from slrt.platform.redis_client import get_redis

    get_redis().flushdb()
    with db.engine().begin() as conn:
        conn.execute(sa.text("DELETE FROM job_outbox"))
    # job rows are tenant data: delete them through each tenant's context
    from slrt.platform.jobs import Job
    from slrt.platform.jobs_scheduler import active_tenants
    from slrt.platform.tenancy import tenant_context

    for tenant in active_tenants():
        with tenant_context(tenant):
            db.session.execute(sa.delete(Job))
            db.session.commit()


def _scenario(a, b, *, with_backlog: bool, fifo: bool) -> list[float]:
    from rq import Worker

    from slrt.platform.redis_client import get_redis

    _reset()
    procs = _workers("fifo-worker" if fifo else "worker", WORKERS)
    try:
        # Workers first, so waits measure dispatch, not process start-up.
        deadline = time.monotonic() + 60
        while Worker.count(connection=get_redis()) < WORKERS and time.monotonic() < deadline:
            time.sleep(0.1)
        if with_backlog:
            _enqueue(a, A_JOBS, fifo=fifo)
        b_ids = _enqueue(b, B_JOBS, fifo=fifo)
        return _waits(b, b_ids, timeout=3600)
    finally:
        _stop(procs)


def bench_fairness(a, b) -> None:
    print(f"\n(b) fairness: A enqueues {A_JOBS:,} jobs, B {B_JOBS}; {WORKERS} workers")
    alone = _scenario(a, b, with_backlog=False, fifo=False)
    fair = _scenario(a, b, with_backlog=True, fifo=False)
    fifo = _scenario(a, b, with_backlog=True, fifo=True)
    base_med, base_max = statistics.median(alone), max(alone)
    print(f"{'B waits (s)':<34}{'median':>10}{'worst':>10}{'median x':>12}{'worst x':>10}")
    for label, waits in (
        ("B alone", alone),
        ("A backlog + B, fair dispatch", fair),
        ("A backlog + B, one FIFO queue", fifo),
    ):
        med, worst = statistics.median(waits), max(waits)
        print(
            f"{label:<34}{med:>10.3f}{worst:>10.3f}"
            f"{med / max(base_med, 1e-6):>12.1f}{worst / max(base_max, 1e-6):>10.1f}"
        )
    print(
        "ratios: fair/alone median "
        f"{statistics.median(fair) / max(base_med, 1e-6):.1f}x, FIFO/fair median "
        f"{statistics.median(fifo) / max(statistics.median(fair), 1e-6):.1f}x"
    )


# --- entry points ------------------------------------------------------------------------------


def _fifo_worker() -> None:
    from rq import Queue, Worker

    from slrt.platform import db
    from slrt.platform.redis_client import get_redis
    from slrt.platform.runtime import database_url

    db.init_engine(database_url())
    Worker([Queue(FIFO_QUEUE, connection=get_redis())], connection=get_redis()).work()


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        from slrt.platform.jobs_worker import run_worker

        run_worker()
        return
    if len(sys.argv) > 1 and sys.argv[1] == "fifo-worker":
        _fifo_worker()
        return
    with tempfile.TemporaryDirectory(prefix="slrt-bench-") as tmp:
        urls, started = start_services(Path(tmp))
        os.environ.update(urls)
        try:
            from slrt.platform import migrate

            migrate.upgrade(urls["DATABASE_OWNER_URL"])
            from slrt.platform import db
            from slrt.platform.app import create_app
            from slrt.tenants.onboarding import onboard_tenant

            app = create_app()
            with app.app_context():
                a, _ = onboard_tenant("73.72")
                b, _ = onboard_tenant("33.24")
                db.session.commit()
                a_ref, b_ref = a.ref(), b.ref()
                bench_fairness(a_ref, b_ref)
                db.session.remove()
        finally:
            stop_services(started)


if __name__ == "__main__":
    main()
