"""The Kemensos console's cross-district NIK signal (/kemensos/nik-signals): the keyed hashes of
NIKs registered in more than one district, with the codes of those districts, and a lookup of
one NIK by its hash. Nothing else of any record is shown: no NIK is stored or listed, no name, no
record id. A provincial viewer sees only its province's districts.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import render_template, request

from slrt.auth.permissions import PP
from slrt.auth.policy import current_principal, require
from slrt.platform import db
from slrt.platform.errors import Problem
from slrt.platform.tenant import Tenant
from slrt.platform.web import Form, Page, PlatformPages, problem_form, requested_page
from slrt.tenants.registry.platform_api import nik_signal, shared_niks

bp = PlatformPages("kemensos_nik", __name__, "/nik-signals")

SIZE = 25


def _district_names() -> dict[str, str]:
    return dict(db.session.execute(sa.select(Tenant.code, Tenant.name)).all())


def _page(form: Form | None = None, found: dict | None = None, status: int = 200):
    code = (request.args.get("district") or "").strip()
    code = code if len(code) == 5 and code[2] == "." else None
    sub = shared_niks(code).subquery()
    total = db.session.execute(sa.select(sa.func.count()).select_from(sub)).scalar()
    number = requested_page()
    rows = db.session.execute(
        sa.select(sub).order_by(sub.c.nik_hash).offset((number - 1) * SIZE).limit(SIZE)
    ).all()
    provinces = current_principal().visible_provinces()
    districts = db.session.execute(
        sa.select(Tenant.code, Tenant.name)
        .where(Tenant.province_code.in_(sorted(provinces)) if provinces is not None else sa.true())
        .order_by(Tenant.code)
    ).all()
    return render_template(
        "registry/kemensos_nik_signals.html",
        page=Page([dict(r._mapping) for r in rows], number, SIZE, total or 0),
        names=_district_names(),
        districts=districts,
        district=code,
        form=form,
        found=found,
    ), status


@bp.get("")
@require(PP.REPORTS_READ)
@db.reads_from_replica
def signals():
    return _page()


@bp.post("")
@require(PP.REPORTS_READ)
def lookup():
    nik = (request.form.get("nik") or "").strip()
    try:
        found = nik_signal(nik)
    except Problem as exc:
        return _page(problem_form(exc, {"nik": nik}), status=exc.code)
    return _page(Form({}, {}), found)
