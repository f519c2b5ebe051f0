"""The `slrt` command: a Flask CLI group. Feature modules add their groups to COMMAND_GROUPS."""

from __future__ import annotations

import os
import sys
from importlib import import_module

import click
from flask.cli import FlaskGroup

COMMAND_GROUPS: list[str] = [
    "slrt.platform.commands.db:db",
    "slrt.platform.commands.serve:serve",
    "slrt.platform.commands.assets:assets",
    "slrt.platform.jobs.cli:worker",
    "slrt.platform.jobs.cli:scheduler",
    "slrt.platform.commands.up:up",
    "slrt.tenants.districts.cli:tenants",
    "slrt.auth.accounts.cli:accounts",
    "slrt.auth.oauth.cli:clients",
    "slrt.auth.oauth.cli:keys",
    "slrt.auth.oauth.cli:auth",
    "slrt.tenants.flow.cli:flow",
    "slrt.billing_free.cli:plans",
    "slrt.billing_free.cli:usage",
]


def _create_app():
    from slrt.platform.app import create_app

    return create_app()


@click.group(
    cls=FlaskGroup,
    create_app=_create_app,
    add_default_commands=False,
    add_version_option=False,
    load_dotenv=False,
)
def main() -> None:
    """SLRT: Sistem Layanan dan Rujukan Terpadu."""


for _spec in COMMAND_GROUPS:
    _module, _attr = _spec.split(":")
    main.add_command(getattr(import_module(_module), _attr))


def run() -> None:  # pragma: no cover - console entry
    os.environ.setdefault("FLASK_RUN_FROM_CLI", "false")
    sys.exit(main())
