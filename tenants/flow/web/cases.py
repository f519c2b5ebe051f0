"""The service desk's case pages, /t/<slug>/cases/...: every step of a case from the visit to
the referral letters, for front office, back office and the manager / Puskesos coordinator.

- `/cases`: the cases of the member's region, filtered (state, kind, channel, village, mine)
  and searched by ticket number;
- `/cases/new`: intake. The resident is found in the registry (NIK, KK or name, or a known NIK
  typed in), the visit is registered with its needs and a document from the phone camera, and
  the ticket receipt follows (`/cases/<id>/receipt`): printable, with the secret status link
  and its QR code;
- `/cases/<id>`: the person and household, DTKS status, needs, the programs suggested with their
  rules explained in words, referrals and their letters, documents, the whole history;
- `/cases/<id>/assess` (back office), `/decide` and `/return` (manager, coordinator),
  `/refer`, the letter PDF and its revocation.

Each view needs the permission of the API operation it mirrors, reads through the same access
helpers, parses with the API's schemas and calls the same action; a step the case's state does
not allow is answered with a sentence naming the state and what can be done now.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app, g, redirect, render_template, request, session, url_for
from werkzeug.exceptions import HTTPException

from slrt.auth.accounts.models import Account
from slrt.auth.permissions import P
from slrt.auth.policy import current_principal, require
from slrt.platform import db
from slrt.platform.audit.models import AuditEvent
from slrt.platform.errors import Msg, Problem
from slrt.platform.i18n import current_zone, local_today, text_of
from slrt.platform.tenancy import current_tenant
from slrt.platform.tenant import Tenant
from slrt.platform.web import Form, TenantPages, notice, page_of, parse_form, problem_form
from slrt.tenants.districts.settings import letterhead
from slrt.tenants.flow import actions, labels, workflow
from slrt.tenants.flow.access import (
    REFERRAL_NOT_FOUND,
    access_attachment_by_id,
    access_case_by_id,
    access_referral_by_id,
    case_scope,
    letter_of,
)
from slrt.tenants.flow.api import (
    AssessSchema,
    CaseCreateSchema,
    CaseQuerySchema,
    DecideSchema,
    ReasonSchema,
    RevokeSchema,
    UploadFormSchema,
    attachment_response,
    case_detail,
    letter_pdf_response,
)
from slrt.tenants.flow.letters import verification_url
from slrt.tenants.flow.models import Case, Letter, Referral, Transition
from slrt.tenants.flow.receipts import qr_svg, status_check_url, ticket_check_url
from slrt.tenants.flow.workflow import permission_of
from slrt.tenants.programs.eligibility import person_facts, suggestions
from slrt.tenants.programs.models import Program
from slrt.tenants.programs.rule_fields import FIELDS
from slrt.tenants.programs.rules import evaluate
from slrt.tenants.regions.access import village_name, villages_in_scope
from slrt.tenants.registry.access import access_household_by_id, access_person_by_id
from slrt.tenants.registry.actions import record_person_reads
from slrt.tenants.registry.models import Household, Person, name_matches
from slrt.tenants.service_points.access import active_puskesos_in
from slrt.tenants.service_points.models import ServicePoint, ServicePointKind

bp = TenantPages(
    "cases_web",
    __name__,
    "/cases",
    lookups={
        "case_id": access_case_by_id,
        "attachment_id": access_attachment_by_id,
        "referral_id": access_referral_by_id,
    },
)

NEED_ROWS = 3  # empty rows offered for needs (a script adds more)
MAX_NEED_ROWS = 20
SEARCH_LIMIT = 20
KEPT_RECEIPTS = 5  # secret links this browser keeps to show its recent receipts again

# Where the registry pages register a new resident (a page of the registry area).
REGISTRY_NEW_HOUSEHOLD = "/t/{slug}/registry/households/new"

EMPTY_CHOICE = Msg(
    "Pilih sedikitnya satu program.",
    "Choose at least one program.",
)
NO_RESIDENT = Msg(
    "Pilih warga dari hasil pencarian, atau ketik NIK warga yang sudah terdaftar.",
    "Choose the resident from the search results, or type the NIK of a registered resident.",
)
UNKNOWN_NIK = Msg(
    "NIK ini belum terdaftar di registri wilayah Anda. Daftarkan warga dan keluarganya dulu.",
    "This NIK is not in your region's registry yet. Register the resident and the family first.",
)
BAD_NIK = Msg("NIK terdiri dari 16 angka.", "A NIK has 16 digits.")
NO_FILE_KIND = Msg("Pilih jenis dokumen yang dilampirkan.", "Choose the kind of the document.")
FILE_AGAIN = Msg(
    "Berkas belum disimpan karena isian lain belum lengkap: pilih atau potret lagi.",
    "The file was not kept because other fields need attention: choose or take it again.",
)


# --- small helpers ------------------------------------------------------------------------------


def _can(permission: P | str) -> bool:
    return current_principal().can(str(permission))


def _uuid(text: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(text or "")
    except ValueError:
        return None


def refusal(exc: Problem) -> Msg:
    """An action's refusal in words. A state-machine refusal names the case's state and what
    can be done with it now, never the codes."""
    extra = exc.extra or {}
    state = extra.get("current_state")
    if state in workflow.CASE_STATES and "allowed_actions" in extra:
        state_label = workflow.label("case", state)
        steps = [labels.TO_DO[a] for a in labels.in_flow_order(extra["allowed_actions"])]
        if steps:
            return Msg(
                f"Langkah ini tidak dapat dilakukan karena kasus berstatus “{state_label}”. "
                f"Yang dapat dilakukan sekarang: {', '.join(str(s) for s in steps)}.",
                f"This step cannot be taken: the case is “{state_label.en}”. "
                f"What can be done now: {', '.join(s.en for s in steps)}.",
            )
        return Msg(
            f"Langkah ini tidak dapat dilakukan karena kasus berstatus “{state_label}”; "
            "tidak ada langkah lanjutan untuk kasus ini.",
            f"This step cannot be taken: the case is “{state_label.en}” and has no next step.",
        )
    detail = exc.detail
    if isinstance(detail, Msg):
        return detail
    return Msg(str(detail or ""), str(detail or ""))


def refused_form(exc: Problem, values: dict[str, Any]) -> tuple[Form, int]:
    """The form again with the action's refusal beside its field or at the top."""
    form = problem_form(exc, values)
    if exc.errors is None:
        form.errors["_"] = refusal(exc)
    return form, exc.code or 422


def _regroup(form: Form, *names: str) -> Form:
    """Problems of list items ("program_ids.1") shown beside their group ("program_ids")."""
    for key in list(form.errors):
        for name in names:
            if key.startswith(name + ".") and name not in form.errors:
                form.errors[name] = form.errors.pop(key)
    return form


def _needs_from(values: dict[str, Any]) -> tuple[list[dict[str, str]], list[int]]:
    """The filled rows of the needs table as the API's list, and the row each came from."""
    needs, rows = [], []
    for i in range(MAX_NEED_ROWS):
        sector = values.get(f"needs.{i}.sector")
        text = values.get(f"needs.{i}.description")
        if sector or text:
            need = {}
            if sector:
                need["sector"] = sector
            if text:
                need["description"] = text
            needs.append(need)
            rows.append(i)
    return needs, rows


def _errors_to_rows(form: Form, rows: list[int]) -> None:
    """needs.<k>.x (the k-th filled row) -> needs.<row>.x (the row on the page)."""
    for key in list(form.errors):
        parts = key.split(".")
        if parts[0] == "needs" and len(parts) == 3 and parts[1].isdigit():
            k = int(parts[1])
            if k < len(rows):
                form.errors[f"needs.{rows[k]}.{parts[2]}"] = form.errors.pop(key)


def _need_values(needs: list[Any]) -> dict[str, str]:
    values = {}
    for i, need in enumerate(needs):
        values[f"needs.{i}.sector"] = need.sector
        values[f"needs.{i}.description"] = need.description
    return values


def _registry_link() -> str | None:
    """The registry's page for a new resident, once the app has it (no link that leads
    nowhere)."""
    path = REGISTRY_NEW_HOUSEHOLD.format(slug=g.tenant.slug)
    try:
        current_app.url_map.bind("localhost").match(path, method="GET")
    except HTTPException:  # not found, another method, a redirect: no such page
        return None
    return path


def _tenant() -> Tenant:
    return db.session.get(Tenant, current_tenant().id)


# --- the rules' explanation in words ------------------------------------------------------------

VILLAGE_KINDS = {
    "desa": Msg("desa", "village (desa)"),
    "kelurahan": Msg("kelurahan", "urban village (kelurahan)"),
    "desa_adat": Msg("desa adat", "customary village (desa adat)"),
}
YES, NO = Msg("ya", "yes"), Msg("tidak", "no")
UNKNOWN = Msg("tidak diketahui", "unknown")
COMPARISONS = {
    "<": ("kurang dari", "less than"),
    "<=": ("paling tinggi", "at most"),
    ">": ("lebih dari", "more than"),
    ">=": ("paling rendah", "at least"),
    "==": ("", ""),
    "!=": ("bukan", "not"),
    "in": ("salah satu dari", "one of"),
}


@dataclass
class RulePart:
    """One node of a rule as people read it: a condition with the person's value, or a group
    (all / any / not) of parts; `held` says whether it holds for this person."""

    kind: str  # "condition", "all", "any", "not"
    held: bool
    requirement: Msg | None = None
    value: Msg | None = None
    missing: bool = False
    parts: list[RulePart] = field(default_factory=list)


def _field_label(name: str) -> Msg:
    spec = FIELDS.get(name)
    if spec is None:
        return Msg(name, name)

    def short(text: str) -> str:
        return text.split(";")[0].split(":")[0].strip()

    return Msg(short(spec.description), short(spec.description_en))


def _words(name: str, value: Any) -> Msg:
    if value is None:
        return UNKNOWN
    if isinstance(value, bool):
        return YES if value else NO
    if isinstance(value, list):
        items = [_words(name, v) for v in value]
        return Msg(", ".join(str(i) for i in items), ", ".join(i.en for i in items))
    if name == "sex":
        return labels.SEXES.get(value, Msg(str(value), str(value)))
    if name == "village_kind":
        return VILLAGE_KINDS.get(value, Msg(str(value), str(value)))
    return Msg(str(value), str(value))


def _requirement(node: dict[str, Any]) -> Msg:
    label = _field_label(node["field"])
    if node["op"] == "is_true":
        return label
    id_word, en_word = COMPARISONS.get(node["op"], (node["op"], node["op"]))
    expected = _words(node["field"], node.get("value"))
    return Msg(
        f"{label}: {id_word} {expected}".replace(":  ", ": "),
        f"{label.en}: {en_word} {expected.en}".replace(":  ", ": "),
    )


def _explain(ast: dict[str, Any], tree: dict[str, Any], facts: dict[str, Any]) -> RulePart:
    """The stored rule (ast) and its evaluation (tree, the same shape) as readable parts."""
    if ast["type"] == "condition":
        return RulePart(
            "condition",
            tree["held"],
            requirement=_requirement(ast),
            value=_words(ast["field"], facts.get(ast["field"])),
            missing=tree.get("missing", False),
        )
    if ast["type"] == "not":
        return RulePart("not", tree["held"], parts=[_explain(ast["arg"], tree["arg"], facts)])
    kind = "all" if ast["type"] == "and" else "any"
    parts = [_explain(a, t, facts) for a, t in zip(ast["args"], tree["args"], strict=True)]
    return RulePart(kind, tree["held"], parts=parts)


def explained_suggestions(person: Person | None, household: Household | None) -> list[dict]:
    """The API's suggestions for the person's current facts (every active program, eligible
    first), each with its rule explained part by part in words."""
    facts = person_facts(person, household)
    rows = suggestions(facts)
    rules = dict(
        db.session.execute(
            sa.select(Program.id, Program.rule_ast).where(
                Program.id.in_([uuid.UUID(r["program_id"]) for r in rows])
            )
        ).all()
    )
    for row in rows:
        ast = rules.get(uuid.UUID(row["program_id"]))
        row["reason"] = None
        if ast is not None:
            row["reason"] = _explain(ast, evaluate(ast, facts).tree, facts)
        row["sector_label"] = labels.SECTORS.get(row["sector"], Msg(row["sector"], row["sector"]))
    return rows


# --- the case list ------------------------------------------------------------------------------


@bp.get("")
@require(P.CASES_READ)
def case_list():
    principal = current_principal()
    args = {k: v.strip() for k, v in request.args.items() if v.strip()}
    wanted = {k: args[k] for k in ("status", "kind", "channel", "village_code") if k in args}
    data, form = parse_form(CaseQuerySchema(), wanted)
    status = 200
    if data is None:
        data, status = {}, 422
    stmt = case_scope(sa.select(Case))
    for key in ("status", "kind", "channel", "village_code"):
        if data.get(key):
            stmt = stmt.where(getattr(Case, key) == data[key])
    mine = args.get("mine") == "1"
    if mine:
        acted = sa.select(Transition.case_id).where(
            Transition.actor_account_id == principal.account_id
        )
        stmt = stmt.where(sa.or_(Case.registered_by == principal.account_id, Case.id.in_(acted)))
    query = args.get("q", "")[:40]
    if query:
        stmt = stmt.where(Case.ticket_number.contains(query, autoescape=True))
    today = args.get("created") == "today"
    if today:
        # The district's own day, not UTC's: a visit at 07.00 WITA is today's.
        start = dt.datetime.combine(local_today(), dt.time(), tzinfo=ZoneInfo(current_zone()))
        stmt = stmt.where(Case.created_at >= start, Case.created_at < start + dt.timedelta(days=1))
    page = page_of(stmt, Case.id.desc())
    person_ids = [c.person_id for c in page.items if c.person_id]
    names = dict(
        db.session.execute(sa.select(Person.id, Person.name).where(Person.id.in_(person_ids))).all()
    )
    if names:
        record_person_reads(list(names), "person.list", note="case list")
    villages = db.session.execute(villages_in_scope(principal)).scalars()
    return render_template(
        "flow/cases.html",
        page=page,
        names=names,
        form=Form({**args, "mine": "1" if mine else ""}, form.errors),
        periods=[("today", Msg("Hari ini", "Today"))],
        query=query,
        villages=[(v.code, Msg(v.name, v.name)) for v in villages],
        states=[(s, workflow.label("case", s)) for s in workflow.CASE_STATES],
        state_label=lambda state: workflow.label("case", state),
        village_name=village_name,
        labels=labels,
        can_register=_can(P.CASES_REGISTER),
        filtered=bool(wanted or mine or query or today),
    ), status


# --- intake -------------------------------------------------------------------------------------


def _search(query: str) -> tuple[list[Person], list[Household]]:
    """Residents and families of the member's region matching a NIK, a KK number or a part of
    a name."""
    region = current_principal().region_clause
    persons: list[Person] = []
    households: list[Household] = []
    digits = query.replace(" ", "")
    alive = Person.erased_at.is_(None)
    if digits.isdigit() and len(digits) == 16:
        persons = list(
            db.session.execute(
                sa.select(Person).where(Person.nik == digits, alive, region(Person.village_code))
            ).scalars()
        )
        households = list(
            db.session.execute(
                sa.select(Household).where(
                    Household.kk_number == digits, region(Household.village_code)
                )
            ).scalars()
        )
    elif len(query) >= 2 and not digits.isdigit():
        persons = list(
            db.session.execute(
                sa.select(Person)
                .where(name_matches(query), alive, region(Person.village_code))
                .order_by(Person.name, Person.id)
                .limit(SEARCH_LIMIT)
            ).scalars()
        )
    return persons, households


def _members(household: Household) -> list[Person]:
    return list(
        db.session.execute(
            sa.select(Person)
            .where(Person.household_id == household.id, Person.erased_at.is_(None))
            .order_by(Person.relation != "kepala_keluarga", Person.name)
        ).scalars()
    )


def _households_of(persons: list[Person]) -> dict[uuid.UUID, Household]:
    ids = {p.household_id for p in persons if p.household_id}
    if not ids:
        return {}
    rows = db.session.execute(sa.select(Household).where(Household.id.in_(ids))).scalars()
    return {h.id: h for h in rows}


def _chosen() -> tuple[Person | None, Household | None]:
    """The resident (or family) picked for the visit: from the form when posted, else from the
    link the search result followed."""
    source = request.form if request.method == "POST" else request.args
    person_id = _uuid(source.get("person_id") or source.get("person"))
    household_id = _uuid(source.get("household_id") or source.get("household"))
    person = access_person_by_id(person_id) if person_id else None
    household = None
    if person is not None and person.household_id:
        household = db.session.get(Household, (person.tenant_id, person.household_id))
    elif household_id:
        household = access_household_by_id(household_id)
    return person, household


def _intake_page(form: Form | None, status: int = 200):
    person, household = _chosen()
    query = (request.args.get("q") or "").strip()[:100]
    found, found_households, members = [], [], []
    if person is None and household is None and query:
        found, found_households = _search(query)
    if person is None and household is not None:
        members = _members(household)
    shown = [p.id for p in [*found, *members] if p] + ([person.id] if person else [])
    if shown:
        record_person_reads(shown, "person.list", note="intake search")
    return render_template(
        "flow/intake.html",
        form=form,
        person=person,
        household=household,
        members=members,
        query=query,
        found=found,
        found_households=found_households,
        households=_households_of(found),
        need_rows=range(NEED_ROWS),
        kinds=labels.choices(labels.CASE_KINDS),
        channels=labels.choices(labels.CHANNELS),
        sectors=labels.choices(labels.SECTORS),
        documents=labels.choices(labels.ATTACHMENT_KINDS),
        registry_link=_registry_link(),
        default_channel=_default_channel(),
        village_name=village_name,
        labels=labels,
    ), status


def _default_channel() -> str:
    """A facilitator meets people in the field, Puskesos staff (a village scope) at the
    Puskesos, everyone else at the secretariat."""
    principal = current_principal()
    if principal.role_key == "facilitator":
        return "outreach"
    return "puskesos" if principal.scope_kind == "village" else "secretariat"


@bp.get("/new")
@require(P.CASES_REGISTER)
def intake():
    return _intake_page(None)


def _person_by_nik(values: dict[str, Any], form: Form) -> Person | None:
    nik = (values.get("nik") or "").replace(" ", "")
    if not nik:
        form.errors.setdefault("nik", NO_RESIDENT)
        return None
    if not (nik.isdigit() and len(nik) == 16):
        form.errors.setdefault("nik", BAD_NIK)
        return None
    person = db.session.execute(
        sa.select(Person).where(
            Person.nik == nik,
            Person.erased_at.is_(None),
            current_principal().region_clause(Person.village_code),
        )
    ).scalar_one_or_none()
    if person is None:
        form.errors.setdefault("nik", UNKNOWN_NIK)
    return person


@bp.post("/new")
@require(P.CASES_REGISTER)
def register():
    values = {k: v.strip() for k, v in request.form.items() if k != "csrf_token" and v.strip()}
    needs, rows = _needs_from(values)
    body: dict[str, Any] = {k: values[k] for k in ("kind", "channel", "description") if k in values}
    body["needs"] = needs
    person, household = _chosen()
    form = Form(values, {})
    if person is not None:
        body["person_id"] = str(person.id)
    elif household is not None:
        body["household_id"] = str(household.id)
    else:
        person = _person_by_nik(values, form)
        if person is not None:
            body["person_id"] = str(person.id)
    data, parsed = parse_form(CaseCreateSchema(), body)
    form.errors.update(parsed.errors)
    _errors_to_rows(form, rows)
    files = []
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        kind, _ = parse_form(UploadFormSchema(), {"kind": values.get("file_kind", "")})
        if kind is None:
            form.errors["file_kind"] = NO_FILE_KIND
        else:
            files.append((kind["kind"], upload.filename, upload.read()))
    if form.errors or data is None:
        if upload is not None and upload.filename and "file" not in form.errors:
            form.errors["file"] = FILE_AGAIN
        return _intake_page(form, 422)
    try:
        case = actions.register_case_with_attachments(data, files)
    except Problem as exc:
        form, status = refused_form(exc, values)
        _errors_to_rows(form, rows)
        return _intake_page(form, status)
    _keep_receipt(case.id, case.status_token)
    notice(
        Msg(
            f"Tiket {case.ticket_number} terdaftar.",
            f"Ticket {case.ticket_number} registered.",
        )
    )
    return redirect(url_for(".receipt", case_id=case.id))


# --- the ticket receipt -------------------------------------------------------------------------


def _keep_receipt(case_id: uuid.UUID, token: str) -> None:
    """This browser keeps the secret link of its latest receipts (the server-side session), so
    the receipt can be shown again and printed; only its hash is in the database."""
    kept = dict(session.get("receipts") or {})
    kept.pop(str(case_id), None)
    kept[str(case_id)] = token
    session["receipts"] = dict(list(kept.items())[-KEPT_RECEIPTS:])


def _place(case: Case) -> dict[str, Any]:
    """Where the visit was registered, as the receipt names it: the village's Puskesos for a
    Puskesos visit, else the SLRT secretariat (the letterhead's office without one)."""
    point = None
    if case.channel == "puskesos":
        from slrt.tenants.regions.access import village_by_code

        village = village_by_code(case.village_code)
        point = active_puskesos_in(village.id) if village is not None else None
    if point is None:
        point = db.session.execute(
            sa.select(ServicePoint).where(
                ServicePoint.kind == ServicePointKind.secretariat, ServicePoint.active.is_(True)
            )
        ).scalar_one_or_none()
    if point is not None:
        return {"name": point.name, "address": point.address, "phone": point.phone}
    head = letterhead(_tenant())
    return {
        "name": f"SLRT {g.tenant.name}",
        "address": head.get("address"),
        "phone": head.get("phone"),
    }


@bp.get("/<uuid:case_id>/receipt")
@require(P.CASES_READ)
def receipt(case_id: uuid.UUID):
    case = access_case_by_id(case_id)
    token = (session.get("receipts") or {}).get(str(case.id))
    link = qr = None
    if token:
        link = status_check_url(_tenant(), token)
        qr = qr_svg(link, text_of(Msg("Kode QR cek status tiket", "QR code to check the ticket")))
    return render_template(
        "flow/receipt.html",
        case=case,
        place=_place(case),
        link=link,
        qr=qr,
        check_url=ticket_check_url(_tenant()),
        kind=labels.CASE_KINDS.get(case.kind),
        can_renew=_can(P.CASES_REGISTER),
    )


@bp.post("/<uuid:case_id>/receipt")
@require(P.CASES_REGISTER)
def renew_receipt(case_id: uuid.UUID):
    case = access_case_by_id(case_id, lock=True)
    _keep_receipt(case.id, actions.renew_status_token(case))
    notice(
        Msg(
            "Tanda terima baru dibuat; tautan pada tanda terima lama tidak berlaku lagi.",
            "A new receipt was made; the link on the old receipt no longer works.",
        )
    )
    return redirect(url_for(".receipt", case_id=case.id))


# --- the case page ------------------------------------------------------------------------------


@dataclass
class Step:
    """A step of the history as shown: when, what, who, on which referral, the note."""

    at: dt.datetime
    what: Msg
    who: str
    referral: str | None
    note: str | None


def _revocations(letters: dict[uuid.UUID, Letter]) -> dict[str, AuditEvent]:
    """The audit events of the case's revoked letters (who, when, the reason), by letter id."""
    revoked = [str(letter.id) for letter in letters.values() if letter.revoked_at]
    if not revoked:
        return {}
    rows = db.session.execute(
        sa.select(AuditEvent).where(
            AuditEvent.entity_type == "letter",
            AuditEvent.action == "letter.revoke",
            AuditEvent.entity_id.in_(revoked),
        )
    ).scalars()
    return {event.entity_id: event for event in rows}


def _history(
    case: Case, letters: dict[uuid.UUID, Letter], revocations: dict[str, AuditEvent]
) -> list[Step]:
    """Every state change of the case and its referrals, and the letters revoked, in order."""
    rows = list(
        db.session.execute(
            sa.select(Transition)
            .where(Transition.case_id == case.id)
            .order_by(Transition.occurred_at, Transition.id)
        ).scalars()
    )
    people = {t.actor_account_id for t in rows if t.actor_account_id}
    people |= {e.actor_account_id for e in revocations.values() if e.actor_account_id}
    names = dict(
        db.session.execute(sa.select(Account.id, Account.name).where(Account.id.in_(people))).all()
    )
    programs = {r.id: r.program_name for r in case.referrals}
    steps = [
        Step(
            at=t.occurred_at,
            what=labels.done(t.machine, t.action),
            who=names.get(t.actor_account_id) or t.actor_label,
            referral=programs.get(t.referral_id) if t.referral_id else None,
            note=t.note,
        )
        for t in rows
    ]
    for letter in letters.values():
        event = revocations.get(str(letter.id))
        if event is not None:
            steps.append(
                Step(
                    at=event.occurred_at,
                    what=labels.done("letter", "revoke"),
                    who=names.get(event.actor_account_id) or event.actor_label,
                    referral=f"{programs.get(letter.referral_id, '')} · {letter.number}",
                    note=event.note,
                )
            )
    return sorted(steps, key=lambda step: step.at)


def _letters(case: Case) -> dict[uuid.UUID, Letter]:
    ids = [r.id for r in case.referrals]
    if not ids:
        return {}
    rows = db.session.execute(sa.select(Letter).where(Letter.referral_id.in_(ids))).scalars()
    return {letter.referral_id: letter for letter in rows}


def _next_steps(case: Case) -> tuple[list[str], list[Msg]]:
    """What this member can do with the case now, and what the case waits for from others
    (its main next step: a return goes with the decision, and closing early is an option,
    not what a case waits for, until the follow-up)."""
    mine, theirs = [], []
    allowed = workflow.allowed_actions("case", case.status)
    for step in labels.in_flow_order(allowed):
        if _can(permission_of("case", step)):
            mine.append(step)
        elif step != "return" and (step != "close" or case.status == "follow_up"):
            theirs.append(labels.TO_DO[step])
    return mine, theirs


def _last_return(case: Case) -> Transition | None:
    return db.session.execute(
        sa.select(Transition)
        .where(Transition.case_id == case.id, Transition.action == "return")
        .order_by(Transition.occurred_at.desc(), Transition.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def _case_context(case: Case) -> dict[str, Any]:
    """What the case page and the step pages show about a case (the person's data in it is
    audited as a read, as the API's case detail is)."""
    case_detail(case)
    if case.person is not None:
        record_person_reads([case.person.id], note=f"case {case.ticket_number}")
    pending = case.status in ("registered", "returned", "assessed")
    now = dt.datetime.now(dt.UTC)
    return {
        "case": case,
        "person": case.person,
        "household": case.household,
        "village": village_name(case.village_code),
        "letters": _letters(case),
        "now": now,
        "suggested": explained_suggestions(case.person, case.household)
        if pending and case.status != "registered"
        else None,
        "returned": _last_return(case) if case.status in ("returned", "assessed") else None,
        "labels": labels,
        "state": workflow.label("case", case.status),
        "referral_state": lambda s: workflow.label("referral", s),
    }


def _case_page(case: Case, forms: dict[str, Form] | None = None, status: int = 200):
    context = _case_context(case)
    mine, theirs = _next_steps(case)
    tenant = _tenant()
    revocations = _revocations(context["letters"])
    return render_template(
        "flow/case.html",
        **context,
        history=_history(case, context["letters"], revocations),
        revocations=revocations,
        mine=mine,
        theirs=theirs,
        forms=forms or {},
        verify=lambda letter: verification_url(tenant, letter.token),
        can_read_referrals=_can(P.REFERRALS_READ),
        can_issue=_can(P.LETTERS_ISSUE),
        can_attach=_can(P.CASES_REGISTER),
        documents=labels.choices(labels.ATTACHMENT_KINDS),
    ), status


@bp.get("/<uuid:case_id>")
@require(P.CASES_READ)
def case_page(case_id: uuid.UUID):
    return _case_page(access_case_by_id(case_id))


@bp.get("/<uuid:case_id>/attachments/<uuid:attachment_id>")
@require(P.CASES_READ)
def attachment(case_id: uuid.UUID, attachment_id: uuid.UUID):
    """A document of the case, shown in the browser (its type was checked by content on
    upload); handing it out is audited as a read of the person's data."""
    case = access_case_by_id(case_id)
    found = access_attachment_by_id(attachment_id, case_id=case.id)
    return attachment_response(case, found, inline=True)


@bp.post("/<uuid:case_id>/attachments")
@require(P.CASES_REGISTER)
def attach(case_id: uuid.UUID):
    case = access_case_by_id(case_id, lock=True)
    values = {"file_kind": (request.form.get("file_kind") or "").strip()}
    form = Form(values, {})
    kind, _ = parse_form(UploadFormSchema(), {"kind": values["file_kind"]})
    upload = request.files.get("file")
    if kind is None:
        form.errors["file_kind"] = NO_FILE_KIND
    if upload is None or not upload.filename:
        form.errors["file"] = Msg("Pilih berkas atau ambil foto.", "Choose a file or take a photo.")
    if form.errors:
        return _case_page(case, {"attach": form}, 422)
    try:
        actions.add_attachment(case, kind["kind"], upload.filename, upload.read())
    except Problem as exc:
        form, status = refused_form(exc, values)
        return _case_page(access_case_by_id(case_id), {"attach": form}, status)
    notice(Msg("Dokumen dilampirkan.", "Document attached."))
    return redirect(url_for(".case_page", case_id=case.id) + "#dokumen")


# --- assessment ---------------------------------------------------------------------------------


def _assess_page(case: Case, form: Form | None, status: int = 200, conflict: bool = False):
    context = _case_context(case)
    if form is None:
        values = _need_values(case.needs)
        if case.household is not None and case.household.dtks_status != "unknown":
            values["dtks.status"] = case.household.dtks_status
            if case.household.desil:
                values["dtks.desil"] = str(case.household.desil)
        values["seen"] = case.updated_at.isoformat()
        form = Form(values, {})
    refused = None
    try:
        workflow.step_for("case", case.status, "assess")
    except Problem as exc:  # the form is of no use in this state: say what can be done
        refused, status = refusal(exc), 409
    rows = max(len(case.needs) + 1, NEED_ROWS)
    return render_template(
        "flow/case_assess.html",
        **context,
        form=form,
        refused=refused,
        conflict=conflict,
        need_rows=range(rows),
        sectors=labels.choices(labels.SECTORS),
        dtks_statuses=labels.choices(labels.DTKS_STATUSES),
        desils=[(str(n), Msg(str(n), str(n))) for n in range(1, 11)],
    ), status


def _dtks_errors(form: Form) -> None:
    """A problem with the DTKS check as a whole is shown beside its status."""
    for key in ("dtks", "dtks.status"):
        if key in form.errors and key != "dtks.status":
            form.errors.setdefault("dtks.status", form.errors.pop(key))


@bp.get("/<uuid:case_id>/assess")
@require(permission_of("case", "assess"))
def assess_form(case_id: uuid.UUID):
    return _assess_page(access_case_by_id(case_id), None)


@bp.post("/<uuid:case_id>/assess")
@require(permission_of("case", "assess"))
def assess(case_id: uuid.UUID):
    case = access_case_by_id(case_id, lock=True)
    values = {k: v.strip() for k, v in request.form.items() if k != "csrf_token" and v.strip()}
    seen = values.get("seen")
    if seen and seen != case.updated_at.isoformat() and values.get("apply") != "mine":
        # Someone else changed the case since this form was read: their version or mine.
        form = Form({**values, "seen": case.updated_at.isoformat()}, {})
        return _assess_page(case, form, 409, conflict=True)
    needs, rows = _needs_from(values)
    body: dict[str, Any] = {"needs": needs}
    if values.get("note"):
        body["note"] = values["note"]
    if values.get("dtks.status"):
        dtks = {"status": values["dtks.status"]}
        if values.get("dtks.desil"):
            dtks["desil"] = values["dtks.desil"]
        if values.get("dtks.checked_on"):
            dtks["checked_on"] = values["dtks.checked_on"]
        body["dtks"] = dtks
    elif values.get("dtks.desil"):
        body["dtks"] = {"desil": values["dtks.desil"]}  # refused: a desil needs a status
    data, parsed = parse_form(AssessSchema(), body)
    form = Form(values, parsed.errors)
    _errors_to_rows(form, rows)
    _dtks_errors(form)
    if data is None:
        return _assess_page(case, form, 422)
    try:
        actions.assess_case(case, data)
    except Problem as exc:
        form, status = refused_form(exc, values)
        _errors_to_rows(form, rows)
        _dtks_errors(form)
        return _assess_page(access_case_by_id(case_id), form, status)
    eligible = sum(1 for s in case.suggestions or [] if s.get("eligible"))
    notice(
        Msg(
            f"Asesmen tersimpan. {eligible} program memenuhi syarat; menunggu keputusan.",
            f"Assessment saved. {eligible} program(s) eligible; waiting for the decision.",
        )
    )
    return redirect(url_for(".case_page", case_id=case.id))


# --- decision and return ------------------------------------------------------------------------


def _decide_page(
    case: Case,
    form: Form | None,
    return_form: Form | None = None,
    status: int = 200,
):
    context = _case_context(case)
    refused = None
    try:
        workflow.step_for("case", case.status, "decide")
    except Problem as exc:
        refused = refusal(exc)
        if status == 200:
            status = 409
    suggested = context["suggested"] or []
    if form is None:
        chosen = [s["program_id"] for s in suggested if s["eligible"]]
        form = Form({"program_ids": chosen}, {})
    return render_template(
        "flow/case_decide.html",
        **context,
        form=form,
        return_form=return_form,
        refused=refused,
        programs=[
            (
                s["program_id"],
                Msg(
                    f"{s['program_name']} ({s['agency_name']})",
                    f"{s['program_name']} ({s['agency_name']})",
                ),
            )
            for s in suggested
        ],
        can_return="return" in workflow.allowed_actions("case", case.status),
    ), status


@bp.get("/<uuid:case_id>/decide")
@require(permission_of("case", "decide"))
def decide_form(case_id: uuid.UUID):
    return _decide_page(access_case_by_id(case_id), None)


@bp.post("/<uuid:case_id>/decide")
@require(permission_of("case", "decide"))
def decide(case_id: uuid.UUID):
    case = access_case_by_id(case_id, lock=True)
    chosen = [v for v in request.form.getlist("program_ids") if v.strip()]
    note = (request.form.get("note") or "").strip()
    values: dict[str, Any] = {"program_ids": chosen, "note": note}
    body: dict[str, Any] = {"program_ids": chosen}
    if note:
        body["note"] = note
    data, parsed = parse_form(DecideSchema(), body)
    form = _regroup(Form(values, parsed.errors), "program_ids")
    if not chosen:
        form.errors["program_ids"] = EMPTY_CHOICE
    if data is None or form.errors:
        return _decide_page(case, form, status=422)
    try:
        referrals = actions.decide_case(case, data["program_ids"], data.get("note"))
    except Problem as exc:
        form, status = refused_form(exc, values)
        return _decide_page(access_case_by_id(case_id), _regroup(form, "program_ids"), None, status)
    names = ", ".join(r.program_name for r in referrals)
    notice(
        Msg(
            f"Keputusan tersimpan: {names}. Langkah berikutnya: rujuk dan terbitkan surat.",
            f"Decision saved: {names}. Next: refer and issue the letters.",
        )
    )
    return redirect(url_for(".case_page", case_id=case.id))


@bp.post("/<uuid:case_id>/return")
@require(permission_of("case", "return"))
def return_case(case_id: uuid.UUID):
    case = access_case_by_id(case_id, lock=True)
    values = {"reason": (request.form.get("reason") or "").strip()}
    data, form = parse_form(ReasonSchema(), {k: v for k, v in values.items() if v})
    if data is None:
        if "reason" in form.errors:
            form.errors["reason"] = Msg(
                "Tulis alasan pengembalian untuk back office.",
                "Write the reason for the back office.",
            )
        return _decide_page(case, None, form, 422)
    try:
        actions.return_case(case, data["reason"])
    except Problem as exc:
        form, status = refused_form(exc, values)
        return _decide_page(access_case_by_id(case_id), None, form, status)
    notice(
        Msg(
            "Kasus dikembalikan ke back office untuk perbaikan asesmen.",
            "The case was returned to the back office to correct the assessment.",
        )
    )
    return redirect(url_for(".case_page", case_id=case.id))


# --- referral and letters -----------------------------------------------------------------------


@bp.post("/<uuid:case_id>/refer")
@require(permission_of("case", "refer"))
def refer(case_id: uuid.UUID):
    case = access_case_by_id(case_id, lock=True)
    note = (request.form.get("note") or "").strip()[:5000] or None
    try:
        referrals = actions.refer_case(case, note)
    except Problem as exc:
        form, status = refused_form(exc, {"note": note or ""})
        return _case_page(access_case_by_id(case_id), {"refer": form}, status)
    numbers = ", ".join(
        db.session.execute(
            sa.select(Letter.number)
            .where(Letter.referral_id.in_([r.id for r in referrals]))
            .order_by(Letter.number)
        ).scalars()
    )
    notice(
        Msg(
            f"Rujukan dikirim ke OPD. Surat rujukan terbit: {numbers}.",
            f"Referrals sent to the agencies. Letters issued: {numbers}.",
        )
    )
    return redirect(url_for(".case_page", case_id=case.id) + "#rujukan")


def _referral_of(case_id: uuid.UUID, referral_id: uuid.UUID) -> tuple[Case, Referral]:
    case = access_case_by_id(case_id)
    referral = access_referral_by_id(referral_id)
    if referral.case_id != case.id:
        raise Problem(404, REFERRAL_NOT_FOUND)
    return case, referral


@bp.get("/<uuid:case_id>/letters/<uuid:referral_id>.pdf")
@require(P.REFERRALS_READ)
def letter_pdf(case_id: uuid.UUID, referral_id: uuid.UUID):
    """The referral letter to print: the API's PDF, its printing audited the same way."""
    _case, referral = _referral_of(case_id, referral_id)
    return letter_pdf_response(referral)


@bp.post("/<uuid:case_id>/letters/<uuid:referral_id>/revoke")
@require(P.LETTERS_ISSUE)
def revoke_letter(case_id: uuid.UUID, referral_id: uuid.UUID):
    case, referral = _referral_of(case_id, referral_id)
    values = {"reason": (request.form.get("reason") or "").strip()}
    key = f"revoke:{referral.id}"
    data, form = parse_form(RevokeSchema(), {k: v for k, v in values.items() if v})
    if data is None:
        if "reason" in form.errors:
            form.errors["reason"] = Msg(
                "Tulis alasan pencabutan surat (hilang, data salah, ...).",
                "Write why the letter is revoked (lost, wrong data, ...).",
            )
        return _case_page(case, {key: form}, 422)
    try:
        letter = actions.revoke_letter(letter_of(referral, lock=True), data["reason"])
    except Problem as exc:
        form, status = refused_form(exc, values)
        return _case_page(access_case_by_id(case_id), {key: form}, status)
    notice(
        Msg(
            f"Surat {letter.number} dicabut; halaman verifikasinya kini menyatakan dicabut.",
            f"Letter {letter.number} revoked; its verification page now says so.",
        )
    )
    return redirect(url_for(".case_page", case_id=case.id) + "#rujukan")


# --- the action URLs opened as pages --------------------------------------------------------------
# A refused form is shown at its action's URL; switching the language or reloading there asks
# for it with GET: lead back to the page that holds the form.


@bp.get("/<uuid:case_id>/attachments")
@require(P.CASES_READ)
def attach_page(case_id: uuid.UUID):
    return redirect(url_for(".case_page", case_id=case_id) + "#dokumen")


@bp.get("/<uuid:case_id>/refer")
@require(P.CASES_READ)
def refer_page(case_id: uuid.UUID):
    return redirect(url_for(".case_page", case_id=case_id) + "#rujukan")


@bp.get("/<uuid:case_id>/letters/<uuid:referral_id>/revoke")
@require(P.CASES_READ)
def revoke_page(case_id: uuid.UUID, referral_id: uuid.UUID):
    return redirect(url_for(".case_page", case_id=case_id) + "#rujukan")


@bp.get("/<uuid:case_id>/return")
@require(P.CASES_READ)
def return_page(case_id: uuid.UUID):
    return redirect(url_for(".decide_form", case_id=case_id))
