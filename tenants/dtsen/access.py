"""Access to DTSEN imports, records, usul/sanggah and their evidence, and the villages whose
reconciliation a member may read: the current district's, inside the caller's region, or 404
(missing, foreign and out-of-region look alike).

An import belongs to the whole district: a member of the whole district sees every one, a member
of some kecamatan or villages only their own uploads. A record without a village (a family a
file listed without one, not found in the registry) is seen by members of the whole district.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from slrt.auth.policy import current_principal
from slrt.platform.db import one_or_404
from slrt.platform.errors import Msg
from slrt.tenants.dtsen.models import DtsenImport, DtsenRecord, Evidence, Submission
from slrt.tenants.regions.access import VILLAGE_NOT_FOUND
from slrt.tenants.regions.models import Village

IMPORT_NOT_FOUND = Msg("Impor DTSEN tidak ditemukan.", "DTSEN import not found.")
RECORD_NOT_FOUND = Msg("Data DTSEN tidak ditemukan.", "DTSEN record not found.")
SUBMISSION_NOT_FOUND = Msg("Usul/sanggah tidak ditemukan.", "Proposal or objection not found.")
EVIDENCE_NOT_FOUND = Msg("Bukti tidak ditemukan.", "Evidence not found.")


def import_scope(stmt: sa.Select) -> sa.Select:
    principal = current_principal()
    if principal.whole_district:
        return stmt
    return stmt.where(DtsenImport.uploaded_by == principal.account_id)


def record_scope(stmt: sa.Select) -> sa.Select:
    return stmt.where(current_principal().region_clause(DtsenRecord.village_code))


def submission_scope(stmt: sa.Select) -> sa.Select:
    return stmt.where(current_principal().region_clause(Submission.village_code))


def access_import_by_id(import_id: uuid.UUID, *, lock: bool = False) -> DtsenImport:
    stmt = import_scope(sa.select(DtsenImport).where(DtsenImport.id == import_id))
    return one_or_404(stmt, IMPORT_NOT_FOUND, lock=lock)


def access_record_by_id(record_id: uuid.UUID) -> DtsenRecord:
    stmt = record_scope(sa.select(DtsenRecord).where(DtsenRecord.id == record_id))
    return one_or_404(stmt, RECORD_NOT_FOUND)


def access_submission_by_id(submission_id: uuid.UUID, *, lock: bool = False) -> Submission:
    stmt = submission_scope(sa.select(Submission).where(Submission.id == submission_id))
    return one_or_404(stmt, SUBMISSION_NOT_FOUND, lock=lock)


def access_evidence_by_id(evidence_id: uuid.UUID) -> Evidence:
    stmt = submission_scope(
        sa.select(Evidence)
        .join(
            Submission,
            sa.and_(
                Submission.tenant_id == Evidence.tenant_id,
                Submission.id == Evidence.submission_id,
            ),
        )
        .where(Evidence.id == evidence_id)
    )
    return one_or_404(stmt, EVIDENCE_NOT_FOUND)


def access_village_in_region(village_id: uuid.UUID) -> Village:
    """A village of the district inside the caller's region (its reconciliation)."""
    stmt = sa.select(Village).where(
        Village.id == village_id, current_principal().region_clause(Village.code)
    )
    return one_or_404(stmt, VILLAGE_NOT_FOUND)
