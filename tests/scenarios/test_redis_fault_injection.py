"""Fault injection: Redis is killed for a few seconds in the middle of a registry import while
district staff keep using the API. A real worker process runs the import, the app serves on a
loopback HTTP server, and the session's real Redis comes back on the same port. Afterwards: the
worker is alive, the import finished with every row exactly once, and no request got a 5xx other
than a 503 (and the reads they made answered)."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter

import requests
import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.tenancy import tenant_context
from slrt.tenants.registry.models import Person
from tests.platform.jobs.test_jobs import _kill_tree, _wait_for, _worker_process, job_row
from tests.platform.test_redis_outage import outage  # noqa: F401  (fixture)
from tests.tenants.registry.test_import_export import _big_csv, _counts

ROWS = 30000


def test_redis_killed_mid_import_under_api_load(
    live_server,
    services,
    app,
    parepare,
    parepare_admin,
    outage,  # noqa: F811
) -> None:
    base = f"{live_server.url}/api/v1/t/parepare"
    auth = {"Authorization": f"Bearer {parepare_admin.token}"}
    upload = requests.post(
        f"{base}/imports/registry",
        files={"file": ("dtks.csv", _big_csv(ROWS), "text/csv")},
        headers=auth,
        timeout=60,
    )
    assert upload.status_code == 202, upload.text[:300]
    job_id = uuid.UUID(upload.json()["id"])

    statuses: Counter[int] = Counter()
    stop = threading.Event()

    def staff_at_work() -> None:
        session = requests.Session()
        deadline = time.monotonic() + 240  # bounded even if the test fails midway
        while not stop.is_set() and time.monotonic() < deadline:
            for path in ("/persons?page_size=5", "/households?page_size=5", "/jobs"):
                try:
                    statuses[session.get(base + path, headers=auth, timeout=30).status_code] += 1
                except requests.RequestException:
                    statuses[-1] += 1
            time.sleep(0.05)

    load = threading.Thread(target=staff_at_work, daemon=True)
    worker = _worker_process(services)
    load.start()
    try:
        _wait_for(lambda: job_row(app, parepare, job_id).progress_done >= 1000, 120, 0.05)
        during = job_row(app, parepare, job_id)
        assert during.status == "running" and during.progress_done < ROWS
        outage.begin()
        time.sleep(4)
        assert worker.poll() is None, "the worker died with Redis"
        outage.end()
        _wait_for(lambda: job_row(app, parepare, job_id).status == "succeeded", 240, 0.5)
        assert worker.poll() is None, "the worker exited after the outage"
    finally:
        stop.set()
        load.join(timeout=60)
        _kill_tree(worker)

    done = job_row(app, parepare, job_id)
    assert done.counts["good_rows"] == ROWS and done.counts["bad_rows"] == 0
    assert done.counts["persons_inserted"] == ROWS
    assert _counts(app, parepare) == (ROWS, ROWS // 4)
    with app.app_context(), tenant_context(parepare.ref()):
        distinct = db.session.execute(sa.select(sa.func.count(sa.distinct(Person.nik)))).scalar()
        db.session.remove()
    assert distinct == ROWS  # every row exactly once
    assert statuses[200] > 0
    assert not [s for s in statuses if s >= 500 and s != 503], statuses
    assert statuses[-1] == 0, statuses
