"""The district admin's pages about its service points: /t/<slug>/service-points (the SLRT
secretariat and the village Puskesos units), adding one, and one service point's page with its
details (address, decree, opening date, village), a change form and who works there.

Reading needs `tenant.read`, changing `tenant.configure` and the staff list `members.read`, as
in the API; forms are parsed with the API's schemas and written by the service point actions.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from flask import redirect, render_template, request, url_for

from slrt.auth.permissions import P
from slrt.auth.policy import current_principal, require
from slrt.platform import db
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
from slrt.tenants.regions.models import Kecamatan, Village
from slrt.tenants.service_points import actions
from slrt.tenants.service_points.access import access_service_point_by_id, staff_query
from slrt.tenants.service_points.api import ServicePointCreateSchema, ServicePointUpdateSchema
from slrt.tenants.service_points.models import ServicePoint, ServicePointKind

bp = TenantPages(
    "service_points_web",
    __name__,
    "/service-points",
    lookups={"service_point_id": access_service_point_by_id},
)

KINDS: dict[str, Msg] = {
    ServicePointKind.secretariat: Msg("Sekretariat SLRT", "SLRT secretariat"),
    ServicePointKind.puskesos: Msg("Puskesos", "Puskesos (village welfare centre)"),
}
ACTIVE = [("true", Msg("Aktif", "Active")), ("false", Msg("Tidak aktif", "Inactive"))]
# Everything but the kind (a secretariat never becomes a Puskesos, nor the other way round).
EDITABLE = tuple(name for name in actions.FIELDS if name != "kind")
FIELD_LABELS = {
    "name": Msg("Nama", "Name"),
    "village_id": Msg("Desa/kelurahan", "Village"),
    "address": Msg("Alamat", "Address"),
    "phone": Msg("Telepon", "Phone"),
    "decree_number": Msg("Nomor SK", "Decree number"),
    "decree_date": Msg("Tanggal SK", "Decree date"),
    "opened_on": Msg("Tanggal mulai beroperasi", "Opening date"),
    "active": Msg("Status", "Status"),
}


def _village_options() -> list[tuple[str, str]]:
    """Active villages as choices, "Name (Kecamatan)", by code."""
    rows = db.session.execute(
        sa.select(Village.id, Village.name, Kecamatan.name)
        .join(
            Kecamatan,
            sa.and_(Kecamatan.tenant_id == Village.tenant_id, Kecamatan.id == Village.kecamatan_id),
        )
        .where(Village.active.is_(True))
        .order_by(Village.code)
    ).all()
    return [(str(vid), f"{name} ({kec})") for vid, name, kec in rows]


def _village_names(ids: list[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    return dict(
        db.session.execute(sa.select(Village.id, Village.name).where(Village.id.in_(wanted))).all()
    )


@bp.get("")
@require(P.TENANT_READ)
def service_point_list():
    stmt = sa.select(ServicePoint)
    if request.args.get("active") in ("true", "false"):
        stmt = stmt.where(ServicePoint.active.is_(request.args["active"] == "true"))
    page = page_of(stmt, ServicePoint.kind.desc(), ServicePoint.name, ServicePoint.id)
    return render_template(
        "service_points/list.html",
        page=page,
        villages=_village_names([p.village_id for p in page.items]),
        kinds=KINDS,
        can_configure=current_principal().can(str(P.TENANT_CONFIGURE)),
    )


def _new_page(form: Form | None, status: int = 200):
    return render_template(
        "service_points/new.html",
        form=form,
        kinds=list(KINDS.items()),
        villages=_village_options(),
    ), status


@bp.get("/new")
@require(P.TENANT_CONFIGURE)
def new_service_point():
    return _new_page(None)


@bp.post("/new")
@require(P.TENANT_CONFIGURE)
def create_service_point():
    data, form = parse_form(ServicePointCreateSchema())
    if data is None:
        return _new_page(form, 422)
    try:
        point = actions.create_service_point(data)
    except Problem as exc:
        return _new_page(problem_form(exc, form.values), exc.code or 422)
    notice(Msg(f"{point.name} ditambahkan.", f"{point.name} added."))
    return redirect(url_for(".service_point_page", service_point_id=point.id))


def _shown(point: ServicePoint) -> dict[str, str]:
    """The service point as its change form shows it."""
    return stored_text(point, EDITABLE)


def _page(
    point: ServicePoint,
    form: Form | None = None,
    status: int = 200,
    conflict: list[dict[str, Any]] | None = None,
):
    principal = current_principal()
    staff = None
    if principal.can(str(P.MEMBERS_READ)):
        staff = db.session.execute(staff_query(point).limit(100)).all()
    if form is None:
        form = edit_form(_shown(point), point.updated_at.isoformat())
    return render_template(
        "service_points/service_point.html",
        point=point,
        village=db.session.get(Village, (point.tenant_id, point.village_id))
        if point.village_id
        else None,
        staff=staff,
        form=form,
        conflict=conflict,
        kinds=KINDS,
        villages=_village_options(),
        active_options=ACTIVE,
        can_configure=principal.can(str(P.TENANT_CONFIGURE)),
        can_audit=principal.can(str(P.AUDIT_READ)),
    ), status


@bp.get("/<uuid:service_point_id>")
@require(P.TENANT_READ)
def service_point_page(service_point_id: uuid.UUID):
    return _page(access_service_point_by_id(service_point_id))


@bp.post("/<uuid:service_point_id>")
@require(P.TENANT_CONFIGURE)
def change_service_point(service_point_id: uuid.UUID):
    point = access_service_point_by_id(service_point_id)
    villages = dict(_village_options())
    refused = submit_change(
        point,
        ServicePointUpdateSchema(),
        EDITABLE,
        stored=lambda: _shown(point),
        version=lambda: point.updated_at.isoformat(),
        labels=FIELD_LABELS,
        words=lambda name, value: _readable(name, value, villages),
        save=lambda data: actions.update_service_point(point, data),
        page=lambda form, status, conflict=None: _page(point, form, status, conflict),
    )
    if refused is not None:
        return refused
    notice(Msg(f"{point.name} disimpan.", f"{point.name} saved."))
    return redirect(url_for(".service_point_page", service_point_id=point.id))


def _readable(name: str, value: str, villages: dict[str, str]) -> Msg:
    if name == "active":
        return dict(ACTIVE).get(value) or Msg(value, value)
    if name == "village_id":
        text = villages.get(value, value) or "—"
        return Msg(text, text)
    return Msg(value or "—", value or "—")
