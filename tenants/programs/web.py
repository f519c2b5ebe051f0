"""The district admin's pages about its program catalog: /t/<slug>/programs (the district's
programs), /programs/national (the Kemensos catalog: enable a program, handled by a local
agency), adding and changing a program with its eligibility rule, the rule checked as it is
typed (/programs/rules/check, called by the page's own script; without a script the form shows
the same problems), the facts a rule may use in both languages, a "try it" panel (the rule on a
person of the registry or on typed facts, explained), and the versions with who changed what.

Reading needs `programs.read` and changing `programs.manage`, as in the API; trying a rule on a
person needs `registry.read` too and is recorded as a read of that person. Forms are parsed with
the API's schemas and written by the program actions, which parse the rule again.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from typing import Any

import sqlalchemy as sa
from flask import g, jsonify, redirect, render_template, request, url_for

from slrt.auth.permissions import P
from slrt.auth.policy import authorize, current_principal, require
from slrt.platform import db
from slrt.platform.audit.models import AuditEvent
from slrt.platform.audit.reads import personal_data
from slrt.platform.audit.words import change_rows, ids_in
from slrt.platform.errors import Msg, Problem
from slrt.platform.i18n import text_of
from slrt.platform.web import (
    Form,
    TenantPages,
    edit_form,
    form_values,
    notice,
    page_of,
    parse_form,
    posted_values,
    problem_form,
    stored_text,
    submit_change,
)
from slrt.tenants.agencies.access import resolve_agency_id
from slrt.tenants.agencies.models import Agency
from slrt.tenants.programs import actions
from slrt.tenants.programs.access import (
    access_program_by_id,
    access_program_version,
    access_version_by_id,
    current_version,
    programs_query,
    resolve_national_program_id,
)
from slrt.tenants.programs.api import (
    EnableNationalSchema,
    LocalProgramCreateSchema,
    ProgramQuerySchema,
    ProgramUpdateSchema,
)
from slrt.tenants.programs.models import (
    SECTOR_NAMES,
    Funding,
    NationalProgram,
    Program,
    ProgramVersion,
)
from slrt.tenants.programs.rule_fields import FIELDS, RuleField
from slrt.tenants.programs.rule_schemas import FactsSchema
from slrt.tenants.programs.rules import RuleError, evaluate, parse_rule, rule_fields_used

bp = TenantPages(
    "programs_web",
    __name__,
    "/programs",
    lookups={"program_id": access_program_by_id, "version_id": access_version_by_id},
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
SECTORS: dict[str, Msg] = {k: Msg(v, _SECTORS_EN.get(k, v)) for k, v in SECTOR_NAMES.items()}
FUNDINGS: dict[str, Msg] = {
    Funding.apbn: Msg("APBN", "APBN (national budget)"),
    Funding.apbd: Msg("APBD", "APBD (district budget)"),
    Funding.dana_desa: Msg("Dana Desa", "Dana Desa (village fund)"),
    Funding.zakat: Msg("Zakat (BAZNAS)", "Zakat (BAZNAS)"),
    Funding.other: Msg("Lainnya", "Other"),
}
KINDS = {"national": Msg("Nasional", "National"), "local": Msg("Daerah", "Local")}
ACTIVE = [("true", Msg("Aktif", "Active")), ("false", Msg("Tidak aktif", "Inactive"))]
YES_NO_UNKNOWN = [("true", Msg("Ya", "Yes")), ("false", Msg("Tidak", "No"))]
TYPES = {
    "bool": Msg("ya/tidak", "true/false"),
    "int": Msg("angka", "number"),
    "str": Msg("teks", "text"),
}
LOCAL_EDITABLE = (
    "name",
    "description",
    "sector",
    "owner",
    "funding",
    "agency_id",
    "required_documents",
    "deadline_days",
    "rule_text",
    "active",
)
NATIONAL_EDITABLE = ("agency_id", "deadline_days", "active")
FIELD_LABELS = {
    "name": Msg("Nama program", "Program name"),
    "description": Msg("Keterangan", "Description"),
    "sector": Msg("Sektor", "Sector"),
    "owner": Msg("Pemilik program", "Program owner"),
    "funding": Msg("Sumber dana", "Funding"),
    "agency_id": Msg("OPD yang menangani", "Handling agency"),
    "required_documents": Msg("Dokumen persyaratan", "Required documents"),
    "deadline_days": Msg("Batas waktu layanan (hari)", "Service deadline (days)"),
    "rule_text": Msg("Aturan kelayakan", "Eligibility rule"),
    "active": Msg("Status", "Status"),
}
VERSION_ACTIONS = ("program.create", "program.enable", "program.update")


def _agency_options() -> list[tuple[str, str]]:
    rows = db.session.execute(
        sa.select(Agency.id, Agency.name)
        .where(Agency.active.is_(True))
        .order_by(sa.func.lower(Agency.name))
    ).all()
    return [(str(i), name) for i, name in rows]


def _agency_names(ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    return dict(
        db.session.execute(sa.select(Agency.id, Agency.name).where(Agency.id.in_(ids))).all()
    )


def _can_manage() -> bool:
    return current_principal().can(str(P.PROGRAMS_MANAGE))


def fact_rows() -> list[dict[str, Any]]:
    """The facts a rule may use, each with both names, its type and its meaning."""
    return [
        {
            "name": spec.name,
            "name_id": spec.name_id or spec.name,
            "type": TYPES[spec.type],
            "description": Msg(spec.description, spec.description_en),
            "choices": spec.choices,
            "minimum": spec.minimum,
            "maximum": spec.maximum,
        }
        for spec in FIELDS.values()
    ]


def rule_problems(text: str | None) -> list[dict[str, Any]]:
    """Every problem of a rule as typed, each with its line and column and the line itself
    with a caret under the column; [] when the rule is right (or empty: no rule)."""
    try:
        parse_rule(text)
    except RuleError as exc:
        lines = (text or "").split("\n")
        found = []
        for problem in exc.problems:
            line = lines[problem.line - 1] if 0 < problem.line <= len(lines) else ""
            found.append(
                {
                    "line": problem.line,
                    "column": problem.column,
                    "message": Msg(problem.message, problem.message_en),
                    "excerpt": line,
                    "caret": " " * max(problem.column - 1, 0) + "^",
                }
            )
        return found
    return []


# --- the district's programs ------------------------------------------------------------------


@bp.get("")
@require(P.PROGRAMS_READ)
def program_list():
    names = ("kind", "sector", "active", "q")
    values = {k: request.args[k].strip() for k in names if request.args.get(k, "").strip()}
    query, filters = parse_form(ProgramQuerySchema(), values)
    page = page_of(programs_query(query or {}), Program.code, Program.id)
    return render_template(
        "programs/list.html",
        page=page,
        filters=filters,
        agencies=_agency_names({p.agency_id for p in page.items}),
        kinds=KINDS,
        sectors=SECTORS,
        active_options=ACTIVE,
        can_manage=_can_manage(),
        filtered=bool(values),
    )


# --- the Kemensos catalog ---------------------------------------------------------------------


def _national_page(form: Form | None = None, status: int = 200):
    nationals = list(
        db.session.execute(
            sa.select(NationalProgram)
            .where(NationalProgram.active.is_(True))
            .order_by(NationalProgram.code)
        ).scalars()
    )
    enabled = {
        p.national_program_id: p
        for p in db.session.execute(
            sa.select(Program).where(Program.national_program_id.is_not(None))
        ).scalars()
    }
    return render_template(
        "programs/national.html",
        nationals=nationals,
        enabled=enabled,
        agencies=_agency_options(),
        agency_names=_agency_names({p.agency_id for p in enabled.values()}),
        sectors=SECTORS,
        fundings=FUNDINGS,
        form=form,
        can_manage=_can_manage(),
    ), status


@bp.get("/national")
@require(P.PROGRAMS_READ)
def national_list():
    return _national_page()


@bp.post("/national")
@require(P.PROGRAMS_MANAGE)
def enable_national():
    data, form = parse_form(EnableNationalSchema())
    if data is None:
        return _national_page(form, 422)
    try:
        national = resolve_national_program_id(data["national_program_id"])
        agency = resolve_agency_id(data["agency_id"])
        program, _created = actions.enable_national_program(national, agency)
    except Problem as exc:
        return _national_page(problem_form(exc, form.values), exc.code or 422)
    notice(
        Msg(
            f"{program.name} aktif di {g.tenant.name}, ditangani {agency.name}.",
            f"{program.name} is enabled in {g.tenant.name}, handled by {agency.name}.",
        )
    )
    return redirect(url_for(".national_list"))


# --- adding a program -------------------------------------------------------------------------


def _program_body(values: dict[str, Any]) -> dict[str, Any]:
    """The posted form as the API's body (the button pressed left out)."""
    return _with_documents({k: v for k, v in values.items() if k != "action"})


def _documents(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _new_page(form: Form | None, status: int = 200, checked: bool = False):
    if form is None:
        owner = f"Pemerintah {g.tenant.name}"
        form = Form({"owner": owner, "funding": "apbd", "deadline_days": "14"}, {})
    return render_template(
        "programs/new.html",
        form=form,
        problems=rule_problems(form.values.get("rule_text")),
        checked=checked,
        sectors=list(SECTORS.items()),
        fundings=list(FUNDINGS.items()),
        agencies=_agency_options(),
        facts=fact_rows(),
    ), status


@bp.get("/new")
@require(P.PROGRAMS_MANAGE)
def new_program():
    return _new_page(None)


@bp.post("/new")
@require(P.PROGRAMS_MANAGE)
def create_program():
    values = form_values()
    if values.get("action") == "check":  # "check the rule" without saving (no script needed)
        status = 422 if rule_problems(values.get("rule_text")) else 200
        return _new_page(Form(values, {}), status, checked=True)
    data, form = parse_form(LocalProgramCreateSchema(), _program_body(values))
    form.values = values
    if data is None:
        return _new_page(form, 422)
    try:
        program = actions.create_local_program(data)
    except Problem as exc:
        return _new_page(problem_form(exc, values), exc.code or 422)
    notice(Msg(f"Program {program.code} ditambahkan.", f"Program {program.code} added."))
    return redirect(url_for(".program_page", program_id=program.id))


# --- the rule, checked as it is typed ------------------------------------------------------------


@bp.route("/rules/check", methods=["GET", "POST"])
@require(P.PROGRAMS_READ)
def check_rule():
    """For the rule editor's script (which posts the text as it is typed): the rule's problems,
    with line and column, in the page's language. Nothing is stored, so a GET with
    ?rule_text= answers the same."""
    text = request.values.get("rule_text")
    if text is None or len(text) > 4000:
        return jsonify({"valid": False, "problems": []}), 422
    problems = rule_problems(text)
    used = [] if problems else rule_fields_used(parse_rule(text))
    if problems:
        summary = Msg(
            f"{len(problems)} masalah dalam aturan.", f"{len(problems)} problem(s) in the rule."
        )
    elif not text.strip():
        summary = Msg("Tanpa aturan: semua orang memenuhi syarat.", "No rule: everyone qualifies.")
    else:
        summary = Msg("Aturan benar.", "The rule is valid.")
    return jsonify(
        {
            "valid": not problems,
            "summary": text_of(summary),
            "problems": [
                {
                    "line": p["line"],
                    "column": p["column"],
                    "where": text_of(
                        Msg(
                            f"Baris {p['line']}, kolom {p['column']}",
                            f"Line {p['line']}, column {p['column']}",
                        )
                    ),
                    "message": text_of(p["message"]),
                    "excerpt": p["excerpt"],
                    "caret": p["caret"],
                }
                for p in problems
            ],
            "fields_used": used,
        }
    )


@bp.get("/rule-fields")
@require(P.PROGRAMS_READ)
def rule_fields():
    return render_template("programs/rule_fields.html", facts=fact_rows())


# --- one program --------------------------------------------------------------------------------


def _facts_used(ast: dict[str, Any] | None) -> list[RuleField]:
    return [FIELDS[name] for name in rule_fields_used(ast) if name in FIELDS]


@bp.get("/<uuid:program_id>")
@require(P.PROGRAMS_READ)
def program_page(program_id: uuid.UUID):
    program = access_program_by_id(program_id)
    national = (
        db.session.get(NationalProgram, program.national_program_id)
        if program.national_program_id
        else None
    )
    return render_template(
        "programs/program.html",
        program=program,
        national=national,
        agency=db.session.execute(
            sa.select(Agency).where(Agency.id == program.agency_id)
        ).scalar_one(),
        facts_used=_facts_used(program.rule_ast),
        kinds=KINDS,
        sectors=SECTORS,
        fundings=FUNDINGS,
        can_manage=_can_manage(),
        can_try_person=current_principal().can(str(P.REGISTRY_READ)),
    )


def _shown(program: Program) -> dict[str, str]:
    """The program as its change form shows it."""
    return stored_text(program, LOCAL_EDITABLE)


def _edit_page(
    program: Program,
    form: Form | None = None,
    status: int = 200,
    conflict: list[dict[str, Any]] | None = None,
    checked: bool = False,
):
    if form is None:
        form = edit_form(_shown(program), str(program.version))
    editable = NATIONAL_EDITABLE if program.national_program_id else LOCAL_EDITABLE
    return render_template(
        "programs/edit.html",
        program=program,
        form=form,
        editable=editable,
        conflict=conflict,
        checked=checked,
        problems=rule_problems(form.values.get("rule_text")) if "rule_text" in editable else [],
        sectors=list(SECTORS.items()),
        fundings=list(FUNDINGS.items()),
        agencies=_agency_options(),
        active_options=ACTIVE,
        facts=fact_rows(),
    ), status


@bp.get("/<uuid:program_id>/edit")
@require(P.PROGRAMS_MANAGE)
def edit_program(program_id: uuid.UUID):
    return _edit_page(access_program_by_id(program_id))


@bp.post("/<uuid:program_id>/edit")
@require(P.PROGRAMS_MANAGE)
def change_program(program_id: uuid.UUID):
    program = access_program_by_id(program_id)
    if request.form.get("action") == "check":  # "check the rule" without saving
        posted = posted_values()
        status = 422 if rule_problems(posted.get("rule_text")) else 200
        return _edit_page(program, Form(posted, {}), status, checked=True)
    agencies = dict(_agency_options())
    refused = submit_change(
        program,
        ProgramUpdateSchema(),
        NATIONAL_EDITABLE if program.national_program_id else LOCAL_EDITABLE,
        stored=lambda: _shown(program),
        version=lambda: str(program.version),
        labels=FIELD_LABELS,
        words=lambda name, value: _readable(name, value, agencies),
        save=lambda data: actions.update_program(program, data),
        page=lambda form, status, conflict=None: _edit_page(program, form, status, conflict),
        body=_with_documents,
    )
    if refused is not None:
        return refused
    notice(
        Msg(
            f"Program {program.code} disimpan (versi {program.version}).",
            f"Program {program.code} saved (version {program.version}).",
        )
    )
    return redirect(url_for(".program_page", program_id=program.id))


def _with_documents(edited: dict[str, Any]) -> dict[str, Any]:
    """The documents field as the API's list, one per line."""
    if "required_documents" in edited:
        return {**edited, "required_documents": _documents(edited["required_documents"])}
    return edited


def _readable(name: str, value: str, agencies: dict[str, str]) -> Msg:
    if name == "active":
        return dict(ACTIVE).get(value) or Msg(value, value)
    if name == "agency_id":
        text = agencies.get(value, value)
        return Msg(text, text)
    if name == "sector":
        return SECTORS.get(value) or Msg(value, value)
    if name == "funding":
        return FUNDINGS.get(value) or Msg(value, value)
    text = value.replace("\n", "; ") or "—"
    return Msg(text, text)


# --- trying the rule ----------------------------------------------------------------------------

NIK_RE = re.compile(r"^[0-9]{16}$")


def _typed_facts() -> tuple[dict[str, Any] | None, Form]:
    """Facts typed into the try-it form, read with the API's facts schema."""
    values = {n: request.args[n].strip() for n in FIELDS if request.args.get(n, "").strip()}
    body: dict[str, Any] = {}
    for name, text in values.items():
        numeric = FIELDS[name].type == "int" and re.fullmatch(r"-?[0-9]{1,6}", text)
        body[name] = int(text) if numeric else text
    data, form = parse_form(FactsSchema(), body)
    form.values = values
    return data, form


def _people(q: str) -> list[Any]:
    """Persons in the caller's region matching a NIK or part of a name (at most 10)."""
    from slrt.tenants.registry.models import Person, name_matches

    stmt = sa.select(Person).where(
        current_principal().region_clause(Person.village_code), Person.erased_at.is_(None)
    )
    stmt = stmt.where(Person.nik == q) if NIK_RE.match(q) else stmt.where(name_matches(q))
    return list(db.session.execute(stmt.order_by(Person.name, Person.id).limit(10)).scalars())


@bp.get("/<uuid:program_id>/try")
@require(P.PROGRAMS_READ)
@personal_data("person.read")
def try_rule(program_id: uuid.UUID):
    from slrt.tenants.programs.eligibility import person_facts
    from slrt.tenants.registry.access import access_person_by_id
    from slrt.tenants.registry.actions import record_person_reads
    from slrt.tenants.registry.models import Household

    program = access_program_by_id(program_id)
    version = current_version(program)
    if request.args.get("version"):
        try:
            version = access_program_version(program, uuid.UUID(request.args["version"]))
        except ValueError:
            raise Problem(404, Msg("Versi tidak ditemukan.", "Version not found.")) from None
    principal = current_principal()
    can_person = principal.can(str(P.REGISTRY_READ))
    q = request.args.get("q", "").strip()[:100]
    people, person, result, facts = None, None, None, None
    facts_form: Form | None = None
    if q and len(q) >= 2:
        authorize(principal, str(P.REGISTRY_READ))
        people = _people(q)
        record_person_reads(
            [p.id for p in people], "person.list", note=f"uji aturan {program.code}"
        )
    if request.args.get("person"):
        authorize(principal, str(P.REGISTRY_READ))
        try:
            person_id = uuid.UUID(request.args["person"])
        except ValueError:
            raise Problem(404, Msg("Orang tidak ditemukan.", "Person not found.")) from None
        person = access_person_by_id(person_id)
        household = (
            db.session.execute(
                sa.select(Household).where(Household.id == person.household_id)
            ).scalar_one_or_none()
            if person.household_id
            else None
        )
        facts = person_facts(person, household)
        record_person_reads([person.id], note=f"uji aturan {program.code}")
    elif request.args.get("facts"):
        facts, facts_form = _typed_facts()
    if facts is not None:
        result = evaluate(version.rule_ast, facts)
    return render_template(
        "programs/try.html",
        program=program,
        version=version,
        q=q,
        people=people,
        person=person,
        facts=facts,
        result=result,
        facts_form=facts_form or Form(dict(request.args), {}),
        fact_specs=list(FIELDS.values()),
        fact_choices={s.name: [(c, c) for c in s.choices] for s in FIELDS.values()},
        yes_no=YES_NO_UNKNOWN,
        can_person=can_person,
    ), (422 if facts_form is not None and facts_form.errors else 200)


# --- versions and who changed what ----------------------------------------------------------------


@bp.get("/<uuid:program_id>/versions")
@require(P.PROGRAMS_READ)
def versions(program_id: uuid.UUID):
    program = access_program_by_id(program_id)
    page = page_of(
        sa.select(ProgramVersion).where(ProgramVersion.program_id == program.id),
        ProgramVersion.version.desc(),
    )
    events = db.session.execute(
        sa.select(AuditEvent).where(
            AuditEvent.entity_type == "program",
            AuditEvent.entity_id == str(program.id),
            AuditEvent.action.in_(VERSION_ACTIONS),
        )
    ).scalars()
    by_version: dict[int, AuditEvent] = {}
    for event in events:
        number = (event.after or {}).get("version")
        if isinstance(number, int):
            by_version.setdefault(number, event)
    agency_ids = {v.agency_id for v in page.items}
    for event in by_version.values():
        for found in ids_in(event.before, event.after):
            with contextlib.suppress(ValueError):
                agency_ids.add(uuid.UUID(found))
    names = {str(k): v for k, v in _agency_names(agency_ids).items()}
    rows = []
    for version in page.items:
        event = by_version.get(version.version)
        changes = []
        if event is not None and event.action == "program.update":
            shown = [k for k in (event.after or {}) if k != "version"]
            changes = change_rows(
                {k: (event.before or {}).get(k) for k in shown},
                {k: (event.after or {}).get(k) for k in shown},
                names,
            )
        rows.append({"version": version, "event": event, "changes": changes})
    return render_template(
        "programs/versions.html",
        program=program,
        page=page,
        rows=rows,
        agencies=names,
    )


@bp.get("/<uuid:program_id>/versions/<uuid:version_id>")
@require(P.PROGRAMS_READ)
def version_page(program_id: uuid.UUID, version_id: uuid.UUID):
    program = access_program_by_id(program_id)
    version = access_program_version(program, version_id)
    snapshot = version.snapshot or {}
    agency = _agency_names({version.agency_id}).get(version.agency_id, "")
    return render_template(
        "programs/version.html",
        program=program,
        version=version,
        snapshot=snapshot,
        agency=agency,
        documents=snapshot.get("required_documents") or [],
        sectors=SECTORS,
        fundings=FUNDINGS,
        facts_used=_facts_used(version.rule_ast),
    )
