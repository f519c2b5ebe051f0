"""Invitations: an expiring, single-use link that creates or links an account and gives it a
membership. Only a hash of the token is stored. There is no mail or SMS gateway yet, so the link
is returned to the inviting admin and written to the log."""

from __future__ import annotations

import sqlalchemy as sa
from flask import session

from slrt.auth.memberships.models import Invitation, Role
from slrt.auth.oauth.models import token_hash
from slrt.platform import db
from slrt.platform.tenant import Tenant


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


def role_by_key(key: str) -> Role | None:
    return db.session.execute(sa.select(Role).where(Role.key == key)).scalar_one_or_none()
