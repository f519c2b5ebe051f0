"""Prometheus metrics (prometheus-client) at /metrics, for the operators' Prometheus only.

/metrics needs `Authorization: Bearer <SLRT_METRICS_TOKEN>` (401 without it, 404 while the
setting is unset) and is not part of the API document; nginx refuses it from outside, so
Prometheus scrapes each node's own address.

What is measured, with labels that stay few whatever the traffic:
- requests: `slrt_http_requests_total{method, route, status}` and the latency histogram
  `slrt_http_request_duration_seconds{method, route}`; `route` is the URL rule
  (`/api/v1/t/<tenant>/persons/<uuid:person_id>`), never the path, so ids, slugs and query
  strings never become labels;
- database pools: `slrt_db_pool_connections{database="primary|replica", state="checked_out"}`
  and `slrt_db_pool_capacity{database}` (pool size plus overflow), summed over the node's
  processes;
- read from PostgreSQL at each scrape, so every node reports the whole cluster's state (take
  one node's series, or max across nodes): `slrt_jobs{district, status}` (queued, held,
  running), `slrt_jobs_failed_total{district}`, `slrt_jobs_oldest_queued_seconds{district}`
  (how long the oldest waiting job has waited), `slrt_outbox_rows`, `slrt_outbox_oldest_seconds`
  (jobs committed but not yet in Redis), `slrt_replica_lag_seconds`. `district` is the
  Kemendagri code (e.g. 73.72), never a name: at most one series per district.

gunicorn runs several processes: `slrt serve` sets PROMETHEUS_MULTIPROC_DIR (under
SLRT_DATA_DIR unless given) so that a scrape of any process adds up all of them.
"""

from __future__ import annotations

import hmac
import logging
import os
import time
from collections.abc import Iterator

import sqlalchemy as sa
from flask import Blueprint, Flask, Response, g, request
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from slrt.platform import db
from slrt.platform.config import setting
from slrt.platform.logs import current_request_id, new_request_id, reset_request_id, set_request_id

log = logging.getLogger("slrt.request")

METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
UNMATCHED = "<unmatched>"

REQUESTS = Counter("slrt_http_requests", "HTTP requests answered", ["method", "route", "status"])
LATENCY = Histogram(
    "slrt_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
POOL = Gauge(
    "slrt_db_pool_connections",
    "Database connections of this node's pools, by state",
    ["database", "state"],
    multiprocess_mode="livesum",
)
CAPACITY = Gauge(
    "slrt_db_pool_capacity",
    "Connections this node's pools may open (pool size plus overflow)",
    ["database"],
    multiprocess_mode="livesum",
)


def _watch_pool(engine: sa.Engine, name: str) -> None:
    """Count the engine's connections as they are lent out and given back."""
    pool = engine.pool
    size = getattr(pool, "size", lambda: 0)() + max(getattr(pool, "_max_overflow", 0), 0)
    CAPACITY.labels(name).inc(size)
    checked_out = POOL.labels(name, "checked_out")

    @sa.event.listens_for(pool, "checkout")
    def _out(*_a) -> None:
        checked_out.inc()

    @sa.event.listens_for(pool, "checkin")
    def _in(*_a) -> None:
        checked_out.dec()


# At import, before the app factory creates its engines.
if _watch_pool not in db._ENGINE_LISTENERS:
    db._ENGINE_LISTENERS.append(_watch_pool)


class ClusterState(Collector):
    """Jobs, outbox and replica lag, read from PostgreSQL when Prometheus scrapes."""

    def collect(self) -> Iterator[Metric]:
        from slrt.platform.jobs.models import Job, JobOutbox
        from slrt.platform.tenancy import platform_bypass
        from slrt.platform.tenant import Tenant

        jobs = GaugeMetricFamily("slrt_jobs", "Jobs not finished, by district and status",
                                 labels=["district", "status"])  # fmt: skip
        failed = CounterMetricFamily("slrt_jobs_failed", "Jobs that failed for good, by district",
                                     labels=["district"])  # fmt: skip
        oldest = GaugeMetricFamily(
            "slrt_jobs_oldest_queued_seconds",
            "How long the oldest job waiting for a worker has waited, by district",
            labels=["district"],
        )
        waits = GaugeMetricFamily(
            "slrt_jobs_wait_seconds",
            "How long jobs that started in the last 15 minutes waited for a worker, by district "
            "(quantile 0.5 and 0.95)",
            labels=["district", "quantile"],
        )
        age = sa.func.extract("epoch", sa.func.now() - sa.func.min(Job.created_at))
        waited_for = sa.func.extract("epoch", Job.started_at - Job.created_at)
        # On the primary: the replica may lag behind the very state being measured.
        with db.SessionFactory() as sess:
            with platform_bypass("metrics: job counts per district for the operators"):
                rows = sess.execute(
                    sa.select(Tenant.code, Job.status, sa.func.count(), age)
                    .join(Tenant, Tenant.id == Job.tenant_id)
                    .where(Job.status.in_(("queued", "held", "running", "failed")))
                    .group_by(Tenant.code, Job.status)
                ).all()
                recent = sess.execute(
                    sa.select(
                        Tenant.code,
                        sa.func.percentile_cont(0.5).within_group(waited_for),
                        sa.func.percentile_cont(0.95).within_group(waited_for),
                    )
                    .join(Tenant, Tenant.id == Job.tenant_id)
                    .where(Job.started_at >= sa.func.now() - sa.text("interval '15 minutes'"))
                    .group_by(Tenant.code)
                ).all()
            sess.rollback()
            outbox_age = sa.func.extract("epoch", sa.func.now() - sa.func.min(JobOutbox.created_at))
            due = sa.or_(JobOutbox.run_after.is_(None), JobOutbox.run_after <= sa.func.now())
            outbox = sess.execute(sa.select(sa.func.count(), outbox_age).where(due)).one()
            sess.rollback()
        for code, status, count, waited in rows:
            if status == "failed":
                failed.add_metric([code], count)
            else:
                jobs.add_metric([code, status], count)
            if status == "queued":
                oldest.add_metric([code], float(waited or 0))
        for code, median, p95 in recent:
            waits.add_metric([code, "0.5"], float(median or 0))
            waits.add_metric([code, "0.95"], float(p95 or 0))
        yield jobs
        yield failed
        yield oldest
        yield waits
        yield GaugeMetricFamily("slrt_outbox_rows", "Jobs committed but not yet in Redis",
                                value=outbox[0])  # fmt: skip
        yield GaugeMetricFamily(
            "slrt_outbox_oldest_seconds",
            "Age of the oldest job committed but not yet in Redis (0: none waiting)",
            value=float(outbox[1] or 0),
        )
        replica = db.replica_engine()
        if replica is not None:
            with replica.connect() as conn:
                lag = conn.execute(
                    sa.text(
                        "SELECT CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() "
                        "THEN 0 ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) "
                        "END"
                    )
                ).scalar()
            yield GaugeMetricFamily(
                "slrt_replica_lag_seconds",
                "How far the replica's replay is behind (0: it has replayed all it received)",
                value=float(lag or 0),
            )


def _exposition() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        processes = CollectorRegistry()
        multiprocess.MultiProcessCollector(processes)
    else:
        processes = REGISTRY
    state = CollectorRegistry()
    state.register(ClusterState())
    return generate_latest(processes) + generate_latest(state)


bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def metrics() -> Response:
    token = setting("SLRT_METRICS_TOKEN")
    if not token:
        return Response("Not Found\n", 404, mimetype="text/plain")
    offered = request.headers.get("Authorization", "")
    if not hmac.compare_digest(offered.encode(), f"Bearer {token}".encode()):
        return Response(
            "Unauthorized\n", 401, {"WWW-Authenticate": 'Bearer realm="metrics"'},
            mimetype="text/plain",
        )  # fmt: skip
    return Response(_exposition(), 200, mimetype="text/plain; version=0.0.4; charset=utf-8")


def init_app(app: Flask) -> None:
    """The request id, the request log line and the request metrics, around every request
    (the /metrics blueprint is registered with the others, platform/blueprints.py)."""

    @app.before_request
    def _start() -> None:
        g.request_started = time.perf_counter()
        g.request_id_token = set_request_id(new_request_id(request.headers.get("X-Request-ID")))

    @app.after_request
    def _finish(response: Response) -> Response:
        from slrt.platform.tenancy import current_tenant_or_none

        request_id = current_request_id()
        if request_id:
            response.headers["X-Request-ID"] = request_id
        started = g.get("request_started")
        duration = time.perf_counter() - started if started is not None else 0.0
        method = request.method if request.method in METHODS else "OTHER"
        route = request.url_rule.rule if request.url_rule is not None else UNMATCHED
        REQUESTS.labels(method, route, str(response.status_code)).inc()
        LATENCY.labels(method, route).observe(duration)
        tenant = current_tenant_or_none()
        log.info(
            "%s %s %s",
            method,
            route,
            response.status_code,
            extra={
                "method": method,
                "route": route,
                "status": response.status_code,
                "duration_ms": round(duration * 1000, 1),
                "tenant": tenant.code if tenant else None,
            },
        )
        return response

    @app.teardown_request
    def _forget(exc: BaseException | None) -> None:
        token = g.pop("request_id_token", None)
        if token is not None:
            reset_request_id(token)
