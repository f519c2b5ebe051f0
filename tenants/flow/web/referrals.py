"""Referral pages of the service desk, phone first (/t/<slug>/...):

- /referrals: the agency inbox: referrals sent to the officer's agency (the API's scope: the
  member's region, and an officer's own agency only), filtered by new, due this week, overdue or
  done, by program and by village; receive, accept, reject with a reason and fulfil with the
  outcome right in the list, in one or two taps;
- /referrals/<id>: one referral: the person, the needs, the letter with its public check, the
  history of the referral, and the same answers;
- /referrals/overdue: the overdue referrals of the member's region, counted per village and per
  agency like the API's overdue summary;
- /follow-up: the cases of the member's region whose referrals are all answered;
  /follow-up/<case_id>: record the follow-up with the resident, then close the case.

Every write is the flow's own action (`respond`, `follow_up_case`, `close_case`) with the API's
schema; the counts the home page shows come from the same queries as these lists.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import g, redirect, render_template, request, url_for

from slrt.auth.accounts.models import Account
from slrt.auth.permissions import P
from slrt.auth.policy import authorize, current_principal, require
from slrt.platform import db
from slrt.platform.errors import Msg, Problem
from slrt.platform.i18n import current_zone, local_today
from slrt.platform.web import (
    Form,
    TenantPages,
    form_values,
    notice,
    page_of,
    parse_form,
    problem_form,
)
from slrt.tenants.flow import actions, workflow
from slrt.tenants.flow.access import (
    access_case_by_id,
    access_referral_by_id,
    case_scope,
    referral_scope,
)
from slrt.tenants.flow.api import (
    CloseSchema,
    FollowUpSchema,
    FulfilSchema,
    ReferralNoteSchema,
    RejectSchema,
)
from slrt.tenants.flow.deadlines import overdue_clause, overdue_groups
from slrt.tenants.flow.letters import verification_url
from slrt.tenants.flow.models import Case, CaseNeed, Letter, Referral, Transition
from slrt.tenants.programs.models import SECTOR_NAMES
from slrt.tenants.regions.access import village_name
from slrt.tenants.registry.actions import record_person_reads

bp = TenantPages(
    "referrals_web",
    __name__,
    lookups={"referral_id": access_referral_by_id, "case_id": access_case_by_id},
)

# --- words for the state machine's keys -------------------------------------------------------

RESPONSES = ("receive", "accept", "reject", "fulfil")
RESPONSE_SCHEMAS = {
    "receive": ReferralNoteSchema,
    "accept": ReferralNoteSchema,
    "reject": RejectSchema,
    "fulfil": FulfilSchema,
}
RESPONSE_FIELDS = {"receive": "note", "accept": "note", "reject": "reason", "fulfil": "outcome"}

ACTION_LABELS: dict[str, Msg] = {
    "assess": Msg("Asesmen (back office)", "Assessment (back office)"),
    "decide": Msg("Keputusan (manajer)", "Decision (manager)"),
    "return": Msg("Kembalikan untuk diperbaiki", "Return for correction"),
    "refer": Msg("Kirim rujukan dengan surat", "Send the referrals with their letters"),
    "send": Msg("Kirim ke OPD (manajer)", "Send to the agency (manager)"),
    "receive": Msg("Tandai sudah diterima", "Mark as received"),
    "accept": Msg("Setujui", "Accept"),
    "reject": Msg("Tolak dengan alasan", "Reject with a reason"),
    "fulfil": Msg("Catat layanan yang diberikan", "Record the service given"),
    "follow_up": Msg("Catat tindak lanjut", "Record the follow-up"),
    "close": Msg("Tutup kasus", "Close the case"),
}

DONE_NOTICES: dict[str, tuple[str, str]] = {
    "receive": ("Rujukan {t} ditandai sudah diterima.", "Referral {t} marked as received."),
    "accept": ("Rujukan {t} disetujui.", "Referral {t} accepted."),
    "reject": ("Rujukan {t} ditolak; alasannya tercatat.", "Referral {t} rejected; reason kept."),
    "fulfil": (
        "Layanan untuk rujukan {t} tercatat sudah diberikan.",
        "Referral {t}: the service given is recorded.",
    ),
}

# The sectors' Indonesian names are the program catalog's.
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
SECTOR_LABELS: dict[str, Msg] = {
    code: Msg(name, _SECTORS_EN.get(code, name)) for code, name in SECTOR_NAMES.items()
}


def action_label(action: str) -> Msg:
    return ACTION_LABELS.get(action) or Msg(action, action)


@bp.context_processor
def _words() -> dict[str, Any]:
    return {"state_label": workflow.label, "action_label": action_label}


def refused_move(machine: str, state: str, allowed: list[str]) -> Msg:
    """A refused step in words: where the record is and which next steps remain."""
    noun = workflow.MACHINES[machine].noun
    where = workflow.label(machine, state)
    if not allowed:
        return Msg(
            f"{noun} ini berstatus \u201c{where}\u201d: langkah itu tidak dapat dilakukan, "
            "dan tidak ada langkah berikutnya.",
            f"This {noun.en} is \u201c{where.en}\u201d: that step cannot be taken, and no "
            "step is left.",
        )
    steps = [action_label(a) for a in allowed]
    return Msg(
        f"{noun} ini berstatus \u201c{where}\u201d: langkah itu tidak dapat dilakukan. "
        f"Langkah berikutnya: {' atau '.join(steps)}.",
        f"This {noun.en} is \u201c{where.en}\u201d: that step cannot be taken. Next: "
        f"{' or '.join(s.en for s in steps)}.",
    )


def refusal_form(exc: Problem, machine: str, values: dict[str, Any]) -> Form:
    """An action's refusal as a form: a state conflict as the sentence naming the next steps."""
    state, allowed = exc.extra.get("current_state"), exc.extra.get("allowed_actions")
    # The state machine's own refusal names keys; any other refusal is already in words.
    if exc.code == 409 and state and allowed == workflow.allowed_actions(machine, state):
        return Form(values, {"_": refused_move(machine, state, allowed)})
    return problem_form(exc, values)


def safe_next(target: str | None) -> str | None:
    """Where to go back after a form: only a page of this district on this site."""
    prefix = f"/t/{g.tenant.slug}/"
    if target and target.startswith(prefix) and "//" not in target and "\\" not in target:
        return target
    return None


# --- deadlines in the district's days ---------------------------------------------------------

DUE_SOON = dt.timedelta(days=7)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def days_to(due_at: dt.datetime | None) -> int | None:
    """Days from the district's today to the due date, in its own zone (negative: late)."""
    if due_at is None:
        return None
    from zoneinfo import ZoneInfo

    return (due_at.astimezone(ZoneInfo(current_zone())).date() - local_today()).days


@dataclass
class Item:
    """A referral as the lists show it."""

    referral: Referral
    ticket: str
    village: str
    overdue: bool
    days: int | None
    answers: list[str]  # the responses this member may give now

    @property
    def id(self) -> uuid.UUID:
        return self.referral.id


def answers_for(referral: Referral) -> list[str]:
    principal = current_principal()
    return [
        a
        for a in workflow.allowed_actions("referral", referral.status)
        if a in RESPONSES and principal.can(str(workflow.permission_of("referral", a)))
    ]


def items_of(referrals: list[Referral]) -> list[Item]:
    tickets = dict(
        db.session.execute(
            sa.select(Case.id, Case.ticket_number).where(
                Case.id.in_({r.case_id for r in referrals})
            )
        ).all()
    )
    at = now()
    return [
        Item(
            referral=r,
            ticket=tickets.get(r.case_id, ""),
            village=village_name(r.village_code) or r.village_code,
            overdue=r.status in Referral.OPEN and r.due_at is not None and r.due_at < at,
            days=days_to(r.due_at),
            answers=answers_for(r),
        )
        for r in referrals
    ]


# --- the inbox ----------------------------------------------------------------------------------

SHOWS: dict[str, Msg] = {
    "open": Msg("Belum selesai", "Open"),
    "new": Msg("Baru", "New"),
    "due": Msg("Tenggat minggu ini", "Due this week"),
    "overdue": Msg("Terlambat", "Overdue"),
    "done": Msg("Sudah dijawab", "Answered"),
}


def inbox_scope() -> sa.Select:
    """Referrals that reached the member: sent ones, in their region (an officer: their agency)."""
    return referral_scope(sa.select(Referral)).where(Referral.status != "pending")


def shown(stmt: sa.Select, show: str, at: dt.datetime | None = None) -> sa.Select:
    """One of the inbox's views: new (sent, not yet received), due within a week (not late yet),
    overdue, done (rejected or fulfilled), or open (anything still waiting on the agency)."""
    at = at or now()
    if show == "new":
        return stmt.where(Referral.status == "sent")
    if show == "due":
        return stmt.where(
            Referral.status.in_(Referral.OPEN),
            Referral.due_at >= at,
            Referral.due_at < at + DUE_SOON,
        )
    if show == "overdue":
        return stmt.where(overdue_clause(at))
    if show == "done":
        return stmt.where(Referral.status.in_(sorted(workflow.REFERRAL_DONE)))
    return stmt.where(Referral.status.in_(Referral.OPEN))


def count(stmt: sa.Select) -> int:
    return db.session.execute(
        sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())
    ).scalar_one()


def inbox_count(show: str) -> int:
    """How many referrals the inbox lists under `show` (the home page's counters)."""
    return count(shown(inbox_scope(), show))


def _uuid(text: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(text or "")
    except ValueError:
        return None


@bp.get("/referrals")
@require(P.REFERRALS_RESPOND)
def inbox():
    show = request.args.get("show", "open")
    show = show if show in SHOWS else "open"
    program_id = _uuid(request.args.get("program"))
    village = request.args.get("village") or None
    base = inbox_scope()
    programs = db.session.execute(
        base.with_only_columns(Referral.program_id, sa.func.min(Referral.program_name))
        .group_by(Referral.program_id)
        .order_by(sa.func.min(Referral.program_name))
    ).all()
    villages = sorted(
        (
            (code, village_name(code) or code)
            for code in db.session.execute(
                base.with_only_columns(Referral.village_code).distinct()
            ).scalars()
        ),
        key=lambda pair: pair[1],
    )
    if program_id is not None:
        base = base.where(Referral.program_id == program_id)
    if village:
        base = base.where(Referral.village_code == village)
    counts = {key: count(shown(base, key)) for key in SHOWS}
    order = (
        (Referral.updated_at.desc(), Referral.id.desc())
        if show == "done"
        else (Referral.due_at, Referral.id)
    )
    page = page_of(shown(base, show), *order)
    filters = {"program": str(program_id) if program_id else "", "village": village or ""}
    return render_template(
        "flow/referral_inbox.html",
        show=show,
        shows=SHOWS,
        counts=counts,
        page=page,
        items=items_of(page.items),
        programs=programs,
        villages=villages,
        filters=filters,
        agency_name=_agency_name(),
        here=request.full_path.rstrip("?"),
    )


def _agency_name() -> str | None:
    agency_id = current_principal().agency_id
    if agency_id is None:
        return None
    from slrt.tenants.agencies.models import Agency

    agency = db.session.execute(
        sa.select(Agency).where(Agency.id == agency_id)
    ).scalar_one_or_none()
    return agency.name if agency else None


# --- one referral -------------------------------------------------------------------------------


@dataclass
class Step:
    """One line of a history: what happened, who, when, the note."""

    what: Msg
    who: str
    at: dt.datetime
    note: str | None
    about: str | None = None  # in a case's history: the program of a referral's step


def history(case_id: uuid.UUID, referral_id: uuid.UUID | None = None) -> list[Step]:
    stmt = sa.select(Transition).where(Transition.case_id == case_id)
    if referral_id is not None:
        stmt = stmt.where(Transition.referral_id == referral_id)
    rows = list(db.session.execute(stmt.order_by(Transition.occurred_at, Transition.id)).scalars())
    names = dict(
        db.session.execute(
            sa.select(Account.id, Account.name).where(
                Account.id.in_({t.actor_account_id for t in rows if t.actor_account_id})
            )
        ).all()
    )
    programs: dict[uuid.UUID, str] = {}
    if referral_id is None:
        programs = dict(
            db.session.execute(
                sa.select(Referral.id, Referral.program_name).where(Referral.case_id == case_id)
            ).all()
        )
    steps = []
    for t in rows:
        if t.action == "escalate":
            # The stored note mixes both languages; the page says it in its own.
            what, note = Msg("Diteruskan ke atasan (eskalasi)", "Escalated"), None
        elif t.action == "register":
            what, note = Msg("Didaftarkan", "Registered"), t.note
        else:
            what, note = workflow.label(t.machine, t.to_state), t.note
        who = names.get(t.actor_account_id) or t.actor_label
        steps.append(Step(what, who, t.occurred_at, note, programs.get(t.referral_id)))
    return steps


def _referral_page(
    referral: Referral, form: Form | None = None, failed: str | None = None, status: int = 200
):
    case = db.session.execute(sa.select(Case).where(Case.id == referral.case_id)).scalar_one()
    person, household = actions.case_subjects(case)
    needs = list(
        db.session.execute(
            sa.select(CaseNeed).where(CaseNeed.case_id == case.id).order_by(CaseNeed.id)
        ).scalars()
    )
    letter = db.session.execute(
        sa.select(Letter).where(Letter.referral_id == referral.id)
    ).scalar_one_or_none()
    (item,) = items_of([referral])
    steps = history(case.id, referral.id)
    if person is not None:
        record_person_reads([person.id], note=f"referral {referral.id}")
    return render_template(
        "flow/referral.html",
        item=item,
        referral=referral,
        case=case,
        person=person,
        household=household,
        needs=needs,
        sectors=SECTOR_LABELS,
        letter=letter,
        verification=verification_url(g.tenant, letter.token) if letter else None,
        steps=steps,
        form=form,
        failed=failed,
        here=url_for(".referral", referral_id=referral.id),
    ), status


@bp.get("/referrals/<uuid:referral_id>")
@require(P.REFERRALS_READ)
def referral(referral_id: uuid.UUID):
    return _referral_page(access_referral_by_id(referral_id))


@bp.post("/referrals/<uuid:referral_id>/respond")
@require(P.REFERRALS_RESPOND)
def respond(referral_id: uuid.UUID):
    """Receive, accept, reject (reason) or fulfil (outcome): the form's `action` button."""
    values = form_values()
    answer = values.pop("action", "")
    back = safe_next(values.pop("next", None))
    if answer not in RESPONSES:
        raise Problem(
            400,
            Msg(
                "Pilih salah satu: terima, setujui, tolak atau catat layanan.",
                "Choose one: receive, accept, reject or record the service.",
            ),
        )
    authorize(current_principal(), str(workflow.permission_of("referral", answer)))
    data, form = parse_form(RESPONSE_SCHEMAS[answer](), values)
    if data is not None:
        referral = access_referral_by_id(referral_id, lock=True)
        try:
            actions.respond(referral, answer, data.get(RESPONSE_FIELDS[answer]))
        except Problem as exc:
            form = refusal_form(exc, "referral", values)
            status = exc.code or 422
        else:
            ticket = db.session.execute(
                sa.select(Case.ticket_number).where(Case.id == referral.case_id)
            ).scalar_one()
            id_text, en_text = DONE_NOTICES[answer]
            notice(Msg(id_text.format(t=ticket), en_text.format(t=ticket)))
            return redirect(back or url_for(".referral", referral_id=referral_id))
    else:
        status = 422
    return _referral_page(access_referral_by_id(referral_id), form, answer, status)


# --- overdue in my region -----------------------------------------------------------------------


def overdue_scope() -> sa.Select:
    return referral_scope(sa.select(Referral)).where(overdue_clause())


def overdue_count() -> int:
    """Overdue referrals in the member's region (an officer: of their agency)."""
    return count(overdue_scope())


@bp.get("/referrals/overdue")
@require(P.REFERRALS_READ)
def overdue():
    stmt = overdue_scope()
    village = request.args.get("village") or None
    agency_id = _uuid(request.args.get("agency"))
    if village:
        stmt = stmt.where(Referral.village_code == village)
    if agency_id is not None:
        stmt = stmt.where(Referral.agency_id == agency_id)
    page = page_of(stmt, Referral.due_at, Referral.id)
    principal = current_principal()
    return render_template(
        "flow/referral_overdue.html",
        by_village=overdue_groups("village", referral_scope),
        by_agency=overdue_groups("agency", referral_scope),
        page=page,
        items=items_of(page.items),
        village=village,
        agency=str(agency_id) if agency_id else None,
        filtered=bool(village or agency_id),
        scope_kind=principal.scope_kind,
    )


# --- follow-up and closure ----------------------------------------------------------------------

FOLLOW_UP_STATES = ("referred", "follow_up")


def followup_scope() -> sa.Select:
    """Cases of the member's region whose referrals are all answered (fulfilled or rejected):
    to check with the resident (referred), or to close (follow-up recorded)."""
    still_open = (
        sa.select(Referral.id)
        .where(
            Referral.tenant_id == Case.tenant_id,
            Referral.case_id == Case.id,
            Referral.status.not_in(sorted(workflow.REFERRAL_DONE)),
        )
        .exists()
    )
    return case_scope(sa.select(Case)).where(Case.status.in_(FOLLOW_UP_STATES), ~still_open)


def followup_count() -> int:
    return count(followup_scope())


@dataclass
class CaseItem:
    case: Case
    name: str | None
    village: str
    referrals: list[Referral]


def case_items(cases: list[Case]) -> list[CaseItem]:
    from slrt.tenants.registry.models import Person

    ids = [c.id for c in cases]
    referrals: dict[uuid.UUID, list[Referral]] = {i: [] for i in ids}
    for r in db.session.execute(
        sa.select(Referral).where(Referral.case_id.in_(ids)).order_by(Referral.id)
    ).scalars():
        referrals[r.case_id].append(r)
    people = dict(
        db.session.execute(
            sa.select(Person.id, Person.name).where(
                Person.id.in_({c.person_id for c in cases if c.person_id})
            )
        ).all()
    )
    if people:
        record_person_reads(sorted(people), note="follow-up list")
    return [
        CaseItem(
            c,
            people.get(c.person_id),
            village_name(c.village_code) or c.village_code,
            referrals[c.id],
        )
        for c in cases
    ]


@bp.get("/follow-up")
@require(P.CASES_FOLLOW_UP)
def followups():
    page = page_of(followup_scope(), Case.updated_at, Case.id)
    return render_template(
        "flow/followup_list.html",
        page=page,
        items=case_items(page.items),
        can_overdue=current_principal().can(str(P.REFERRALS_READ)),
    )


def _followup_page(case: Case, form: Form | None = None, failed: str | None = None, status=200):
    (item,) = case_items([case])
    person, household = actions.case_subjects(case)
    allowed = workflow.allowed_actions("case", case.status)
    principal = current_principal()
    ready = not any(r.status not in workflow.REFERRAL_DONE for r in item.referrals)
    return render_template(
        "flow/followup.html",
        item=item,
        case=case,
        person=person,
        household=household,
        can_follow_up=case.status in FOLLOW_UP_STATES
        and "follow_up" in allowed
        and ready
        and principal.can(str(workflow.permission_of("case", "follow_up"))),
        can_close=case.status == "follow_up"
        and principal.can(str(workflow.permission_of("case", "close"))),
        ready=ready,
        form=form,
        failed=failed,
        resolutions=RESOLUTIONS,
        steps=history(case.id),
    ), status


@bp.get("/follow-up/<uuid:case_id>")
@require(P.CASES_FOLLOW_UP)
def followup(case_id: uuid.UUID):
    return _followup_page(access_case_by_id(case_id))


def _case_step(case_id: uuid.UUID, step: str, schema: Any, run: Any, done: Any, target: str):
    """Post/redirect/get for one step of a case on the follow-up page: parse with the API's
    schema, run the action on the locked case, then the notice and `target`; a refusal shows
    the page again with the problem."""
    data, form = parse_form(schema)
    status = 422
    if data is not None:
        case = access_case_by_id(case_id, lock=True)
        try:
            run(case, data)
        except Problem as exc:
            form, status = refusal_form(exc, "case", form.values), exc.code or 422
        else:
            notice(done(case, data))
            return redirect(target)
    return _followup_page(access_case_by_id(case_id), form, step, status)


@bp.post("/follow-up/<uuid:case_id>")
@require(workflow.permission_of("case", "follow_up"))
def record_followup(case_id: uuid.UUID):
    return _case_step(
        case_id,
        "follow_up",
        FollowUpSchema(),
        lambda case, data: actions.follow_up_case(case, data["note"]),
        lambda case, data: Msg(
            f"Tindak lanjut kasus {case.ticket_number} tercatat. Tutup kasus bila sudah selesai.",
            f"Follow-up of case {case.ticket_number} recorded. Close the case when done.",
        ),
        url_for(".followup", case_id=case_id),
    )


RESOLUTIONS: dict[str, Msg] = {
    "resolved": Msg("Selesai: kebutuhan terpenuhi", "Resolved: the need is met"),
    "unresolved": Msg(
        "Tidak selesai: kebutuhan belum terpenuhi", "Unresolved: the need is not met"
    ),
}


def _closed(case: Case, data: dict[str, Any]) -> Msg:
    outcome = RESOLUTIONS[data["resolution"]]
    return Msg(
        f"Kasus {case.ticket_number} ditutup ({outcome}).",
        f"Case {case.ticket_number} closed ({outcome.en}).",
    )


@bp.post("/follow-up/<uuid:case_id>/close")
@require(workflow.permission_of("case", "close"))
def close(case_id: uuid.UUID):
    return _case_step(
        case_id,
        "close",
        CloseSchema(),
        lambda case, data: actions.close_case(case, data["resolution"], data.get("note")),
        _closed,
        url_for(".followups"),
    )
