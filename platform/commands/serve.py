"""`slrt serve`: the web app and API under gunicorn."""

from __future__ import annotations

import os
import sys

import click

from slrt.platform.config import setting

WSGI_APP = "slrt.platform.wsgi:app"


@click.command("serve")
@click.option("--host", default=lambda: setting("SLRT_HOST"), show_default="SLRT_HOST")
@click.option("--port", default=lambda: setting("SLRT_PORT"), show_default="SLRT_PORT")
@click.option(
    "--processes", default=lambda: setting("SLRT_WEB_PROCESSES"), show_default="SLRT_WEB_PROCESSES"
)
def serve(host: str, port: str, processes: str) -> None:
    """Serve the web app and API with gunicorn."""
    gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
    os.execv(
        gunicorn,
        [
            gunicorn,
            "--bind",
            f"{host}:{port}",
            "--workers",
            str(processes),
            "--timeout",
            "120",
            "--graceful-timeout",
            "10",
            "--access-logfile",
            "-",
            WSGI_APP,
        ],
    )
