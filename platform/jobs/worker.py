"""`slrt worker`: an rq worker that serves districts fairly.

Fairness design. The goal: a district that enqueues thousands of jobs must not
delay another district's few.

1. One rq queue per district (`t<tenant id>`, jobs_queue). A worker listens on all of them.
2. Round-robin between districts: rq's own `DequeueStrategy.ROUND_ROBIN` rotates the worker's
   queue list after every dequeue so the queue just served goes last. With A's backlog queued, B's
   job is dequeued after at most one job of every other district with queued work.
3. A per-district cap on jobs queued-for-a-worker or running: rq's `RateLimit`, keyed by the
   district, with `concurrency_cap(tenant_id)` slots (a setting now, the billing plan later). rq
   holds the rest in its rate-limited set and promotes the oldest when a slot frees (on success,
   failure, or when an abandoned job is cleaned up). So a district never occupies more than its
   cap of workers, and its backlog never sits in front of anyone.
4. Written by hand here, because rq lacks it: the worker's queue list is not fixed at start. Before
   every dequeue it re-reads the set of district queues (`slrt:jobs:queues`), keeping the rotation
   order of the queues it already knows and appending new ones; while idle it blocks on all of
   them for at most `POLL_SECONDS`, so a district onboarded after the worker started is served
   within that time, without a restart.

Redis outages: a worker and its work horses are patient Redis clients (every command retried
with backoff for about a minute, `slrt.platform.redis_client.make_patient`), so a job in progress
carries on through a Redis restart. Should Redis stay away longer, a heartbeat that cannot be
sent is logged and tried again at the next interval instead of ending the worker, and
`run_worker` starts the work loop again (with backoff) if it ends for any reason other than a
stop request.

Crash safety: jobs carry rq `Retry`s. The horse's heartbeat TTL is three `SLRT_JOB_HEARTBEAT`
intervals (rq's default adds a fixed minute), and the scheduler cleans the registries every
interval (workers every ten, as a fallback), so a job whose worker was SIGKILLed is found
abandoned in the StartedJobRegistry quickly and retried (rq's cleanup does that, freeing or
keeping its slot as appropriate); once retries are exhausted it lands in the FailedJobRegistry
and the scheduler marks the record failed (jobs_recovery).
"""

from __future__ import annotations

import logging
import os
import time

from rq import Queue, Worker
from rq.exceptions import DequeueTimeout
from rq.worker import DequeueStrategy, WorkerStatus

from slrt.platform.config import setting
from slrt.platform.jobs.queue import known_queue_names
from slrt.platform.redis_client import UNREACHABLE, make_patient

log = logging.getLogger(__name__)

POLL_SECONDS = 1


def heartbeat_seconds() -> int:
    return max(1, int(setting("SLRT_JOB_HEARTBEAT") or 10))


class FairWorker(Worker):
    """rq Worker over every district queue, refreshed before each dequeue (see module doc)."""

    def _refresh_queues(self) -> None:
        names = known_queue_names(self.connection)
        current = [q.name for q in self._ordered_queues]
        if set(names) == set(current):
            return
        kept = [q for q in self._ordered_queues if q.name in names]
        added = [
            Queue(n, connection=self.connection, serializer=self.serializer)
            for n in names
            if n not in current
        ]
        self._ordered_queues = kept + added
        self.queues = list(self._ordered_queues)

    def get_heartbeat_ttl(self, job, working_time: float = 0.0) -> int:
        # rq adds a fixed 60 s; three missed heartbeats are enough to call a horse dead.
        return self.job_monitoring_interval * 3

    def heartbeat(self, timeout: int | None = None, pipeline=None) -> None:
        touch_alive()  # the loop turns, Redis or not: a stuck process is what a probe looks for
        if pipeline is not None:
            super().heartbeat(timeout, pipeline=pipeline)
            return
        try:
            super().heartbeat(timeout)
        except UNREACHABLE as exc:
            self.log.error("Worker %s: heartbeat not sent, Redis unreachable (%s)", self.name, exc)

    def maintain_heartbeats(self, job, execution) -> None:
        # While a job runs the horse does its work in PostgreSQL; a heartbeat lost to a Redis
        # outage is sent again at the next interval, and the job goes on.
        try:
            super().maintain_heartbeats(job, execution)
        except UNREACHABLE as exc:
            self.log.error(
                "Worker %s: job heartbeat not sent, Redis unreachable (%s)", self.name, exc
            )

    def run_maintenance_tasks(self) -> None:
        self._refresh_queues()
        super().run_maintenance_tasks()
        from slrt.platform.jobs.outbox import relay_pending

        try:
            relay_pending()
        except Exception:
            log.warning("outbox relay from the worker failed; the scheduler retries", exc_info=True)

    def _dequeue_now(self, timeout: int | None):
        if not self._ordered_queues:
            if timeout:
                time.sleep(timeout)
            return None
        try:
            return self.queue_class.dequeue_any(
                self._ordered_queues,
                timeout,
                connection=self.connection,
                job_class=self.job_class,
                serializer=self.serializer,
                death_penalty_class=self.death_penalty_class,
            )
        except DequeueTimeout:
            return None

    def dequeue_job_and_maintain_ttl(self, timeout: int | None, max_idle_time: int | None = None):
        self.set_state(WorkerStatus.IDLE)
        self.procline("Listening on district queues")
        idle_since = time.monotonic()
        backoff = 1.0
        while True:
            try:
                self.heartbeat()
                if self.should_run_maintenance_tasks:
                    self.run_maintenance_tasks()
                self._refresh_queues()
                result = self._dequeue_now(None)
                if result is None and timeout is not None:
                    # Block briefly on every known queue; re-read the queue set afterwards.
                    result = self._dequeue_now(POLL_SECONDS)
                if result is not None:
                    job, queue = result
                    self.reorder_queues(reference_queue=queue)
                    job.redis_server_version = self.get_redis_server_version()
                    self.log.info("Worker %s: %s: %s", self.name, queue.name, job.id)
                    self.heartbeat()
                    return result
                if timeout is None:
                    return None  # burst mode: nothing left
                if max_idle_time is not None and time.monotonic() - idle_since >= max_idle_time:
                    return None
                backoff = 1.0
            except UNREACHABLE as exc:
                self.log.error("Worker %s: Redis unreachable (%s); retrying", self.name, exc)
                time.sleep(backoff)
                backoff = min(backoff * 2, 30.0)


def touch_alive() -> None:
    """Renew SLRT_ALIVE_FILE's time (a liveness probe reads its age)."""
    path = setting("SLRT_ALIVE_FILE")
    if not path:
        return
    try:
        os.utime(path)
    except FileNotFoundError:
        with open(path, "a"):
            pass
    except OSError as exc:
        log.warning("cannot touch %s: %s", path, exc)


def make_worker(connection=None, **kw) -> FairWorker:
    from slrt.platform.redis_client import get_redis

    beat = heartbeat_seconds()
    conn = connection or get_redis()
    kw.setdefault("job_monitoring_interval", beat)
    # Registry cleaning walks every district queue; the active scheduler also does it each
    # heartbeat interval, so workers do it only now and then, as a fallback.
    kw.setdefault("maintenance_interval", beat * 10)
    worker = FairWorker([], connection=conn, **kw)
    worker._refresh_queues()
    return worker


def run_worker(burst: bool = False) -> None:
    from slrt.platform import db
    from slrt.platform.jobs.handlers import load_handlers
    from slrt.platform.logs import configure_logging
    from slrt.platform.runtime import database_url

    configure_logging()
    db.init_engine(database_url())
    load_handlers()  # import once in the parent; every forked horse inherits them
    make_patient()
    backoff = 1.0
    while True:
        worker = None
        try:
            worker = make_worker()
            worker.work(burst=burst, dequeue_strategy=DequeueStrategy.ROUND_ROBIN)
        except UNREACHABLE as exc:
            log.error("worker: Redis unreachable (%s); starting again in %.0f s", exc, backoff)
        # A stop request (SIGTERM/SIGINT) is the one reason to end; rq notes its time.
        if burst or (worker is not None and worker._shutdown_requested_date is not None):
            return
        # rq ends its work loop on an error it does not handle (e.g. Redis gone longer than the
        # retries last): serve again rather than leave the district's jobs queued.
        time.sleep(backoff)
        backoff = min(backoff * 2, 30.0)
