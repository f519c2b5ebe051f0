"""`slrt plans ...` and `slrt usage ...`: plans and plan changes (the same actions as Kemensos's
API), metering flush, statements."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from slrt.billing_free import actions, meter, quotas
from slrt.billing_free.models import QUOTA_COLUMNS, Plan
from slrt.billing_free.plans import (
    district_today,
    ensure_standard_plans,
    plan_by_key,
    plan_history,
)
from slrt.billing_free.statements import build_statement, statement_csv, statement_pdf
from slrt.platform import db
from slrt.platform.actor import acting_as
from slrt.platform.commands.support import cli_actor, district, problem_text
from slrt.platform.errors import Problem
from slrt.platform.tenancy import tenant_context


@click.group("plans", cls=AppGroup)
def plans() -> None:
    """Free plans (all Rp 0) and which district is on which."""


@plans.command("list")
def list_plans() -> None:
    """List plans with their quotas."""
    header = ["key", "name", "default", "active", "days", *QUOTA_COLUMNS]
    click.echo("\t".join(header))
    for plan in db.session.execute(sa.select(Plan).order_by(Plan.id)).scalars():
        click.echo(
            "\t".join(
                str(v)
                for v in (
                    plan.key,
                    plan.name,
                    "yes" if plan.is_default else "",
                    "yes" if plan.active else "no",
                    plan.duration_days or "",
                    *(getattr(plan, c) for c in QUOTA_COLUMNS),
                )
            )
        )


def _quota_options(fn):
    for column in reversed(QUOTA_COLUMNS):
        fn = click.option(f"--{column.replace('_', '-')}", column, type=click.IntRange(min=0))(fn)
    return fn


@plans.command("create")
@click.argument("key")
@click.option("--name", required=True)
@click.option("--description", default="")
@click.option("--duration-days", type=click.IntRange(min=1), default=None)
@_quota_options
def create_plan(key: str, name: str, description: str, duration_days: int | None, **quota) -> None:
    """Create a plan; every quota option is required, e.g. --max-accounts 50."""
    missing = [c for c in QUOTA_COLUMNS if quota.get(c) is None]
    if missing:
        raise click.UsageError("missing: " + ", ".join("--" + m.replace("_", "-") for m in missing))
    data = {"key": key, "name": name, "description": description, "duration_days": duration_days}
    with acting_as(cli_actor()):
        try:
            actions.create_plan({**data, **quota})
        except Problem as exc:
            raise click.ClickException(problem_text(exc)) from exc
        except sa.exc.IntegrityError as exc:  # what the API's schema refuses before
            raise click.ClickException(f"invalid plan: {exc.orig}") from exc
    click.echo(f"plan {key} created")


@plans.command("update")
@click.argument("key")
@click.option("--name")
@click.option("--duration-days", type=click.IntRange(min=1))
@_quota_options
def update_plan(key: str, name: str | None, duration_days: int | None, **quota) -> None:
    """Change a plan's name, duration or quotas."""
    values = {k: v for k, v in quota.items() if v is not None}
    if name:
        values["name"] = name
    if duration_days:
        values["duration_days"] = duration_days
    if not values:
        raise click.UsageError("nothing to change")
    with acting_as(cli_actor()):
        try:
            actions.update_plan(plan_by_key(key), values)
        except Problem as exc:
            raise click.ClickException(problem_text(exc)) from exc
        except sa.exc.IntegrityError as exc:
            raise click.ClickException(f"invalid plan: {exc.orig}") from exc
    click.echo(f"plan {key} updated")


@plans.command("assign")
@click.argument("tenant_ref")
@click.argument("plan_key")
@click.option("--reason", required=True, help="Why (kept in the plan history and the audit).")
@click.option("--expires-on", type=click.DateTime(["%Y-%m-%d"]), default=None)
def assign(tenant_ref: str, plan_key: str, reason: str, expires_on: dt.datetime | None) -> None:
    """Move a district (code or slug) to a plan, e.g.
    `slrt plans assign 73.72 uji-coba --reason "uji coba 3 bulan"`."""
    with acting_as(cli_actor()):
        tenant = district(tenant_ref)
        try:
            ensure_standard_plans()
            plan = plan_by_key(plan_key)
            assignment = actions.assign_plan(
                tenant, plan, reason, expires_on=expires_on.date() if expires_on else None
            )
        except Problem as exc:
            raise click.ClickException(problem_text(exc)) from exc
    ends = f", berakhir {assignment.expires_on}" if assignment.expires_on else ""
    click.echo(f"{tenant.code} {tenant.name}: paket {plan.name}{ends}")


@plans.command("history")
@click.argument("tenant_ref")
def history(tenant_ref: str) -> None:
    """A district's plan history, newest first."""
    tenant = district(tenant_ref)
    for assignment, plan in plan_history(tenant.id):
        click.echo(
            "\t".join(
                str(v)
                for v in (
                    assignment.started_at.isoformat(timespec="seconds"),
                    assignment.ended_at.isoformat(timespec="seconds")
                    if assignment.ended_at
                    else "(current)",
                    plan.key,
                    assignment.actor_label,
                    assignment.reason,
                )
            )
        )


@click.group("usage", cls=AppGroup)
def usage() -> None:
    """Usage metering and Rp 0 statements."""


@usage.command("flush")
def flush() -> None:
    """Write the usage counters from Redis to PostgreSQL now (idempotent) and measure gauges.
    The active `slrt scheduler` does this every SLRT_USAGE_FLUSH_SECONDS."""
    result = meter.flush()
    click.echo(
        f"flushed {result.fields} counters in {result.batches} batch(es), "
        f"{result.replayed} replayed, {result.gauges} gauges"
    )


@usage.command("show")
@click.argument("tenant_ref")
def show(tenant_ref: str) -> None:
    """Current use against every quota of a district."""
    tenant = district(tenant_ref)
    with tenant_context(tenant.ref()):
        plan = quotas.plan_for(tenant.id)
        click.echo(f"{tenant.code} {tenant.name}: paket {plan.name} (Rp 0)")
        for s in quotas.status(tenant.id):
            used = "-" if s.used is None else s.used
            click.echo(f"  {s.quota}\t{used}/{s.limit}\t{s.level}")


@usage.command("statement")
@click.argument("tenant_ref")
@click.argument("month", required=False)
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "pdf"]), default="json")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None)
def statement(tenant_ref: str, month: str | None, fmt: str, output: Path | None) -> None:
    """A district's monthly statement (default: this month), as JSON, CSV or PDF."""
    tenant = district(tenant_ref)
    month = month or district_today(zone=tenant.zone).strftime("%Y-%m")
    with tenant_context(tenant.ref()):
        try:
            st = build_statement(tenant.ref(), month)
        except Problem as exc:
            raise click.ClickException(str(exc.detail)) from exc
    if fmt == "pdf":
        data = statement_pdf(st)
        if output is None:
            raise click.UsageError("--output is required for PDF")
        output.write_bytes(data)
        click.echo(f"written {output}")
        return
    text = statement_csv(st) if fmt == "csv" else json.dumps(st.as_dict(), default=str, indent=2)
    if output:
        output.write_text(text)
        click.echo(f"written {output}")
    else:
        sys.stdout.write(text + ("" if text.endswith("\n") else "\n"))
