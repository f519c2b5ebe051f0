"""`make bench`, part (c): the read paths over HTTP at national scale. Prints, never asserts.

Seeding (set-wise SQL as the superuser, after onboarding each district through the app):
SLRT_BENCH_DISTRICTS districts (default 200; Kota Parepare, 73.72, is always one and is the
measured one), SLRT_BENCH_PERSONS persons (default 1,000,000, spread evenly, four per
household; SLRT_BENCH_MEASURED_PERSONS sets Parepare's own number instead of its even share), SLRT_BENCH_REFERRALS referrals in Parepare's agency inbox (default 2,000, each with
its case), and SLRT_BENCH_DAYS days of aggregates for every district (default 365).

Serving: the app under gunicorn exactly as `slrt serve` runs it (SLRT_WEB_PROCESSES workers,
threads and load shedding from the settings), plus two baselines served by the same
processes: the bare `/healthz`, and `/bench/pk`, one primary-key SELECT through the same pool.

Load: for each endpoint, the most it serves (closed loop, SLRT_BENCH_CONNECTIONS at once for
SLRT_BENCH_SECONDS, in SLRT_BENCH_ROUNDS rounds, default 3, that take every endpoint in turn:
the machine's own speed drifts over minutes, so each ratio is taken within a round and the
median of the rounds is shown), then an open loop at a fixed rate (SLRT_BENCH_RATES, default
"50,200"):
requests start on a fixed schedule whatever the server does, and each latency counts from its
scheduled start (no coordinated omission). A request unanswered after 2 s is an error, as is
any status but 200 (a shed 503 included). Ratios to the baselines come first.

Run alone: `python -m slrt.platform.bench_http` (services as for `make bench`), or with
SLRT_BENCH_ONLY=http through `make bench`.
"""

from __future__ import annotations

import asyncio
import gc
import os
import random
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa

T = TypeVar("T")

MEASURED = "73.72"
FIRST = [
    "Andi", "Hasnah", "Muhammad", "Siti", "Ahmad", "Nur", "Abdul", "Sri", "Rahmat", "Dewi",
    "Budi", "Wahyu", "Ratna", "Agus", "Fitri", "Hendra", "Yusuf", "Rini", "Irwan", "Sitti",
    "Baso", "Indah", "Joko", "Kartini", "Lukman", "Maria", "Nyoman", "Putri", "Rudi", "Wati",
]  # fmt: skip
LAST = [
    "Lapawawoi", "Saputra", "Hidayat", "Rahman", "Wijaya", "Pratama", "Lestari", "Nasution",
    "Siregar", "Daeng", "Hasibuan", "Kusuma", "Setiawan", "Halim", "Gunawan", "Syahputra",
    "Rangkuti", "Tanjung", "Harahap", "Sinaga",
]  # fmt: skip
TIMEOUT = 2.0


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


# --- seeding ------------------------------------------------------------------------------------


def _district_codes(n: int) -> list[str]:
    from slrt.platform import region_codes

    codes = sorted(r.code for r in region_codes.regencies())
    rng = random.Random(16)
    others = [c for c in codes if c != MEASURED]
    return [MEASURED, *rng.sample(others, min(n - 1, len(others)))]


def _token(app, email: str, **grant: Any) -> tuple[uuid.UUID, str]:
    from slrt.auth.accounts.models import Account, PlatformRoleGrant
    from slrt.auth.oauth.tokens import issue_access_token
    from slrt.platform import db

    with app.app_context():
        account = Account(name=email.split("@")[0], email=email, email_verified=True)
        account.status = "active"
        db.session.add(account)
        db.session.flush()
        if grant:
            db.session.add(PlatformRoleGrant(account_id=account.id, **grant))
        token, _ = issue_access_token(subject=str(account.id), client_id="slrt-bench")
        db.session.commit()
        db.session.remove()
    return account.id, token


def _member(app, tenant, role: str, **kw: Any) -> str:
    from slrt.auth.memberships.actions import grant_membership
    from slrt.platform import db
    from slrt.platform.tenancy import tenant_context

    account_id, token = _token(app, f"{role}.{uuid.uuid4().hex[:8]}@bench.slrt.id")
    with app.app_context(), tenant_context(tenant):
        grant_membership(account_id, role, **kw)
        db.session.commit()
        db.session.remove()
    return token


@dataclass
class Seeded:
    tokens: dict[str, str] = field(default_factory=dict)
    person_ids: list[str] = field(default_factory=list)
    niks: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def _columns(conn: sa.Connection, table: str) -> list[str]:
    return list(
        conn.execute(
            sa.text(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = 'public' AND table_name = :t ORDER BY ordinal_position"
            ),
            {"t": table},
        ).scalars()
    )


def _clone_sql(conn: sa.Connection, table: str, overrides: dict[str, str]) -> tuple[str, str]:
    """(column list, select list) copying a row of `table` (aliased `src`) with `overrides`."""
    cols = _columns(conn, table)
    return ", ".join(cols), ", ".join(overrides.get(c, f"src.{c}") for c in cols)


def seed(app, admin_url: str) -> Seeded:
    """Districts, people, households, referrals and aggregates; see the module docstring."""
    from slrt.billing_free.actions import assign_plan
    from slrt.billing_free.models import Plan
    from slrt.billing_free.plans import STANDARD_PLANS, ensure_standard_plans
    from slrt.platform import db
    from slrt.platform.tenancy import tenant_context
    from slrt.platform.tenant import Tenant
    from slrt.tenants.districts.actions import onboard_tenant
    from slrt.tenants.flow.demo import ensure_catalog
    from slrt.tenants.reports.aggregates import refresh

    districts = _env_int("SLRT_BENCH_DISTRICTS", 200)
    persons = _env_int("SLRT_BENCH_PERSONS", 1_000_000)
    referrals = _env_int("SLRT_BENCH_REFERRALS", 2000)
    days = _env_int("SLRT_BENCH_DAYS", 365)
    out = Seeded()
    t0 = time.perf_counter()
    with app.app_context():
        ensure_standard_plans()
        base = {
            k: v
            for k, v in STANDARD_PLANS[0].items()
            if k.startswith(("max_", "api_", "import_", "exports_"))
        }
        # The benchmark measures capacity, not a plan's quota.
        plan = Plan(
            key="bench",
            name="Bench",
            price_idr=0,
            **{**base, "api_requests_per_minute": 10_000_000},
        )
        db.session.add(plan)
        db.session.commit()
        tenants = []
        for code in _district_codes(districts):
            tenant, _ = onboard_tenant(code)
            db.session.flush()
            assign_plan(db.session.get(Tenant, tenant.id), plan, "benchmark")
            db.session.commit()
            tenants.append(tenant.ref())
        measured = tenants[0]
        with tenant_context(measured):
            ids = ensure_catalog()
            db.session.commit()
        db.session.remove()
    print(f"  {len(tenants)} districts onboarded in {time.perf_counter() - t0:.0f} s")
    out.tokens["manager"] = _member(app, measured, "manager")
    out.tokens["fo"] = _member(app, measured, "front_office")
    out.tokens["bo"] = _member(app, measured, "back_office")
    out.tokens["agency"] = _member(app, measured, "agency_officer", agency_id=ids["dinkes"])
    out.tokens["kemensos"] = _token(
        app, "admin@bench.kemensos.go.id", role="kemensos_admin", province_code=None
    )[1]

    # One referral through the API: the template every bulk referral is copied from.
    client = app.test_client()
    base_url = "/api/v1/t/parepare"

    def post(role: str, path: str, body: dict) -> dict:
        resp = client.post(
            base_url + path, json=body, headers={"Authorization": f"Bearer {out.tokens[role]}"}
        )
        assert resp.status_code in (200, 201), (path, resp.status_code, resp.get_data()[:300])
        return resp.json

    village = _first_village(app, measured)
    person = post("fo", "/persons", {"nik": "7372010101900001", "name": "Warga Contoh",
                                     "village_code": village})  # fmt: skip
    case = post("fo", "/cases", {"kind": "service_request", "channel": "outreach",
                                 "person_id": person["id"], "description": "x"})  # fmt: skip
    post("bo", f"/cases/{case['id']}/assess", {})
    post("manager", f"/cases/{case['id']}/decide", {"program_ids": [str(ids["pbi"])]})
    post("manager", f"/cases/{case['id']}/refer", {})

    t0 = time.perf_counter()
    engine = sa.create_engine(admin_url)
    per_district = max(4, persons // len(tenants))
    # The measured district's own size may be held while the nation grows (a search in one
    # district should not slow down because other districts hold more people).
    measured_persons = _env_int("SLRT_BENCH_MEASURED_PERSONS", per_district)
    with engine.begin() as conn:
        conn.execute(sa.text("SET LOCAL synchronous_commit = off"))
        conn.execute(
            sa.text("""
            CREATE TEMP TABLE bench_villages ON COMMIT DROP AS
            SELECT tenant_id, array_agg(code ORDER BY code) AS codes
            FROM villages GROUP BY tenant_id
        """)
        )
        # Households (four persons each), then persons, every district in one statement each.
        conn.execute(
            sa.text("""
            INSERT INTO households (tenant_id, id, kk_number, village_code, address, dtks_status)
            SELECT v.tenant_id, uuidv7(),
                   lpad((v.tenant_id::bigint * 10000000 + g)::text, 16, '9'),
                   v.codes[1 + g % cardinality(v.codes)], 'Jl. Contoh No. ' || g, 'unknown'
            FROM bench_villages v,
                 generate_series(1, CASE WHEN v.tenant_id = :measured THEN :m ELSE :n END) g
        """),
            {"n": per_district // 4, "m": measured_persons // 4, "measured": measured.id},
        )
        conn.execute(
            sa.text("""
            INSERT INTO persons (tenant_id, id, household_id, nik, name, sex, birth_place,
                                 birth_date, relation, has_disability, village_code)
            SELECT h.tenant_id, uuidv7(), h.id,
                   lpad((h.tenant_id::bigint * 100000000 + h.n * 4 + k)::text, 16, '8'),
                   ((:first)::text[])[1 + (h.n * 4 + k) % cardinality((:first)::text[])] || ' '
                     || ((:last)::text[])[1 + (h.n * 7 + k) % cardinality((:last)::text[])],
                   CASE WHEN k % 2 = 0 THEN 'L' ELSE 'P' END, 'Parepare',
                   DATE '1950-01-01' + ((h.n * 4 + k) % 20000),
                   CASE WHEN k = 0 THEN 'kepala_keluarga' ELSE 'anak' END, false,
                   h.village_code
            FROM (SELECT tenant_id, id, village_code,
                         (row_number() OVER (PARTITION BY tenant_id))::int AS n
                  FROM households) h, generate_series(0, 3) k
        """),
            {"first": FIRST, "last": LAST},
        )
        conn.execute(sa.select(sa.func.set_config("slrt.tenant_id", str(measured.id), True)))
        # Referrals: the API-made case and referral, copied (each copy with its own case).
        case_cols, case_sel = _clone_sql(
            conn,
            "cases",
            {
                "id": "c.new_id",
                "ticket_number": "'BENCH-' || c.g",
                "status_token_hash": "NULL",
            },
        )
        ref_cols, ref_sel = _clone_sql(conn, "referrals", {"id": "uuidv7()", "case_id": "c.new_id"})
        conn.execute(
            sa.text(
                "CREATE TEMP TABLE bench_cases ON COMMIT DROP AS "
                "SELECT g, uuidv7() AS new_id FROM generate_series(1, :n) g"
            ),
            {"n": referrals},
        )
        conn.execute(
            sa.text(
                f"INSERT INTO cases ({case_cols}) SELECT {case_sel} "  # noqa: S608 - catalog names
                "FROM cases src, bench_cases c WHERE src.id = :case"
            ),
            {"case": case["id"]},
        )
        conn.execute(
            sa.text(
                f"INSERT INTO referrals ({ref_cols}) SELECT {ref_sel} "  # noqa: S608
                "FROM referrals src, bench_cases c WHERE src.case_id = :case"
            ),
            {"case": case["id"]},
        )
    with app.app_context(), tenant_context(measured):
        refresh()
        db.session.commit()
        db.session.remove()
    with engine.begin() as conn:
        agg_cols, agg_sel = _clone_sql(
            conn, "district_aggregates", {"district_id": "t.id", "day": "CURRENT_DATE - d"}
        )
        conn.execute(
            sa.text(f"""
            INSERT INTO district_aggregates ({agg_cols})
            SELECT {agg_sel} FROM district_aggregates src, tenants t, generate_series(0, :days) d
            WHERE src.district_id = :measured AND NOT (t.id = :measured AND d = 0)
            ON CONFLICT DO NOTHING
        """),  # noqa: S608 - column names from the catalog, values bound
            {"days": days - 1, "measured": measured.id},
        )
        conn.execute(sa.select(sa.func.set_config("slrt.tenant_id", str(measured.id), True)))
        sample = conn.execute(
            sa.text(
                "SELECT id, nik FROM persons WHERE tenant_id = :m ORDER BY random() LIMIT 2000"
            ),
            {"m": measured.id},
        ).all()
        out.person_ids = [str(r.id) for r in sample]
        out.niks = [r.nik for r in sample]
        out.counts = {
            table: conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()  # noqa: S608
            for table in ("persons", "households", "referrals", "district_aggregates")
        }
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))
    engine.dispose()
    print(
        f"  seeded in {time.perf_counter() - t0:.0f} s: "
        + ", ".join(f"{k} {v:,}" for k, v in out.counts.items())
        + " (persons, households, referrals: all districts; referrals are Parepare's)"
    )
    return out


def _first_village(app, tenant) -> str:
    from slrt.platform import db
    from slrt.platform.tenancy import tenant_context
    from slrt.tenants.regions.models import Village

    with app.app_context(), tenant_context(tenant):
        code = db.session.execute(sa.select(sa.func.min(Village.code))).scalar_one()
        db.session.remove()
    return code


# --- the served app -------------------------------------------------------------------------------


def bench_app():
    """The app as served, plus the one-SELECT baseline on the same pool."""
    from slrt.platform import db
    from slrt.platform.app import create_app

    app = create_app()

    @app.get("/bench/pk")
    def bench_pk():
        with db.engine().connect() as conn:
            conn.execute(sa.text("SELECT name FROM tenants WHERE id = 1")).all()
        return {"status": "ok"}

    return app


def _serve(port: int) -> subprocess.Popen:
    from slrt.platform.commands.serve import gunicorn_argv, metrics_dir

    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir(str(port)))
    argv = gunicorn_argv(
        "127.0.0.1",
        str(port),
        os.environ.get("SLRT_WEB_PROCESSES") or "2",
        "slrt.platform.bench_http:bench_app()",
    )
    proc = subprocess.Popen(
        argv,
        env=dict(os.environ, SLRT_LOG_LEVEL="WARNING"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if asyncio.run(_one("127.0.0.1", port, "/healthz", {}))[0] == 200:
            return proc
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)
    raise RuntimeError("gunicorn did not start")


# --- load ---------------------------------------------------------------------------------------


async def _one(host: str, port: int, path: str, headers: dict[str, str]) -> tuple[int, int]:
    """(status, body bytes) of one GET on a new connection; status 0 on a network error."""
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError:
        return 0, 0
    try:
        head = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        writer.write((head + "\r\n").encode())
        data = await reader.read()
    except OSError:
        return 0, 0
    finally:
        writer.close()
    try:
        status = int(data.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return 0, 0
    return status, len(data)


@dataclass
class Target:
    label: str
    paths: list[str]
    headers: dict[str, str]

    def path(self, i: int) -> str:
        return self.paths[i % len(self.paths)]


async def _closed_loop(port: int, target: Target, connections: int, seconds: float) -> float:
    """Successful answers per second with `connections` clients each waiting for its answer."""
    done = 0
    end = time.perf_counter() + seconds
    counter = iter(range(10**9))

    async def client() -> None:
        nonlocal done
        while time.perf_counter() < end:
            try:
                status, _ = await asyncio.wait_for(
                    _one("127.0.0.1", port, target.path(next(counter)), target.headers), TIMEOUT
                )
            except TimeoutError:
                continue
            if status == 200:
                done += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(connections)))
    return done / (time.perf_counter() - t0)


async def _open_loop(port: int, target: Target, rate: float, seconds: float) -> dict[str, Any]:
    """Requests started every 1/rate s on schedule; latency from the scheduled start."""
    n = int(rate * seconds)
    latencies: list[float] = []
    errors = shed = 0
    start = time.perf_counter() + 0.1

    async def request(i: int, due: float) -> None:
        nonlocal errors, shed
        try:
            status, _ = await asyncio.wait_for(
                _one("127.0.0.1", port, target.path(i), target.headers),
                TIMEOUT - max(0.0, time.perf_counter() - due),
            )
        except (TimeoutError, ValueError):
            status = 0
        if status == 200:
            latencies.append(time.perf_counter() - due)
        else:
            errors += 1
            shed += status == 503

    tasks = []
    for i in range(n):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(request(i, due)))
    await asyncio.gather(*tasks)
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return {
        "n": n,
        "errors": errors,
        "shed": shed,
        "p50": pct(0.50) if latencies else float("nan"),
        "p95": pct(0.95) if latencies else float("nan"),
        "p99": pct(0.99) if latencies else float("nan"),
    }


def _measured(window: Coroutine[Any, Any, T]) -> T:
    """One measured window. The load generator's own pauses would count as the server's latency
    (latencies run from the scheduled start), and a full cycle collection of this process, which
    holds the app it seeded with, stops it for about 150 ms: it collects before the window and
    not during it."""
    gc.collect()
    gc.disable()
    try:
        return asyncio.run(window)
    finally:
        gc.enable()


def bench_http(app, admin_url: str) -> None:
    connections = _env_int("SLRT_BENCH_CONNECTIONS", 16)
    seconds = float(os.environ.get("SLRT_BENCH_SECONDS") or 10)
    rates = [float(r) for r in (os.environ.get("SLRT_BENCH_RATES") or "50,200").split(",")]
    rounds = _env_int("SLRT_BENCH_ROUNDS", 3)
    print("\n(c) read paths over HTTP")
    seeded = seed(app, admin_url)
    auth = {role: {"Authorization": f"Bearer {t}"} for role, t in seeded.tokens.items()}
    base = "/api/v1/t/parepare"
    targets = [
        Target("bare /healthz", ["/healthz"], {}),
        Target("bare one-SELECT", ["/bench/pk"], {}),
        Target(
            "person by id",
            [f"{base}/persons/{i}" for i in seeded.person_ids],
            auth["manager"],
        ),
        Target("NIK lookup", [f"{base}/persons?nik={n}" for n in seeded.niks], auth["manager"]),
        Target("agency inbox", [f"{base}/referrals"], auth["agency"]),
        Target("name search", [f"{base}/persons?name={f}" for f in FIRST], auth["manager"]),
        Target("national dashboard", ["/api/v1/dashboard"], auth["kemensos"]),
    ]
    port = _free_port()
    server = _serve(port)
    results: dict[str, dict[str, Any]] = {}
    tops: list[dict[str, float]] = []  # each round's most served per second, by endpoint
    try:
        for target in targets:  # warm every process's caches and prepared statements
            asyncio.run(_closed_loop(port, target, 4, 1.0))
        for _ in range(rounds):
            round_ = {}
            for target in targets:
                window = _closed_loop(port, target, connections, seconds / rounds)
                round_[target.label] = _measured(window)
            tops.append(round_)
        for target in targets:
            results[target.label] = {"max": statistics.median(r[target.label] for r in tops)}
            for rate in rates:
                results[target.label][rate] = _measured(_open_loop(port, target, rate, seconds))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
    bare, one = results["bare /healthz"]["max"], results["bare one-SELECT"]["max"]
    person = results["person by id"]["max"]
    print(
        f"  {os.environ.get('SLRT_WEB_PROCESSES') or 2} gunicorn processes; max = closed loop, "
        f"{connections} connections, {seconds:.0f} s; open loop {seconds:.0f} s per rate; "
        "latencies in ms from the scheduled start; errors = timeouts (2 s) + non-200 (shed 503)"
    )
    header = f"  {'endpoint':<20}{'max/s':>8}{'x bare':>8}{'x 1-SELECT':>11}{'x person':>9}"
    for rate in rates:
        header += f" | @{rate:.0f}/s p50   p95   p99  err(503)"
    print(header)
    for label, r in results.items():
        line = (
            f"  {label:<20}{r['max']:>8.0f}{r['max'] / bare:>8.3f}{r['max'] / one:>11.3f}"
            f"{r['max'] / person:>9.2f}"
        )
        for rate in rates:
            o = r[rate]
            line += (
                f" | {o['p50']:>10.1f}{o['p95']:>6.1f}{o['p99']:>6.1f}"
                f"  {o['errors']}({o['shed']})/{o['n']}"
            )
        print(line)

    def ratio(label: str, against: str) -> str:
        each = [r[label] / r[against] for r in tops]
        return f"{statistics.median(each):.2f} (rounds {', '.join(f'{x:.2f}' for x in each)})"

    print(
        f"  ratios, median of {rounds} rounds: "
        f"person by id / one-SELECT {ratio('person by id', 'bare one-SELECT')} (goal >= 0.5); "
        f"dashboard / person {ratio('national dashboard', 'person by id')}, "
        f"inbox / person {ratio('agency inbox', 'person by id')}, "
        f"name search / person {ratio('name search', 'person by id')} (goal >= 0.5 each)"
    )


def _free_port() -> int:
    from slrt.platform.commands.embedded import free_port

    return free_port()


def main() -> None:
    import tempfile

    from slrt.platform.bench import start_services, stop_services

    os.environ.setdefault("SLRT_ACCESS_TOKEN_TTL", "86400")
    with tempfile.TemporaryDirectory(prefix="slrt-bench-http-") as tmp:
        urls, started = start_services(Path(tmp))
        os.environ.update(urls)
        try:
            from slrt.platform.app import create_app
            from slrt.platform.commands import migrate

            migrate.upgrade(urls["DATABASE_OWNER_URL"])
            bench_http(create_app(), urls["DATABASE_ADMIN_URL"])
        finally:
            stop_services(started)


if __name__ == "__main__":
    sys.exit(main())
