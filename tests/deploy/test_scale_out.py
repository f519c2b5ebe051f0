"""The scale-out proof: slrt behind nginx on two app nodes, two workers and a scheduler, through
PgBouncer's transaction pool to a PostgreSQL primary with a streaming replica, all real servers
on this machine (tests/deploy/conftest.py).

Every test here runs in one pytest process (one file, so xdist's loadfile keeps it together)
against one cluster; a test that kills a process restarts it before it ends.
"""

from __future__ import annotations

import concurrent.futures as cf
import csv
import io
import json
import re
import ssl
import subprocess
import threading
import time
import uuid

import psycopg
import pytest
import requests

from tests.deploy.servers import replica_probe

pytestmark = pytest.mark.slow

SLUGS = ("kendal", "parepare")
CODES = {"kendal": "33.24", "parepare": "73.72"}


def admin(cluster, slug: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + cluster.token(f"admin.{slug}@demo.slrt.id")}


def new_log_lines(path, offset: int) -> list[str]:
    with path.open(errors="replace") as handle:
        handle.seek(offset)
        return handle.read().splitlines()


def log_offset(path) -> int:
    return path.stat().st_size if path.exists() else 0


def upstreams_of(line: str) -> list[str]:
    """The node addresses nginx tried for one request, in order (`a, b` means a retry)."""
    match = re.search(r"upstream=(\S+(?:, \S+)*) upstream_status", line)
    return match.group(1).split(", ") if match else []


def total(response) -> int:
    return json.loads(response.headers["X-Pagination"])["total"]


def villages(cluster, slug: str) -> list[str]:
    s = cluster.session()
    r = s.get(f"{cluster.url}/api/v1/t/{slug}/villages?page_size=100", headers=admin(cluster, slug))
    assert r.status_code == 200, r.text
    return [v["code"] for v in r.json()]


def registry_csv(codes: list[str], batch: int, rows: int, name: str) -> bytes:
    """A registry import file of `rows` households of one person each, valid NIKs and KKs
    made from the villages' kecamatan codes; `batch` keeps NIKs of different files apart."""
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";")
    w.writerow(
        ["no_kk", "nik", "nama", "jenis_kelamin", "tempat_lahir", "tanggal_lahir",
         "hubungan", "disabilitas", "telepon", "kode_desa", "alamat"]
    )  # fmt: skip
    for i in range(rows):
        village = codes[i % len(codes)]
        kec = village[:8].replace(".", "")
        day, month, yy = 1 + i % 28, 1 + (i // 28) % 12, 60 + (i // 336) % 40
        nik = f"{kec}{day:02d}{month:02d}{yy:02d}{batch + 1:04d}"
        kk = f"{kec}9{batch % 10}{i:08d}"
        w.writerow([kk, nik, f"{name} {i}", "L", "", f"{day:02d}/{month:02d}/19{yy}",
                    "kepala keluarga", "tidak", "", village, "Jl. Uji"])  # fmt: skip
    return buf.getvalue().encode()


# --- (a) nginx in front of two nodes ------------------------------------------------------------


def test_requests_through_nginx_reach_both_nodes(cluster) -> None:
    s = cluster.session()
    offset = log_offset(cluster.nginx.access_log)
    answers = [s.get(cluster.url + "/api/v1/tenants") for _ in range(30)]
    assert [r.status_code for r in answers] == [200] * 30
    assert {t["slug"] for t in answers[-1].json()} == set(SLUGS)
    # nginx writes a request's log line once the answer has gone out: the last may trail it.
    deadline = time.monotonic() + 10
    while True:
        lines = [
            ln for ln in new_log_lines(cluster.nginx.access_log, offset) if "/api/v1/tenants" in ln
        ]
        if len(lines) >= 30 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert len(lines) == 30
    used = {upstreams_of(ln)[-1] for ln in lines}
    assert used == {f"127.0.0.1:{node.port}" for node in cluster.nodes}
    for node in cluster.nodes:  # and each node's own request log saw some of them
        assert '"route": "/api/v1/tenants"' in node.log()


def test_tls_http2_hsts_and_http_redirect(cluster) -> None:
    s = cluster.session()
    r = s.get(cluster.url + "/healthz")
    assert r.status_code == 200
    assert r.headers["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    # HTTP/2 is negotiated with ALPN (curl: Debian's build has nghttp2).
    out = subprocess.run(
        ["curl", "-sS", "--http2", "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
         "--cacert", str(cluster.nginx.certificate), cluster.url + "/healthz"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert out == "2 200"
    # TLS 1.3 with an AEAD suite; TLS 1.1 is refused.
    ctx = ssl.create_default_context(cafile=str(cluster.nginx.certificate))
    with ctx.wrap_socket(
        __import__("socket").create_connection(("127.0.0.1", cluster.nginx.https_port)),
        server_hostname="127.0.0.1",
    ) as tls:
        assert tls.version() == "TLSv1.3"
        assert "GCM" in tls.cipher()[0] or "CHACHA20" in tls.cipher()[0]
    r = s.get(cluster.http_url + "/t/kendal/?x=1", allow_redirects=False)
    assert r.status_code == 301
    assert r.headers["Location"].startswith("https://")
    assert r.headers["Location"].endswith("/t/kendal/?x=1")


def test_static_files_from_disk_with_far_future_caching(cluster) -> None:
    s = cluster.session()
    # The name a page links (fingerprinted), as the app itself publishes it.
    name = cluster.nginx.manifest["slrt.css"]
    assert name in s.get(cluster.url + "/auth/sign-in").text
    css = (cluster.nginx.assets / "static" / name).read_bytes()
    url = f"{cluster.url}/static/{name}"
    offsets = [log_offset(node.log_path) for node in cluster.nodes]
    r = s.get(url, headers={"Accept-Encoding": "identity"})
    assert r.status_code == 200
    assert r.content == css
    assert r.headers["Content-Type"].startswith("text/css")
    assert r.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "Strict-Transport-Security" in r.headers
    gz = s.get(url, headers={"Accept-Encoding": "gzip"}, stream=True)
    assert gz.headers.get("Content-Encoding") == "gzip"
    # The copy compressed once at publication (gzip_static), byte for byte.
    assert gz.raw.read() == (cluster.nginx.assets / "static" / (name + ".gz")).read_bytes()
    if cluster.nginx.brotli:
        br = s.get(url, headers={"Accept-Encoding": "br"})
        assert br.headers.get("Content-Encoding") == "br"
    # nginx answered from disk: neither node saw these requests.
    for node, offset in zip(cluster.nodes, offsets, strict=True):
        assert f"/static/{name}" not in "\n".join(new_log_lines(node.log_path, offset))
    # A name the disk lacks falls through to the app (its 404, not nginx's).
    missing = s.get(cluster.url + "/static/no-such-file.css")
    assert missing.status_code == 404
    assert "X-Request-ID" in missing.headers


def test_request_id_and_an_access_log_without_query_strings(cluster) -> None:
    s = cluster.session()
    nik = "7372014506850004"
    offset = log_offset(cluster.nginx.access_log)
    r = s.get(cluster.url + f"/api/v1/tenants?nik={nik}", headers={"Referer": f"/x?nik={nik}"})
    assert r.status_code == 200
    request_id = r.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    time.sleep(0.2)  # nginx writes the line after the response
    lines = new_log_lines(cluster.nginx.access_log, offset)
    mine = [ln for ln in lines if f"request_id={request_id}" in ln]
    assert len(mine) == 1 and '"GET /api/v1/tenants HTTP/1.1"' in mine[0]
    assert nik not in "\n".join(lines)


def test_upload_limit_matches_the_app(cluster) -> None:
    """A body of SLRT_MAX_UPLOAD_BYTES reaches the app (which answers in its own words); one
    well past it is stopped by nginx before any node reads it."""
    s = cluster.session()
    url = cluster.url + "/api/v1/t/kendal/imports/registry"
    limit = 20 * 1024 * 1024
    at_limit = s.post(url, files={"file": ("a.csv", b"x" * limit, "text/csv")})
    assert at_limit.status_code == 401  # the app: no token
    assert at_limit.headers["Content-Type"].startswith("application/problem+json")
    over = s.post(url, files={"file": ("a.csv", b"x" * (limit + 2 * 1024 * 1024), "text/csv")})
    assert over.status_code == 413
    assert "nginx" in over.text


def _json_lines(text: str) -> list[dict]:
    out = []
    for line in text.splitlines():
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def test_logs_are_json_with_nginx_request_id_and_jobs_carry_it(cluster) -> None:
    """Every line a node writes is JSON; the request line has nginx's request id (the one the
    client got back, once) and the route, never the query string; the export job that request
    asked for logs under the same id on whichever worker ran it."""
    s = cluster.session()
    nik = "7372014506850004"
    offsets = [log_offset(node.log_path) for node in cluster.nodes]
    r = s.get(
        f"{cluster.url}/api/v1/t/parepare/villages?q={nik}", headers=admin(cluster, "parepare")
    )
    assert r.status_code == 200
    request_id = r.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)  # one header: nginx's, echoed by the app
    h = admin(cluster, "parepare")
    export = s.post(f"{cluster.url}/api/v1/t/parepare/exports/registry", headers=h,
                    json={"format": "csv"})  # fmt: skip
    assert export.status_code == 202
    export_id = export.headers["X-Request-ID"]
    job_url = f"{cluster.url}/api/v1/t/parepare/jobs/{export.json()['id']}"
    deadline = time.monotonic() + 60
    while s.get(job_url, headers=h).json()["status"] != "succeeded":
        assert time.monotonic() < deadline
        time.sleep(0.3)
    time.sleep(0.3)
    new = "\n".join(
        "\n".join(new_log_lines(node.log_path, offset))
        for node, offset in zip(cluster.nodes, offsets, strict=True)
    )
    assert nik not in new
    lines = [ln for ln in new.splitlines() if ln.strip()]
    assert all(ln.startswith("{") for ln in lines), [ln for ln in lines if not ln.startswith("{")]
    entries = _json_lines(new)
    mine = [e for e in entries if e.get("request_id") == request_id]
    assert len(mine) == 1 and mine[0]["route"] == "/api/v1/t/<tenant>/villages"
    assert (mine[0]["method"], mine[0]["status"], mine[0]["tenant"]) == ("GET", 200, "73.72")
    worker_lines = _json_lines("\n".join(w.log() for w in cluster.workers))
    job_lines = [e for e in worker_lines if e.get("job_id") == export.json()["id"]]
    assert {e["request_id"] for e in job_lines} == {export_id}
    assert "succeeded" in {e["job_status"] for e in job_lines}


def test_metrics_per_node_with_the_token_never_through_nginx(cluster) -> None:
    """Prometheus' view of one node: the requests of both gunicorn processes add up, the
    district labels are codes, the replica's lag and both pools are there; nginx answers 404
    for /metrics whatever the token."""
    s = cluster.session()
    token = {"Authorization": "Bearer deploy-metrics-token-0123456789"}
    assert s.get(cluster.url + "/metrics", headers=token).status_code == 404
    node = cluster.nodes[1]
    direct = f"http://127.0.0.1:{node.port}"
    assert requests.get(direct + "/metrics", timeout=10).status_code == 401

    def served(text: str) -> float:
        for line in text.splitlines():
            if line.startswith("slrt_http_requests_total{") and 'route="/healthz"' in line:
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    before = served(requests.get(direct + "/metrics", headers=token, timeout=10).text)
    with cf.ThreadPoolExecutor(4) as pool:  # concurrent, so both gunicorn processes serve some
        list(pool.map(lambda _: requests.get(direct + "/healthz", timeout=10), range(40)))
    text = requests.get(direct + "/metrics", headers=token, timeout=10).text
    assert served(text) - before == 40
    assert re.search(r'slrt_db_pool_capacity\{database="primary"\} [1-9]', text)
    assert re.search(r'slrt_db_pool_capacity\{database="replica"\} [1-9]', text)
    assert re.search(r"(?m)^slrt_replica_lag_seconds [0-9.e+-]+$", text)
    assert re.search(r"(?m)^slrt_outbox_rows \d", text)
    for district in re.findall(r'district="([^"]*)"', text):
        assert re.fullmatch(r"\d{2}\.\d{2}", district)
    for route in re.findall(r'route="([^"]*)"', text):
        assert "parepare" not in route and "kendal" not in route and "?" not in route


# --- (c) no tenant bleeding through pooled transactions ----------------------------------------


def test_no_tenant_bleeding_through_the_api_under_concurrency(cluster) -> None:
    """Both districts write and read at once through nginx, two nodes and PgBouncer's shared
    backends; each sees only its own villages and persons, and the other's ids are 404."""
    s = cluster.session()
    codes = {slug: villages(cluster, slug) for slug in SLUGS}
    run = uuid.uuid4().hex[:6]
    created: dict[str, list[str]] = {slug: [] for slug in SLUGS}
    problems: list[str] = []
    lock = threading.Lock()

    def district_work(slug: str, lane: int) -> None:
        h = admin(cluster, slug)
        base = f"{cluster.url}/api/v1/t/{slug}"
        kec = codes[slug][0][:8].replace(".", "")
        for i in range(12):
            kk = f"{kec}8{lane}{i:03d}{int(run, 16) % 100000:05d}"
            hh = s.post(base + "/households", headers=h,
                        json={"kk_number": kk, "address": "Jl. Isolasi",
                              "village_code": codes[slug][i % len(codes[slug])]})  # fmt: skip
            if hh.status_code != 201:
                problems.append(f"{slug} household {hh.status_code} {hh.text[:200]}")
                continue
            nik = f"{kec}{1 + i:02d}0{1 + lane}05{(int(run, 16) + i) % 9000 + 1:04d}"
            person = s.post(base + "/persons", headers=h,
                            json={"nik": nik, "name": f"Isolasi {slug} {run} {lane}-{i}",
                                  "household_id": hh.json()["id"],
                                  "relation": "kepala_keluarga"})  # fmt: skip
            if person.status_code != 201:
                problems.append(f"{slug} person {person.status_code} {person.text[:200]}")
                continue
            with lock:
                created[slug].append(person.json()["id"])
            listed = s.get(base + "/persons?name=Isolasi&page_size=100", headers=h)
            for p in listed.json():
                if f"Isolasi {slug} " not in p["name"]:
                    problems.append(f"{slug} saw {p['name']}")
            page = s.get(base + f"/villages?page_size=100&page={1 + i % 2}", headers=h)
            for v in page.json():
                if not v["code"].startswith(CODES[slug] + "."):
                    problems.append(f"{slug} saw village {v['code']}")

    with cf.ThreadPoolExecutor(4) as pool:
        jobs = [pool.submit(district_work, slug, lane) for slug in SLUGS for lane in (1, 2)]
        for job in jobs:
            job.result()
    assert problems == []
    for slug in SLUGS:
        assert len(created[slug]) == 24
        h = admin(cluster, slug)
        listed = s.get(f"{cluster.url}/api/v1/t/{slug}/persons?name=Isolasi%20{slug}%20{run}"
                       "&page_size=100", headers=h)  # fmt: skip
        assert sorted(p["id"] for p in listed.json()) == sorted(created[slug])
        other = SLUGS[1 - SLUGS.index(slug)]
        foreign = s.get(f"{cluster.url}/api/v1/t/{slug}/persons/{created[other][0]}", headers=h)
        assert foreign.status_code == 404


def _tenant_ids(cluster) -> dict[str, int]:
    with cluster.primary_conn() as conn:
        rows = conn.execute("SELECT slug, id FROM tenants").fetchall()
    return dict(rows)


def test_no_tenant_bleeding_between_interleaved_raw_transactions(cluster) -> None:
    """As the app role through PgBouncer, clients of both districts interleave transactions on
    ONE shared PostgreSQL backend (the probe pool has a single server connection); each
    transaction sets its tenant as the app does, set_config(..., true), and sees its own rows
    only; a transaction that sets none sees nothing."""
    ids = _tenant_ids(cluster)
    expected = {}
    with cluster.primary_conn() as conn:
        for slug in SLUGS:
            expected[slug] = conn.execute(
                "SELECT count(*) FROM villages WHERE tenant_id = %s", (ids[slug],)
            ).fetchone()[0]
    assert expected["kendal"] > expected["parepare"] > 0
    seen: list[tuple] = []
    lock = threading.Lock()

    def client(slug: str | None, rounds: int) -> None:
        with cluster.bouncer_conn("slrt_probe") as conn:
            for _ in range(rounds):
                with conn.transaction():
                    if slug is not None:
                        conn.execute(
                            "SELECT set_config('slrt.tenant_id', %s, true)", (str(ids[slug]),)
                        )
                    time.sleep(0.002)  # let the other clients queue on the backend
                    row = conn.execute(
                        "SELECT pg_backend_pid(), count(*), "
                        "count(*) FILTER (WHERE tenant_id <> %s) FROM villages",
                        (ids.get(slug, -1),),
                    ).fetchone()
                with lock:
                    seen.append((slug, *row))

    with cf.ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(client, slug, 20) for slug in ("kendal", "parepare", None) * 2]
        for f in futures:
            f.result()
    assert len(seen) == 120
    assert len({pid for _, pid, _, _ in seen}) == 1  # truly one backend for all of them
    for slug, _, count, foreign in seen:
        assert foreign == 0 if slug else count == 0
        if slug:
            assert count == expected[slug]


def test_the_isolation_probe_would_see_a_session_level_leak(cluster) -> None:
    """The control: had the app set the tenant for the session (is_local false), the next
    client of the same pooled backend would read that district. This is what the test above
    rules out for the app's real, transaction-local setting."""
    ids = _tenant_ids(cluster)
    with cluster.bouncer_conn("slrt_probe", autocommit=True) as a:
        a.execute("SELECT set_config('slrt.tenant_id', %s, false)", (str(ids["kendal"]),))
    try:
        with cluster.bouncer_conn("slrt_probe", autocommit=True) as b:
            leaked = b.execute("SELECT count(*) FROM villages").fetchone()[0]
        assert leaked > 0
    finally:
        with cluster.bouncer_conn("slrt_probe", autocommit=True) as c:
            c.execute("SELECT set_config('slrt.tenant_id', '', false)")
            assert c.execute("SELECT count(*) FROM villages").fetchone()[0] == 0


def test_pgbouncer_needs_unprepared_statements(cluster) -> None:
    """Why the cluster's app processes run with SLRT_DB_PREPARED_STATEMENTS=0 (psycopg's
    prepare_threshold=None): Debian 12's
    PgBouncer (1.18) does not carry psycopg's named prepared statements between backends, so two
    clients sharing a backend collide (and a client moved to another backend loses them)."""
    version = subprocess.run(["pgbouncer", "--version"], capture_output=True, text=True).stdout
    with (
        cluster.bouncer_conn("slrt_probe", autocommit=True, prepare_threshold=0) as a,
        cluster.bouncer_conn("slrt_probe", autocommit=True, prepare_threshold=0) as b,
    ):
        a.execute("SELECT 1")
        if re.search(r"PgBouncer 1\.(1\d|20)\.", version):
            with pytest.raises(psycopg.errors.DuplicatePreparedStatement):
                b.execute("SELECT 2")
        a.execute("DEALLOCATE ALL")
    with (
        cluster.bouncer_conn("slrt_probe", autocommit=True) as a,
        cluster.bouncer_conn("slrt_probe", autocommit=True) as b,
    ):
        for _ in range(10):
            assert a.execute("SELECT 1").fetchone()[0] == 1
            assert b.execute("SELECT 2").fetchone()[0] == 2


# --- (d) the streaming replica ------------------------------------------------------------------


def test_replica_streams_what_the_app_writes(cluster) -> None:
    with cluster.primary_conn() as conn:
        rows = conn.execute("SELECT usename, state, sync_state FROM pg_stat_replication").fetchall()
        slot = conn.execute(
            "SELECT active FROM pg_replication_slots WHERE slot_name = 'slrt_replica_1'"
        ).fetchone()[0]
    assert rows == [("slrt_replicator", "streaming", "async")]
    assert slot is True

    s = cluster.session()
    kk = f"737201{int(time.time() * 1000) % 10**10:010d}"
    h, village = admin(cluster, "parepare"), villages(cluster, "parepare")[0]
    r = s.post(f"{cluster.url}/api/v1/t/parepare/households", headers=h,
               json={"kk_number": kk, "address": "Jl. Replika", "village_code": village})  # fmt: skip
    started = time.monotonic()  # the app has committed on the primary
    assert r.status_code == 201, r.text
    with cluster.replica_conn(autocommit=True) as replica:
        assert replica.execute("SELECT pg_is_in_recovery()").fetchone()[0] is True
        deadline = time.monotonic() + 15
        while True:
            found = replica.execute(
                "SELECT count(*) FROM households WHERE kk_number = %s", (kk,)
            ).fetchone()[0]
            if found or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        lag = time.monotonic() - started
        assert found == 1, "the row written through the app never reached the replica"
        print(f"row visible on the replica {lag * 1000:.0f} ms after the POST was answered")
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            replica.execute("DELETE FROM households WHERE kk_number = %s", (kk,))
    # The tenant wall holds on the replica too (phase 2 reads there as the app role).
    ids = _tenant_ids(cluster)
    conninfo = (
        f"host=127.0.0.1 port={cluster.replica.port} user=slrt_app "
        "password=deploy-app-pw dbname=slrt"
    )
    with psycopg.connect(conninfo) as app_on_replica:
        app_on_replica.execute(
            "SELECT set_config('slrt.tenant_id', %s, true)", (str(ids["kendal"]),)
        )
        assert (
            app_on_replica.execute(
                "SELECT count(*) FROM households WHERE kk_number = %s", (kk,)
            ).fetchone()[0]
            == 0
        )


def _dashboard_intakes(cluster, s) -> int:
    r = s.get(f"{cluster.url}/api/v1/t/parepare/dashboard", headers=admin(cluster, "parepare"))
    assert r.status_code == 200, r.text
    return r.json()["intakes_total"]


def test_dashboards_read_the_replica_and_own_writes_come_from_the_primary(cluster) -> None:
    """With replay paused on the standby, a change on the primary is not on the dashboard (it
    is served from the replica), while a person the admin has just registered reads back at
    once (the primary), and an export asked for right then holds that person (a job waits for
    the replica to catch up with what was written before it, then falls back to the primary).
    Once replay resumes, the dashboard shows the change."""
    s = cluster.session()
    h = admin(cluster, "parepare")
    base = f"{cluster.url}/api/v1/t/parepare"
    before = _dashboard_intakes(cluster, s)
    ids = _tenant_ids(cluster)
    with cluster.replica_conn(autocommit=True) as replica:
        replica.execute("SELECT pg_wal_replay_pause()")
        try:
            with cluster.primary_conn() as primary:
                primary.execute(
                    "UPDATE district_aggregates SET intakes_total = intakes_total + 1000 "
                    "WHERE district_id = %s",
                    (ids["parepare"],),
                )
            assert _dashboard_intakes(cluster, s) == before
            assert _dashboard_intakes(cluster, s) == before  # both nodes, both times
            village = villages(cluster, "parepare")[0]
            stamp = int(time.time() * 1000) % 10**6
            hh = s.post(base + "/households", headers=h,
                        json={"kk_number": f"7372019{stamp:09d}", "address": "Jl. Primer",
                              "village_code": village})  # fmt: skip
            assert hh.status_code == 201, hh.text
            nik = f"737201{1 + stamp % 28:02d}0590{stamp % 9000 + 1:04d}"
            person = s.post(base + "/persons", headers=h,
                            json={"nik": nik, "name": "Baru Saja", "relation": "kepala_keluarga",
                                  "household_id": hh.json()["id"]})  # fmt: skip
            assert person.status_code == 201, person.text
            again = s.get(f"{base}/persons/{person.json()['id']}", headers=h)
            assert again.status_code == 200 and again.json()["name"] == "Baru Saja"
            started = time.monotonic()
            export = s.post(base + "/exports/registry", headers=h, json={"format": "csv"})
            assert export.status_code == 202, export.text
            job_url = f"{base}/jobs/{export.json()['id']}"
            while (job := s.get(job_url, headers=h).json())["status"] not in (
                "succeeded", "failed"
            ):  # fmt: skip
                assert time.monotonic() - started < 60, job
                time.sleep(0.3)
            assert job["status"] == "succeeded", job
            content = s.get(f"{job_url}/files/{job['result']['file']}", headers=h).text
            assert nik in content
            assert _dashboard_intakes(cluster, s) == before  # replay is still paused
        finally:
            replica.execute("SELECT pg_wal_replay_resume()")
    deadline = time.monotonic() + 15
    while _dashboard_intakes(cluster, s) != before + 1000:
        assert time.monotonic() < deadline, "the replica never showed the change"
        time.sleep(0.1)
    with cluster.primary_conn() as primary:
        primary.execute(
            "UPDATE district_aggregates SET intakes_total = intakes_total - 1000 "
            "WHERE district_id = %s",
            (ids["parepare"],),
        )


def test_the_tenant_walls_hold_on_the_replica(cluster) -> None:
    """The app's replica session (as slrt_app on the standby, read-only) sees its district's
    persons and no other's by row-level security alone (raw SQL, no ORM criterion), and none
    without a district."""
    seen = replica_probe(cluster.env, list(SLUGS))
    for slug in SLUGS:
        in_recovery, user, read_only, count, foreign = seen[slug]
        assert (in_recovery, user, read_only) == (True, "slrt_app", "on")
        assert count > 0 and foreign == 0
    assert seen[""][3] == 0


# --- (e) a worker killed mid-job ---------------------------------------------------------------


def test_killing_a_worker_mid_job_loses_no_job(cluster) -> None:
    """Registry imports (as a district admin uploads them) run on two workers; one worker is
    SIGKILLed, work horse and all, while it runs one. Every job still succeeds exactly once:
    the heartbeat lapses, the scheduler hands the job out again, the import resumes from its
    checkpoint, and each district ends with exactly the rows of its files."""
    assert cluster.scheduler.alive and all(w.alive for w in cluster.workers)
    s = cluster.session()
    rows, files = 4000, 3
    before = {}
    for slug in SLUGS:
        r = s.get(
            f"{cluster.url}/api/v1/t/{slug}/persons?page_size=1", headers=admin(cluster, slug)
        )
        before[slug] = total(r)
    jobs = []
    for n in range(files):
        for slug in SLUGS:
            content = registry_csv(villages(cluster, slug), 10 + n, rows, f"Impor {n}")
            r = s.post(f"{cluster.url}/api/v1/t/{slug}/imports/registry",
                       headers=admin(cluster, slug),
                       files={"file": (f"impor-{n}.csv", content, "text/csv")})  # fmt: skip
            assert r.status_code == 202, r.text
            jobs.append((slug, r.json()["id"]))
    victim = cluster.workers[0]
    deadline = time.monotonic() + 30
    while not victim.children():  # its work horse: a job is running on it
        assert time.monotonic() < deadline, "the first worker never started a job"
        time.sleep(0.02)
    time.sleep(0.3)  # well inside the job (an import of 4,000 rows takes about 1.5 s)
    victim.kill()
    try:
        deadline = time.monotonic() + 120
        final = {}
        while len(final) < len(jobs):
            assert time.monotonic() < deadline, f"jobs not finished: {final}"
            for slug, job_id in jobs:
                if job_id in final:
                    continue
                j = s.get(f"{cluster.url}/api/v1/t/{slug}/jobs/{job_id}",
                          headers=admin(cluster, slug)).json()  # fmt: skip
                if j["status"] in ("succeeded", "failed", "cancelled"):
                    final[job_id] = j
            time.sleep(0.5)
    finally:
        victim.start()
    assert {j["status"] for j in final.values()} == {"succeeded"}, [
        (j["status"], j["error_summary"]) for j in final.values()
    ]
    assert max(j["attempts"] for j in final.values()) >= 2, "no job was hit by the kill"
    for slug in SLUGS:
        r = s.get(
            f"{cluster.url}/api/v1/t/{slug}/persons?page_size=1", headers=admin(cluster, slug)
        )
        assert total(r) == before[slug] + rows * files


# --- (b) an app node killed under load ----------------------------------------------------------


def test_killing_a_node_under_load_loses_no_get(cluster) -> None:
    """Eight clients fire GETs through nginx; node A is SIGKILLed (gunicorn master and workers)
    a third of the way in. nginx passes the requests that hit the dead node to node B, so every
    GET succeeds; the access log shows those retries.

    One thing no proxy can retry: an answer the dead node had begun to send (gunicorn writes
    the headers, then the body: a kill between the two leaves the client with headers and a
    cut body). Such a cut answer can only be one in flight at the kill, so at most one per
    client; any other failure (refused, 502, timeout) fails the test."""
    s = cluster.session()
    h = admin(cluster, "kendal")
    victim, survivor = cluster.nodes
    offset = log_offset(cluster.nginx.access_log)
    paths = ["/api/v1/tenants", "/api/v1/t/kendal/villages?page_size=20", "/readyz"]
    n, kill_after = 300, 100
    done = threading.Semaphore(0)
    statuses: list[int] = []
    latencies: list[float] = []

    def one(i: int) -> None:
        started = time.monotonic()
        try:
            r = s.get(cluster.url + paths[i % len(paths)], headers=h, timeout=30)
            statuses.append(r.status_code)
        except Exception as exc:  # a lost request counts as a failure
            statuses.append(repr(exc))
        latencies.append(time.monotonic() - started)
        done.release()

    try:
        with cf.ThreadPoolExecutor(8) as pool:
            for i in range(n):
                pool.submit(one, i)
            for _ in range(kill_after):
                done.acquire()
            victim.kill()
            killed_at = time.monotonic()
        elapsed = time.monotonic() - killed_at
    finally:
        victim.start()
        cluster.wait_ready()
    cut = [st for st in statuses if isinstance(st, str) and "IncompleteRead" in st]
    bad = [st for st in statuses if st != 200 and st not in cut]
    assert len(statuses) == n and bad == [] and len(cut) <= 8, (bad, cut)
    lines = new_log_lines(cluster.nginx.access_log, offset)
    retried = [ln for ln in lines if len(upstreams_of(ln)) > 1]
    dead = f"127.0.0.1:{victim.port}"
    assert retried, "no request reached the dead node: the kill proved nothing"
    assert all(upstreams_of(ln)[0] == dead for ln in retried)
    assert all(upstreams_of(ln)[-1] == f"127.0.0.1:{survivor.port}" for ln in retried)
    print(
        f"{n} GETs, {len(retried)} retried on the other node, after the kill "
        f"{elapsed:.1f} s, slowest {max(latencies) * 1000:.0f} ms"
    )
