"""What every `slrt` command shares: who acts (the operator at the server's shell), how an
action's refusal ends a command, and finding a district by the name an operator types."""

from __future__ import annotations

import getpass
from typing import NoReturn

import click
import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.actor import Actor, set_actor
from slrt.platform.errors import Problem
from slrt.platform.tenant import Tenant


def cli_actor() -> Actor:
    """Audit entries made from the command line name the operating-system user."""
    return Actor(kind="system", label=f"cli:{getpass.getuser()}")


def act_as_operator() -> Actor:
    actor = cli_actor()
    set_actor(actor)
    return actor


def problem_text(exc: Problem) -> str:
    """What an action refused, in both languages (a terminal has no language switch)."""
    if exc.errors:
        return "; ".join(f"{e['message']} / {e['message_en']}" for e in exc.errors)
    detail = exc.detail
    english = getattr(detail, "en", None)
    return f"{detail} / {english}" if english and english != str(detail) else str(detail)


def fail_with(exc: Problem) -> NoReturn:
    """End the command with what the action refused."""
    raise click.ClickException(problem_text(exc)) from exc


def district(ref: str) -> Tenant:
    """A district by its Kemendagri code (73.72) or its slug (parepare)."""
    ref = ref.strip()
    tenant = db.session.execute(
        sa.select(Tenant).where(sa.or_(Tenant.code == ref, Tenant.slug == ref))
    ).scalar_one_or_none()
    if tenant is None:
        raise click.ClickException(
            f"kabupaten/kota '{ref}' tidak ditemukan / no district '{ref}' "
            "(see `slrt tenants list`)"
        )
    return tenant
