"""The Kemensos console's national program catalog (/kemensos/programs): the list by code with
filters, adding a program and changing one (a change reaches every district that enabled it as
a new version of its copy). The eligibility rule is checked by the same action as the API's,
and a problem is shown beside the rule with its line and column. Needs
platform.catalog.manage.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from flask import redirect, render_template, request, url_for

from slrt.auth.permissions import PP
from slrt.auth.policy import require
from slrt.platform.api import like_pattern
from slrt.platform.errors import Msg, Problem
from slrt.platform.web import (
    Form,
    PlatformPages,
    form_values,
    notice,
    page_of,
    parse_form,
    problem_form,
)
from slrt.tenants.programs import actions
from slrt.tenants.programs.access import access_national_program_by_id
from slrt.tenants.programs.models import SECTOR_NAMES, Funding, NationalProgram
from slrt.tenants.programs.platform_api import (
    NationalProgramCreateSchema,
    NationalProgramUpdateSchema,
)

bp = PlatformPages(
    "kemensos_programs",
    __name__,
    "/programs",
    lookups={"national_program_id": access_national_program_by_id},
)

_SECTORS_EN = {
    "health": "Health",
    "education": "Education",
    "food": "Food",
    "housing": "Housing",
    "cash_transfer": "Cash transfer",
    "social_rehabilitation": "Social rehabilitation",
    "civil_registration": "Civil registration",
    "employment": "Employment and livelihood",
    "other": "Other",
}
SECTORS = [(code, Msg(name, _SECTORS_EN.get(code, name))) for code, name in SECTOR_NAMES.items()]
FUNDINGS = [
    (Funding.apbn.value, Msg("APBN (Kemensos)", "National budget (APBN)")),
    (Funding.apbd.value, Msg("APBD", "District budget (APBD)")),
    (Funding.dana_desa.value, Msg("Dana Desa", "Village funds (Dana Desa)")),
    (Funding.zakat.value, Msg("Zakat (BAZNAS)", "Zakat (BAZNAS)")),
    (Funding.other.value, Msg("Lainnya", "Other")),
]


@bp.get("")
@require(PP.CATALOG_MANAGE)
def catalog():
    stmt = sa.select(NationalProgram)
    sector = request.args.get("sector")
    if sector in SECTOR_NAMES:
        stmt = stmt.where(NationalProgram.sector == sector)
    if request.args.get("active") in ("1", "0"):
        stmt = stmt.where(NationalProgram.active.is_(request.args["active"] == "1"))
    text = (request.args.get("q") or "").strip()
    if text:
        pattern = like_pattern(text)
        stmt = stmt.where(
            sa.or_(NationalProgram.name.ilike(pattern), NationalProgram.code.ilike(pattern))
        )
    return render_template(
        "programs/kemensos_catalog.html",
        page=page_of(stmt, NationalProgram.code, NationalProgram.id),
        sectors=SECTORS,
        sector_words=dict(SECTORS),
        funding_words=dict(FUNDINGS),
        args=request.args,
    )


def _parse_program(schema: Any, values: dict[str, Any]) -> tuple[dict[str, Any] | None, Form]:
    """The posted form read as the API's JSON (one required document per line, an empty rule
    as "no rule", the active box as a boolean when the schema has it); the form keeps the
    values as typed."""
    body = {k: v for k, v in values.items() if k not in ("version", "force", "active")}
    lines = values.get("required_documents", "").splitlines()
    body["required_documents"] = [line.strip() for line in lines if line.strip()]
    body.setdefault("rule_text", None)
    if "active" in schema.fields:
        body["active"] = values.get("active") == "1"
    data, form = parse_form(schema, body)
    form.values = values
    return data, form


def _program_page(
    program: NationalProgram | None, form: Form | None = None, status: int = 200, **kw: Any
):
    documents = "\n".join(program.required_documents or []) if program else ""
    if form is not None and isinstance(form.values.get("required_documents"), list):
        form.values["required_documents"] = "\n".join(form.values["required_documents"])
    return render_template(
        "programs/kemensos_program.html",
        program=program,
        form=form,
        documents=documents,
        sectors=SECTORS,
        fundings=FUNDINGS,
        version=program.updated_at.isoformat() if program else "",
        **kw,
    ), status


@bp.get("/new")
@require(PP.CATALOG_MANAGE)
def new_program_form():
    return _program_page(None)


@bp.post("/new")
@require(PP.CATALOG_MANAGE)
def new_program():
    values = form_values()
    data, form = _parse_program(NationalProgramCreateSchema(), values)
    if data is None:
        return _program_page(None, form, 422)
    try:
        program = actions.create_national_program(data)
    except Problem as exc:
        return _program_page(None, problem_form(exc, values), exc.code)
    notice(Msg(f"Program {program.code} ditambahkan.", f"Program {program.code} was added."))
    return redirect(url_for("kemensos_programs.catalog"))


@bp.get("/<uuid:national_program_id>")
@require(PP.CATALOG_MANAGE)
def program(national_program_id: uuid.UUID):
    return _program_page(access_national_program_by_id(national_program_id))


@bp.post("/<uuid:national_program_id>")
@require(PP.CATALOG_MANAGE)
def change_program(national_program_id: uuid.UUID):
    program = access_national_program_by_id(national_program_id)
    values = form_values()
    if values.get("version") != program.updated_at.isoformat() and values.get("force") != "1":
        # Changed by someone else since this form was read: show theirs, offer to apply mine.
        return _program_page(program, Form(values, {}), 409, conflict=True)
    data, form = _parse_program(NationalProgramUpdateSchema(), values)
    if data is None:
        return _program_page(program, form, 422)
    try:
        districts = actions.update_national_program(program, data)
    except Problem as exc:
        return _program_page(program, problem_form(exc, values), exc.code)
    notice(
        Msg(
            f"Program {program.code} diubah; {districts} kabupaten/kota yang memakainya ikut "
            "diperbarui.",
            f"Program {program.code} was changed; {districts} district(s) using it were updated.",
        )
    )
    return redirect(url_for("kemensos_programs.catalog"))
