"""The district admin's pages about its regions: /t/<slug>/kecamatan (each kecamatan with its
counts, its villages, a rename) and /t/<slug>/villages (every desa/kelurahan with its funding,
intervention status, Puskesos and whether it is active; filters; one change to many villages at
once; a village's own page; adding a village the Kemendagri reference lacks).

Reading needs `tenant.read` and changing `tenant.configure`, as in the API; forms are parsed
with the API's schemas and written by the regions actions. A change made from a page read
before someone else's change is not applied blindly: the page shows both and lets the admin
choose.
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
    form_values,
    notice,
    page_of,
    parse_form,
    problem_form,
    stored_text,
    submit_change,
)
from slrt.tenants.regions.access import (
    access_kecamatan_by_id,
    access_village_by_id,
    village_version,
    villages_query,
)
from slrt.tenants.regions.actions import (
    VillagesChanged,
    add_local_village,
    update_kecamatan,
    update_village,
    update_villages,
)
from slrt.tenants.regions.api import (
    KecamatanUpdateSchema,
    VillageCreateSchema,
    VillageQuerySchema,
    VillageUpdateSchema,
)
from slrt.tenants.regions.models import FundingSource, Kecamatan, Village
from slrt.tenants.service_points.models import ServicePoint, ServicePointKind

bp = TenantPages(
    "regions_web",
    __name__,
    "",
    lookups={"kecamatan_id": access_kecamatan_by_id, "village_id": access_village_by_id},
)

PAGE_SIZE = 50  # a 286-village kabupaten in six pages, each well under the page budget

FUNDING: dict[str, Msg] = {
    FundingSource.apbn_kemensos: Msg("Intervensi Kemensos (APBN)", "Kemensos intervention (APBN)"),
    FundingSource.apbd: Msg("APBD", "APBD (district budget)"),
    FundingSource.dana_desa: Msg("Dana Desa", "Dana Desa (village fund)"),
}
KINDS: dict[str, Msg] = {
    "kelurahan": Msg("Kelurahan", "Kelurahan (urban village)"),
    "desa": Msg("Desa", "Desa (village)"),
    "desa_adat": Msg("Desa adat", "Desa adat (customary village)"),
}
YES_NO = [("true", Msg("Ya", "Yes")), ("false", Msg("Tidak", "No"))]
ACTIVE = [("true", Msg("Aktif", "Active")), ("false", Msg("Tidak aktif", "Inactive"))]
# One change to many villages: "field:value" as the change select offers it.
BULK_CHANGES: list[tuple[str, Msg]] = [
    *((f"funding_source:{key}", label) for key, label in FUNDING.items()),
    ("active:true", Msg("Aktifkan", "Activate")),
    ("active:false", Msg("Nonaktifkan", "Deactivate")),
]
FIELD_LABELS = {
    "name": Msg("Nama", "Name"),
    "funding_source": Msg("Sumber dana", "Funding source"),
    "active": Msg("Status", "Status"),
}


def funding_label(value: str) -> Msg:
    return FUNDING.get(value) or Msg(value, value)


# --- kecamatan ----------------------------------------------------------------------------------


def _kecamatan_counts() -> list[dict[str, Any]]:
    """Every kecamatan with its villages counted: all, active, by funding, and Puskesos."""
    counted = (
        sa.select(
            Kecamatan,
            sa.func.count(Village.id).label("villages"),
            sa.func.count(Village.id).filter(Village.active.is_(True)).label("active"),
            *(
                sa.func.count(Village.id).filter(Village.funding_source == key).label(key)
                for key in FUNDING
            ),
        )
        .outerjoin(
            Village,
            sa.and_(Village.tenant_id == Kecamatan.tenant_id, Village.kecamatan_id == Kecamatan.id),
        )
        .group_by(Kecamatan.tenant_id, Kecamatan.id)
        .order_by(Kecamatan.code)
    )
    puskesos = dict(
        db.session.execute(
            sa.select(Village.kecamatan_id, sa.func.count(ServicePoint.id))
            .join(
                ServicePoint,
                sa.and_(
                    ServicePoint.tenant_id == Village.tenant_id,
                    ServicePoint.village_id == Village.id,
                ),
            )
            .where(ServicePoint.kind == ServicePointKind.puskesos, ServicePoint.active.is_(True))
            .group_by(Village.kecamatan_id)
        ).all()
    )
    return [
        {
            "kecamatan": row[0],
            "puskesos": puskesos.get(row[0].id, 0),
            **{key: row._mapping[key] for key in ("villages", "active", *FUNDING)},
        }
        for row in db.session.execute(counted).all()
    ]


@bp.get("/kecamatan")
@require(P.TENANT_READ)
def kecamatan_list():
    return render_template("regions/kecamatan_list.html", rows=_kecamatan_counts())


def _kecamatan_page(kec: Kecamatan, form: Form | None = None, status: int = 200):
    villages = list(
        db.session.execute(
            sa.select(Village).where(Village.kecamatan_id == kec.id).order_by(Village.code)
        ).scalars()
    )
    return render_template(
        "regions/kecamatan.html",
        kec=kec,
        villages=villages,
        puskesos=_puskesos_of([v.id for v in villages]),
        form=form or Form({"name": kec.name}, {}),
        can_configure=current_principal().can(str(P.TENANT_CONFIGURE)),
        funding=FUNDING,
        kinds=KINDS,
    ), status


@bp.get("/kecamatan/<uuid:kecamatan_id>")
@require(P.TENANT_READ)
def kecamatan_page(kecamatan_id: uuid.UUID):
    return _kecamatan_page(access_kecamatan_by_id(kecamatan_id))


@bp.post("/kecamatan/<uuid:kecamatan_id>")
@require(P.TENANT_CONFIGURE)
def rename_kecamatan(kecamatan_id: uuid.UUID):
    kec = access_kecamatan_by_id(kecamatan_id)
    data, form = parse_form(KecamatanUpdateSchema(), {"name": form_values().get("name", "")})
    if data is None:
        return _kecamatan_page(kec, form, 422)
    update_kecamatan(kec, data["name"])
    notice(
        Msg(
            f"Kecamatan {kec.code} sekarang bernama {kec.name}.",
            f"Kecamatan {kec.code} is now called {kec.name}.",
        )
    )
    return redirect(url_for(".kecamatan_page", kecamatan_id=kec.id))


# --- villages -------------------------------------------------------------------------------------


def _puskesos_of(village_ids: list[uuid.UUID]) -> dict[uuid.UUID, ServicePoint]:
    """The active Puskesos of each of these villages (at most one each)."""
    if not village_ids:
        return {}
    points = db.session.execute(
        sa.select(ServicePoint).where(
            ServicePoint.kind == ServicePointKind.puskesos,
            ServicePoint.active.is_(True),
            ServicePoint.village_id.in_(village_ids),
        )
    ).scalars()
    return {p.village_id: p for p in points}


def _filters() -> tuple[dict[str, Any], Form]:
    """The list's filters from the query string, read with the API's query schema."""
    names = ("kecamatan", "funding_source", "intervention", "active", "q")
    values = {k: request.args[k].strip() for k in names if request.args.get(k, "").strip()}
    data, form = parse_form(VillageQuerySchema(), values)
    return data or {}, form


def _list_page(
    form: Form | None = None,
    status: int = 200,
    conflict: list[Village] | None = None,
    resubmit: dict[str, Any] | None = None,
):
    query, filters = _filters()
    stmt = villages_query(query)
    page = page_of(stmt, Village.code, Village.id, size=PAGE_SIZE)
    kecamatan = list(db.session.execute(sa.select(Kecamatan).order_by(Kecamatan.code)).scalars())
    return render_template(
        "regions/villages.html",
        page=page,
        filters=filters,
        form=form,
        conflict=conflict,
        resubmit=resubmit or {},
        kecamatan_names={k.id: k.name for k in kecamatan},
        kecamatan_options=[(k.code, Msg(k.name, k.name)) for k in kecamatan],
        puskesos=_puskesos_of([v.id for v in page.items]),
        funding=FUNDING,
        funding_options=list(FUNDING.items()),
        yes_no=YES_NO,
        active_options=ACTIVE,
        kinds=KINDS,
        version=village_version,
        changes=BULK_CHANGES,
        can_configure=current_principal().can(str(P.TENANT_CONFIGURE)),
        filtered=bool(query),
    ), status


@bp.get("/villages")
@require(P.TENANT_READ)
def village_list():
    return _list_page()


def _selection(values: list[str]) -> tuple[list[uuid.UUID], dict[uuid.UUID, str]]:
    """The ticked villages ("id|updated_at as read", or just "id" when applying anyway)."""
    ids, seen = [], {}
    for value in values:
        raw_id, _, read_at = value.partition("|")
        try:
            village_id = uuid.UUID(raw_id)
        except ValueError:
            continue
        ids.append(village_id)
        if read_at:
            seen[village_id] = read_at
    return ids, seen


@bp.post("/villages")
@require(P.TENANT_CONFIGURE)
def change_villages():
    """One change to the ticked villages, or to every village the filter shows."""
    values = form_values(lists=("village",))
    key, _, value = values.get("change", "").partition(":")
    body = {key: value} if key in ("funding_source", "active") and value else {}
    data, parsed = parse_form(VillageUpdateSchema(), body)
    form = Form(values, {})
    if data is None:
        form.errors["change"] = next(iter(parsed.errors.values()), None) or Msg(
            "Pilih perubahannya.", "Choose the change."
        )
        return _list_page(form, 422)
    if values.get("target") == "filter":
        query, _ = _filters()
        ids = list(
            db.session.execute(villages_query(query).with_only_columns(Village.id)).scalars()
        )
        seen: dict[uuid.UUID, str] = {}
    else:
        ids, seen = _selection(values.get("village", []))
    if not ids:
        form.errors["village"] = Msg(
            "Centang minimal satu desa/kelurahan.", "Tick at least one village."
        )
        return _list_page(form, 422)
    try:
        changed = update_villages(ids, data, seen)
    except VillagesChanged as exc:
        resubmit = {"change": values["change"], "village": [str(i) for i in ids]}
        return _list_page(form, 409, conflict=exc.villages, resubmit=resubmit)
    except Problem as exc:
        refused = problem_form(exc, values)
        # The refusal names the village's field; on this form that is the change chosen.
        refused.errors = {
            (k if k in ("_", "village") else "change"): v for k, v in refused.errors.items()
        }
        return _list_page(refused, exc.code or 422)
    label = dict(BULK_CHANGES)[values["change"]]
    notice(
        Msg(
            f"{changed} dari {len(ids)} desa/kelurahan diubah: {label}.",
            f"{changed} of {len(ids)} villages changed: {label.en}.",
        )
    )
    return redirect(request.full_path.rstrip("?"))


def _village_page(
    village: Village,
    form: Form | None = None,
    status: int = 200,
    conflict: list[dict[str, Any]] | None = None,
):
    if form is None:
        form = edit_form(_village_values(village), village.updated_at.isoformat())
    return render_template(
        "regions/village.html",
        village=village,
        kec=db.session.get(Kecamatan, (village.tenant_id, village.kecamatan_id)),
        puskesos=_puskesos_of([village.id]).get(village.id),
        form=form,
        conflict=conflict,
        funding=FUNDING,
        funding_options=list(FUNDING.items()),
        active_options=ACTIVE,
        kinds=KINDS,
        can_configure=current_principal().can(str(P.TENANT_CONFIGURE)),
        can_audit=current_principal().can(str(P.AUDIT_READ)),
    ), status


EDITABLE = ("name", "funding_source", "active")


def _village_values(village: Village) -> dict[str, str]:
    """The village as its change form shows it."""
    return stored_text(village, EDITABLE)


@bp.get("/villages/<uuid:village_id>")
@require(P.TENANT_READ)
def village_page(village_id: uuid.UUID):
    return _village_page(access_village_by_id(village_id))


@bp.post("/villages/<uuid:village_id>")
@require(P.TENANT_CONFIGURE)
def change_village(village_id: uuid.UUID):
    village = access_village_by_id(village_id)
    refused = submit_change(
        village,
        VillageUpdateSchema(),
        EDITABLE,
        stored=lambda: _village_values(village),
        version=lambda: village.updated_at.isoformat(),
        labels=FIELD_LABELS,
        words=_shown,
        save=lambda data: update_village(village, data),
        page=lambda form, status, conflict=None: _village_page(village, form, status, conflict),
    )
    if refused is not None:
        return refused
    notice(Msg(f"{village.name} disimpan.", f"{village.name} saved."))
    return redirect(url_for(".village_page", village_id=village.id))


def _shown(name: str, value: str) -> Msg:
    if name == "funding_source":
        return funding_label(value)
    if name == "active":
        return dict(ACTIVE).get(value) or Msg(value, value)
    return Msg(value, value)


@bp.get("/villages/new")
@require(P.TENANT_CONFIGURE)
def new_village():
    return _new_village_page(None)


def _new_village_page(form: Form | None, status: int = 200):
    kecamatan = list(db.session.execute(sa.select(Kecamatan).order_by(Kecamatan.code)).scalars())
    return render_template(
        "regions/village_new.html",
        form=form,
        kecamatan=kecamatan,
        funding_options=list(FUNDING.items()),
    ), status


@bp.post("/villages/new")
@require(P.TENANT_CONFIGURE)
def add_village():
    data, form = parse_form(VillageCreateSchema())
    if data is None:
        return _new_village_page(form, 422)
    try:
        village = add_local_village(data)
    except Problem as exc:
        return _new_village_page(problem_form(exc, form.values), exc.code or 422)
    notice(
        Msg(
            f"{village.name} ({village.code}) ditambahkan sebagai desa/kelurahan lokal.",
            f"{village.name} ({village.code}) added as a local village.",
        )
    )
    return redirect(url_for(".village_page", village_id=village.id))
