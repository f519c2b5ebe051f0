"""Registry pages (/t/<slug>/registry/...): search by NIK, KK or name, a household with its
members, registering a household and then its members one after another, a person's page, and
corrections of both with the optimistic lock shown as a choice.

Every write goes through `registry.actions` with the API's schemas, so the NIK and KK rules,
one person per NIK and the audit are the API's own. The NIK is checked as it is typed by asking
`nik_check` (a small page fragment rendered from `nik.nik_problems`): the rule has one copy, on
the server, and the same fragment shows the reasons beside the field when a form is posted
without JavaScript.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import sqlalchemy as sa
from flask import abort, g, redirect, render_template, request, url_for
from flask_smorest.etag import EtagMixin

from slrt.auth.permissions import P
from slrt.auth.policy import current_principal, require
from slrt.platform import db
from slrt.platform.errors import Msg, Problem
from slrt.platform.i18n import day
from slrt.platform.region_codes import name_of
from slrt.platform.throttle import check
from slrt.platform.web import (
    Form,
    TenantPages,
    form_values,
    notice,
    page_of,
    parse_form,
    problem_form,
)
from slrt.tenants.dtsen.standing import describe
from slrt.tenants.regions.access import village_name, villages_in_scope
from slrt.tenants.registry import actions
from slrt.tenants.registry.access import access_household_by_id, access_person_by_id
from slrt.tenants.registry.api import (
    HouseholdSchema,
    HouseholdUpdateSchema,
    PersonSchema,
    PersonUpdateSchema,
)
from slrt.tenants.registry.models import DtksStatus, Household, Person, Relation, name_matches
from slrt.tenants.registry.nik import DIGITS16, nik_problems, parse_nik

bp = TenantPages(
    "registry_web",
    __name__,
    "/registry",
    lookups={"household_id": access_household_by_id, "person_id": access_person_by_id},
)

SEXES: list[tuple[str, Msg]] = [("L", Msg("Laki-laki", "Male")), ("P", Msg("Perempuan", "Female"))]

RELATIONS: dict[str, Msg] = {
    Relation.kepala_keluarga: Msg("Kepala keluarga", "Head of household"),
    Relation.istri: Msg("Istri", "Wife"),
    Relation.suami: Msg("Suami", "Husband"),
    Relation.anak: Msg("Anak", "Child"),
    Relation.menantu: Msg("Menantu", "Son- or daughter-in-law"),
    Relation.cucu: Msg("Cucu", "Grandchild"),
    Relation.orang_tua: Msg("Orang tua", "Parent"),
    Relation.mertua: Msg("Mertua", "Parent-in-law"),
    Relation.famili_lain: Msg("Famili lain", "Other relative"),
    Relation.lainnya: Msg("Lainnya", "Other"),
}

DTKS_LABELS: dict[str, Msg] = {
    DtksStatus.unknown: Msg("Belum dicek", "Not checked yet"),
    DtksStatus.in_dtks: Msg("Terdaftar di DTSEN", "In DTSEN"),
    DtksStatus.not_in_dtks: Msg("Tidak terdaftar di DTSEN", "Not in DTSEN"),
}

YES_NO = {True: Msg("Ya", "Yes"), False: Msg("Tidak", "No")}

# A live NIK check per keystroke pause: generous for a person typing, tight for a script.
NIK_CHECK_LIMIT = (120, 600)


# --- shared pieces ------------------------------------------------------------------------------


def village_options() -> list[tuple[str, str]]:
    """The active villages the member may register in: (code, "Name (code)")."""
    villages = db.session.execute(villages_in_scope(current_principal())).scalars()
    return [(v.code, f"{v.name} ({v.code})") for v in villages]


def version_of(obj: Household | Person) -> str:
    """The record's version as the API's ETag computes it: a form carries the version it was
    read at, so a change made meanwhile (here or through the API) is noticed."""
    schema = HouseholdSchema() if isinstance(obj, Household) else PersonSchema()
    return EtagMixin._generate_etag(schema.dump(obj))


def members_of(household: Household) -> list[Person]:
    return list(
        db.session.execute(
            sa.select(Person)
            .where(Person.household_id == household.id)
            .order_by((Person.relation == Relation.kepala_keluarga).desc(), Person.created_at)
        ).scalars()
    )


def _person_if_visible(person_id: Any) -> Person | None:
    """The person if the member's region includes them (a NIK may be registered elsewhere in
    the district: then it is named as taken, without a link that would only answer 404)."""
    try:
        return access_person_by_id(uuid.UUID(str(person_id)))
    except (Problem, ValueError):
        return None


def _household_if_visible(household_id: Any) -> Household | None:
    try:
        return access_household_by_id(uuid.UUID(str(household_id)))
    except (Problem, ValueError):
        return None


class NikCheck:
    """What the page says about a typed NIK: its problems in words, the person already holding
    it, or (when it is sound and new) what the NIK itself says: sex, birth date, kecamatan."""

    def __init__(self, nik: str, *, problems: list[Msg] | None = None, exclude: Any = None):
        self.nik = (nik or "").strip()
        self.problems = nik_problems(self.nik) if problems is None else problems
        self.known: Person | None = None
        self.known_elsewhere = False
        self.parts = None
        if self.problems or not DIGITS16.match(self.nik):
            return
        existing = db.session.execute(
            sa.select(Person.id).where(Person.nik == self.nik)
        ).scalar_one_or_none()
        if existing is not None and str(existing) != str(exclude or ""):
            self.known = _person_if_visible(existing)
            self.known_elsewhere = self.known is None
            if self.known is not None:
                actions.record_person_reads([self.known.id], "person.nik_match")
            return
        self.parts = parse_nik(self.nik)

    @property
    def valid(self) -> bool:
        return not self.problems and self.known is None and not self.known_elsewhere

    @property
    def kecamatan(self) -> str | None:
        return name_of(self.parts.kecamatan_code) if self.parts else None


def _nik_check_of(exc: Problem, nik: str, exclude: Any = None) -> NikCheck | None:
    """An action's refusal about the NIK as the check beside the field: every reason (the
    action lists each wrong part) or the person already holding it."""
    if exc.code == 409 and "existing_person_id" in exc.extra:
        return NikCheck(nik, exclude=exclude)
    reasons = [
        Msg(item["message"], item["message_en"])
        for item in (exc.errors or [])
        if item.get("field") == "nik"
    ]
    return NikCheck(nik, problems=reasons) if reasons else None


def _edit_values(nullable: tuple[str, ...]) -> dict[str, Any]:
    """The posted edit form: like a new record's, except that a field emptied on purpose
    clears it (None) instead of meaning "not given"."""
    values = form_values()
    for key in nullable:
        if key in request.form and not request.form.get(key, "").strip():
            values[key] = None
    values.pop("version", None)
    return values


def _changed(obj: Any, data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if getattr(obj, key) != value}


def shown(field: str, value: Any) -> Any:
    """A stored value as a person reads it (words, not keys)."""
    if value is None or value == "":
        return Msg("(kosong)", "(empty)")
    if field == "sex":
        return dict(SEXES).get(value, value)
    if field == "relation":
        return RELATIONS.get(value, value)
    if field == "has_disability":
        return YES_NO[bool(value)]
    if field == "dtks_status":
        return DTKS_LABELS.get(value, value)
    if field == "village_code":
        return f"{village_name(value) or value} ({value})"
    if isinstance(value, dt.date):
        return day(value)
    return value


@bp.app_template_filter("registry_shown")
def _shown_filter(value: Any, field: str) -> Any:
    return shown(field, value)


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {
        "relation_options": list(RELATIONS.items()),
        "sex_options": SEXES,
        "sex_labels": dict(SEXES),
        "dtks_labels": DTKS_LABELS,
    }


# --- search -------------------------------------------------------------------------------------


@bp.get("/")
@require(P.REGISTRY_READ)
def search():
    """One box for a NIK, a KK number or a name; or a village's households."""
    q = request.args.get("q", "").strip()
    village = request.args.get("village_code", "").strip()
    region = current_principal().region_clause
    persons: list[Person] = []
    households: list[Household] = []
    page = None
    problem = None
    digits = re.sub(r"\D", "", q)
    if q and len(digits) == len(q.replace(" ", "")) and len(digits) == 16:
        persons = list(
            db.session.execute(
                sa.select(Person).where(Person.nik == digits, region(Person.village_code))
            ).scalars()
        )
        households = list(
            db.session.execute(
                sa.select(Household).where(
                    Household.kk_number == digits, region(Household.village_code)
                )
            ).scalars()
        )
    elif q and len(q) < 2:
        problem = Msg("Ketik paling sedikit 2 huruf nama.", "Type at least 2 letters of a name.")
    elif q:
        stmt = sa.select(Person).where(name_matches(q[:100]), region(Person.village_code))
        if village:
            stmt = stmt.where(Person.village_code == village)
        page = page_of(stmt, Person.name, Person.id)
        persons = page.items
    elif village:
        stmt = sa.select(Household).where(
            Household.village_code == village, region(Household.village_code)
        )
        page = page_of(stmt, Household.kk_number, Household.id)
        households = page.items
    if persons:
        actions.record_person_reads([p.id for p in persons], "person.list")
    if households:
        actions.record_household_reads([h.id for h in households], "household.list")
    kk_of = _kk_numbers({p.household_id for p in persons if p.household_id})
    return render_template(
        "registry/search.html",
        q=q,
        village=village,
        villages=village_options(),
        persons=persons,
        households=households,
        kk_of=kk_of,
        page=page,
        problem=problem,
        searched=bool(q or village),
        can_write=current_principal().can(str(P.REGISTRY_WRITE)),
    )


def _kk_numbers(household_ids: set[uuid.UUID]) -> dict[uuid.UUID, str | None]:
    if not household_ids:
        return {}
    return dict(
        db.session.execute(
            sa.select(Household.id, Household.kk_number).where(Household.id.in_(household_ids))
        ).all()
    )


# --- households ---------------------------------------------------------------------------------


@bp.route("/households/new", methods=["GET", "POST"])
@require(P.REGISTRY_WRITE)
def new_household():
    """Step one of registering a family: the KK. The members follow on the next page."""
    form: Form | None = None
    existing: Household | None = None
    taken_elsewhere = False
    status = 200
    if request.method == "POST":
        data, form = parse_form(HouseholdSchema())
        if data is not None:
            try:
                household = actions.create_household(data)
            except Problem as exc:
                form = problem_form(exc, form.values)
                status = exc.code or 422
                if "existing_household_id" in exc.extra:
                    existing = _household_if_visible(exc.extra["existing_household_id"])
                    taken_elsewhere = existing is None
                    form.errors["kk_number"] = exc.detail
                    form.errors.pop("_", None)
            else:
                notice(
                    Msg(
                        "Keluarga terdaftar. Sekarang tambahkan anggotanya, mulai dari kepala keluarga.",
                        "Household registered. Now add its members, starting with the head.",
                    )
                )
                return redirect(url_for(".add_member", household_id=household.id))
        else:
            status = 422
    return render_template(
        "registry/household_form.html",
        form=form,
        villages=village_options(),
        existing=existing,
        taken_elsewhere=taken_elsewhere,
    ), status


@bp.get("/households/<uuid:household_id>")
@require(P.REGISTRY_READ)
def household(household_id: uuid.UUID):
    household = access_household_by_id(household_id)
    members = members_of(household)
    actions.record_household_reads([household.id])
    if members:
        actions.record_person_reads([p.id for p in members], "person.list")
    return render_template(
        "registry/household.html",
        household=household,
        dtsen=describe(household),  # the latest official record, its period, stale or not
        members=members,
        can_write=current_principal().can(str(P.REGISTRY_WRITE)),
    )


@bp.route("/households/<uuid:household_id>/edit", methods=["GET", "POST"])
@require(P.REGISTRY_WRITE)
def edit_household(household_id: uuid.UUID):
    """Address and DTSEN status, with the optimistic lock."""
    household = access_household_by_id(household_id)
    form: Form | None = None
    status = 200
    if request.method == "POST":
        values = _edit_values(("address", "desil", "dtks_checked_on"))
        data, form = parse_form(HouseholdUpdateSchema(), values)
        if data is None:
            status = 422
        else:
            household = access_household_by_id(household_id, lock=True)
            if request.form.get("version") != version_of(household):
                return _conflict_page(household, data, form.values)
            try:
                actions.update_household(household, _changed(household, data))
            except Problem as exc:
                form = problem_form(exc, form.values)
                status = exc.code or 422
            else:
                return _saved(url_for(".household", household_id=household.id))
    actions.record_household_reads([household.id])
    return render_template(
        "registry/household_edit.html",
        household=household,
        form=form,
        version=version_of(household),
    ), status


# --- persons ------------------------------------------------------------------------------------


def _nik_feedback(form: Form, nik: str | None, exc: Problem | None = None, exclude: Any = None):
    """The check shown beside the NIK after a post: from the action's refusal when there was
    one, else from the rule itself when other fields stopped the form first (so every reason is
    shown at once). The field is marked wrong whenever the check finds something."""
    if not nik:
        return None
    result = _nik_check_of(exc, nik, exclude) if exc is not None else None
    if result is None and exc is None:
        result = NikCheck(nik, exclude=exclude)
    if result is None or result.valid:
        return None
    if result.problems:
        form.errors["nik"] = result.problems[0]
    else:
        form.errors["nik"] = DUPLICATE_NIK
    form.errors.pop("_", None)
    return result


DUPLICATE_NIK = Msg("NIK ini sudah terdaftar.", "This NIK is already registered.")


@bp.route("/households/<uuid:household_id>/members/new", methods=["GET", "POST"])
@require(P.REGISTRY_WRITE)
def add_member(household_id: uuid.UUID):
    """Add one member to the family card; "save and add another" comes back here empty, so a
    whole family is registered one member after another."""
    household = access_household_by_id(household_id)
    form: Form | None = None
    nik_check: NikCheck | None = None
    status = 200
    if request.method == "POST":
        values = form_values()
        for key in ("next", "household_id", "village_code"):
            values.pop(key, None)
        data, form = parse_form(PersonSchema(), values)
        status = 422
        if data is None:
            nik_check = _nik_feedback(form, values.get("nik"))
        else:
            try:
                person = actions.create_person(data, household)
            except Problem as exc:
                form = problem_form(exc, form.values)
                status = exc.code or 422
                nik_check = _nik_feedback(form, values.get("nik"), exc)
            else:
                count = len(members_of(household))
                notice(
                    Msg(
                        f"{person.name} ditambahkan. Keluarga ini kini punya {count} anggota.",
                        f"{person.name} added. This household now has {count} member(s).",
                    )
                )
                if request.form.get("next") == "another":
                    return redirect(url_for(".add_member", household_id=household.id))
                return redirect(url_for(".household", household_id=household.id))
    members = members_of(household)
    if members:
        actions.record_person_reads([p.id for p in members], "person.list")
    return render_template(
        "registry/member_form.html",
        household=household,
        members=members,
        form=form,
        nik_check=nik_check,
    ), status


@bp.get("/persons/<uuid:person_id>")
@require(P.REGISTRY_READ)
def person(person_id: uuid.UUID):
    from slrt.tenants.flow.workflow import label
    from slrt.tenants.proposals.models import Proposal

    person = access_person_by_id(person_id)
    household = (
        _household_if_visible(person.household_id) if person.household_id is not None else None
    )
    proposals = list(
        db.session.execute(
            sa.select(Proposal).where(Proposal.person_id == person.id).order_by(Proposal.created_at)
        ).scalars()
    )
    actions.record_person_reads([person.id])
    principal = current_principal()
    open_proposal = next((p for p in proposals if p.status in ("proposed", "in_batch")), None)
    can_propose = (
        principal.can(str(P.PROPOSALS_MANAGE))
        and person.erased_at is None
        and open_proposal is None
        and not (household is not None and household.dtks_status == DtksStatus.in_dtks)
    )
    return render_template(
        "registry/person.html",
        person=person,
        household=household,
        proposals=[(p, label("proposal", p.status)) for p in proposals],
        can_write=principal.can(str(P.REGISTRY_WRITE)) and person.erased_at is None,
        can_propose=can_propose,
    )


@bp.route("/persons/<uuid:person_id>/edit", methods=["GET", "POST"])
@require(P.REGISTRY_WRITE)
def edit_person(person_id: uuid.UUID):
    """Correct a person's record, with the optimistic lock: a change made by someone else since
    the form was opened is shown beside this one, to keep either."""
    person = access_person_by_id(person_id)
    if person.erased_at is not None:
        abort(404)
    form: Form | None = None
    nik_check: NikCheck | None = None
    status = 200
    if request.method == "POST":
        values = _edit_values(("birth_place", "relation", "phone"))
        values.setdefault("has_disability", "0")
        data, form = parse_form(PersonUpdateSchema(), values)
        status = 422
        if data is None:
            nik_check = _nik_feedback(form, values.get("nik"), exclude=person.id)
        else:
            person = access_person_by_id(person_id, lock=True)
            if request.form.get("version") != version_of(person):
                return _conflict_page(person, data, form.values)
            try:
                actions.update_person(person, _changed(person, data))
            except Problem as exc:
                form = problem_form(exc, form.values)
                status = exc.code or 422
                nik_check = _nik_feedback(form, values.get("nik"), exc, exclude=person.id)
            else:
                return _saved(url_for(".person", person_id=person.id))
    actions.record_person_reads([person.id])
    return render_template(
        "registry/person_edit.html",
        person=person,
        form=form,
        nik_check=nik_check,
        version=version_of(person),
        villages=village_options(),
    ), status


def _saved(target: str):
    notice(Msg("Perubahan disimpan.", "Changes saved."))
    return redirect(target)


def _conflict_page(obj: Household | Person, mine: dict[str, Any], posted: dict):
    """Someone changed the record after this form was opened: both versions side by side, and
    the choice to keep theirs or to save this one over it (re-posted at the current version)."""
    rows = [
        (field, shown(field, getattr(obj, field)), shown(field, value))
        for field, value in mine.items()
        if getattr(obj, field) != value
    ]
    is_person = isinstance(obj, Person)
    if is_person:
        actions.record_person_reads([obj.id])
    else:
        actions.record_household_reads([obj.id])
    return render_template(
        "registry/conflict.html",
        obj=obj,
        is_person=is_person,
        rows=rows,
        posted={k: ("" if v is None else v) for k, v in posted.items()},
        version=version_of(obj),
        back=url_for(".person", person_id=obj.id)
        if is_person
        else url_for(".household", household_id=obj.id),
        action=request.path,
    ), 409


# --- the live NIK check -------------------------------------------------------------------------


@bp.get("/nik-check")
@require(P.REGISTRY_WRITE)
def nik_check():
    """The NIK's problems in words, as a fragment of the form (the script puts it beside the
    field while the NIK is typed). Rate-limited per member."""
    check(f"nik-check:{g.web_account.id}", *NIK_CHECK_LIMIT)
    nik = request.args.get("nik", "")[:40]
    exclude = request.args.get("person")
    result = NikCheck(nik, exclude=exclude) if nik.strip() else None
    return render_template("registry/_nik_check.html", nik_check=result)
