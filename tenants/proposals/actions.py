"""The write layer of DTKS proposals (usulan): proposing a person, collecting a village's proposals
into a batch for its meeting, the meeting's minutes, the district's verification, the export for
SIKS-NG and the result recorded back per person.

Each `@action` is one transaction. Proposals and batches move through the "proposal" and "batch"
machines of `flow.workflow` (the one transition table of the district's work), so a move their
state does not allow answers 409 naming the state and the allowed actions, as for cases.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from slrt.billing_free.plans import Quota
from slrt.billing_free.quotas import check_count
from slrt.platform import db, region_codes
from slrt.platform.audit.models import AuditKind
from slrt.platform.audit.record import record
from slrt.platform.errors import Msg, Problem, field_problem
from slrt.platform.filestore import DOCUMENTS, check_upload, new_key, store
from slrt.platform.i18n import local_today
from slrt.platform.tabular.write import XLSX_MEDIA_TYPE, CsvWriter, XlsxWriter
from slrt.platform.tenancy import current_tenant
from slrt.platform.transaction import action, after_commit
from slrt.tenants.dtsen.actions import record_proposal_result
from slrt.tenants.flow import workflow
from slrt.tenants.proposals.models import Proposal, ProposalBatch
from slrt.tenants.regions.access import check_village
from slrt.tenants.registry.models import DtksStatus, Household, Person

# Proposals still waiting for their result: a person has at most one.
OPEN = ("proposed", "in_batch")

EXPORT_COLUMNS = (
    "NIK",
    "NO_KK",
    "NAMA",
    "JENIS_KELAMIN",
    "TEMPAT_LAHIR",
    "TANGGAL_LAHIR",
    "HUBUNGAN_KELUARGA",
    "ALAMAT",
    "KODE_WILAYAH",
    "DESA_KELURAHAN",
    "KECAMATAN",
    "ALASAN_USULAN",
)


@dataclass(frozen=True)
class ExportFile:
    body: bytes
    mimetype: str
    filename: str


def batch_size(batch: ProposalBatch) -> ProposalBatch:
    """Attach the batch's number of proposals (shown with it)."""
    batch.proposal_count = db.session.execute(
        sa.select(sa.func.count()).where(Proposal.batch_id == batch.id)
    ).scalar()
    return batch


@action
def propose(person: Person, reason: str | None) -> Proposal:
    """Propose a person who is not in DTSEN (one open proposal per person)."""
    if person.erased_at is not None or not person.nik:
        raise Problem(409, Msg("Data orang ini sudah dihapus.", "This person's data was erased."))
    if person.household_id:
        household = db.session.get(Household, (person.tenant_id, person.household_id))
        if household.dtks_status == DtksStatus.in_dtks:
            raise Problem(
                409,
                Msg(
                    "Keluarga orang ini sudah terdaftar di DTSEN.",
                    "This person's household is already in DTSEN.",
                ),
            )
    open_one = db.session.execute(
        sa.select(Proposal.id).where(Proposal.person_id == person.id, Proposal.status.in_(OPEN))
    ).scalar_one_or_none()
    if open_one is not None:
        raise Problem(
            409,
            Msg("Orang ini sudah diusulkan.", "This person is already proposed."),
            existing_proposal_id=str(open_one),
        )
    proposal = Proposal(
        person_id=person.id, village_code=person.village_code, reason=reason, status="proposed"
    )
    db.session.add(proposal)
    db.session.flush()
    record(AuditKind.workflow, "proposal.create", "dtks_proposal", proposal.id)
    return proposal


def meeting_kind_for(village_code: str) -> str:
    """The village meeting that reads a village's proposals: a muskel (musyawarah kelurahan)
    for a kelurahan, a musdes (musyawarah desa) for a desa or desa adat."""
    return "muskel" if region_codes.village_kind(village_code) == "kelurahan" else "musdes"


@action
def create_batch(
    village_code: str, meeting_kind: str, meeting_date: dt.date | None = None
) -> ProposalBatch:
    """Collect the village's new proposals into a batch for its meeting: a musdes for a desa, a
    muskel for a kelurahan."""
    code = check_village(village_code)
    kind = region_codes.village_kind(code)
    expected = meeting_kind_for(code)
    if meeting_kind != expected:
        raise field_problem(
            422,
            "meeting_kind",
            Msg(f"Untuk {kind} rapatnya {expected}.", f"A {kind} holds a {expected}."),
        )
    proposals = list(
        db.session.execute(
            sa.select(Proposal)
            .where(Proposal.village_code == code, Proposal.status == "proposed")
            .with_for_update()
        ).scalars()
    )
    if not proposals:
        raise Problem(
            409,
            Msg(
                "Tidak ada usulan baru di desa/kelurahan ini.",
                "There are no new proposals in this village.",
            ),
        )
    batch = ProposalBatch(
        village_code=code, meeting_kind=meeting_kind, meeting_date=meeting_date, status="open"
    )
    db.session.add(batch)
    db.session.flush()
    for proposal in proposals:
        proposal.batch_id = batch.id
        workflow.apply("proposal", proposal, "batch", details={"batch_id": str(batch.id)})
    record(
        AuditKind.workflow,
        "proposal_batch.create",
        "dtks_proposal_batch",
        batch.id,
        after={"proposals": len(proposals)},
    )
    return batch_size(batch)


@action
def upload_minutes(batch: ProposalBatch, filename: str | None, data: bytes) -> ProposalBatch:
    """The meeting's minutes (berita acara; PDF or image, checked by content): the batch is
    'held'. Minutes uploaded again replace the earlier file."""
    workflow.step_for("batch", batch.status, "minutes")
    checked = check_upload(data, DOCUMENTS)
    check_count(Quota.STORAGE, adding=checked.size)  # the plan's storage (403 when full)
    key = new_key(current_tenant().id, "minutes", checked.extension)
    old_key = batch.minutes_key
    batch.minutes_key = key
    batch.minutes_filename = (filename or f"berita-acara.{checked.extension}")[-255:]
    batch.minutes_content_type = checked.content_type
    workflow.apply("batch", batch, "minutes")
    db.session.flush()
    # Stored last: if storing fails the transaction rolls back and no row points nowhere; the
    # replaced file goes only once the new one is committed.
    store().put(key, checked.data, checked.content_type)
    if old_key:
        after_commit(lambda: store().delete(old_key))
    return batch_size(batch)


@action
def verify_batch(batch: ProposalBatch) -> ProposalBatch:
    """The district's verification of a batch whose meeting was held."""
    workflow.apply("batch", batch, "verify")
    batch.verified_at = dt.datetime.now(dt.UTC)
    return batch_size(batch)


def batch_rows(batch: ProposalBatch, *order_by: Any) -> list[Any]:
    """(proposal, person, household or None) for each proposal of the batch."""
    return list(
        db.session.execute(
            sa.select(Proposal, Person, Household)
            .join(
                Person,
                sa.and_(Person.tenant_id == Proposal.tenant_id, Person.id == Proposal.person_id),
            )
            .outerjoin(
                Household,
                sa.and_(
                    Household.tenant_id == Person.tenant_id, Household.id == Person.household_id
                ),
            )
            .where(Proposal.batch_id == batch.id)
            .order_by(*order_by, Proposal.id)
        ).all()
    )


def _export_rows(batch: ProposalBatch) -> list[list[object]]:
    rows = batch_rows(batch, Person.nik)
    return [
        [
            person.nik,
            household.kk_number if household else "",
            person.name,
            person.sex,
            person.birth_place or "",
            person.birth_date.isoformat() if person.birth_date else "",
            person.relation or "",
            household.address if household and household.address else "",
            person.village_code,
            region_codes.name_of(person.village_code) or "",
            region_codes.name_of(person.village_code[:8]) or "",
            proposal.reason or "",
        ]
        for proposal, person, household in rows
    ]


def _spreadsheet(rows: list[list[object]], file_format: str) -> bytes:
    """The rows as CSV or XLSX, through the platform's formula-safe writers."""
    with tempfile.TemporaryDirectory(prefix="slrt-usulan-") as tmp:
        path = Path(tmp) / f"usulan.{file_format}"
        if file_format == "csv":
            writer: CsvWriter | XlsxWriter = CsvWriter(path, EXPORT_COLUMNS)
        else:
            writer = XlsxWriter(path, EXPORT_COLUMNS, "usulan")
        for row in rows:
            writer.write(row)
        writer.close()
        return path.read_bytes()


@action
def export_batch(batch: ProposalBatch, file_format: str) -> ExportFile:
    """A verified batch as CSV or XLSX for SIKS-NG; the first export marks it exported, each one
    is audited as an export."""
    workflow.step_for("batch", batch.status, "export")
    rows = _export_rows(batch)
    body = _spreadsheet(rows, file_format)
    if batch.status == "verified":
        batch.exported_at = dt.datetime.now(dt.UTC)
    workflow.apply(
        "batch",
        batch,
        "export",
        audit_kind=AuditKind.export,
        details={"format": file_format, "rows": len(rows)},
    )
    name = f"usulan-dtks-{batch.village_code}-{batch.id.hex[:8]}.{file_format}"
    mimetype = "text/csv" if file_format == "csv" else XLSX_MEDIA_TYPE
    return ExportFile(body, mimetype, name)


@action
def record_result(
    proposal: Proposal, accepted: bool, desil: int | None, decided_on: dt.date | None
) -> Proposal:
    """The SIKS-NG result for one person of an exported batch; the household's DTSEN status
    follows it."""
    move = "accept" if accepted else "reject"
    workflow.step_for("proposal", proposal.status, move)
    batch = db.session.get(ProposalBatch, (proposal.tenant_id, proposal.batch_id))
    workflow.step_for("batch", batch.status, "result")
    if desil is not None and not accepted:
        raise field_problem(
            422,
            "desil",
            Msg("Desil hanya diisi bila usulan diterima.", "A desil is only given when accepted."),
        )
    decided_on = decided_on or local_today()
    proposal.result_desil = desil
    proposal.result_on = decided_on
    person = db.session.get(Person, (proposal.tenant_id, proposal.person_id))
    household = None
    if person.household_id:
        household = db.session.get(Household, (person.tenant_id, person.household_id))
        household.dtks_status = DtksStatus.in_dtks if accepted else DtksStatus.not_in_dtks
        household.desil = desil if accepted else None
        household.dtks_checked_on = decided_on
    workflow.apply("proposal", proposal, move, details={"desil": desil})
    # The family's DTSEN history keeps the answer, and the usul it came from ends with it.
    record_proposal_result(proposal, household, accepted, desil, decided_on)
    return proposal
