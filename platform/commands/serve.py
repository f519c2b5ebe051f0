"""`slrt serve`: the web app and API under gunicorn, with Prometheus' multi-process directory
(the metrics of every gunicorn worker add up in one scrape)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from slrt.platform.config import data_dir, setting

WSGI_APP = "slrt.platform.wsgi:app"
GUNICORN_CONFIG = "python:slrt.platform.commands.gunicorn_config"


def metrics_dir(port: str) -> Path:
    """PROMETHEUS_MULTIPROC_DIR, else one directory per served port under SLRT_DATA_DIR,
    emptied at start (files of processes gone would otherwise be summed forever)."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    path = Path(given) if given else data_dir() / "metrics" / str(port)
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
    return path


def gunicorn_argv(host: str, port: str, processes: str, app: str = WSGI_APP) -> list[str]:
    """The gunicorn command line of `slrt serve` (the benchmark serves the same way)."""
    gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
    threads = int(setting("SLRT_WEB_THREADS") or 1)
    return [
        gunicorn,
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(processes),
        # Threads, and a bounded queue of accepted connections waiting for one, each wait
        # timed against the request's deadline (slrt.platform.shedding).
        "--worker-class",
        "slrt.platform.shedding.DeadlineWorker",
        "--threads",
        str(threads),
        "--worker-connections",
        str(threads + int(setting("SLRT_WEB_QUEUE") or 0)),
        "--backlog",
        str(setting("SLRT_WEB_BACKLOG")),
        "--timeout",
        "120",
        "--graceful-timeout",
        "10",
        "--config",
        GUNICORN_CONFIG,
        app,
    ]


@click.command("serve")
@click.option("--host", default=lambda: setting("SLRT_HOST"), show_default="SLRT_HOST")
@click.option("--port", default=lambda: setting("SLRT_PORT"), show_default="SLRT_PORT")
@click.option(
    "--processes", default=lambda: setting("SLRT_WEB_PROCESSES"), show_default="SLRT_WEB_PROCESSES"
)
def serve(host: str, port: str, processes: str) -> None:
    """Serve the web app and API with gunicorn."""
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir(port))
    argv = gunicorn_argv(host, port, processes)
    os.execv(argv[0], argv)
