"""Redis out of reach for a few seconds, on the session's real Redis (killed, then started again
on the same port with its append-only file): signed-in API requests still answer (revocation
read from PostgreSQL, the rate limit open for a logged moment), what truly needs Redis answers
503 with Retry-After in both languages, pages needing their session show a clear 503 page, a busy
worker carries its job through, a job Redis lost is pushed again, and `slrt up` restarts a dead
child instead of stopping."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.jobs.models import Job
from slrt.platform.tenancy import tenant_context
from tests.fixtures import member, set_password
from tests.platform.jobs.test_jobs import _kill_tree, _wait_for, _worker_process, ask, job_row

T = "/api/v1/t/parepare"


@pytest.fixture
def outage(session_redis):
    """Call outage.begin() to kill Redis and outage.end() to start it again."""
    from slrt.platform import redis_client

    class Outage:
        def begin(self) -> None:
            session_redis.process.kill()
            session_redis.process.wait()

        def end(self) -> None:
            session_redis.start()

    yield Outage()
    session_redis.start()
    redis_client._down_until = 0.0  # the next test starts with Redis trusted again
    redis_client.reset_redis()


def _revoke(app, token: str) -> None:
    from slrt.auth.oauth.tokens import revoke_access_token, verify_access_token

    with app.app_context():
        revoke_access_token(verify_access_token(token))
        db.session.remove()


def test_signed_in_api_requests_answer_while_redis_is_down(
    app, client, parepare, parepare_admin, outage
) -> None:
    revoked = member(app, parepare, "front_office")
    _revoke(app, revoked.token)
    outage.begin()
    try:
        for _ in range(3):
            resp = client.get(f"{T}/persons", headers=parepare_admin.headers)
            assert resp.status_code == 200, resp.data[:300]
        # The revocation holds: read from PostgreSQL.
        assert client.get(f"{T}/persons", headers=revoked.headers).status_code == 401
        created = client.post(
            f"{T}/households",
            json={"kk_number": "7372010101200099", "village_code": "73.72.01.1004"},
            headers=parepare_admin.headers,
        )
        assert created.status_code == 201, created.data[:300]
        # The usage figures include counters not yet flushed from Redis: they cannot be told
        # now, and an export counts against a daily quota kept there: both ask to come back.
        assert client.get(f"{T}/usage", headers=parepare_admin.headers).status_code == 503
        export = client.post(f"{T}/exports/registry", json={}, headers=parepare_admin.headers)
        assert export.status_code == 503, export.data[:300]
        assert export.headers["Retry-After"] == "5"
        body = export.get_json()
        assert body["detail"].startswith("Layanan sedang terganggu sebentar")
        assert body["detail_en"].startswith("The service is briefly disrupted")
    finally:
        outage.end()
    assert client.get(f"{T}/persons", headers=parepare_admin.headers).status_code == 200


def test_revoking_a_token_while_redis_is_down_is_503_and_the_token_stays_refused(
    app, client, parepare, outage
) -> None:
    from slrt.platform.errors import Problem

    user = member(app, parepare, "front_office")
    outage.begin()
    try:
        with pytest.raises(Problem) as refused:
            _revoke(app, user.token)
        assert refused.value.code == 503
        assert client.get(f"{T}/persons", headers=user.headers).status_code == 401
    finally:
        outage.end()


def _web_sign_in(app, web, parepare):
    from tests.auth.signin.test_web_signin import PASSWORD, sign_in

    user = set_password(app, member(app, parepare, "district_admin"), PASSWORD)
    page = sign_in(web, user.email)
    assert page.request.path == "/t/parepare/"
    return user


def test_pages_needing_their_session_show_a_clear_503_page(
    app, parepare, outage, monkeypatch
) -> None:
    monkeypatch.setenv("SLRT_PUBLIC_URL", "http://localhost")
    web = app.test_client()
    _web_sign_in(app, web, parepare)
    outage.begin()
    try:
        for path in ("/t/parepare/", "/t/parepare/members", "/auth/sign-in"):
            page = web.get(path, headers={"Accept": "text/html"})
            assert page.status_code == 503, (path, page.status_code)
            assert page.headers["Retry-After"] == "5"
            assert page.mimetype == "text/html"
            assert "Layanan sedang terganggu sebentar" in page.get_data(as_text=True)
        stranger = app.test_client()  # no session yet: the sign-in form cannot be kept
        first = stranger.get("/auth/sign-in")
        assert first.status_code in (200, 503)
        form = {"csrf_token": "from-an-earlier-page", "email": "a@b.id", "password": "x" * 12}
        assert stranger.post("/auth/sign-in", data=form).status_code == 503
    finally:
        outage.end()
    assert web.get("/t/parepare/").status_code == 200  # the session survived in Redis's file


def test_busy_worker_rides_out_a_redis_restart(services, app, parepare, outage) -> None:
    job_id = ask(app, parepare, "test.parts", {"n": 10, "sleep": 0.5})
    worker = _worker_process(services)
    try:
        _wait_for(lambda: job_row(app, parepare, job_id).progress_done >= 2, 60)
        outage.begin()
        time.sleep(4)  # several heartbeats (one a second) fail meanwhile
        assert worker.poll() is None
        outage.end()
        _wait_for(lambda: job_row(app, parepare, job_id).status == "succeeded", 90)
        assert worker.poll() is None, "the worker exited"
        done = job_row(app, parepare, job_id)
        assert done.attempts == 1 and done.counts == {"written": 10}
        # ... and it keeps serving: the next job runs too.
        after = ask(app, parepare, "test.noop")
        _wait_for(lambda: job_row(app, parepare, after).status == "succeeded", 60)
    finally:
        _kill_tree(worker)


def test_a_job_redis_lost_is_pushed_again_once(app, parepare) -> None:
    from slrt.platform.jobs.queue import tenant_queue
    from slrt.platform.jobs.recovery import requeue_lost
    from slrt.platform.redis_client import get_redis
    from tests.platform.jobs.test_jobs import run_burst

    job_id = ask(app, parepare, "test.parts", {"n": 2})
    fresh = ask(app, parepare, "test.noop")
    get_redis().flushdb()  # Redis restarted without its last writes: both pushes are gone
    with app.app_context(), tenant_context(parepare.ref()):
        db.session.execute(
            sa.update(Job)
            .where(Job.id == job_id)
            .values(updated_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))
        )
        db.session.commit()
        db.session.remove()
    with app.app_context():
        assert requeue_lost() == 1  # the fresh one may still be on its way: left alone
        assert requeue_lost() == 0  # pushed: alive in rq now
    assert tenant_queue(parepare.id).count == 1
    run_burst()
    row = job_row(app, parepare, job_id)
    assert row.status == "succeeded" and row.attempts == 1 and row.counts == {"written": 2}
    assert job_row(app, parepare, fresh).status == "queued"


def test_slrt_up_starts_a_dead_child_again() -> None:
    from slrt.platform.commands.up import Supervisor

    said: list[str] = []

    def start(args: list[str]) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])

    supervisor = Supervisor(start, lambda text, err=False: said.append(text))
    worker = supervisor.add(["worker"])
    server = supervisor.add(["serve"])
    first = worker.proc
    try:
        first.kill()
        first.wait()
        now = time.monotonic()
        supervisor.check(now)
        assert worker.restart_at == now + 1 and "`slrt worker` stopped" in said[0]
        supervisor.check(now + 1)
        assert worker.proc is not first and worker.proc.poll() is None
        assert server.proc.poll() is None  # the others were never touched
        worker.proc.kill()
        worker.proc.wait()
        supervisor.check(now + 2)
        assert worker.restart_at == now + 4  # a quick second death waits longer
    finally:
        for proc in supervisor.processes:
            proc.kill()
            proc.wait()


def test_a_worker_asked_to_stop_stops(services, app, parepare) -> None:
    """Starting the work loop again is for failures only: SIGTERM still ends `slrt worker`."""
    import signal

    worker = _worker_process(services)
    try:
        job_id = ask(app, parepare, "test.noop")
        _wait_for(lambda: job_row(app, parepare, job_id).status == "succeeded", 60)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
    finally:
        if worker.poll() is None:
            _kill_tree(worker)
