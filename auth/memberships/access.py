"""Access to memberships, invitations and roles of the current district.

Region scope applies throughout: a caller limited to some kecamatan or desa sees only memberships
and invitations whose whole scope lies inside theirs; anything else (another district's id, one
outside the region, a missing one) answers 404 alike. Also the pending invitation behind a link.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from flask import session

from slrt.auth.accounts.models import Account
from slrt.auth.memberships.models import Invitation, Membership, Role
from slrt.auth.oauth.models import token_hash
from slrt.auth.policy import Principal, current_principal
from slrt.auth.region_scope import codes_within_scope
from slrt.platform import db
from slrt.platform.db import one_or_404, reuse_in_request
from slrt.platform.errors import Msg, field_problem
from slrt.platform.tenant import Tenant

MEMBERSHIP_NOT_FOUND = Msg("Keanggotaan tidak ditemukan.", "Membership not found.")
INVITATION_NOT_FOUND = Msg("Undangan tidak ditemukan.", "Invitation not found.")
ROLE_NOT_FOUND = Msg("Peran tidak ditemukan.", "Role not found.")


def memberships_query(principal: Principal, query: dict[str, Any]) -> sa.Select:
    """Memberships visible to the caller (region scope applied), with account and role joined;
    `query` filters by role key, status and region code."""
    stmt = (
        sa.select(Membership)
        .join(Account, Account.id == Membership.account_id)
        .join(Role, sa.and_(Role.tenant_id == Membership.tenant_id, Role.id == Membership.role_id))
        .where(codes_within_scope(principal, Membership.scope_kind, Membership.scope_codes))
    )
    if query.get("role"):
        stmt = stmt.where(Role.key == query["role"])
    if query.get("status"):
        stmt = stmt.where(Membership.status == query["status"])
    if query.get("region"):
        # Members working in this kecamatan or desa (or in a desa of this kecamatan).
        code = query["region"]
        codes = (
            sa.func.unnest(Membership.scope_codes).table_valued("code").render_derived(name="rc")
        )
        stmt = stmt.where(
            sa.exists(
                sa.select(sa.literal(1))
                .select_from(codes)
                .where(sa.or_(codes.c.code == code, codes.c.code.startswith(code + ".")))
            )
        )
    return stmt.order_by(Account.name, Membership.id)


def invitations_query(principal: Principal) -> sa.Select:
    """Invitations whose scope lies inside the caller's region."""
    return sa.select(Invitation).where(
        codes_within_scope(principal, Invitation.scope_kind, Invitation.scope_codes)
    )


@reuse_in_request
def access_membership_by_id(membership_id: uuid.UUID) -> Membership:
    """A membership of this district inside the caller's region; otherwise 404."""
    stmt = sa.select(Membership).where(
        Membership.id == membership_id,
        codes_within_scope(current_principal(), Membership.scope_kind, Membership.scope_codes),
    )
    return one_or_404(stmt, MEMBERSHIP_NOT_FOUND)


@reuse_in_request
def access_invitation_by_id(invitation_id: uuid.UUID) -> Invitation:
    """An invitation of this district inside the caller's region; otherwise 404."""
    stmt = invitations_query(current_principal()).where(Invitation.id == invitation_id)
    return one_or_404(stmt, INVITATION_NOT_FOUND)


@reuse_in_request
def access_role_by_id(role_id: uuid.UUID) -> Role:
    """A role of this district (roles carry no region); otherwise 404."""
    return one_or_404(sa.select(Role).where(Role.id == role_id), ROLE_NOT_FOUND)


def role_by_key(key: str) -> Role | None:
    return db.session.execute(sa.select(Role).where(Role.key == key)).scalar_one_or_none()


def resolve_role_key(key: str, *, field: str = "role") -> Role:
    """For request bodies: the district's role with this key, or 422 naming the field."""
    role = role_by_key(key)
    if role is None:
        raise field_problem(
            422,
            field,
            Msg(
                f"Peran '{key}' tidak ada di kabupaten/kota ini.",
                f"There is no role '{key}' in this district.",
            ),
        )
    return role


def pending_invitation(token: str) -> Invitation | None:
    """The pending invitation with this token in the current district (locked for update)."""
    invitation = db.session.execute(
        sa.select(Invitation).where(Invitation.token_hash == token_hash(token)).with_for_update()
    ).scalar_one_or_none()
    if invitation is None or invitation.status != "pending":
        return None
    return invitation


def session_invitation() -> tuple[Tenant, str] | None:
    """The invitation a browser is accepting through an outside provider (set by federation)."""
    ref = session.get("fed_invitation")
    if not ref or "/" not in ref:
        return None
    slug, token = ref.split("/", 1)
    tenant = db.session.execute(sa.select(Tenant).where(Tenant.slug == slug)).scalar_one_or_none()
    return (tenant, token) if tenant is not None else None
