"""Invitations: an expiring, single-use link that creates or links an account and gives it a
membership. Only a hash of the token is stored. There is no mail or SMS gateway yet, so the link
is returned to the inviting admin and written to the log."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import uuid

import sqlalchemy as sa

from slrt.auth.accounts.models import Account
from slrt.auth.memberships.access import role_by_key
from slrt.auth.memberships.models import Invitation, Membership, Role, ScopeKind
from slrt.auth.oauth.models import token_hash, utcnow
from slrt.auth.permissions import DEFAULT_ROLES
from slrt.billing_free.plans import Quota
from slrt.billing_free.quotas import check_count
from slrt.platform import db
from slrt.platform.audit.models import AuditKind
from slrt.platform.audit.record import record
from slrt.platform.config import public_url
from slrt.platform.tenancy import current_tenant
from slrt.platform.tenant import Tenant

log = logging.getLogger(__name__)


INVITATION_TTL = dt.timedelta(days=7)


def invitation_link(slug: str, token: str) -> str:
    return f"{public_url()}/auth/invitations/{slug}/{token}"


def create_invitation(
    *,
    role: Role,
    email: str | None,
    phone: str | None,
    name: str | None,
    scope_kind: str,
    scope_codes: list[str],
    agency_id: uuid.UUID | None,
    invited_by: uuid.UUID | None,
    token: str | None = None,
) -> tuple[Invitation, str]:
    """Create an invitation in the current district; returns it with its link (shown once).
    `token` is for the demo only (a token kept in secrets.json, so the link can be reprinted).
    A pending invitation holds a seat of the plan's accounts quota (403 when it is full)."""
    check_count(Quota.ACCOUNTS)
    token = token or secrets.token_urlsafe(32)
    invitation = Invitation(
        token_hash=token_hash(token),
        email=email.strip().lower() if email else None,
        phone=phone.strip() if phone else None,
        name=name,
        role_id=role.id,
        scope_kind=scope_kind,
        scope_codes=list(scope_codes),
        agency_id=agency_id,
        invited_by=invited_by,
        expires_at=utcnow() + INVITATION_TTL,
    )
    db.session.add(invitation)
    db.session.flush()
    record(
        AuditKind.security,
        "invitation.create",
        "invitation",
        invitation.id,
        after={
            "email": invitation.email,
            "phone": invitation.phone,
            "role": role.key,
            "scope_kind": scope_kind,
            "scope_codes": scope_codes,
            "agency_id": agency_id,
        },
    )
    db.session.flush()  # callers may leave the tenant context before committing
    link = invitation_link(current_tenant().slug, token)
    # No mail/SMS gateway yet: the link goes to the inviting admin and to the log.
    log.info("invitation for %s: %s", invitation.email or invitation.phone, link)
    return invitation, link


def accept_invitation(invitation: Invitation, account: Account) -> Membership:
    """Give the account the invited membership and spend the invitation (same transaction).
    Its seat was counted when it was sent; refused only if the plan was lowered since."""
    check_count(Quota.ACCOUNTS, adding=0)
    role = db.session.get(Role, (invitation.tenant_id, invitation.role_id))
    membership = grant_membership(
        account.id,
        role.key,
        scope_kind=invitation.scope_kind,
        scope_codes=invitation.scope_codes,
        agency_id=invitation.agency_id,
    )
    invitation.accepted_at = utcnow()
    invitation.accepted_account_id = account.id
    record(
        AuditKind.security,
        "invitation.accept",
        "invitation",
        invitation.id,
        after={"account_id": account.id, "membership_id": membership.id, "role": role.key},
    )
    return membership


def create_default_roles(tenant: Tenant) -> None:
    """Create the built-in roles of a new district (runs in its tenant context)."""
    existing = set(db.session.execute(sa.select(Role.key)).scalars())
    for key, spec in DEFAULT_ROLES.items():
        if key in existing:
            continue
        db.session.add(
            Role(
                key=key,
                name=spec["name"],
                name_en=spec["name_en"],
                permissions=sorted(str(p) for p in spec["permissions"]),
                builtin=True,
            )
        )


def grant_membership(
    account_id: uuid.UUID,
    role_key: str,
    *,
    scope_kind: ScopeKind = ScopeKind.district,
    scope_codes: list[str] | None = None,
    agency_id: uuid.UUID | None = None,
) -> Membership:
    """Give an account a role in the current district (replacing an earlier membership)."""
    role = role_by_key(role_key)
    if role is None:
        raise ValueError(f"unknown role {role_key!r}")
    membership = db.session.execute(
        sa.select(Membership).where(Membership.account_id == account_id)
    ).scalar_one_or_none()
    if membership is None:
        membership = Membership(account_id=account_id)
        db.session.add(membership)
    membership.role_id = role.id
    membership.scope_kind = str(scope_kind)
    membership.scope_codes = list(scope_codes or [])
    membership.agency_id = agency_id
    membership.status = "active"
    db.session.flush()
    return membership
