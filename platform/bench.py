"""`make bench` (python -m slrt.platform.bench): benchmarks that print, never assert.

Runs on its own embedded PostgreSQL and Redis in a temporary directory (or on DATABASE_URL,
DATABASE_OWNER_URL, DATABASE_ADMIN_URL and REDIS_URL when all are set), with real forking workers.

(b) Fairness: district A enqueues 5,000 jobs, district B 20. B's median and worst wait (enqueue
    to start) is measured three ways with the same two workers and the same job code:
    B alone; A's backlog + B with the fair dispatch (per-district queues, round robin, cap);
    A's backlog + B on one plain FIFO rq queue. Printed side by side, with ratios to B alone.

(a) Import: 100,000 and 1,000,000 generated registry rows (CSV), through the real import
    pipeline (sniffing, strict decoding, validation incl. the registry's NIK rules, upserts in
    batches committed like the job's checkpoints) and through a raw PostgreSQL COPY of the same
    rows into the same tables; rows per second of both, their ratio, and the peak memory (RSS)
    of each run, measured in a fresh process per run (and, apart, that of the import's forked
    reading process, whose figure counts the pages it shares with its parent).

(c) Field app: capture to synced in a real Chromium at phone size, over emulated 3G and over
    the loopback (`slrt.tenants.field.bench`).

(d) Read paths over HTTP at national scale (slrt.platform.bench_http): seeding, then person by
    id, NIK lookup, agency inbox, name search and the national dashboard under gunicorn, beside
    the bare endpoint and a one-SELECT endpoint served by the same processes.

    The measured district is new and the database is not: another district's persons
    (SLRT_BENCH_IMPORT_NATION, 200,000) are stored and the statistics taken first.

Environment: SLRT_BENCH_A_JOBS (5000), SLRT_BENCH_IMPORT_ROWS ("100000,1000000"),
SLRT_BENCH_ONLY ("import", "fairness", "field" or "http"), and bench_http's SLRT_BENCH_* sizes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from slrt.platform.jobs.handlers import job_handler

A_JOBS = int(os.environ.get("SLRT_BENCH_A_JOBS", "5000"))
B_JOBS = 20
WORKERS = 2
FIFO_QUEUE = "bench-fifo"


@job_handler("bench.noop", max_attempts=1)
def bench_noop(ctx) -> dict:
    return {}


# --- environment -------------------------------------------------------------------------------


def start_services(root: Path) -> tuple[dict[str, str], list]:
    keys = ("DATABASE_URL", "DATABASE_OWNER_URL", "DATABASE_ADMIN_URL", "REDIS_URL")
    if all(os.environ.get(k) for k in keys):
        return {k: os.environ[k] for k in keys}, []
    from slrt.platform.commands.dbroles import RolePasswords, ensure_roles_and_database
    from slrt.platform.commands.embedded import EmbeddedPostgres, EmbeddedRedis, free_port

    pg = EmbeddedPostgres(root / "pg", free_port(), "bench-superuser")
    pg.start()
    redis = EmbeddedRedis(root / "redis", free_port(), "bench-redis")
    redis.start()
    passwords = RolePasswords(owner="bench-owner", app="bench-app")
    ensure_roles_and_database(pg.url(), "slrt", passwords)
    urls = {
        "DATABASE_URL": pg.url("slrt_app", passwords.app, "slrt"),
        "DATABASE_OWNER_URL": pg.url("slrt_owner", passwords.owner, "slrt"),
        "DATABASE_ADMIN_URL": pg.url(db="slrt"),
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
    from slrt.platform.jobs.actions import enqueue
    from slrt.platform.jobs.models import JobOutbox
    from slrt.platform.jobs.outbox import relay_pending
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
                    "slrt.platform.jobs.runner.run_job",
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
    from slrt.platform.jobs.models import Job
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
    from slrt.platform.jobs.models import Job
    from slrt.platform.jobs.scheduler import active_tenants
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


# --- import ------------------------------------------------------------------------------------

IMPORT_SIZES = [
    int(x) for x in os.environ.get("SLRT_BENCH_IMPORT_ROWS", "100000,1000000").split(",")
]


def _generate_csv(path: Path, n: int, villages: list[str]) -> None:
    """n valid registry rows (4 persons per KK), written as the import template."""
    import csv

    from slrt.tenants.registry.jobs import TEMPLATE

    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(TEMPLATE)
        for i in range(n):
            village = villages[i % len(villages)]
            kec = village[:8].replace(".", "")
            day, month, year = 1 + i % 28, 1 + (i // 28) % 12, 50 + (i // 336) % 50
            serial = 1 + i // 16800
            female = i % 2
            nik = f"{kec}{day + 40 * female:02d}{month:02d}{year:02d}{serial:04d}"
            kk = f"{kec}{i // 4:010d}"
            w.writerow(
                [
                    kk,
                    nik,
                    f"Warga {i}",
                    "P" if female else "L",
                    "Parepare",
                    f"{day:02d}/{month:02d}/19{year:02d}",
                    "kepala keluarga" if i % 4 == 0 else "anak",
                    "tidak",
                    "",
                    village,
                    f"Jl. Contoh No. {i // 4}",
                ]
            )


def _peak_rss_mb() -> float:
    """This process's own peak resident memory (VmHWM; ru_maxrss would include the parent's
    peak, inherited across fork and exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _import_child(path: str, tenant_id: int) -> None:
    """In a fresh process (for its own peak memory): the real import pipeline, committing every
    batch as the job's checkpoints do."""
    from slrt.platform import db
    from slrt.platform.app import create_app
    from slrt.platform.tabular.import_job import BATCH_SIZE
    from slrt.platform.tabular.imports import run_import
    from slrt.platform.tenancy import tenant_context
    from slrt.platform.tenant import Tenant
    from slrt.tenants.regions.models import Village
    from slrt.tenants.registry.jobs import RegistryWriter, region_test, registry_sheet

    app = create_app()
    with app.app_context():
        ref = db.session.get(Tenant, tenant_id).ref()
        db.session.commit()
        with tenant_context(ref), tempfile.TemporaryDirectory() as tmp:
            villages = set(db.session.execute(sa.select(Village.code)).scalars())
            t0 = time.perf_counter()
            outcome = run_import(
                Path(path),
                registry_sheet(villages, {}),
                # no job record: a fresh district holds nothing back, so none is needed
                RegistryWriter(uuid.uuid4(), dt.datetime.now(dt.UTC), region_test({})),
                Path(tmp),
                checkpoint=lambda *a, **k: db.session.commit(),
                batch_size=BATCH_SIZE,  # as the job does
                max_bytes=1 << 40,
                overlap=True,
            )
            elapsed = time.perf_counter() - t0
    import resource

    # The reading process's own peak (forked, so it counts the pages it shares with this one).
    reader = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"{outcome.good} {outcome.bad} {elapsed:.3f} {_peak_rss_mb():.1f} {reader:.1f}")


def _copy_child(path: str, tenant_id: int) -> None:
    """The baseline: the same rows with PostgreSQL COPY into the same tables, no checks: the
    households, the persons and each person's NIK registration (the keyed hash the national
    duplicate signal counts), which the import writes too.

    PostgreSQL refuses COPY FROM into tables under row-level security, so the baseline runs as
    the superuser (DATABASE_ADMIN_URL): the fastest path there is, with no tenant wall at all."""
    import csv

    import psycopg
    from uuid6 import uuid7

    from slrt.tenants.registry.nik import nik_hasher

    url = os.environ["DATABASE_ADMIN_URL"].replace("postgresql+psycopg://", "postgresql://")
    t0 = time.perf_counter()
    n = 0
    with psycopg.connect(url) as conn, open(path, encoding="utf-8", newline="") as f:
        conn.execute("SELECT set_config('slrt.tenant_id', %s, false)", (str(tenant_id),))
        reader = csv.reader(f)
        kk_ids: dict[str, object] = {}
        # Two passes over the file (households, then persons): one COPY at a time.
        next(reader)
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY households (tenant_id, id, kk_number, village_code, address, dtks_status) FROM STDIN"
            ) as copy,
        ):
            for row in reader:
                if row[0] not in kk_ids:
                    kk_ids[row[0]] = uuid7()
                    copy.write_row((tenant_id, kk_ids[row[0]], row[0], row[9], row[10], "unknown"))
        f.seek(0)
        next(reader)
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY persons (tenant_id, id, household_id, nik, name, sex, birth_place, birth_date, "
                "relation, has_disability, village_code) FROM STDIN"
            ) as copy,
        ):
            for row in reader:
                d, m, y = row[5].split("/")
                copy.write_row(
                    (
                        tenant_id,
                        uuid7(),
                        kk_ids[row[0]],
                        row[1],
                        row[2],
                        row[3],
                        row[4],
                        f"{y}-{m}-{d}",
                        row[6].replace(" ", "_"),
                        False,
                        row[9],
                    )
                )
                n += 1
        f.seek(0)
        next(reader)
        digest = nik_hasher()
        code = conn.execute("SELECT code FROM tenants WHERE id = %s", (tenant_id,)).fetchone()[0]
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY nik_registrations (nik_hash, tenant_ref, district_code) FROM STDIN"
            ) as copy,
        ):
            for row in reader:
                copy.write_row((digest(row[1]), tenant_id, code))
        conn.commit()
    elapsed = time.perf_counter() - t0
    print(f"{n} 0 {elapsed:.3f} {_peak_rss_mb():.1f} 0")


def _child(kind: str, path: Path, tenant_id: int) -> tuple[int, int, float, float, float]:
    done = subprocess.run(
        [sys.executable, "-m", "slrt.platform.bench", kind, str(path), str(tenant_id)],
        capture_output=True,
        text=True,
        env=dict(os.environ, SLRT_LOG_LEVEL="WARNING"),
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    good, bad, elapsed, rss, reader_rss = done.stdout.split()[-5:]
    return int(good), int(bad), float(elapsed), float(rss), float(reader_rss)


def _clear_registry(tenant_id: int) -> None:
    """Empty the district's registry, and VACUUM so each run starts from the same clean tables
    (the rows deleted before would otherwise slow whichever run comes next)."""
    import psycopg

    from slrt.platform import db

    with db.engine().begin() as conn:
        conn.execute(sa.select(sa.func.set_config("slrt.tenant_id", str(tenant_id), True)))
        conn.execute(sa.text("DELETE FROM persons"))
        conn.execute(sa.text("DELETE FROM households"))
        conn.execute(
            sa.text("DELETE FROM nik_registrations WHERE tenant_ref = :t"), {"t": tenant_id}
        )
    url = os.environ["DATABASE_ADMIN_URL"].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as conn:
        for table in ("persons", "households", "nik_registrations"):
            conn.execute(f"VACUUM (FULL, ANALYZE) {table}")


def populate_district(tenant_id: int, persons: int, *, analyse: bool = True) -> None:
    """A district's households (four persons each) and their NIK registrations, straight into
    the tables, then (`analyse`) the statistics taken: another district's import then starts as
    a new district's does in a populated database, unknown to the planner's statistics."""
    import psycopg

    url = os.environ["DATABASE_ADMIN_URL"].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn:
        codes = [
            code
            for (code,) in conn.execute(
                "SELECT code FROM villages WHERE tenant_id = %s ORDER BY code", (tenant_id,)
            )
        ]
        conn.execute(
            """
            INSERT INTO households (tenant_id, id, kk_number, village_code, address, dtks_status)
            SELECT %(t)s, uuidv7(), (5000000000000000 + g)::text,
                   (%(v)s::text[])[1 + g %% cardinality(%(v)s::text[])], 'Jl. Contoh No. ' || g,
                   'unknown'
            FROM generate_series(1, %(n)s) g
            """,
            {"t": tenant_id, "n": max(1, persons // 4), "v": codes},
        )
        conn.execute(
            """
            INSERT INTO persons (tenant_id, id, household_id, nik, name, sex, birth_place,
                                 birth_date, relation, has_disability, village_code)
            SELECT h.tenant_id, uuidv7(), h.id,
                   (6000000000000000 + row_number() OVER ())::text, 'Warga ' || k,
                   CASE WHEN k %% 2 = 0 THEN 'L' ELSE 'P' END, 'Makassar',
                   DATE '1950-01-01' + k * 1000, 'anak', false, h.village_code
            FROM households h, generate_series(0, 3) k
            WHERE h.tenant_id = %(t)s
            """,
            {"t": tenant_id},
        )
        conn.execute(
            """
            INSERT INTO nik_registrations (nik_hash, tenant_ref, district_code)
            SELECT md5(nik) || md5(nik), tenant_id, (SELECT code FROM tenants WHERE id = %(t)s)
            FROM persons WHERE tenant_id = %(t)s
            """,
            {"t": tenant_id},
        )
        conn.commit()
    if not analyse:
        return
    with psycopg.connect(url, autocommit=True) as conn:
        for table in ("persons", "households", "nik_registrations"):
            conn.execute(f"VACUUM ANALYZE {table}")


def bench_import(tenant, nation=None) -> None:
    from slrt.platform import db
    from slrt.platform.tenancy import tenant_context
    from slrt.tenants.regions.models import Village

    nation_persons = int(os.environ.get("SLRT_BENCH_IMPORT_NATION") or 200_000)
    if nation is not None and nation_persons > 0:
        populate_district(nation.id, nation_persons)

    with tenant_context(tenant):
        villages = list(
            db.session.execute(sa.select(Village.code).order_by(Village.code)).scalars()
        )
        db.session.commit()
    rounds = max(1, int(os.environ.get("SLRT_BENCH_ROUNDS") or 3))
    print(
        "\n(a) registry import vs raw PostgreSQL COPY (same rows, same tables, same run; "
        f"{rounds} rounds of import then COPY, the median round shown, every round's ratio beside;"
        f" a new district's first import, {nation_persons if nation is not None else 0:,} persons"
        " of another district already stored)"
    )
    print(
        f"{'rows':>10}{'import rows/s':>16}{'COPY rows/s':>14}{'import/COPY':>13}"
        f"{'import peak MB':>16}{'its reader MB':>15}{'COPY peak MB':>14}  rounds"
    )
    with tempfile.TemporaryDirectory(prefix="slrt-bench-import-") as tmp:
        for n in IMPORT_SIZES:
            path = Path(tmp) / f"registry-{n}.csv"
            _generate_csv(path, n, villages)
            measured = []
            for _ in range(rounds):
                # Each ratio within its round: this machine's speed drifts over minutes.
                _clear_registry(tenant.id)
                good, bad, t_import, rss_import, rss_reader = _child(
                    "import-child", path, tenant.id
                )
                if good != n or bad:
                    raise RuntimeError(f"import took {good} good / {bad} bad rows of {n}")
                _clear_registry(tenant.id)
                copied, _, t_copy, rss_copy, _ = _child("copy-child", path, tenant.id)
                _clear_registry(tenant.id)
                r_import, r_copy = n / t_import, copied / t_copy
                measured.append(
                    (r_import / r_copy, r_import, r_copy, rss_import, rss_reader, rss_copy)
                )
            ratio, r_import, r_copy, rss_import, rss_reader, rss_copy = sorted(measured)[
                len(measured) // 2
            ]
            print(
                f"{n:>10,}{r_import:>16,.0f}{r_copy:>14,.0f}{ratio:>13.2f}"
                f"{rss_import:>16.0f}{rss_reader:>15.0f}{rss_copy:>14.0f}  "
                + ", ".join(f"{m[0]:.2f}" for m in measured)
            )
            path.unlink()


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
        from slrt.platform.jobs.worker import run_worker

        run_worker()
        return
    if len(sys.argv) > 1 and sys.argv[1] == "fifo-worker":
        _fifo_worker()
        return
    if len(sys.argv) > 1 and sys.argv[1] in ("import-child", "copy-child"):
        child = _import_child if sys.argv[1] == "import-child" else _copy_child
        child(sys.argv[2], int(sys.argv[3]))
        return
    with tempfile.TemporaryDirectory(prefix="slrt-bench-") as tmp:
        urls, started = start_services(Path(tmp))
        os.environ.update(urls)
        try:
            from slrt.platform.commands import migrate

            migrate.upgrade(urls["DATABASE_OWNER_URL"])
            from slrt.platform import db
            from slrt.platform.app import create_app
            from slrt.tenants.districts.actions import onboard_tenant

            only = os.environ.get("SLRT_BENCH_ONLY")
            if only == "http":
                from slrt.platform.bench_http import bench_http

                os.environ.setdefault("SLRT_ACCESS_TOKEN_TTL", "86400")
                bench_http(create_app(), urls["DATABASE_ADMIN_URL"])
                return
            app = create_app()
            with app.app_context():
                a, _ = onboard_tenant("73.72")
                b, _ = onboard_tenant("33.24")
                db.session.commit()
                a_ref, b_ref = a.ref(), b.ref()
                only = os.environ.get("SLRT_BENCH_ONLY")
                if only in (None, "", "import"):
                    nation, _ = onboard_tenant("73.71")
                    db.session.commit()
                    bench_import(a_ref, nation.ref())
                if only in (None, "", "fairness"):
                    bench_fairness(a_ref, b_ref)
                db.session.remove()
            if only in (None, "", "field"):
                from slrt.tenants.field.bench import bench_field

                bench_field(app)
            if not only:  # the two districts above are onboarded again as no-ops
                from slrt.platform.bench_http import bench_http

                os.environ.setdefault("SLRT_ACCESS_TOKEN_TTL", "86400")
                bench_http(create_app(), urls["DATABASE_ADMIN_URL"])
        finally:
            stop_services(started)


if __name__ == "__main__":
    main()
