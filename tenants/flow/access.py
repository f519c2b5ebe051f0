"""Access to cases, their attachments, referrals and letters: the current district's rows inside
the caller's region (and, for agency officers, their own agency's referrals), or 404 for anything
else. One helper serves the public: the case a receipt's secret status link opens."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from slrt.auth.policy import current_principal
from slrt.platform import db
from slrt.platform.db import one_or_404, reuse_in_request
from slrt.platform.errors import Msg
from slrt.tenants.flow.models import Case, CaseAttachment, Letter, Referral
from slrt.tenants.flow.receipts import TOKEN_BYTES, hash_status_token

CASE_NOT_FOUND = Msg("Kasus tidak ditemukan.", "Case not found.")
REFERRAL_NOT_FOUND = Msg("Rujukan tidak ditemukan.", "Referral not found.")
ATTACHMENT_NOT_FOUND = Msg("Lampiran tidak ditemukan.", "Attachment not found.")
NO_LETTER_YET = Msg(
    "Surat rujukan belum terbit (rujukan belum dikirim).",
    "No letter yet (the referral has not been sent).",
)


def case_scope(stmt: sa.Select) -> sa.Select:
    return stmt.where(current_principal().region_clause(Case.village_code))


@reuse_in_request
def access_case_by_id(case_id: uuid.UUID, *, lock: bool = False) -> Case:
    return one_or_404(
        case_scope(sa.select(Case).where(Case.id == case_id)), CASE_NOT_FOUND, lock=lock
    )


@reuse_in_request
def access_attachment_by_id(
    attachment_id: uuid.UUID, *, case_id: uuid.UUID | None = None
) -> CaseAttachment:
    """An attachment of a case the caller may see (of that case, when `case_id` is given)."""
    stmt = case_scope(
        sa.select(CaseAttachment)
        .join(
            Case,
            sa.and_(Case.tenant_id == CaseAttachment.tenant_id, Case.id == CaseAttachment.case_id),
        )
        .where(CaseAttachment.id == attachment_id)
    )
    if case_id is not None:
        stmt = stmt.where(CaseAttachment.case_id == case_id)
    return one_or_404(stmt, ATTACHMENT_NOT_FOUND)


def referral_scope_key() -> tuple[Any, ...]:
    """Everything `referral_scope` builds its condition from, for a statement built once per
    caller's scope (`page_joined`'s shape): keep the two together."""
    principal = current_principal()
    return (principal.scope_kind, principal.scope_codes, principal.agency_id, principal.role_key)


def referral_scope(stmt: sa.Select) -> sa.Select:
    """Region scope, and for agency officers only their agency's referrals."""
    principal = current_principal()
    stmt = stmt.where(principal.region_clause(Referral.village_code))
    if principal.agency_id is not None or principal.role_key == "agency_officer":
        # An officer bound to no agency sees nothing rather than everything; a referral reaches
        # the agency when it is sent, not when it is decided.
        stmt = stmt.where(Referral.agency_id == principal.agency_id, Referral.status != "pending")
    return stmt


@reuse_in_request
def access_referral_by_id(referral_id: uuid.UUID, *, lock: bool = False) -> Referral:
    return one_or_404(
        referral_scope(sa.select(Referral).where(Referral.id == referral_id)),
        REFERRAL_NOT_FOUND,
        lock=lock,
    )


def letter_of(referral: Referral, *, lock: bool = False) -> Letter:
    """The letter of a referral the caller may see; 404 until the referral is sent."""
    return one_or_404(
        sa.select(Letter).where(Letter.referral_id == referral.id), NO_LETTER_YET, lock=lock
    )


def case_by_status_token(token: str) -> Case | None:
    """The case whose receipt carries this secret status link, in the current district, or
    None. For the public status page: no sign-in and no region scope, the token is the
    permission (it cannot be guessed, so no attempt limit applies to it)."""
    token = (token or "").strip()
    if not token or len(token) > 2 * TOKEN_BYTES:
        return None
    return db.session.execute(
        sa.select(Case).where(Case.status_token_hash == hash_status_token(token))
    ).scalar_one_or_none()
