"""The write layer of DTSEN: uploading a SIKS-NG file, confirming its column mapping (saved for
the district when asked) and starting its dry run, applying it; the district's DTSEN settings;
dated records of what staff checked and of SIKS-NG results; the residents' usul and sanggah
(recording, evidence, the home visit, the decision, the daily clock, the outcome letter); the
reconciliation spreadsheet; and forgetting a person on a lawful erasure.

Each `@action` is one transaction, called alike by the API, the web pages and the jobs. The
usul/sanggah moves go through the "submission" machine of `flow.workflow`; an accepted usul
becomes a DTSEN proposal (`proposals.actions.propose`) that the village meeting reads, and its
SIKS-NG result comes back here (`record_proposal_result`).
"""

from __future__ import annotations

import datetime as dt
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from slrt.auth.accounts.models import Account
from slrt.auth.policy import current_principal
from slrt.billing_free.plans import Quota
from slrt.billing_free.quotas import check_count
from slrt.platform import db
from slrt.platform.actor import current_actor
from slrt.platform.audit.models import AuditKind
from slrt.platform.audit.record import record
from slrt.platform.errors import Msg, Problem, field_errors, field_problem
from slrt.platform.filestore import DOCUMENTS, IMAGES, check_upload, new_key, store
from slrt.platform.i18n import local_today
from slrt.platform.jobs.actions import add_input_file, enqueue
from slrt.platform.jobs.models import TERMINAL, Job, JobStatus
from slrt.platform.tabular.exports import requester_scope
from slrt.platform.tabular.import_job import accept_upload
from slrt.platform.tabular.read import FileRejected, iter_rows
from slrt.platform.tabular.write import XLSX_MEDIA_TYPE
from slrt.platform.tenancy import current_tenant
from slrt.platform.tenant import Tenant
from slrt.platform.transaction import action
from slrt.tenants.districts.settings import letterhead
from slrt.tenants.dtsen import columns
from slrt.tenants.dtsen.models import (
    DtsenImport,
    DtsenMember,
    DtsenRecord,
    Evidence,
    Submission,
)
from slrt.tenants.dtsen.periods import Quarter, period_problem
from slrt.tenants.dtsen.settings import LIMITS, district, dtsen_settings, stored
from slrt.tenants.dtsen.standing import NEWEST_FIRST, family_clause, standing_of, sync_households
from slrt.tenants.flow import workflow
from slrt.tenants.flow.letters import new_number, new_token
from slrt.tenants.regions.access import check_village, resolve_village_code
from slrt.tenants.registry.models import Household, Person
from slrt.tenants.registry.nik import kk_problems, nik_problems

ERASED = "(data dihapus)"


def _actor_label() -> str:
    actor = current_actor()
    if actor.account_id is not None:
        account = db.session.get(Account, actor.account_id)
        if account is not None:
            return account.name[:200]
    return actor.label[:200]


# --- imports ------------------------------------------------------------------------------------


def _header_of(data: bytes) -> columns.Header:
    with tempfile.TemporaryDirectory(prefix="slrt-dtsen-") as tmp:
        path = Path(tmp) / "upload"
        path.write_bytes(data)
        try:
            _, rows = iter_rows(path)
            header = columns.find_header(rows, _saved_columns())
            rows.close()
        except FileRejected as exc:
            raise field_problem(422, "file", exc.msg) from None
    if header is None:
        raise field_problem(422, "file", Msg("Berkas kosong.", "The file is empty."))
    return header


def _saved_columns() -> dict[str, str]:
    return dict(stored().get("columns") or {})


@action
def start_import(kind: str, period: str, filename: str | None, data: bytes) -> DtsenImport:
    """Upload a SIKS-NG file (BNBA or desil) for a period: its header is read now and each
    column's field suggested (the usual spellings, and the district's own earlier choices); the
    district confirms the mapping next (`check_import`)."""
    file_type = accept_upload(data, filename or "")
    problem = period_problem(period, local_today())
    if problem is not None:
        raise field_problem(422, "period", problem)
    period = str(Quarter.parse(period))
    check_count(Quota.STORAGE, adding=len(data))
    header = _header_of(data)
    dtsen_import = DtsenImport(
        kind=kind,
        period=period,
        filename=(filename or f"dtsen.{file_type}")[-255:],
        file_type=file_type,
        size=len(data),
        content=data,
        header_row=header.row,
        headers=header.cells,
        mapping=header.suggested,
        status="mapping",
        uploaded_by=current_actor().account_id,
        uploaded_by_label=_actor_label(),
    )
    db.session.add(dtsen_import)
    db.session.flush()
    record(
        AuditKind.config,
        "dtsen.import.upload",
        "dtsen_import",
        dtsen_import.id,
        after={"kind": kind, "period": period, "filename": dtsen_import.filename},
    )
    return dtsen_import


def job_of(job_id: uuid.UUID | None) -> Job | None:
    return db.session.get(Job, (current_tenant().id, job_id)) if job_id else None


def _job_ended(job_id: uuid.UUID | None, *, failed_only: bool = False) -> bool:
    job = job_of(job_id)
    if job is None:
        return True
    if failed_only:
        return job.status in (JobStatus.failed, JobStatus.cancelled)
    return job.status in TERMINAL


def may_map(dtsen_import: DtsenImport) -> bool:
    """A mapping may be (re)chosen before the file is applied, unless its dry run is running."""
    if dtsen_import.status in ("mapping", "checked"):
        return True
    return dtsen_import.status == "checking" and _job_ended(dtsen_import.check_job_id)


def may_apply(dtsen_import: DtsenImport) -> bool:
    if dtsen_import.status == "checked":
        return True
    return dtsen_import.status == "applying" and _job_ended(
        dtsen_import.apply_job_id, failed_only=True
    )


def _not_now(dtsen_import: DtsenImport, what: Msg) -> Problem:
    return Problem(
        409,
        Msg(
            f"Impor ini berstatus '{dtsen_import.status}'; {what} tidak dapat dilakukan sekarang.",
            f"This import is '{dtsen_import.status}'; {what.en} is not possible now.",
        ),
        current_state=dtsen_import.status,
    )


def _remember_columns(headers: list[str], mapping: list[str | None]) -> dict[str, str]:
    """The district's saved mapping with this file's hand-made choices added: a header the usual
    spellings read otherwise (or not at all) is remembered; "-" keeps a column ignored."""
    saved = _saved_columns()
    for header, field in zip(headers, mapping, strict=False):
        key = columns.normalise(header)
        if not key:
            continue
        usual = columns.ALIASES.get(key)
        if (field or None) == usual:
            saved.pop(key, None)
        else:
            saved[key] = field or "-"
    return saved


@action
def check_import(dtsen_import: DtsenImport, mapping: list[str | None], save: bool) -> Job:
    """Confirm which column holds what and start the dry run: nothing is written, the job
    reports what would change (`dtsen.check`). With `save`, the district remembers the
    choices for its next files."""
    if not may_map(dtsen_import):
        raise _not_now(dtsen_import, Msg("pemetaan kolom", "mapping the columns"))
    mapping = [m or None for m in mapping]
    problems = columns.mapping_problems(mapping, len(dtsen_import.headers))
    if problems:
        raise Problem(422, errors=field_errors("mapping", problems))
    if save:
        tenant = db.session.get(Tenant, current_tenant().id, with_for_update=True)
        before = _saved_columns()
        remembered = _remember_columns(dtsen_import.headers, mapping)
        tenant.settings = {
            **(tenant.settings or {}),
            "dtsen": {**stored(tenant), "columns": remembered},
        }
        if remembered != before:
            record(
                AuditKind.config,
                "dtsen.columns",
                "tenant",
                tenant.id,
                before={"columns": before},
                after={"columns": remembered},
            )
    dtsen_import.mapping = mapping
    job = enqueue(
        "dtsen.check",
        {"import_id": str(dtsen_import.id), **requester_scope(current_principal())},
    )
    dtsen_import.check_job_id = job.id
    dtsen_import.status = "checking"
    record(
        AuditKind.config,
        "dtsen.import.check",
        "dtsen_import",
        dtsen_import.id,
        after={"mapping": mapping, "job_id": str(job.id)},
    )
    return job


@action
def apply_import(dtsen_import: DtsenImport) -> Job:
    """Write what the dry run showed (computed again, against what is stored by then)."""
    if not may_apply(dtsen_import):
        raise _not_now(dtsen_import, Msg("penerapan", "applying it"))
    job = enqueue(
        "dtsen.apply",
        {"import_id": str(dtsen_import.id), **requester_scope(current_principal())},
    )
    dtsen_import.apply_job_id = job.id
    dtsen_import.status = "applying"
    record(
        AuditKind.config,
        "dtsen.import.apply",
        "dtsen_import",
        dtsen_import.id,
        after={"job_id": str(job.id), "period": dtsen_import.period},
    )
    return job


# --- settings -----------------------------------------------------------------------------------


@action
def update_settings(values: dict[str, int]) -> dict[str, Any]:
    """The district's stale limit (quarters) and verification clock (days); audited."""
    tenant = db.session.get(Tenant, current_tenant().id, with_for_update=True)
    before = dtsen_settings(tenant)
    for key, value in values.items():
        low, high = LIMITS[key]
        if not low <= value <= high:
            raise field_problem(
                422,
                key,
                Msg(f"Isi angka {low} sampai {high}.", f"Enter a number from {low} to {high}."),
            )
    kept = {**stored(tenant), **values}
    tenant.settings = {**(tenant.settings or {}), "dtsen": kept}
    after = dtsen_settings(tenant)
    if after != before:
        record(AuditKind.config, "dtsen.settings", "tenant", tenant.id, before=before, after=after)
    return after


# --- dated records: what staff checked, what SIKS-NG answered ----------------------------------


def add_record(
    household: Household,
    *,
    period: str,
    listed: bool,
    desil: int | None,
    source: str,
    proposal_id: uuid.UUID | None = None,
) -> DtsenRecord | None:
    """A record of the family for `period`, unless its latest one for that period says the same;
    the household's current fields follow."""
    desil = desil if listed else None
    same_period = db.session.execute(
        sa.select(DtsenRecord)
        .where(family_clause(household), DtsenRecord.period == period)
        .order_by(*NEWEST_FIRST)
        .limit(1)
    ).scalar_one_or_none()
    added = None
    if same_period is None or (same_period.listed, same_period.desil) != (listed, desil):
        head = db.session.execute(
            sa.select(Person.nik, Person.name)
            .where(Person.household_id == household.id, Person.erased_at.is_(None))
            .order_by((Person.relation == "kepala_keluarga").desc(), Person.created_at)
            .limit(1)
        ).first()
        added = DtsenRecord(
            period=period,
            family_key=household.kk_number or f"hh:{household.id.hex[:20]}",
            kk_number=household.kk_number,
            head_nik=head.nik if head else None,
            head_name=head.name if head else None,
            household_id=household.id,
            village_code=household.village_code,
            listed=listed,
            desil=desil,
            source=source,
            proposal_id=proposal_id,
            recorded_by_label=_actor_label(),
        )
        db.session.add(added)
        db.session.flush()
    sync_households([household.id])
    return added


@action
def record_check(
    household: Household, listed: bool, desil: int | None, checked_on: dt.date
) -> DtsenRecord | None:
    """What staff found when checking DTSEN for a family (at the assessment, or a correction of
    the household), kept as a dated record of the quarter it was checked in."""
    return add_record(
        household,
        period=str(Quarter.of(checked_on)),
        listed=listed,
        desil=desil,
        source="check",
    )


@action
def record_proposal_result(
    proposal: Any, household: Household | None, accepted: bool, desil: int | None, on: dt.date
) -> None:
    """SIKS-NG's answer to a proposal: a record of the quarter it came in (the family's history
    keeps it beside the files), and the usul the proposal came from ends with it."""
    if household is not None:
        add_record(
            household,
            period=str(Quarter.of(on)),
            listed=accepted,
            desil=desil,
            source="result",
            proposal_id=proposal.id,
        )
    submission = db.session.execute(
        sa.select(Submission).where(Submission.proposal_id == proposal.id).with_for_update()
    ).scalar_one_or_none()
    if submission is not None and submission.status == "accepted":
        workflow.apply(
            "submission",
            submission,
            "listed" if accepted else "not_listed",
            details={"desil": desil, "proposal_id": str(proposal.id)},
        )


# --- usul and sanggah ---------------------------------------------------------------------------

OPEN_SUBMISSIONS = ("received", "verified")
COORDINATES = {"latitude": (-11.5, 6.5), "longitude": (94.5, 141.5)}  # Indonesia's extent


def _subject(data: dict[str, Any]) -> dict[str, Any]:
    """The family a submission is about: a registered person's, or as typed."""
    if data.get("person") is not None:
        person: Person = data["person"]
        if person.erased_at is not None or not person.nik:
            raise field_problem(
                422, "person_id", Msg("Data orang ini sudah dihapus.", "This person was erased.")
            )
        household = (
            db.session.get(Household, (person.tenant_id, person.household_id))
            if person.household_id
            else None
        )
        return {
            "person_id": person.id,
            "nik": person.nik,
            "name": person.name,
            "kk_number": household.kk_number if household else None,
            "address": household.address if household else None,
            "village_code": person.village_code,
        }
    subject = {k: data.get(k) for k in ("nik", "name", "kk_number", "address", "village_code")}
    if not subject["name"]:
        raise field_problem(422, "name", Msg("Nama wajib diisi.", "The name is required."))
    if not subject["village_code"]:
        raise field_problem(
            422, "village_code", Msg("Desa/kelurahan wajib diisi.", "The village is required.")
        )
    if subject["nik"]:
        problems = nik_problems(subject["nik"])
        if problems:
            raise Problem(422, errors=field_errors("nik", problems))
        known = db.session.execute(
            sa.select(Person).where(Person.nik == subject["nik"], Person.erased_at.is_(None))
        ).scalar_one_or_none()
        if known is not None:
            subject["person_id"] = known.id
    if subject["kk_number"]:
        problems = kk_problems(subject["kk_number"])
        if problems:
            raise Problem(422, errors=field_errors("kk_number", problems))
    return subject


def _check_coordinates(data: dict[str, Any]) -> None:
    given = [k for k in COORDINATES if data.get(k) is not None]
    if len(given) == 1:
        missing = "longitude" if given == ["latitude"] else "latitude"
        raise field_problem(
            422,
            missing,
            Msg("Isi lintang dan bujur bersama-sama.", "Give latitude and longitude together."),
        )
    for key, (low, high) in COORDINATES.items():
        value = data.get(key)
        if value is not None and not low <= value <= high:
            raise field_problem(
                422,
                key,
                Msg(
                    f"Koordinat {value} di luar wilayah Indonesia ({low} sampai {high}).",
                    f"Coordinate {value} lies outside Indonesia ({low} to {high}).",
                ),
            )


def _duplicate(kind: str, nik: str | None) -> None:
    if not nik:
        return
    open_one = db.session.execute(
        sa.select(Submission.id).where(
            Submission.kind == kind,
            Submission.nik == nik,
            Submission.status.in_(OPEN_SUBMISSIONS),
        )
    ).scalar_one_or_none()
    if open_one is not None:
        what = "usul" if kind == "usul" else "sanggah"
        raise Problem(
            409,
            Msg(
                f"Sudah ada {what} untuk NIK ini yang belum selesai.",
                f"An open {'proposal' if kind == 'usul' else 'objection'} for this NIK exists.",
            ),
            existing_submission_id=str(open_one),
        )


def _due_on(received_on: dt.date) -> dt.date:
    return received_on + dt.timedelta(days=dtsen_settings()["verification_days"])


@action
def create_submission(
    data: dict[str, Any], *, covers: Callable[[str], bool] | None = None
) -> Submission:
    """Record an usul (add this family to DTSEN) or a sanggah (this listed family should not be
    listed), at the Puskesos or as Kemensos forwarded it; the verification clock starts on the
    day it was received. `covers` is the requester's region when no member is signed in (an
    import job): a village outside it is refused as in a request."""
    subject = _subject(data)
    if covers is None:
        subject["village_code"] = check_village(subject["village_code"])
    else:
        code = resolve_village_code(subject["village_code"]).code
        if not covers(code):
            raise field_problem(
                403,
                "village_code",
                Msg(
                    f"Desa/kelurahan {code} di luar wilayah tugas Anda.",
                    f"Village {code} is outside your region.",
                ),
            )
        subject["village_code"] = code
    _check_coordinates(data)
    today = local_today()
    received_on = data.get("received_on") or today
    if received_on > today:
        raise field_problem(
            422,
            "received_on",
            Msg(
                "Tanggal diterima tidak boleh di masa depan.", "The date received is in the future."
            ),
        )
    if data["kind"] == "usul" and subject.get("person_id"):
        person = db.session.get(Person, (current_tenant().id, subject["person_id"]))
        household = (
            db.session.get(Household, (person.tenant_id, person.household_id))
            if person.household_id
            else None
        )
        standing = standing_of(household)
        if standing is not None and standing.listed:
            raise Problem(
                409,
                Msg(
                    f"Keluarga ini sudah terdaftar di DTSEN ({standing.label}); usul tidak "
                    "diperlukan.",
                    f"This family is already listed in DTSEN ({standing.label.en}); no proposal "
                    "is needed.",
                ),
            )
    _duplicate(data["kind"], subject.get("nik"))
    submission = Submission(
        kind=data["kind"],
        channel=data.get("channel") or "puskesos",
        status="received",
        reason=data["reason"],
        submitter_name=data.get("submitter_name"),
        submitter_phone=data.get("submitter_phone"),
        latitude=data.get("latitude"),
        longitude=data.get("longitude"),
        source_ref=data.get("source_ref"),
        received_on=received_on,
        due_on=_due_on(received_on),
        created_by=current_actor().account_id,
        **subject,
    )
    db.session.add(submission)
    db.session.flush()
    record(
        AuditKind.workflow,
        "dtsen_submission.create",
        "dtsen_submission",
        submission.id,
        after={"kind": submission.kind, "channel": submission.channel, "status": "received"},
    )
    return submission


EVIDENCE_TYPES = {"photo": IMAGES, "document": DOCUMENTS}


@action
def add_evidence(submission: Submission, kind: str, filename: str | None, data: bytes) -> Evidence:
    """A house photo or a document (image or PDF), its type decided from its bytes."""
    if submission.status not in OPEN_SUBMISSIONS:
        raise Problem(
            409,
            Msg(
                "Bukti hanya dapat ditambahkan sebelum keputusan.",
                "Evidence can only be added before the decision.",
            ),
            current_state=submission.status,
        )
    checked = check_upload(data, EVIDENCE_TYPES[kind])
    check_count(Quota.STORAGE, adding=checked.size)
    key = new_key(current_tenant().id, "dtsen", checked.extension)
    evidence = Evidence(
        submission_id=submission.id,
        kind=kind,
        filename=(filename or f"{kind}.{checked.extension}")[-255:],
        content_type=checked.content_type,
        size=checked.size,
        sha256=checked.sha256,
        storage_key=key,
        uploaded_by=current_actor().account_id,
    )
    db.session.add(evidence)
    db.session.flush()
    store().put(key, checked.data, checked.content_type)  # last: a failure rolls the row back
    record(
        AuditKind.workflow,
        "dtsen_submission.evidence",
        "dtsen_submission",
        submission.id,
        after={"kind": kind, "size": checked.size},
    )
    return evidence


@action
def record_verval(submission: Submission, data: dict[str, Any]) -> Submission:
    """The home visit's result (verifikasi dan validasi): eligible or not, with what was seen;
    within the clock only."""
    workflow.step_for("submission", submission.status, "verify")
    today = local_today()
    if submission.status == "received" and today > submission.due_on:
        raise Problem(
            409,
            Msg(
                f"Batas waktu verifikasi ({submission.due_on.isoformat()}) sudah lewat; usul/"
                "sanggah ini akan dianggap ditolak.",
                f"The verification deadline ({submission.due_on.isoformat()}) has passed; this "
                "item will be deemed rejected.",
            ),
            current_state=submission.status,
        )
    visited_on = data.get("visited_on") or today
    if visited_on > today or visited_on < submission.received_on:
        raise field_problem(
            422,
            "visited_on",
            Msg(
                "Tanggal kunjungan harus antara tanggal diterima dan hari ini.",
                "The visit date must lie between the date received and today.",
            ),
        )
    _check_coordinates(data)
    submission.visited_on = visited_on
    submission.verval_result = data["result"]
    submission.verval_note = data.get("note")
    submission.verval_by_label = _actor_label()
    if data.get("latitude") is not None:
        submission.latitude, submission.longitude = data["latitude"], data["longitude"]
    workflow.apply(
        "submission",
        submission,
        "verify",
        note=data.get("note"),
        details={"result": data["result"]},
    )
    return submission


def _person_for_usul(submission: Submission) -> Person:
    """The registered person an accepted usul proposes, registered now from the usul when the
    registry does not know them yet."""
    from slrt.tenants.registry.actions import create_household, create_person

    if submission.person_id:
        return db.session.get(Person, (submission.tenant_id, submission.person_id))
    if not submission.nik:
        raise Problem(
            409,
            Msg(
                "Usul tanpa NIK tidak dapat diteruskan: lengkapi NIK warga di registri dahulu.",
                "An usul without a NIK cannot go on: register the resident's NIK first.",
            ),
        )
    household = None
    if submission.kk_number:
        household = db.session.execute(
            sa.select(Household).where(Household.kk_number == submission.kk_number)
        ).scalar_one_or_none()
        if household is None:
            household = create_household(
                {
                    "kk_number": submission.kk_number,
                    "address": submission.address,
                    "village_code": submission.village_code,
                }
            )
    data: dict[str, Any] = {"nik": submission.nik, "name": submission.name}
    if household is None:
        data["village_code"] = submission.village_code
    person = create_person(data, household)
    submission.person_id = person.id
    return person


@action
def decide_submission(submission: Submission, accept: bool, note: str | None) -> Submission:
    """Accept or reject after the home visit. An accepted usul becomes a DTSEN proposal for the
    village meeting; every decision gets its outcome letter. Going against the visit's finding
    needs a reason."""
    from slrt.tenants.proposals.actions import propose

    move = "accept" if accept else "reject"
    workflow.step_for("submission", submission.status, move)
    finding = "eligible" if accept else "not_eligible"
    if submission.verval_result != finding and not (note or "").strip():
        raise workflow.note_missing()
    submission.decision_note = (note or "").strip() or None
    submission.decided_at = dt.datetime.now(dt.UTC)
    if accept and submission.kind == "usul":
        proposal = propose(_person_for_usul(submission), f"Usul: {submission.reason}"[:2000])
        submission.proposal_id = proposal.id
    workflow.apply("submission", submission, move, note=note)
    issue_letter(submission)
    return submission


def issue_letter(submission: Submission, *, signer: tuple[str, str] | None = None) -> None:
    """Number the outcome letter and give it its verification token (once per submission)."""
    if submission.letter_number:
        return
    from slrt.tenants.flow.actions import signer_title

    tenant = district()
    issued = dt.datetime.now(dt.UTC)
    if signer is None:  # who decided signs, as on referral letters
        signer = (_actor_label(), signer_title())
    submission.letter_number = new_number(tenant, local_today().year)
    submission.token = new_token()
    submission.letter_signer_name, submission.letter_signer_title = signer
    submission.letter_issued_at = issued
    db.session.flush()
    record(
        AuditKind.letter,
        "dtsen_submission.letter",
        "dtsen_submission",
        submission.id,
        after={"number": submission.letter_number, "status": submission.status},
    )


DEEM_BATCH = 500


@action
def deem_overdue(today: dt.date | None = None, limit: int = DEEM_BATCH) -> int:
    """The clock: every usul or sanggah still unverified after its deadline is deemed rejected,
    with its letter signed for the head of the district's social office. Run daily by the
    scheduler; idempotent (a deemed one is no longer waiting)."""
    today = today or local_today()
    overdue = list(
        db.session.execute(
            sa.select(Submission)
            .where(Submission.status == "received", Submission.due_on < today)
            .order_by(Submission.due_on, Submission.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).scalars()
    )
    head = letterhead(district())
    signer = (head["head_name"] or "", head["head_title"])
    for submission in overdue:
        submission.decided_at = dt.datetime.now(dt.UTC)
        submission.decision_note = (
            f"Tidak diverifikasi sampai batas waktu {submission.due_on.isoformat()}."
        )
        workflow.apply(
            "submission",
            submission,
            "deem_reject",
            details={"due_on": submission.due_on.isoformat()},
        )
        issue_letter(submission, signer=signer)
    return len(overdue)


@action
def record_reads(entity_type: str, audit_action: str, ids: list[uuid.UUID]) -> None:
    """Personal data of DTSEN records or usul/sanggah was shown."""
    if not ids:
        return
    record(
        AuditKind.read,
        audit_action,
        entity_type,
        ids[0] if len(ids) == 1 else None,
        after={"ids": [str(i) for i in ids]} if len(ids) != 1 else None,
    )


@action
def record_letter_print(submission: Submission) -> None:
    record(
        AuditKind.letter,
        "dtsen_submission.letter.print",
        "dtsen_submission",
        submission.id,
        after={"number": submission.letter_number},
    )


@action
def record_evidence_read(evidence: Evidence) -> None:
    record(AuditKind.read, "dtsen_evidence.read", "dtsen_evidence", evidence.id)


@action
def start_submissions_import(filename: str | None, data: bytes) -> Job:
    """Queue the import of the usul and sanggah Kemensos forwarded (CSV/XLSX); items already
    imported (same reference) are left alone."""
    kind = accept_upload(data, filename or "")
    check_count(Quota.STORAGE, adding=len(data))
    job = enqueue(
        "dtsen.submissions_import",
        {"filename": filename, "file_kind": kind, **requester_scope(current_principal())},
    )
    media = XLSX_MEDIA_TYPE if kind == "xlsx" else "text/csv"
    add_input_file(job, (filename or f"usul-sanggah.{kind}")[:200], media, data)
    return job


# --- the reconciliation spreadsheet -----------------------------------------------------------


@dataclass(frozen=True)
class ExportFile:
    body: bytes
    mimetype: str
    filename: str


@action
def export_reconciliation(village: Any, period: str | None, file_format: str) -> ExportFile:
    """The village's reconciliation for its meeting, as XLSX (a sheet per list) or CSV (one
    table with the list named per row); formula-safe; audited as an export."""
    from slrt.tenants.dtsen.reconcile import reconcile, spreadsheet

    result = reconcile(village, period)
    body = spreadsheet(result, file_format)
    record(
        AuditKind.export,
        "dtsen.reconciliation.export",
        "village",
        village.id,
        after={"period": result.period, "format": file_format, "rows": result.size},
    )
    name = f"rekonsiliasi-dtsen-{village.code}-{result.period or 'kosong'}.{file_format}"
    mimetype = "text/csv" if file_format == "csv" else XLSX_MEDIA_TYPE
    return ExportFile(body, mimetype, name)


# --- lawful erasure -----------------------------------------------------------------------------


def forget_person(nik: str) -> None:
    """A person's erasure reaches what DTSEN files and usul/sanggah held about them: the NIK and
    name go, the counts stay."""
    db.session.execute(
        sa.update(DtsenMember).where(DtsenMember.nik == nik).values(nik=None, name=ERASED)
    )
    db.session.execute(
        sa.update(DtsenRecord)
        .where(DtsenRecord.head_nik == nik)
        .values(head_nik=None, head_name=ERASED)
    )
    db.session.execute(
        sa.update(Submission)
        .where(Submission.nik == nik)
        .values(
            nik=None,
            name=ERASED,
            address=None,
            submitter_phone=None,
            latitude=None,
            longitude=None,
        )
    )
