"""Access to DTKS proposals and their village batches: the current district's, inside the caller's
region, or 404."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from slrt.auth.policy import current_principal
from slrt.platform.db import one_or_404, reuse_in_request
from slrt.platform.errors import Msg
from slrt.tenants.proposals.models import Proposal, ProposalBatch

PROPOSAL_NOT_FOUND = Msg("Usulan tidak ditemukan.", "Proposal not found.")
BATCH_NOT_FOUND = Msg("Berkas usulan tidak ditemukan.", "Proposal batch not found.")


def batch_scope(stmt: sa.Select) -> sa.Select:
    return stmt.where(current_principal().region_clause(ProposalBatch.village_code))


def proposal_scope(stmt: sa.Select) -> sa.Select:
    return stmt.where(current_principal().region_clause(Proposal.village_code))


@reuse_in_request
def access_batch_by_id(batch_id: uuid.UUID, *, lock: bool = False) -> ProposalBatch:
    stmt = batch_scope(sa.select(ProposalBatch).where(ProposalBatch.id == batch_id))
    return one_or_404(stmt, BATCH_NOT_FOUND, lock=lock)


@reuse_in_request
def access_proposal_by_id(proposal_id: uuid.UUID, *, lock: bool = False) -> Proposal:
    stmt = proposal_scope(sa.select(Proposal).where(Proposal.id == proposal_id))
    return one_or_404(stmt, PROPOSAL_NOT_FOUND, lock=lock)
