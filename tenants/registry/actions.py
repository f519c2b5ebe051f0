"""The write layer of the registry: registering and correcting households and persons (NIK
rules, one person per NIK, the cross-district signal), DTKS status, lawful export and erasure,
the spreadsheet import and the exports (as jobs), and the record of every read of personal data.

Each `@action` is one transaction, called alike by the API, the web pages, the CLI and the demo.
Audit records of personal data name fields, never values: the audit trail must not become a
second copy of the registry.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from slrt.auth.policy import current_principal
from slrt.billing_free.plans import Quota
from slrt.billing_free.quotas import check_count, require_daily
from slrt.platform import db
from slrt.platform.audit.models import AuditKind
from slrt.platform.audit.record import record
from slrt.platform.errors import Msg, Problem, field_errors, field_problem
from slrt.platform.filestore import store
from slrt.platform.i18n import local_today
from slrt.platform.jobs.actions import add_input_file, enqueue
from slrt.platform.jobs.models import TERMINAL, Job, JobStatus
from slrt.platform.tabular import conflicts
from slrt.platform.tabular.exports import requester_scope
from slrt.platform.tabular.import_job import accept_upload
from slrt.platform.tabular.write import XLSX_MEDIA_TYPE
from slrt.platform.tenancy import current_tenant
from slrt.platform.transaction import action
from slrt.tenants.dtsen.actions import forget_person as forget_dtsen
from slrt.tenants.flow.models import Case, CaseAttachment, CaseNeed, Referral, Transition
from slrt.tenants.regions.access import check_village
from slrt.tenants.registry.models import DtksStatus, Household, NikRegistration, Person
from slrt.tenants.registry.nik import kk_problems, nik_hash, nik_problems, parse_nik

ERASED_NAME = "(data dihapus)"


def validate_dtks(data: dict[str, Any], current: Household | None = None) -> None:
    status = data.get("dtks_status", current.dtks_status if current else DtksStatus.unknown)
    desil = data.get("desil", current.desil if current else None)
    if desil is not None and status != DtksStatus.in_dtks:
        raise field_problem(
            422,
            "desil",
            Msg(
                "Desil hanya diisi bila keluarga terdaftar di DTSEN (dtks_status = in_dtks).",
                "A desil is only set when the household is in DTSEN (dtks_status = in_dtks).",
            ),
        )
    if "dtks_status" in data and data["dtks_status"] != DtksStatus.unknown:
        data.setdefault("dtks_checked_on", local_today())


# --- reads of personal data ---------------------------------------------------------------------


def _record_reads(
    entity_type: str, audit_action: str, ids: Sequence[uuid.UUID], note: str | None
) -> None:
    # One record names its entity; a list names them all in one event.
    if not ids:
        return
    record(
        AuditKind.read,
        audit_action,
        entity_type,
        ids[0] if len(ids) == 1 else None,
        after={f"{entity_type}_ids": [str(i) for i in ids]} if len(ids) != 1 else None,
        note=note,
    )


@action
def record_person_reads(
    person_ids: Sequence[uuid.UUID], audit_action: str = "person.read", *, note: str | None = None
) -> None:
    """Persons' data was shown (a record, a list, a case or a referral naming them)."""
    _record_reads("person", audit_action, person_ids, note)


@action
def record_household_reads(
    household_ids: Sequence[uuid.UUID], audit_action: str = "household.read"
) -> None:
    """Households' data (KK number, address, DTKS status) was shown."""
    _record_reads("household", audit_action, household_ids, None)


# --- households and persons ---------------------------------------------------------------------


@action
def create_household(data: dict[str, Any]) -> Household:
    problems = kk_problems(data["kk_number"])
    if problems:
        raise Problem(422, errors=field_errors("kk_number", problems))
    data["village_code"] = check_village(data["village_code"])
    validate_dtks(data)
    existing = db.session.execute(
        sa.select(Household.id).where(Household.kk_number == data["kk_number"])
    ).scalar_one_or_none()
    if existing is not None:
        raise Problem(
            409,
            Msg("Nomor KK ini sudah terdaftar.", "This KK number is already registered."),
            existing_household_id=str(existing),
        )
    household = Household(**data)
    db.session.add(household)
    db.session.flush()
    _dated_check(household)
    record(
        AuditKind.config,
        "household.create",
        "household",
        household.id,
        after={"fields": sorted(data)},
    )
    return household


@action
def update_household(household: Household, data: dict[str, Any]) -> Household:
    """Address or DTKS/DTSEN status; a desil only while the household is in DTKS."""
    validate_dtks(data, household)
    for key, value in data.items():
        setattr(household, key, value)
    if household.dtks_status != DtksStatus.in_dtks:
        household.desil = None
    if "dtks_status" in data or "desil" in data:
        _dated_check(household)
    record(
        AuditKind.config,
        "household.update",
        "household",
        household.id,
        after={"fields": sorted(data)},
    )
    return household


def _dated_check(household: Household) -> None:
    """A DTSEN status set by hand is kept as a dated record of its quarter (the family's
    history), unless it is "not checked"."""
    from slrt.tenants.dtsen.actions import record_check

    if household.dtks_status != DtksStatus.unknown:
        record_check(
            household,
            household.dtks_status == DtksStatus.in_dtks,
            household.desil,
            household.dtks_checked_on or local_today(),
        )


def _check_nik(data: dict[str, Any]) -> None:
    problems = nik_problems(data["nik"], sex=data.get("sex"), birth_date=data.get("birth_date"))
    if problems:
        raise Problem(422, errors=field_errors("nik", problems))


def register_nik(nik: str) -> None:
    """Add this district to the NIK's keyed-hash signal (idempotent)."""
    tenant = current_tenant()
    db.session.execute(
        insert(NikRegistration)
        .values(nik_hash=nik_hash(nik), tenant_ref=tenant.id, district_code=tenant.code)
        .on_conflict_do_nothing()
    )


def unregister_nik(nik: str) -> None:
    db.session.execute(
        sa.delete(NikRegistration).where(
            NikRegistration.nik_hash == nik_hash(nik),
            NikRegistration.tenant_ref == current_tenant().id,
        )
    )


def duplicate_nik(person_id: Any) -> Problem:
    return Problem(
        409,
        Msg(
            "NIK ini sudah terdaftar di kabupaten/kota ini; gunakan data yang ada.",
            "This NIK is already registered in this district; use the existing record.",
        ),
        existing_person_id=str(person_id),
    )


@action
def create_person(data: dict[str, Any], household: Household | None) -> Person:
    data["nik"] = data["nik"].strip()
    _check_nik(data)
    parts = parse_nik(data["nik"])
    assert parts is not None  # validated above
    data.setdefault("sex", parts.sex)
    data.setdefault("birth_date", parts.birth_date)
    if household is not None:
        data["household_id"] = household.id
        data.setdefault("village_code", household.village_code)
    if not data.get("village_code"):
        raise field_problem(
            422,
            "village_code",
            Msg("Wajib diisi bila tanpa household_id.", "Required when no household_id is given."),
        )
    data["village_code"] = check_village(data["village_code"])
    existing = db.session.execute(
        sa.select(Person.id).where(Person.nik == data["nik"])
    ).scalar_one_or_none()
    if existing is not None:
        raise duplicate_nik(existing)
    person = Person(**data)
    try:
        # Added inside the savepoint: begin_nested() flushes what is pending before it starts,
        # and a refusal there would abort the whole transaction instead of the savepoint.
        with db.session.begin_nested():
            db.session.add(person)
            db.session.flush()
    except sa.exc.IntegrityError:
        # A concurrent registration of the same NIK won the race.
        existing = db.session.execute(
            sa.select(Person.id).where(Person.nik == data["nik"])
        ).scalar_one()
        raise duplicate_nik(existing) from None
    register_nik(person.nik)
    record(AuditKind.config, "person.create", "person", person.id, after={"fields": sorted(data)})
    return person


@action
def update_person(person: Person, data: dict[str, Any]) -> None:
    if person.erased_at is not None:
        raise Problem(409, Msg("Data orang ini sudah dihapus.", "This person's data was erased."))
    old_nik = person.nik
    merged = {
        "nik": data.get("nik", person.nik),
        "sex": data.get("sex", person.sex),
        "birth_date": data.get("birth_date", person.birth_date),
    }
    _check_nik(merged)
    if "village_code" in data:
        data["village_code"] = check_village(data["village_code"])
    if merged["nik"] != old_nik:
        clash = db.session.execute(
            sa.select(Person.id).where(Person.nik == merged["nik"], Person.id != person.id)
        ).scalar_one_or_none()
        if clash is not None:
            raise duplicate_nik(clash)
    for key, value in data.items():
        setattr(person, key, value)
    if merged["nik"] != old_nik:
        unregister_nik(old_nik)
        register_nik(merged["nik"])
    record(AuditKind.config, "person.update", "person", person.id, after={"fields": sorted(data)})


# --- lawful export and erasure (UU 27/2022) -----------------------------------------------------


def _row(obj: Any, skip: tuple[str, ...] = ("tenant_id",)) -> dict[str, Any]:
    out = {}
    for column in obj.__table__.columns:
        if column.name in skip:
            continue
        value = getattr(obj, column.key)
        out[column.name] = value.isoformat() if isinstance(value, dt.date) else value
        if hasattr(value, "hex") and not isinstance(value, bytes):
            out[column.name] = str(value)
    return out


def _cases_of(person: Person) -> list[Case]:
    """The person's cases: linked to them, or sent through the public form with their NIK and
    not linked to anyone yet."""
    about = Case.person_id == person.id
    if person.nik:
        about = sa.or_(about, sa.and_(Case.person_id.is_(None), Case.reporter_nik == person.nik))
    return list(db.session.execute(sa.select(Case).where(about).order_by(Case.id)).scalars())


def person_export(person: Person) -> dict[str, Any]:
    """Everything the district holds about one person, as JSON-ready data."""
    household = (
        db.session.get(Household, (person.tenant_id, person.household_id))
        if person.household_id
        else None
    )
    cases = _cases_of(person)
    case_ids = [c.id for c in cases]
    needs = list(
        db.session.execute(sa.select(CaseNeed).where(CaseNeed.case_id.in_(case_ids))).scalars()
    )
    referrals = list(
        db.session.execute(sa.select(Referral).where(Referral.case_id.in_(case_ids))).scalars()
    )
    transitions = list(
        db.session.execute(
            sa.select(Transition)
            .where(Transition.case_id.in_(case_ids))
            .order_by(Transition.occurred_at)
        ).scalars()
    )
    attachments = list(
        db.session.execute(
            sa.select(CaseAttachment).where(CaseAttachment.case_id.in_(case_ids))
        ).scalars()
    )
    from slrt.tenants.proposals.models import Proposal

    proposals = list(
        db.session.execute(sa.select(Proposal).where(Proposal.person_id == person.id)).scalars()
    )
    return {
        "district": current_tenant().name,
        "exported_at": dt.datetime.now(dt.UTC).isoformat(),
        "person": _row(person),
        "household": _row(household) if household else None,
        "cases": [
            {
                **_row(c),
                "needs": [_row(n) for n in needs if n.case_id == c.id],
                "referrals": [_row(r) for r in referrals if r.case_id == c.id],
                "transitions": [_row(t) for t in transitions if t.case_id == c.id],
                "attachments": [
                    _row(a, ("tenant_id", "storage_key")) for a in attachments if a.case_id == c.id
                ],
            }
            for c in cases
        ],
        "dtks_proposals": [_row(p) for p in proposals],
    }


@action
def export_person(person: Person) -> dict[str, Any]:
    """Everything held about one person, for a lawful request; audited as an export."""
    data = person_export(person)
    record(AuditKind.export, "person.export", "person", person.id)
    return data


@action
def erase_person(person: Person, reason: str) -> dict[str, int]:
    """Anonymise a person; referral statistics (program, dates, status, outcome) stay."""
    if person.erased_at is not None:
        raise Problem(409, Msg("Data orang ini sudah dihapus.", "This person's data was erased."))
    cases = _cases_of(person)
    if person.nik:
        unregister_nik(person.nik)
        conflicts.forget(person.nik)  # rows an import held back for this person
        forget_dtsen(person.nik)  # what DTSEN files and usul/sanggah held about them
    person.nik = None
    person.name = ERASED_NAME
    person.birth_place = None
    person.birth_date = None
    person.phone = None
    person.relation = None
    person.erased_at = sa.func.now()
    case_ids = [c.id for c in cases]
    for case in cases:
        case.description = ERASED_NAME
        case.assessment_note = None
        case.follow_up_note = None
        case.suggestions = None
        case.reporter_name = case.reporter_phone = case.reporter_nik = None
    if case_ids:
        db.session.execute(
            sa.update(CaseNeed)
            .where(CaseNeed.case_id.in_(case_ids))
            .values(description=ERASED_NAME)
        )
        db.session.execute(
            sa.update(Transition)
            .where(Transition.case_id.in_(case_ids), Transition.note.is_not(None))
            .values(note=ERASED_NAME)
        )
        files = store()
        attachments = list(
            db.session.execute(
                sa.select(CaseAttachment).where(CaseAttachment.case_id.in_(case_ids))
            ).scalars()
        )
        for attachment in attachments:
            files.delete(attachment.storage_key)
            db.session.delete(attachment)
    household_erased = False
    if person.household_id:
        others = db.session.execute(
            sa.select(sa.func.count()).where(
                Person.household_id == person.household_id,
                Person.id != person.id,
                Person.erased_at.is_(None),
            )
        ).scalar()
        if not others:
            household = db.session.get(Household, (person.tenant_id, person.household_id))
            household.kk_number = None
            household.address = None
            household_erased = True
    record(
        AuditKind.erasure,
        "person.erase",
        "person",
        person.id,
        after={"cases": len(case_ids), "household_erased": household_erased},
        note=reason,
    )
    return {"cases": len(case_ids), "household_erased": int(household_erased)}


# --- spreadsheet import and exports (background jobs) -------------------------------------------


@action
def start_registry_import(filename: str | None, data: bytes) -> Job:
    """Queue the import of an uploaded CSV or XLSX file (kept with the job); a file that is
    plainly not a spreadsheet is refused now, the job checks the rest."""
    kind = accept_upload(data, filename or "")
    check_count(Quota.STORAGE, adding=len(data))  # the upload is kept with the job
    job = enqueue(
        "registry.import",
        {"filename": filename, "file_kind": kind, **requester_scope(current_principal())},
    )
    media = XLSX_MEDIA_TYPE if kind == "xlsx" else "text/csv"
    add_input_file(job, (filename or f"upload.{kind}")[:200], media, data)
    return job


@action
def start_export(what: str, file_format: str) -> Job:
    """Queue an export (`registry`, `cases` or `referrals`) of the caller's region."""
    require_daily(Quota.EXPORTS)  # the plan's exports per day: 429 with Retry-After
    return enqueue(
        f"{what}.export", {"format": file_format, **requester_scope(current_principal())}
    )


IMPORT_KINDS = ("registry.import", "registry.apply_conflicts")


@action
def apply_import_conflicts(source: Job) -> Job:
    """Queue the writing of the rows `source` (a finished registry import, or an earlier
    application) held back because the persons changed after the file's upload: the district's
    decision that the file is right. Persons changed again after this call are held back once
    more. The job is audited when it has run."""
    if source.kind not in IMPORT_KINDS:
        raise Problem(
            409,
            Msg("Pekerjaan ini bukan impor registri.", "This job is not a registry import."),
        )
    if source.status != JobStatus.succeeded.value:
        raise Problem(
            409,
            Msg(
                "Konflik dapat diterapkan setelah impor selesai.",
                "Conflicts can be applied once the import has finished.",
            ),
        )
    running = db.session.execute(
        sa.select(sa.func.count())
        .select_from(Job)
        .where(
            Job.kind == "registry.apply_conflicts",
            Job.params["source_job_id"].astext == str(source.id),
            Job.status.not_in([s.value for s in TERMINAL]),
        )
    ).scalar_one()
    if running:
        raise Problem(
            409,
            Msg(
                "Konflik impor ini sedang diterapkan.",
                "This import's conflicts are being applied already.",
            ),
        )
    waiting = conflicts.count_pending(source.id)
    if not waiting:
        raise Problem(
            409,
            Msg(
                "Tidak ada baris konflik yang dapat diterapkan pada pekerjaan ini.",
                "This job has no held-back rows left to apply.",
            ),
        )
    return enqueue(
        "registry.apply_conflicts",
        {
            "source_job_id": str(source.id),
            "rows": waiting,
            **requester_scope(current_principal()),
        },
    )
