"""The district admin's pages about its agencies (OPD): /t/<slug>/agencies, adding one, and one
agency's page with its details, a change form, the programs it handles and its officers (the
members bound to it; they are invited on the people pages).

Reading needs `tenant.read`, changing `tenant.configure` and the officers `members.read`, as in
the API; forms are parsed with the API's schemas and written by the agency actions.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from flask import current_app, g, redirect, render_template, request, url_for

from slrt.auth.accounts.models import Account
from slrt.auth.memberships.access import memberships_query
from slrt.auth.memberships.models import Membership, Role
from slrt.auth.permissions import P
from slrt.auth.policy import current_principal, require
from slrt.platform import db
from slrt.platform.api import like_pattern
from slrt.platform.errors import Msg, Problem
from slrt.platform.web import (
    Form,
    TenantPages,
    edit_form,
    notice,
    page_of,
    parse_form,
    problem_form,
    stored_text,
    submit_change,
)
from slrt.tenants.agencies import actions
from slrt.tenants.agencies.access import access_agency_by_id
from slrt.tenants.agencies.api import AgencyCreateSchema, AgencyUpdateSchema
from slrt.tenants.agencies.models import Agency, AgencyKind

bp = TenantPages("agencies_web", __name__, "/agencies", lookups={"agency_id": access_agency_by_id})

KINDS: dict[str, Msg] = {
    AgencyKind.dinas: Msg("Dinas", "Dinas (district office)"),
    AgencyKind.hospital: Msg("Rumah sakit (RSUD)", "Hospital (RSUD)"),
    AgencyKind.baznas: Msg("BAZNAS", "BAZNAS (zakat agency)"),
    AgencyKind.other: Msg("Lainnya", "Other"),
}
ACTIVE = [("true", Msg("Aktif", "Active")), ("false", Msg("Tidak aktif", "Inactive"))]
EDITABLE = ("name", "kind", "contact_name", "phone", "email", "address", "active")
FIELD_LABELS = {
    "name": Msg("Nama", "Name"),
    "kind": Msg("Jenis", "Kind"),
    "contact_name": Msg("Narahubung", "Contact person"),
    "phone": Msg("Telepon", "Phone"),
    "email": Msg("Email", "Email"),
    "address": Msg("Alamat", "Address"),
    "active": Msg("Status", "Status"),
}
PEOPLE_PATHS = ("/t/<tenant>/people", "/t/<slug>/people", "/t/<slug>/members")


def people_url() -> str | None:
    """Where officers are invited and managed: the people pages when the app has them."""
    rules = {rule.rule: rule for rule in current_app.url_map.iter_rules()}
    for path in PEOPLE_PATHS:
        rule = rules.get(path)
        if rule is not None:
            return path.replace("<tenant>", g.tenant.slug).replace("<slug>", g.tenant.slug)
    return None


@bp.get("")
@require(P.TENANT_READ)
def agency_list():
    stmt = sa.select(Agency)
    q = request.args.get("q", "").strip()
    if q:
        stmt = stmt.where(Agency.name.ilike(like_pattern(q)))
    page = page_of(stmt, Agency.active.desc(), sa.func.lower(Agency.name), Agency.id)
    officers = dict(
        db.session.execute(
            sa.select(Membership.agency_id, sa.func.count())
            .where(
                Membership.agency_id.in_([a.id for a in page.items]),
                Membership.status == "active",
            )
            .group_by(Membership.agency_id)
        ).all()
    )
    return render_template(
        "agencies/list.html",
        page=page,
        q=q,
        officers=officers,
        kinds=KINDS,
        can_configure=current_principal().can(str(P.TENANT_CONFIGURE)),
    )


def _new_page(form: Form | None, status: int = 200):
    return render_template("agencies/new.html", form=form, kinds=list(KINDS.items())), status


@bp.get("/new")
@require(P.TENANT_CONFIGURE)
def new_agency():
    return _new_page(None)


@bp.post("/new")
@require(P.TENANT_CONFIGURE)
def create_agency():
    data, form = parse_form(AgencyCreateSchema())
    if data is None:
        return _new_page(form, 422)
    try:
        agency = actions.create_agency(data)
    except Problem as exc:
        return _new_page(problem_form(exc, form.values), exc.code or 422)
    notice(Msg(f"{agency.name} ditambahkan.", f"{agency.name} added."))
    return redirect(url_for(".agency_page", agency_id=agency.id))


def _shown(agency: Agency) -> dict[str, str]:
    """The agency as its change form shows it."""
    return stored_text(agency, EDITABLE)


def _page(
    agency: Agency,
    form: Form | None = None,
    status: int = 200,
    conflict: list[dict[str, Any]] | None = None,
):
    from slrt.tenants.programs.models import Program

    principal = current_principal()
    officers = None
    if principal.can(str(P.MEMBERS_READ)):
        officers = db.session.execute(
            memberships_query(principal, {})
            .where(Membership.agency_id == agency.id)
            .add_columns(Account.name, Account.email, Account.phone, Role.name, Role.name_en)
            .limit(200)
        ).all()
    programs = list(
        db.session.execute(
            sa.select(Program).where(Program.agency_id == agency.id).order_by(Program.code)
        ).scalars()
    )
    return render_template(
        "agencies/agency.html",
        agency=agency,
        officers=officers,
        programs=programs,
        people_url=people_url(),
        form=form or edit_form(_shown(agency), agency.updated_at.isoformat()),
        conflict=conflict,
        kinds=KINDS,
        kind_options=list(KINDS.items()),
        active_options=ACTIVE,
        can_configure=principal.can(str(P.TENANT_CONFIGURE)),
        can_audit=principal.can(str(P.AUDIT_READ)),
    ), status


@bp.get("/<uuid:agency_id>")
@require(P.TENANT_READ)
def agency_page(agency_id: uuid.UUID):
    return _page(access_agency_by_id(agency_id))


@bp.post("/<uuid:agency_id>")
@require(P.TENANT_CONFIGURE)
def change_agency(agency_id: uuid.UUID):
    agency = access_agency_by_id(agency_id)
    refused = submit_change(
        agency,
        AgencyUpdateSchema(),
        EDITABLE,
        stored=lambda: _shown(agency),
        version=lambda: agency.updated_at.isoformat(),
        labels=FIELD_LABELS,
        words=_readable,
        save=lambda data: actions.update_agency(agency, data),
        page=lambda form, status, conflict=None: _page(agency, form, status, conflict),
    )
    if refused is not None:
        return refused
    notice(Msg(f"{agency.name} disimpan.", f"{agency.name} saved."))
    return redirect(url_for(".agency_page", agency_id=agency.id))


def _readable(name: str, value: str) -> Msg:
    if name == "active":
        return dict(ACTIVE).get(value) or Msg(value, value)
    if name == "kind":
        return KINDS.get(value) or Msg(value, value)
    return Msg(value or "—", value or "—")
