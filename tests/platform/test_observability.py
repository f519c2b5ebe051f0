"""Metrics and logs (`slrt.platform.metrics`, `slrt.platform.logs`): /metrics behind its token
with bounded labels after real requests and jobs; one JSON line per request with its request
id; a job's lines carry the id of the request that asked for it."""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from rq.worker import DequeueStrategy

import tests.platform.jobs.handlers  # noqa: F401  (registers the test job kinds)
from slrt.platform.jobs.worker import make_worker
from slrt.platform.logs import ContextFilter, JsonFormatter

TOKEN = "metrics-test-token-0123456789"


@pytest.fixture
def log_lines(tmp_path) -> Iterator[Path]:
    """Every log record of this test, as the production handler formats it, in a file (forked
    job processes inherit the handler and append to the same file)."""
    path = tmp_path / "log.jsonl"
    handler = logging.FileHandler(path)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        handler.close()


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def scrape(client) -> dict[str, list]:
    r = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200, r.data
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return {
        family.name: family.samples
        for family in text_string_to_metric_families(r.get_data(as_text=True))
    }


def run_burst() -> None:
    make_worker().work(burst=True, dequeue_strategy=DequeueStrategy.ROUND_ROBIN)


def test_metrics_need_the_token(app, client, monkeypatch) -> None:
    monkeypatch.delenv("SLRT_METRICS_TOKEN", raising=False)
    assert client.get("/metrics").status_code == 404  # unset: nothing to find
    monkeypatch.setenv("SLRT_METRICS_TOKEN", TOKEN)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        r = client.get("/metrics", headers=headers)
        assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
        assert b"slrt_" not in r.data


def test_metrics_after_requests_and_jobs(
    app, client, parepare, kendal, parepare_admin, kendal_admin, monkeypatch
) -> None:
    monkeypatch.setenv("SLRT_METRICS_TOKEN", TOKEN)
    h = parepare_admin.headers
    for _ in range(3):
        assert client.get("/api/v1/t/parepare/villages", headers=h).status_code == 200
    missing = client.get(
        f"/api/v1/t/parepare/persons/{uuid.uuid4()}?nik=7372014506850004", headers=h
    )
    assert missing.status_code == 404
    assert client.get("/no/such/page/7372014506850004").status_code == 404
    for slug, admin in (("parepare", parepare_admin), ("kendal", kendal_admin)):
        r = client.post(f"/api/v1/t/{slug}/exports/registry", headers=admin.headers,
                        json={"format": "csv"})  # fmt: skip
        assert r.status_code == 202, r.json
    waiting = scrape(client)
    jobs = {(s.labels["district"], s.labels["status"]): s.value for s in waiting["slrt_jobs"]}
    assert jobs == {("73.72", "queued"): 1, ("33.24", "queued"): 1}
    oldest = {s.labels["district"]: s.value for s in waiting["slrt_jobs_oldest_queued_seconds"]}
    assert set(oldest) == {"73.72", "33.24"} and all(v >= 0 for v in oldest.values())
    assert [s.value for s in waiting["slrt_outbox_rows"]] == [0]  # relayed after commit

    run_burst()
    metrics = scrape(client)
    assert "slrt_jobs" not in metrics or metrics["slrt_jobs"] == []
    assert metrics.get("slrt_jobs_failed", []) == []
    waited = {
        (s.labels["district"], s.labels["quantile"]) for s in metrics["slrt_jobs_wait_seconds"]
    }
    assert waited == {(d, q) for d in ("73.72", "33.24") for q in ("0.5", "0.95")}
    assert all(s.value >= 0 for s in metrics["slrt_jobs_wait_seconds"])

    requests = {
        (s.labels["method"], s.labels["route"], s.labels["status"]): s.value
        for s in metrics["slrt_http_requests"]
        if s.name == "slrt_http_requests_total"
    }
    assert requests[("GET", "/api/v1/t/<tenant>/villages", "200")] >= 3
    assert requests[("GET", "/api/v1/t/<tenant>/persons/<uuid:person_id>", "404")] >= 1
    assert requests[("GET", "<unmatched>", "404")] >= 1
    assert requests[("POST", "/api/v1/t/<tenant>/exports/registry", "202")] >= 2
    # Bounded labels: routes are URL rules (the counters live for the whole process, so other
    # tests' apps add theirs), never paths, ids, slugs or query strings.
    exposed = "\n".join(str(s) for family in metrics.values() for s in family)
    for family in metrics.values():
        for sample in family:
            if "route" in sample.labels:
                route = sample.labels["route"]
                assert "?" not in route and not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", route)
                assert route == "<unmatched>" or route.startswith("/")
            if "district" in sample.labels:
                assert re.fullmatch(r"\d{2}\.\d{2}", sample.labels["district"])
    for leak in ("parepare", "kendal", "7372014506850004", "Parepare"):
        assert leak not in exposed
    latency = [
        s for s in metrics["slrt_http_request_duration_seconds"]
        if s.name.endswith("_count") and s.labels["route"] == "/api/v1/t/<tenant>/villages"
    ]  # fmt: skip
    assert latency and latency[0].value >= 3
    assert {s.labels["database"] for s in metrics["slrt_db_pool_capacity"]} == {"primary"}
    assert any(s.value > 0 for s in metrics["slrt_db_pool_capacity"])
    assert "slrt_db_pool_connections" in metrics

    # A job that fails for good is counted for its district.
    from tests.platform.jobs.test_jobs import ask

    ask(app, parepare, "test.fail")
    run_burst()
    failed = {s.labels["district"]: s.value for s in scrape(client)["slrt_jobs_failed"]}
    assert failed == {"73.72": 1}


def test_one_json_line_per_request_with_its_request_id(
    app, client, parepare, parepare_admin, log_lines
) -> None:
    given = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
    r = client.get(
        "/api/v1/t/parepare/villages?q=7372014506850004",
        headers={**parepare_admin.headers, "X-Request-ID": given},
    )
    assert r.status_code == 200 and r.headers["X-Request-ID"] == given
    made = client.get("/healthz")
    generated = made.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    forged = client.get("/healthz", headers={"X-Request-ID": 'x" level="CRITICAL'})
    assert re.fullmatch(r"[0-9a-f]{32}", forged.headers["X-Request-ID"])

    lines = log_lines.read_text().splitlines()
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    requests = [e for e in entries if e["logger"] == "slrt.request"]
    assert len(requests) == 3
    mine = requests[0]
    assert {k: mine[k] for k in ("request_id", "tenant", "method", "route", "status", "level")} == {
        "request_id": given,
        "tenant": "73.72",
        "method": "GET",
        "route": "/api/v1/t/<tenant>/villages",
        "status": 200,
        "level": "INFO",
    }
    assert isinstance(mine["duration_ms"], float) and mine["time"].endswith("+00:00")
    assert requests[1]["request_id"] == generated and requests[1]["tenant"] is None
    assert "7372014506850004" not in log_lines.read_text()


def test_a_jobs_log_lines_carry_the_request_id_that_asked(
    app, client, parepare, parepare_admin, log_lines
) -> None:
    given = "job-request-0123456789"
    r = client.post(
        "/api/v1/t/parepare/exports/registry",
        headers={**parepare_admin.headers, "X-Request-ID": given},
        json={"format": "csv"},
    )
    assert r.status_code == 202
    run_burst()  # in a forked work horse, as in production
    job_lines = [e for e in records(log_lines) if e.get("job_id") == r.json["id"]]
    assert [e["job_status"] for e in job_lines] == ["running", "succeeded"]
    assert {e["request_id"] for e in job_lines} == {given}
    assert {e["tenant"] for e in job_lines} == {"73.72"}
