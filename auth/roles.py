"""Built-in roles per district, and helpers to grant memberships."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from slrt.auth.models import Membership, Role, ScopeKind
from slrt.auth.permissions import DEFAULT_ROLES
from slrt.platform import db
from slrt.platform.tenant import Tenant


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


def role_by_key(key: str) -> Role | None:
    return db.session.execute(sa.select(Role).where(Role.key == key)).scalar_one_or_none()


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
