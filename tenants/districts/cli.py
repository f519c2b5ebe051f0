"""`slrt tenants ...`: onboarding, status, lokus designation and region sync of districts, through
the same actions as Kemensos's API."""

from __future__ import annotations

import datetime as dt
import time

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from slrt.platform import db, region_codes
from slrt.platform.commands.support import act_as_operator, district, problem_text
from slrt.platform.errors import Problem
from slrt.platform.tenancy import tenant_context
from slrt.platform.tenant import Tenant, TenantStatus
from slrt.tenants.districts.actions import designate, onboard_tenant, set_tenant_status
from slrt.tenants.regions.actions import sync_regions


@click.group("tenants", cls=AppGroup)
def tenants() -> None:
    """Districts (kabupaten/kota) on the platform."""


@tenants.command("create")
@click.argument("codes", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Every kabupaten/kota of the reference (514).")
def create(codes: tuple[str, ...], all_: bool) -> None:
    """Onboard districts by Kemendagri code, e.g. `slrt tenants create 73.72 33.24`, or all of
    them with `--all`. One transaction per district; already onboarded ones are left unchanged,
    so an interrupted run can simply be started again."""
    if all_ == bool(codes):
        raise click.UsageError("give district codes or --all (not both)")
    act_as_operator()
    wanted = [r.code for r in region_codes.regencies()] if all_ else list(codes)
    failed = created_count = 0
    started = time.monotonic()
    for index, code in enumerate(wanted, 1):
        try:
            tenant, created = onboard_tenant(code)
        except Problem as exc:
            click.echo(f"{code}: {problem_text(exc)}", err=True)
            failed += 1
            continue
        created_count += created
        if not all_:
            verb = "created" if created else "already exists"
            click.echo(f"{tenant.code} {tenant.name} ({tenant.slug}): {verb}")
        elif index % 50 == 0 or index == len(wanted):
            click.echo(f"{index}/{len(wanted)} districts ({time.monotonic() - started:.1f} s)")
        db.session.expunge_all()  # keep memory flat over hundreds of districts
    elapsed = time.monotonic() - started
    click.echo(
        f"{created_count} created, {len(wanted) - created_count - failed} already there, "
        f"{failed} refused, in {elapsed:.1f} s"
    )
    if failed:
        raise SystemExit(1)


@tenants.command("list")
def list_() -> None:
    """List districts."""
    for tenant in db.session.execute(sa.select(Tenant).order_by(Tenant.code)).scalars():
        click.echo(f"{tenant.code}\t{tenant.slug}\t{tenant.status}\t{tenant.name}")


def _change_status(code: str, status: TenantStatus, reason: str) -> None:
    act_as_operator()
    try:
        tenant = set_tenant_status(district(code), status, reason)
    except Problem as exc:
        raise click.ClickException(problem_text(exc)) from None
    click.echo(f"{tenant.code} {tenant.name}: {tenant.status}")


@tenants.command("suspend")
@click.argument("code")
@click.option("--reason", required=True, help="Why (kept in the audit trail).")
def suspend(code: str, reason: str) -> None:
    """Suspend a district: read-only for its users, invisible to others, data kept."""
    _change_status(code, TenantStatus.suspended, reason)


@tenants.command("reactivate")
@click.argument("code")
@click.option("--reason", required=True, help="Why (kept in the audit trail).")
def reactivate(code: str, reason: str) -> None:
    """Lift a district's suspension."""
    _change_status(code, TenantStatus.active, reason)


@tenants.command("designate")
@click.argument("code")
@click.option("--wave", type=click.IntRange(1, 99), required=True, help="Tahap.")
@click.option("--year", type=click.IntRange(2000, 2100), required=True)
@click.option("--decree", "decree_number", required=True, help="Nomor SK.")
@click.option("--decree-date", type=click.DateTime(["%Y-%m-%d"]), required=True)
@click.option("--note", default=None)
def designate_cmd(
    code: str, wave: int, year: int, decree_number: str, decree_date: dt.datetime, note: str | None
) -> None:
    """Record a lokus designation (wave, year, decree) for a district."""
    act_as_operator()
    try:
        designate(
            district(code),
            {
                "wave": wave,
                "year": year,
                "decree_number": decree_number,
                "decree_date": decree_date.date(),
                "note": note,
            },
        )
    except Problem as exc:
        raise click.ClickException(problem_text(exc)) from None
    click.echo(f"{code}: lokus tahap {wave} {year} ({decree_number})")


@tenants.command("sync-regions")
@click.argument("codes", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Every onboarded district.")
def sync_regions_cmd(codes: tuple[str, ...], all_: bool) -> None:
    """Add the kecamatan and desa/kelurahan of the Kemendagri reference that a district lacks
    (districts onboarded before regions existed). Renamed, deactivated and local ones are left
    as they are; nothing is deleted. One transaction per district; safe to run again."""
    if all_ == bool(codes):
        raise click.UsageError("give district codes or --all (not both)")
    act_as_operator()
    if all_:
        wanted = list(db.session.execute(sa.select(Tenant).order_by(Tenant.code)).scalars())
    else:
        wanted = [district(code) for code in codes]
    for tenant in wanted:
        with tenant_context(tenant.ref()):
            kecamatan, villages = sync_regions(tenant)
        click.echo(
            f"{tenant.code} {tenant.name}: +{kecamatan} kecamatan, +{villages} desa/kelurahan"
        )
