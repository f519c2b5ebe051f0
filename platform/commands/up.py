"""`slrt up`: everything a newcomer needs, in one command.

Starts the embedded PostgreSQL and Redis (unless DATABASE_URL / REDIS_URL point elsewhere),
creates the roles, migrates, loads the demo into an empty database, then runs the web server and
the job workers until Ctrl-C, and stops everything it started. A child that dies (a worker
killed, the server crashed) is started again with backoff (`Supervisor`); the rest keep running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field

import click

from slrt.platform.commands import migrate
from slrt.platform.commands.dbroles import RolePasswords, ensure_roles_and_database
from slrt.platform.commands.embedded import EmbeddedPostgres, EmbeddedRedis
from slrt.platform.config import data_dir, public_url, setting
from slrt.platform.runtime import (
    DATABASE_NAME,
    database_owner_url,
    database_url,
    embedded_pg_port,
    embedded_redis_port,
    redis_url,
)
from slrt.platform.secrets_store import get_secret


def start_services(
    echo: Callable[[str], None],
) -> tuple[EmbeddedPostgres | None, EmbeddedRedis | None]:
    """Start what is not configured externally; return what was started here."""
    root = data_dir()
    root.mkdir(parents=True, exist_ok=True)
    pg = redis = None
    if not setting("DATABASE_URL"):
        pg = EmbeddedPostgres(root / "pg", embedded_pg_port(), get_secret("pg_superuser_password"))
        echo(f"PostgreSQL (embedded) on 127.0.0.1:{pg.port}, data in {pg.pgdata}")
        pg.start()
        ensure_roles_and_database(
            pg.url(),
            DATABASE_NAME,
            RolePasswords(owner=get_secret("pg_owner_password"), app=get_secret("pg_app_password")),
        )
    if not setting("REDIS_URL"):
        redis = EmbeddedRedis(root / "redis", embedded_redis_port(), get_secret("redis_password"))
        echo(f"Redis (embedded) on 127.0.0.1:{redis.port}")
        redis.start()
    return pg, redis


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        SLRT_DATA_DIR=str(data_dir()),
        DATABASE_URL=database_url(),
        REDIS_URL=redis_url(),
    )
    if not setting("DATABASE_OWNER_URL"):
        env["DATABASE_OWNER_URL"] = database_owner_url()
    return env


def _wait_ready(url: str, processes: list[subprocess.Popen], timeout: float = 90) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes):
            return False
        with suppress(OSError), urllib.request.urlopen(url + "/readyz", timeout=2) as resp:  # noqa: S310
            if resp.status == 200:
                return True
        time.sleep(0.3)
    return False


def _stop_processes(processes: list[subprocess.Popen]) -> None:
    for proc in processes:
        if proc.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    for proc in processes:
        remaining = max(0.1, deadline - time.monotonic())
        try:
            proc.wait(timeout=remaining)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@dataclass
class Child:
    args: list[str]
    proc: subprocess.Popen | None = None
    started_at: float = 0.0
    restarts: int = 0
    restart_at: float | None = None


@dataclass
class Supervisor:
    """Keeps long-running children alive: one that exits is started again after a backoff that
    doubles with each quick death (1 s up to 30 s) and resets once it has run a minute."""

    start: Callable[[list[str]], subprocess.Popen]
    echo: Callable[..., None]
    children: list[Child] = field(default_factory=list)

    STEADY_SECONDS = 60.0
    MAX_BACKOFF = 30.0

    def add(self, args: list[str]) -> Child:
        child = Child(args)
        self._launch(child, time.monotonic())
        self.children.append(child)
        return child

    def _launch(self, child: Child, now: float) -> None:
        child.proc = self.start(child.args)
        child.started_at = now
        child.restart_at = None

    @property
    def processes(self) -> list[subprocess.Popen]:
        return [c.proc for c in self.children if c.proc is not None]

    def check(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        for child in self.children:
            if (
                child.restart_at is None
                and child.proc is not None
                and child.proc.poll() is not None
            ):
                if now - child.started_at >= self.STEADY_SECONDS:
                    child.restarts = 0
                delay = min(2.0**child.restarts, self.MAX_BACKOFF)
                child.restarts += 1
                child.restart_at = now + delay
                self.echo(
                    f"`slrt {' '.join(child.args)}` stopped (exit {child.proc.returncode}); "
                    f"starting it again in {delay:.0f} s",
                    err=True,
                )
            if child.restart_at is not None and now >= child.restart_at:
                self._launch(child, now)


@click.command("up")
@click.option("--no-demo", is_flag=True, help="Do not load the demo data.")
def up(no_demo: bool) -> None:
    """Start PostgreSQL and Redis (embedded unless configured), migrate, load the demo, serve."""
    echo = click.echo
    stopping = False

    def _on_signal(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)

    pg, redis = start_services(echo)
    supervisor: Supervisor | None = None
    try:
        migrate.upgrade(database_owner_url())
        echo(f"migrations at {migrate.head_revision()}")
        env = child_env()
        if setting("SLRT_DEMO") == "1" and not no_demo:
            result = subprocess.run(
                [sys.executable, "-m", "slrt.platform.commands.demo"],
                env=env,
                capture_output=True,
                text=True,
            )
            if result.returncode != 0:
                echo(result.stdout + result.stderr, err=True)
                raise click.ClickException("loading the demo failed")
            demo_text = result.stdout
        else:
            demo_text = ""
        slrt_bin = os.path.join(os.path.dirname(sys.executable), "slrt")
        supervisor = Supervisor(
            lambda args: subprocess.Popen([slrt_bin, *args], env=env, start_new_session=True),
            echo,
        )
        supervisor.add(["serve"])
        for _ in range(int(setting("SLRT_JOB_WORKERS") or 1)):
            supervisor.add(["worker"])
        for extra in extra_processes():
            supervisor.add(extra)
        url = f"http://{setting('SLRT_HOST')}:{setting('SLRT_PORT')}"
        if not _wait_ready(url, supervisor.processes):
            raise click.ClickException("the server did not become ready; see the log above")
        echo("")
        echo("=" * 72)
        echo(f"SLRT is running at {public_url()}")
        echo(f"API documentation: {public_url()}/api/docs")
        if demo_text.strip():
            echo(demo_text.rstrip())
        echo("Press Ctrl-C to stop.")
        echo("=" * 72, err=False)
        while not stopping:
            supervisor.check()
            time.sleep(0.5)
    finally:
        echo("stopping...")
        _stop_processes(supervisor.processes if supervisor else [])
        if redis:
            redis.stop()
        if pg and pg.started_here:
            pg.stop()
        echo("stopped")


def extra_processes() -> list[list[str]]:
    """Long-running companions started beside the web server and workers (e.g. the scheduler)."""
    return [["scheduler"]]
