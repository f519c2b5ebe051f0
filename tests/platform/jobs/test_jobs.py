"""Background jobs on real PostgreSQL and Redis, with real forking rq workers."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest
import sqlalchemy as sa
from rq.worker import DequeueStrategy

import tests.platform.jobs.handlers  # noqa: F401  (registers the test job kinds)
from slrt.platform import db
from slrt.platform.actor import Actor, acting_as
from slrt.platform.commands.embedded import EmbeddedRedis, free_port
from slrt.platform.jobs.actions import enqueue
from slrt.platform.jobs.models import Job, JobFile
from slrt.platform.jobs.outbox import pending_count, relay_pending
from slrt.platform.jobs.queue import push, tenant_queue
from slrt.platform.jobs.worker import make_worker
from slrt.platform.redis_client import reset_redis
from slrt.platform.tenancy import tenant_context
from tests.fixtures import member, onboard

REPO = Path(__file__).resolve().parents[3]


def ask(
    app, tenant, kind: str, params: dict | None = None, actor: Actor | None = None
) -> uuid.UUID:
    with app.app_context(), tenant_context(tenant.ref()):
        with acting_as(actor or Actor(kind="system", label="test")):
            job = enqueue(kind, params or {})
        db.session.commit()
        job_id = job.id
        db.session.remove()
        return job_id


def job_row(app, tenant, job_id: uuid.UUID) -> Job:
    with app.app_context(), tenant_context(tenant.ref()):
        job = db.session.execute(sa.select(Job).where(Job.id == job_id)).scalar_one()
        db.session.expunge(job)
        db.session.remove()
        return job


def run_burst() -> None:
    make_worker().work(burst=True, dequeue_strategy=DequeueStrategy.ROUND_ROBIN)


def test_job_runs_in_its_tenant_context_and_sees_only_its_rows(
    app, client, parepare, kendal, parepare_admin, kendal_admin
) -> None:
    for _ in range(3):
        ask(app, kendal, "test.noop")
    actor = Actor(kind="account", label=parepare_admin.email, account_id=parepare_admin.account_id)
    job_id = ask(app, parepare, "test.peek", actor=actor)
    run_burst()

    resp = client.get(f"/api/v1/t/parepare/jobs/{job_id}", headers=parepare_admin.headers)
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["status"] == "succeeded"
    assert body["result"] == {
        "tenant": "parepare",
        "actor": parepare_admin.email,
        "orm_jobs": 1,
        "raw_jobs": 1,  # the database wall: raw SQL sees no row of Kendal's three jobs
        "raw_tenants_in_jobs": 1,
    }
    assert body["started_by"]["account_id"] == str(parepare_admin.account_id)
    assert body["attempts"] == 1
    # Another district's admin gets 404 for this id, as for a missing one.
    other = client.get(f"/api/v1/t/kendal/jobs/{job_id}", headers=kendal_admin.headers)
    assert other.status_code == 404
    listed = client.get("/api/v1/t/kendal/jobs?kind=test.noop", headers=kendal_admin.headers)
    assert [j["status"] for j in listed.get_json()] == ["succeeded"] * 3


def test_fairness_small_district_is_not_stuck_behind_a_backlog(app, parepare, kendal) -> None:
    """A worker started before either district had a job picks both up (no restart), A's backlog
    is held outside the queue beyond its cap, and B's job starts within a bounded number of
    dequeues (one per district with queued work), not after A's backlog."""
    worker = make_worker()
    a, b = parepare, kendal
    backlog = [ask(app, a, "test.noop", {"n": i}) for i in range(12)]
    assert tenant_queue(a.id).count == 2  # the cap: the rest waits in rq's rate-limited set
    b_job = ask(app, b, "test.noop", {"n": "b"})
    worker.work(burst=True, dequeue_strategy=DequeueStrategy.ROUND_ROBIN)

    started = []
    for tenant, ids in ((a, backlog), (b, [b_job])):
        for job_id in ids:
            row = job_row(app, tenant, job_id)
            assert row.status == "succeeded"
            started.append((row.started_at, tenant.slug, job_id))
    order = [slug for _, slug, _ in sorted(started)]
    assert order.index("kendal") <= 2  # districts with work: 2; plain FIFO would give 12
    assert len(order) == 13


def test_failed_job_is_visible_to_the_district_admin_with_its_error(
    app, client, parepare, parepare_admin
) -> None:
    job_id = ask(app, parepare, "test.fail")
    run_burst()
    resp = client.get("/api/v1/t/parepare/jobs?status=failed", headers=parepare_admin.headers)
    jobs = resp.get_json()
    assert [j["id"] for j in jobs] == [str(job_id)]
    assert jobs[0]["error_summary"] == "ValueError: NIK kolom 3 rusak / broken NIK column"
    assert jobs[0]["attempts"] == 1


def test_a_data_error_fails_the_job_at_once_and_shows_no_sql(
    app, client, parepare, parepare_admin
) -> None:
    """Retrying cannot make PostgreSQL accept the same data: the first failure is final, and
    the error names the problem without the statement or its parameters (personal data)."""
    job_id = ask(app, parepare, "test.data_error")
    run_burst()
    job = client.get(f"/api/v1/t/parepare/jobs/{job_id}", headers=parepare_admin.headers)
    body = job.get_json()
    assert (body["status"], body["attempts"]) == ("failed", 1)
    assert "tidak akan berhasil bila diulang" in body["error_summary"]
    assert "NUL" in body["error_summary"]
    for leak in ("SELECT", "[SQL", "parameters", "7372010305800001", "Andi"):
        assert leak not in body["error_summary"]


def test_a_database_error_is_summarised_without_sql(app, client, parepare, parepare_admin) -> None:
    job_id = ask(app, parepare, "test.sql_error")
    run_burst()
    body = client.get(
        f"/api/v1/t/parepare/jobs/{job_id}", headers=parepare_admin.headers
    ).get_json()
    assert body["status"] == "failed"
    assert body["error_summary"] == 'UndefinedTable: relation "no_such_table" does not exist'


def test_cancel_waiting_job_and_refuse_finished_one(app, client, parepare, parepare_admin) -> None:
    waiting = ask(app, parepare, "test.noop")
    resp = client.post(f"/api/v1/t/parepare/jobs/{waiting}/cancel", headers=parepare_admin.headers)
    assert resp.status_code == 200 and resp.get_json()["status"] == "cancelled"
    run_burst()  # the cancelled job never runs
    assert job_row(app, parepare, waiting).attempts == 0
    again = client.post(f"/api/v1/t/parepare/jobs/{waiting}/cancel", headers=parepare_admin.headers)
    assert again.status_code == 409
    assert "cancelled" in again.get_json()["detail"]


def test_result_files_download_for_starter_or_manager_only(
    app, client, parepare, parepare_admin
) -> None:
    starter = member(app, parepare, "back_office")
    manager = member(app, parepare, "manager")  # jobs.read, not jobs.manage
    actor = Actor(kind="account", label=starter.email, account_id=starter.account_id)
    job_id = ask(app, parepare, "test.parts", {"n": 2}, actor=actor)
    run_burst()
    url = f"/api/v1/t/parepare/jobs/{job_id}/files/part-1.txt"
    resp = client.get(url, headers=starter.headers)
    assert resp.status_code == 200 and resp.data == b"part 1"
    assert "attachment" in resp.headers["Content-Disposition"]
    assert client.get(url, headers=manager.headers).status_code == 403
    assert client.get(url, headers=parepare_admin.headers).status_code == 200
    missing = client.get(f"/api/v1/t/parepare/jobs/{job_id}/files/nope", headers=starter.headers)
    assert missing.status_code == 404


def test_outbox_job_asked_while_redis_is_down_runs_exactly_once(
    app, parepare, tmp_path, monkeypatch
) -> None:
    own = EmbeddedRedis(tmp_path / "redis", free_port(), "outbox-test-pw")
    monkeypatch.setenv("REDIS_URL", own.url())
    reset_redis()
    try:
        # Redis is not running: the commit succeeds, the job waits in the outbox.
        job_id = ask(app, parepare, "test.parts", {"n": 1})
        assert pending_count() == 1
        assert job_row(app, parepare, job_id).status == "queued"

        own.start()
        reset_redis()
        # A relay that pushed to Redis but crashed before deleting its row is simulated by a
        # push of our own: the relay must not enqueue the job a second time.
        with app.app_context():
            push(parepare.id, job_id, timeout=60, max_attempts=1)
            assert relay_pending() == 1
            assert relay_pending() == 0
        assert pending_count() == 0
        assert tenant_queue(parepare.id).count == 1
        run_burst()
        row = job_row(app, parepare, job_id)
        assert row.status == "succeeded"
        assert row.attempts == 1
        assert row.counts == {"written": 1}
    finally:
        own.stop()
        monkeypatch.undo()
        reset_redis()


def _worker_process(
    services: dict[str, str], module: str = "tests.platform.jobs.worker_main"
) -> subprocess.Popen:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=services["DATABASE_URL"],
        REDIS_URL=services["REDIS_URL"],
        SLRT_DATA_DIR=services["SLRT_DATA_DIR"],
        SLRT_JOB_HEARTBEAT="1",
        SLRT_LOG_LEVEL="WARNING",
    )
    return subprocess.Popen(
        [sys.executable, "-m", module],
        cwd=REPO,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _kill_tree(proc: subprocess.Popen) -> None:
    parent = psutil.Process(proc.pid)
    for p in [*parent.children(recursive=True), parent]:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.send_signal(signal.SIGKILL)
    proc.wait()


def _wait_for(predicate, timeout: float, step: float = 0.2, between=None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if between:
            between()
        time.sleep(step)
    raise AssertionError("condition not reached in time")


def test_worker_killed_mid_job_is_retried_and_completes_exactly(services, app, parepare) -> None:
    from slrt.platform.jobs.scheduler import tick

    job_id = ask(app, parepare, "test.parts", {"n": 6, "sleep": 0.4})
    first = _worker_process(services)
    try:
        _wait_for(lambda: job_row(app, parepare, job_id).progress_done >= 2, 60)
    finally:
        _kill_tree(first)  # SIGKILL the worker and its work horse: no cleanup code runs
    killed_at = job_row(app, parepare, job_id)
    assert killed_at.status == "running" and killed_at.progress_done < 6

    second = _worker_process(services)
    try:
        # The scheduler finds the abandoned job (heartbeat expired) and its retry comes due.
        def scheduler_round() -> None:
            with app.app_context():
                tick()

        _wait_for(
            lambda: job_row(app, parepare, job_id).status == "succeeded", 90, 0.5, scheduler_round
        )
    finally:
        _kill_tree(second)
    done = job_row(app, parepare, job_id)
    assert done.attempts == 2
    assert done.counts == {"written": 6}
    assert (done.progress_done, done.progress_total) == (6, 6)
    assert done.result == {"files": 6}
    with app.app_context(), tenant_context(parepare.ref()):
        names = db.session.execute(
            sa.select(JobFile.name).where(JobFile.job_id == job_id).order_by(JobFile.name)
        ).scalars()
        assert list(names) == [f"part-{i}.txt" for i in range(6)]
        db.session.remove()


def test_scheduler_fans_out_to_every_active_district_once_per_period(app, parepare, kendal) -> None:
    import datetime as dt

    from slrt.platform.jobs.models import JobSchedule
    from slrt.platform.jobs.scheduler import Leadership, sync_schedules, tick

    with app.app_context():
        leader, standby = Leadership(), Leadership()
        assert leader.acquire() is True
        assert standby.acquire() is False  # a second scheduler stays passive
        try:
            past = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
            sync_schedules(now=past)
            schedule = db.session.get(JobSchedule, "purge-job-files")
            assert schedule.next_run_at == dt.datetime(2026, 1, 1, 19, 30, tzinfo=dt.UTC)
            tick(now=dt.datetime(2026, 1, 1, 19, 31, tzinfo=dt.UTC))
            tick(now=dt.datetime(2026, 1, 1, 19, 32, tzinfo=dt.UTC))  # same period: nothing new
            leader.release()
            assert standby.acquire() is True  # the standby takes over once the leader lets go
        finally:
            leader.release()
            standby.release()
    run_burst()
    for tenant in (parepare, kendal):
        with app.app_context(), tenant_context(tenant.ref()):
            jobs = (
                db.session.execute(sa.select(Job).where(Job.kind == "jobs.purge_files"))
                .scalars()
                .all()
            )
            assert [(j.kind, j.status, j.started_by_kind) for j in jobs] == [
                ("jobs.purge_files", "succeeded", "system")
            ]
            assert jobs[0].dedup_key == "schedule:purge-job-files:2026-01-01T19:30:00+00:00"
            db.session.remove()


def test_purge_deletes_only_old_finished_job_files(app, parepare) -> None:
    import datetime as dt

    old = ask(app, parepare, "test.parts", {"n": 1})
    new = ask(app, parepare, "test.parts", {"n": 1})
    run_burst()
    with app.app_context(), tenant_context(parepare.ref()):
        db.session.execute(
            sa.update(Job)
            .where(Job.id == old)
            .values(finished_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=40))
        )
        db.session.commit()
        db.session.remove()
    purge = ask(app, parepare, "jobs.purge_files")
    run_burst()
    assert job_row(app, parepare, purge).result["deleted"] == 1
    with app.app_context(), tenant_context(parepare.ref()):
        left = db.session.execute(sa.select(JobFile.job_id)).scalars().all()
        assert left == [new]
        db.session.remove()


def test_new_district_is_served_by_a_running_worker(app, parepare) -> None:
    worker = make_worker()
    ask(app, parepare, "test.noop")
    later = onboard(app, "33.24")
    job_id = ask(app, later, "test.noop")
    worker.work(burst=True, dequeue_strategy=DequeueStrategy.ROUND_ROBIN)
    assert job_row(app, later, job_id).status == "succeeded"


@pytest.mark.parametrize("cadence", ["hourly", "daily", "monthly"])
def test_next_run_is_strictly_after(cadence: str) -> None:
    import datetime as dt

    from slrt.platform.jobs.scheduler import next_run

    t = dt.datetime(2026, 12, 31, 23, 59, tzinfo=dt.UTC)
    nxt = next_run(cadence, 0, 1, 1, t)
    assert nxt > t
    assert {
        "hourly": dt.datetime(2027, 1, 1, 0, 0, tzinfo=dt.UTC),
        "daily": dt.datetime(2027, 1, 1, 1, 0, tzinfo=dt.UTC),
        "monthly": dt.datetime(2027, 1, 1, 1, 0, tzinfo=dt.UTC),
    }[cadence] == nxt


def test_slrt_scheduler_command_runs_a_round(services, app, owner_engine) -> None:
    env = dict(os.environ)
    env.update({k: services[k] for k in ("DATABASE_URL", "REDIS_URL", "SLRT_DATA_DIR")})
    slrt = Path(sys.executable).parent / "slrt"
    done = subprocess.run(
        [str(slrt), "scheduler", "--once"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    with owner_engine.connect() as conn:
        keys = conn.execute(sa.text("SELECT key, kind FROM job_schedules")).all()
    assert ("purge-job-files", "jobs.purge_files") in keys


def test_cancel_running_job_stops_at_its_next_checkpoint(
    services, app, client, parepare, parepare_admin
) -> None:
    job_id = ask(app, parepare, "test.parts", {"n": 50, "sleep": 0.2})
    worker = _worker_process(services)
    try:
        _wait_for(lambda: job_row(app, parepare, job_id).progress_done >= 1, 60)
        resp = client.post(
            f"/api/v1/t/parepare/jobs/{job_id}/cancel", headers=parepare_admin.headers
        )
        assert resp.status_code == 200
        assert resp.get_json()["cancel_requested"] is True
        _wait_for(lambda: job_row(app, parepare, job_id).status == "cancelled", 60)
    finally:
        _kill_tree(worker)
    row = job_row(app, parepare, job_id)
    assert row.progress_done < 50 and row.attempts == 1


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_streams_neutralises_and_is_audited(
    app, client, parepare, parepare_admin, fmt
) -> None:
    import csv
    import io

    from openpyxl import load_workbook

    from slrt.platform.audit.models import AuditEvent

    actor = Actor(kind="account", label=parepare_admin.email, account_id=parepare_admin.account_id)
    job_id = ask(app, parepare, "test.export", {"n": 12001, "format": fmt}, actor=actor)
    run_burst()
    body = client.get(
        f"/api/v1/t/parepare/jobs/{job_id}", headers=parepare_admin.headers
    ).get_json()
    assert body["status"] == "succeeded", body["error_summary"]
    assert body["progress"] == {
        "done": 12001,
        "total": 12001,
        "message": "12001 baris diekspor / rows exported",
    }
    resp = client.get(
        f"/api/v1/t/parepare/jobs/{job_id}/files/ekspor-uji.{fmt}", headers=parepare_admin.headers
    )
    assert resp.status_code == 200
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"))))
    else:
        ws = load_workbook(io.BytesIO(resp.data), read_only=True).active
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
    assert len(rows) == 12002
    assert rows[1][1] == '\'=HYPERLINK("x")'
    assert rows[-1][1] == "r12001"
    with app.app_context(), tenant_context(parepare.ref()):
        events = (
            db.session.execute(sa.select(AuditEvent).where(AuditEvent.kind == "export"))
            .scalars()
            .all()
        )
        assert [(e.action, e.actor_account_id, e.after["rows"]) for e in events] == [
            ("test_rows.export", parepare_admin.account_id, 12001)
        ]
        db.session.remove()


def _ask_import(app, tenant, content: bytes, actor: Actor) -> uuid.UUID:
    from slrt.platform.jobs.actions import add_input_file

    with app.app_context(), tenant_context(tenant.ref()), acting_as(actor):
        job = enqueue("test.import", {})
        add_input_file(job, "data.csv", "text/csv", content)
        db.session.commit()
        job_id = job.id
        db.session.remove()
    return job_id


def test_import_job_reports_progress_errors_and_files(
    app, client, parepare, parepare_admin
) -> None:
    from tests.platform.tabular.test_tabular import HEADER, MESSY_ROWS

    actor = Actor(kind="account", label=parepare_admin.email, account_id=parepare_admin.account_id)
    lines = [";".join(HEADER), *(";".join(r) for r in MESSY_ROWS)]
    job_id = _ask_import(app, parepare, "\r\n".join(lines).encode("cp1252"), actor)
    run_burst()
    body = client.get(
        f"/api/v1/t/parepare/jobs/{job_id}", headers=parepare_admin.headers
    ).get_json()
    assert body["status"] == "succeeded", body["error_summary"]
    assert body["counts"]["good_rows"] == 3 and body["counts"]["bad_rows"] == 7
    assert body["counts"]["encoding"] == "cp1252" and body["counts"]["stored"] == 3
    assert body["progress"]["done"] == body["progress"]["total"] == 10
    names = {f["name"]: f["role"] for f in body["files"]}
    assert names["laporan-kesalahan.csv"] == names["laporan-kesalahan.xlsx"] == "errors"
    assert names["nik-7372015507800007"] == "result"
    report = client.get(
        f"/api/v1/t/parepare/jobs/{job_id}/files/laporan-kesalahan.csv",
        headers=parepare_admin.headers,
    )
    assert report.status_code == 200
    assert "notasi ilmiah" in report.data.decode("utf-8-sig")


def test_hostile_upload_fails_the_import_job_at_once_with_the_reason(
    app, client, parepare, parepare_admin
) -> None:
    actor = Actor(kind="account", label=parepare_admin.email, account_id=parepare_admin.account_id)
    job_id = _ask_import(app, parepare, b"%PDF-1.7 not a spreadsheet", actor)
    run_burst()
    body = client.get(
        f"/api/v1/t/parepare/jobs/{job_id}", headers=parepare_admin.headers
    ).get_json()
    assert body["status"] == "failed" and body["attempts"] == 1
    assert body["error_summary"].startswith("Berkas bukan CSV atau XLSX")
    assert "The file is neither CSV nor XLSX" in body["error_summary"]


def test_held_job_pauses_visibly_and_resumes_with_nothing_lost(app, parepare) -> None:
    job_id = ask(app, parepare, "test.hold", {"seconds": 3600})
    run_burst()
    held = job_row(app, parepare, job_id)
    assert held.status == "held"
    assert held.progress_message.startswith("Kuota impor harian habis")
    assert (held.progress_done, held.counts) == (1, {"written": 1})
    with app.app_context():
        assert relay_pending() == 0  # not due yet
        with db.engine().begin() as conn:  # an hour passes
            conn.execute(sa.text("UPDATE job_outbox SET run_after = now() - interval '1 second'"))
        assert relay_pending() == 1
    run_burst()
    done = job_row(app, parepare, job_id)
    assert done.status == "succeeded"
    assert done.counts == {"written": 2} and done.result == {"files": 2}


def test_killed_job_without_retries_left_is_failed_with_an_explanation(
    services, app, client, parepare, parepare_admin
) -> None:
    from slrt.platform.jobs.scheduler import tick

    job_id = ask(app, parepare, "test.slow", {"seconds": 120})
    worker = _worker_process(services)
    try:
        _wait_for(lambda: job_row(app, parepare, job_id).progress_done == 1, 60)
    finally:
        _kill_tree(worker)

    def scheduler_round() -> None:
        with app.app_context():
            tick()

    _wait_for(lambda: job_row(app, parepare, job_id).status == "failed", 60, 0.5, scheduler_round)
    body = client.get("/api/v1/t/parepare/jobs?status=failed", headers=parepare_admin.headers)
    [job] = body.get_json()
    assert job["id"] == str(job_id)
    assert "The worker stopped mid-job and every retry was used." in job["error_summary"]


def test_the_worker_renews_its_alive_file_while_it_runs(app, kendal, monkeypatch, tmp_path) -> None:
    alive = tmp_path / "slrt.alive"
    monkeypatch.setenv("SLRT_ALIVE_FILE", str(alive))
    ask(app, kendal, "test.noop")
    run_burst()
    assert alive.exists()
    os.utime(alive, (0, 0))  # as if the process had stalled long ago
    ask(app, kendal, "test.noop")
    run_burst()
    assert alive.stat().st_mtime > 1_000_000  # renewed
