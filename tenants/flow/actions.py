"""The write layer of the service flow: each `@action` is one thing a user does to a case, a
referral or a letter (validate, write, audit, one transaction), called by the API, the web pages
and the CLI alike after the access helper has found (and locked) the record. State changes go
through `workflow.apply`, which refuses anything the transition table does not allow.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa

from slrt.auth.accounts.models import Account
from slrt.billing_free import meter
from slrt.billing_free.meter import Metric
from slrt.billing_free.plans import Quota
from slrt.billing_free.quotas import check_count
from slrt.platform import db
from slrt.platform.actor import Actor, acting_as, current_actor
from slrt.platform.audit.models import AuditKind
from slrt.platform.audit.record import record
from slrt.platform.config import setting
from slrt.platform.errors import Msg, Problem, field_errors, field_problem
from slrt.platform.filestore import DOCUMENTS, check_upload, new_key, store
from slrt.platform.i18n import local_date, local_today
from slrt.platform.tenancy import current_tenant
from slrt.platform.transaction import action
from slrt.tenants.flow import workflow
from slrt.tenants.flow.letters import new_number, new_token
from slrt.tenants.flow.models import Case, CaseAttachment, CaseNeed, Channel, Letter, Referral
from slrt.tenants.flow.receipts import hash_status_token, new_status_token
from slrt.tenants.flow.sequences import next_value
from slrt.tenants.regions.access import check_village, resolve_village_code
from slrt.tenants.registry.access import access_household_by_id, access_person_by_id
from slrt.tenants.registry.models import DtksStatus, Household, Person
from slrt.tenants.registry.nik import nik_problems


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def ticket_number(year: int) -> str:
    """`7372-2026-000123`: district code digits, year, per-district-per-year counter."""
    tenant = current_tenant()
    return f"{tenant.code.replace('.', '')}-{year}-{next_value('ticket', year):06d}"


def _actor_name() -> str:
    actor = current_actor()
    if actor.account_id is not None:
        account = db.session.get(Account, actor.account_id)
        if account is not None:
            return account.name
    return actor.label


def signer_title() -> str:
    """Who decides signs: the Puskesos coordinator at village level, else the SLRT manager."""
    from slrt.auth.policy import current_principal

    if current_principal().role_key == "puskesos_coordinator":
        return "Koordinator Puskesos"
    return "Manajer SLRT"


def _replace_needs(case: Case, needs: list[dict[str, str]]) -> None:
    db.session.execute(sa.delete(CaseNeed).where(CaseNeed.case_id == case.id))
    for need in needs:
        db.session.add(
            CaseNeed(case_id=case.id, sector=need["sector"], description=need["description"])
        )


def case_subjects(case: Case) -> tuple[Person | None, Household | None]:
    person = db.session.get(Person, (case.tenant_id, case.person_id)) if case.person_id else None
    household_id = case.household_id or (person.household_id if person else None)
    household = db.session.get(Household, (case.tenant_id, household_id)) if household_id else None
    return person, household


# --- case ---------------------------------------------------------------------------------------


@action
def register_case(data: dict[str, Any]) -> Case:
    person = access_person_by_id(data["person_id"]) if data.get("person_id") else None
    household = access_household_by_id(data["household_id"]) if data.get("household_id") else None
    if person is None and household is None:
        raise field_problem(
            422,
            "person_id",
            Msg("Isi person_id atau household_id.", "Give a person_id or a household_id."),
        )
    if person is not None and person.erased_at is not None:
        raise field_problem(
            422, "person_id", Msg("Data orang ini sudah dihapus.", "This person's data was erased.")
        )
    if household is None and person is not None and person.household_id:
        household = db.session.get(Household, (person.tenant_id, person.household_id))
    code = data.get("village_code") or (person.village_code if person else household.village_code)
    code = check_village(code)
    year = local_today().year  # the district's year: a ticket of 1 January is of the new year
    case = Case(
        ticket_number=ticket_number(year),
        kind=data["kind"],
        channel=data["channel"],
        person_id=person.id if person else None,
        household_id=household.id if household else None,
        village_code=code,
        description=data["description"],
        status="registered",
        registered_by=current_actor().account_id,
    )
    return _open_case(case, data.get("needs") or [])


def _open_case(case: Case, needs: list[dict[str, str]], **audited: Any) -> Case:
    """A new case, whoever registers it: its status link, its needs, the first step of its
    history, the audit event and the intake count."""
    _give_status_token(case)
    db.session.add(case)
    db.session.flush()
    _replace_needs(case, needs)
    workflow.add_transition(case.id, "register", "new", "registered")
    record(
        AuditKind.workflow,
        "case.register",
        "case",
        case.id,
        after={"ticket_number": case.ticket_number, **audited},
    )
    meter.count(Metric.INTAKES, village_code=case.village_code)  # sent to Redis after commit
    return case


def _give_status_token(case: Case) -> str:
    """A new secret status link for the case's receipt: only its hash is stored; the token is
    kept on the instance (`case.status_token`) for the receipt to show once."""
    token = new_status_token()
    case.status_token_hash = hash_status_token(token)
    case.status_token = token
    return token


@action
def renew_status_token(case: Case) -> str:
    """A new receipt for a case (the first one lost, or its link shared too widely): a new
    secret status link, and the old one stops opening the status."""
    token = _give_status_token(case)
    record(AuditKind.workflow, "case.status_token", "case", case.id, note=case.ticket_number)
    return token


# The intake can be corrected until the decision; afterwards the letter carries it.
EDITABLE = ("registered", "returned", "assessed")


@action
def update_case(case: Case, data: dict[str, Any]) -> Case:
    """Correct the intake (kind, channel, description) before the decision."""
    if case.status not in EDITABLE:
        raise Problem(
            409,
            Msg(
                f"Kasus berstatus '{case.status}'; data layanan hanya dapat diubah sebelum "
                "keputusan (registered, returned, assessed).",
                f"The case is '{case.status}'; the intake can only be corrected before the "
                "decision (registered, returned, assessed).",
            ),
            current_state=case.status,
        )
    for key, value in data.items():
        setattr(case, key, value)
    record(AuditKind.workflow, "case.update", "case", case.id, after={"fields": sorted(data)})
    return case


@action
def assess_case(case: Case, data: dict[str, Any]) -> Case:
    """Back office: needs, DTSEN check, suggested programs with the rules' explanations."""
    from slrt.tenants.dtsen.actions import record_check
    from slrt.tenants.dtsen.standing import fact_notes
    from slrt.tenants.programs.eligibility import person_facts, suggestions

    workflow.step_for("case", case.status, "assess")
    person, household = case_subjects(case)
    dtks = data.get("dtks")
    if dtks is not None:
        if household is None:
            raise field_problem(
                422,
                "dtks",
                Msg(
                    "Kasus ini tidak terkait keluarga (KK); status DTSEN tidak dapat dicatat.",
                    "This case has no household (KK); the DTSEN status cannot be recorded.",
                ),
            )
        if dtks.get("desil") is not None and dtks["status"] != DtksStatus.in_dtks:
            raise field_problem(
                422,
                "dtks.desil",
                Msg(
                    "Desil hanya diisi bila terdaftar di DTSEN.",
                    "A desil is only set when in DTSEN.",
                ),
            )
        household.dtks_status = dtks["status"]
        household.desil = dtks.get("desil") if dtks["status"] == DtksStatus.in_dtks else None
        household.dtks_checked_on = dtks.get("checked_on") or local_today()
        if dtks["status"] != DtksStatus.unknown:  # a dated record of what was checked
            listed = household.dtks_status == DtksStatus.in_dtks
            record_check(household, listed, household.desil, household.dtks_checked_on)
    if "needs" in data:
        _replace_needs(case, data["needs"])
    db.session.flush()
    case.suggestions = suggestions(person_facts(person, household), fact_notes(household))
    case.assessment_note = data.get("note")
    case.assessed_at = now()
    workflow.apply("case", case, "assess", case_id=case.id, note=data.get("note"))
    return case


@action
def return_case(case: Case, reason: str) -> Case:
    workflow.apply("case", case, "return", case_id=case.id, note=reason, note_field="reason")
    return case


@action
def decide_case(case: Case, program_ids: list[uuid.UUID], note: str | None) -> list[Referral]:
    """Manager / Puskesos coordinator approves the chosen programs: one referral per program, to
    the agency mapped to it, under the program's current version."""
    from slrt.tenants.programs.eligibility import referral_target

    workflow.step_for("case", case.status, "decide")
    if len(set(program_ids)) != len(program_ids):
        raise field_problem(
            422, "program_ids", Msg("Program tercantum dua kali.", "A program is listed twice.")
        )
    targets = [referral_target(pid, f"program_ids.{i}") for i, pid in enumerate(program_ids)]
    referrals = []
    for target in targets:
        referral = Referral(
            case_id=case.id,
            program_id=target.program_id,
            program_version_id=target.program_version_id,
            program_version=target.program_version,
            program_name=target.program_name,
            agency_id=target.agency_id,
            agency_name=target.agency_name,
            deadline_days=target.deadline_days,
            village_code=case.village_code,
            status="pending",
        )
        db.session.add(referral)
        referrals.append(referral)
    case.decided_by_name = _actor_name()
    case.decided_by_title = signer_title()
    case.decided_at = now()
    workflow.apply("case", case, "decide", case_id=case.id, note=note)
    db.session.flush()
    return referrals


@action
def refer_case(case: Case, note: str | None) -> list[Referral]:
    """Send every pending referral, each with its numbered letter; deadlines start now."""
    workflow.step_for("case", case.status, "refer")
    referrals = list(
        db.session.execute(
            sa.select(Referral)
            .where(Referral.case_id == case.id, Referral.status == "pending")
            .order_by(Referral.id)
            .with_for_update()
        ).scalars()
    )
    from slrt.platform.tenant import Tenant

    tenant = db.session.get(Tenant, current_tenant().id)
    sent = now()
    for referral in referrals:
        referral.sent_at = sent
        referral.due_at = sent + dt.timedelta(days=referral.deadline_days)
        workflow.apply("referral", referral, "send", case_id=case.id, note=note)
        letter = Letter(
            referral_id=referral.id,
            number=new_number(tenant, local_date(sent).year),
            token=new_token(),
            signer_name=case.decided_by_name or _actor_name(),
            signer_title=case.decided_by_title or signer_title(),
            issued_by=current_actor().account_id,
            issued_at=sent,
        )
        db.session.add(letter)
        db.session.flush()
        record(
            AuditKind.letter,
            "letter.issue",
            "letter",
            letter.id,
            after={"number": letter.number, "referral_id": str(referral.id)},
        )
    workflow.apply("case", case, "refer", case_id=case.id, note=note)
    for referral in referrals:
        meter.count(Metric.REFERRALS, village_code=referral.village_code)
    return referrals


@action
def follow_up_case(case: Case, note: str) -> Case:
    workflow.step_for("case", case.status, "follow_up")
    if not (note or "").strip():
        raise workflow.note_missing()
    open_referrals = db.session.execute(
        sa.select(sa.func.count()).where(
            Referral.case_id == case.id, Referral.status.not_in(sorted(workflow.REFERRAL_DONE))
        )
    ).scalar()
    if open_referrals:
        raise Problem(
            409,
            Msg(
                f"Masih ada {open_referrals} rujukan yang belum selesai (belum dipenuhi atau ditolak); "
                "tindak lanjut dimulai setelah semua rujukan selesai.",
                f"{open_referrals} referral(s) are still open (neither fulfilled nor rejected); "
                "follow-up starts when every referral is done.",
            ),
            current_state=case.status,
            allowed_actions=[],
        )
    case.follow_up_note = note
    workflow.apply("case", case, "follow_up", case_id=case.id, note=note)
    return case


@action
def close_case(case: Case, resolution: str, note: str | None) -> Case:
    workflow.step_for("case", case.status, "close")
    case.resolution = resolution
    case.closed_at = now()
    workflow.apply("case", case, "close", case_id=case.id, note=note)
    return case


@action
def add_attachment(case: Case, kind: str, filename: str, data: bytes) -> CaseAttachment:
    checked = check_upload(data, DOCUMENTS)
    check_count(Quota.STORAGE, adding=checked.size)  # the plan's storage (403 when full)
    key = new_key(current_tenant().id, "cases", checked.extension)
    attachment = CaseAttachment(
        case_id=case.id,
        kind=kind,
        filename=(filename or f"{kind}.{checked.extension}")[-255:],
        content_type=checked.content_type,
        size=checked.size,
        sha256=checked.sha256,
        storage_key=key,
        uploaded_by=current_actor().account_id,
    )
    db.session.add(attachment)
    db.session.flush()
    # Written last: if the upload fails the transaction rolls back and no row points nowhere.
    store().put(key, checked.data, checked.content_type)
    record(
        AuditKind.workflow,
        "case.attach",
        "case",
        case.id,
        after={"kind": kind, "size": checked.size},
    )
    return attachment


@action
def register_case_with_attachments(
    data: dict[str, Any], files: list[tuple[str, str, bytes]]
) -> Case:
    """Register a visit together with the documents brought to it ((kind, filename, bytes)
    each): one step, so a refused file registers nothing and the form can simply be sent
    again."""
    case = register_case(data)
    for kind, filename, content in files:
        add_attachment(case, kind, filename, content)
    return case


@action
def record_attachment_read(case: Case, attachment: CaseAttachment) -> None:
    """An attachment (a scan of a KTP, KK...) was handed out: a read of the person's data."""
    record(
        AuditKind.read, "attachment.read", "case_attachment", attachment.id, note=case.ticket_number
    )


# --- referral -----------------------------------------------------------------------------------


@action
def respond(referral: Referral, action: str, text: str | None) -> Referral:
    """Agency response: receive, accept, reject (reason), fulfil (outcome)."""
    field = {"reject": "reason", "fulfil": "outcome"}.get(action, "note")
    workflow.apply(
        "referral", referral, action, case_id=referral.case_id, note=text, note_field=field
    )
    stamp = now()
    if action == "receive":
        referral.received_at = stamp
    elif action in ("accept", "reject"):
        referral.responded_at = stamp
        if action == "reject":
            referral.rejection_reason = text
    elif action == "fulfil":
        referral.fulfilled_at = stamp
        referral.outcome = text
    return referral


# --- letter -------------------------------------------------------------------------------------


@action
def record_letter_print(letter: Letter, person: Person | None) -> None:
    """A letter was rendered for printing: it carries the person's data."""
    record(
        AuditKind.letter,
        "letter.print",
        "letter",
        letter.id,
        after={"number": letter.number, "person_id": str(person.id) if person else None},
    )


@action
def revoke_letter(letter: Letter, reason: str) -> Letter:
    """Revoke a letter (lost, wrong data): its verification page then says so."""
    if letter.revoked_at is not None:
        raise Problem(409, Msg("Surat ini sudah dicabut.", "This letter is already revoked."))
    letter.revoked_at = now()
    record(AuditKind.letter, "letter.revoke", "letter", letter.id, note=reason)
    return letter


# --- the public form ----------------------------------------------------------------------------

PUBLIC_FORM = Actor(kind="public", label="Formulir publik")


@action
def register_public_case(data: dict[str, Any]) -> Case:
    """A resident's message sent through the district's public form, without signing in: a case
    with a ticket and a secret status link, like one registered at the desk, recorded as the
    public form's doing.

    The writer gives a name, perhaps a phone number and perhaps a NIK. A sound NIK of a person
    already in the registry links the case to that person (as a NIK typed at the desk would);
    otherwise the contact stays on the case until staff find or register the person. Whether a
    NIK is registered is never said back: the page answers the same either way."""
    with acting_as(PUBLIC_FORM):
        village = resolve_village_code(data["village_code"]).code
        nik = (data.get("nik") or "").strip() or None
        person = household = None
        if nik is not None:
            problems = nik_problems(nik)
            if problems:
                raise Problem(422, errors=field_errors("nik", problems))
            person = db.session.execute(
                sa.select(Person).where(Person.nik == nik, Person.erased_at.is_(None))
            ).scalar_one_or_none()
            if person is not None and person.household_id:
                household = db.session.get(Household, (person.tenant_id, person.household_id))
        case = Case(
            ticket_number=ticket_number(now().year),
            kind=data["kind"],
            channel=Channel.public_form,
            person_id=person.id if person else None,
            household_id=household.id if household else None,
            village_code=village,
            description=data["description"],
            status="registered",
            registered_by=None,
            reporter_name=data["name"],
            reporter_phone=data.get("phone"),
            reporter_nik=None if person else nik,
        )
        return _open_case(case, [], channel=Channel.public_form.value)


# --- demo ---------------------------------------------------------------------------------------


@action
def issue_demo_token(email: str) -> str:
    """A short-lived API access token for a DEMO account (…@demo.slrt.id), for trying the API
    with curl; refused for any other account and when SLRT_DEMO is not 1. (The first token may
    create the signing key, hence an action.)"""
    from slrt.auth.oauth.tokens import issue_access_token
    from slrt.tenants.flow.demo import DEMO_DOMAIN

    email = email.strip().lower()
    if setting("SLRT_DEMO") != "1" or not email.endswith("@" + DEMO_DOMAIN):
        raise Problem(
            403,
            Msg(
                f"hanya akun demo (…@{DEMO_DOMAIN}) dengan SLRT_DEMO=1",
                f"only demo accounts (…@{DEMO_DOMAIN}) with SLRT_DEMO=1",
            ),
        )
    account = db.session.execute(
        sa.select(Account).where(Account.email == email)
    ).scalar_one_or_none()
    if account is None or not account.active:
        raise Problem(
            404, Msg(f"tidak ada akun demo aktif {email}", f"no active demo account {email}")
        )
    token, _ = issue_access_token(subject=str(account.id), client_id="slrt-demo-cli")
    return token
