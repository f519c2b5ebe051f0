"""Memberships, invitations and roles of a district:
/api/v1/t/<tenant>/memberships, /invitations, /roles.

Region scope applies throughout (see `access`): a caller limited to some kecamatan or desa sees
and manages only memberships and invitations whose whole scope lies inside theirs. Every change
is an action (`actions`), where the rule of who may grant which role and scope lives.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from flask import Response
from marshmallow import fields, validate

from slrt.auth.accounts.models import Account
from slrt.auth.memberships import actions
from slrt.auth.memberships.access import (
    access_invitation_by_id,
    access_membership_by_id,
    access_role_by_id,
    invitations_query,
    memberships_query,
)
from slrt.auth.memberships.models import Invitation, Membership, Role
from slrt.auth.permissions import P
from slrt.auth.policy import current_principal, require
from slrt.auth.region_scope import describe_scope
from slrt.platform import db
from slrt.platform.api import Schema, TenantBlueprint, check_if_match, nullable_as, page_of

blp = TenantBlueprint(
    "memberships",
    __name__,
    "/memberships",
    description="Members of the district: role and region",
    lookups={"membership_id": access_membership_by_id},
)
inv_blp = TenantBlueprint(
    "invitations",
    __name__,
    "/invitations",
    description="Invitations into the district",
    lookups={"invitation_id": access_invitation_by_id},
)
roles_blp = TenantBlueprint(
    "roles",
    __name__,
    "/roles",
    description="Roles (permission sets)",
    lookups={"role_id": access_role_by_id},
)

KEY_RE = r"^[a-z][a-z0-9_]{2,39}$"


# --- schemas ------------------------------------------------------------------------------------


@nullable_as(Membership)
class MembershipSchema(Schema):
    id = fields.UUID(dump_only=True)
    account_id = fields.UUID(dump_only=True)
    name = fields.String(dump_only=True)
    email = fields.String(dump_only=True)
    role = fields.String(dump_only=True)
    role_name = fields.String(dump_only=True)
    scope_kind = fields.String(dump_only=True)
    scope_codes = fields.List(fields.String(), dump_only=True)
    scope_names = fields.List(fields.String(), dump_only=True)
    agency_id = fields.UUID(dump_only=True, allow_none=True)
    status = fields.String(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class MembershipQuerySchema(Schema):
    role = fields.String()
    status = fields.String(validate=validate.OneOf(["active", "revoked"]))
    region = fields.String(metadata={"description": "kecamatan or desa code inside the scope"})


class ScopeFields(Schema):
    role = fields.String(required=True)
    scope_kind = fields.String(
        load_default="district", validate=validate.OneOf(["district", "kecamatan", "village"])
    )
    scope_codes = fields.List(fields.String(), load_default=list)
    agency_id = fields.UUID(load_default=None, allow_none=True)


class MembershipUpdateSchema(Schema):
    role = fields.String()
    scope_kind = fields.String(validate=validate.OneOf(["district", "kecamatan", "village"]))
    scope_codes = fields.List(fields.String())
    agency_id = fields.UUID(allow_none=True)


class InvitationCreateSchema(ScopeFields):
    email = fields.Email(load_default=None, allow_none=True)
    phone = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(r"^\+?[0-9 ]{8,20}$"),
    )
    name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


@nullable_as(Invitation)
class InvitationSchema(Schema):
    id = fields.UUID(dump_only=True)
    email = fields.String(dump_only=True, allow_none=True)
    phone = fields.String(dump_only=True, allow_none=True)
    name = fields.String(dump_only=True, allow_none=True)
    role = fields.String(dump_only=True)
    scope_kind = fields.String(dump_only=True)
    scope_codes = fields.List(fields.String(), dump_only=True)
    agency_id = fields.UUID(dump_only=True, allow_none=True)
    status = fields.String(dump_only=True)
    expires_at = fields.DateTime(dump_only=True)
    link = fields.String(
        dump_only=True,
        metadata={"description": "Shown once, at creation: send it to the person invited."},
    )


class RoleSchema(Schema):
    id = fields.UUID(dump_only=True)
    key = fields.String(required=True, validate=validate.Regexp(KEY_RE))
    name = fields.String(required=True, validate=validate.Length(min=2, max=120))
    name_en = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=120))
    permissions = fields.List(
        fields.String(validate=validate.OneOf([p.value for p in P])), required=True
    )
    builtin = fields.Boolean(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class RoleUpdateSchema(Schema):
    name = fields.String(validate=validate.Length(min=2, max=120))
    name_en = fields.String(allow_none=True, validate=validate.Length(max=120))
    permissions = fields.List(fields.String(validate=validate.OneOf([p.value for p in P])))


# --- memberships --------------------------------------------------------------------------------


def _dump_membership(m: Membership, account: Account, role: Role) -> dict[str, Any]:
    return {
        "id": m.id,
        "account_id": m.account_id,
        "name": account.name,
        "email": account.email,
        "role": role.key,
        "role_name": role.name,
        "scope_kind": m.scope_kind,
        "scope_codes": list(m.scope_codes or []),
        "scope_names": describe_scope(m.scope_kind, m.scope_codes or []),
        "agency_id": m.agency_id,
        "status": m.status,
        "updated_at": m.updated_at,
    }


@blp.route("")
@blp.arguments(MembershipQuerySchema, location="query")
@blp.response(200, MembershipSchema(many=True))
@blp.paginate()
@require(P.MEMBERS_READ)
def list_memberships(query: dict, pagination_parameters) -> list[dict]:
    """Members inside the caller's region, by name; filter by role, status and region code."""
    stmt = memberships_query(current_principal(), query)
    total = db.session.execute(sa.select(sa.func.count()).select_from(stmt.subquery())).scalar()
    pagination_parameters.item_count = total
    rows = db.session.execute(
        stmt.add_columns(Account, Role)
        .offset(pagination_parameters.first_item)
        .limit(pagination_parameters.page_size)
    ).all()
    return [_dump_membership(m, a, r) for m, a, r in rows]


def _membership_view(m: Membership) -> dict[str, Any]:
    account = db.session.get(Account, m.account_id)
    role = db.session.get(Role, (m.tenant_id, m.role_id))
    return _dump_membership(m, account, role)


@blp.route("/<uuid:membership_id>")
@blp.etag
@blp.response(200, MembershipSchema)
@require(P.MEMBERS_READ)
def get_membership(membership_id: uuid.UUID) -> dict:
    """One membership (404 outside the caller's region)."""
    return _membership_view(access_membership_by_id(membership_id))


@blp.route("/<uuid:membership_id>", methods=["PATCH"])
@blp.etag
@blp.arguments(MembershipUpdateSchema)
@blp.response(200, MembershipSchema)
@require(P.MEMBERS_MANAGE)
def update_membership(data: dict, membership_id: uuid.UUID) -> dict:
    """Change role, region scope or agency (If-Match required). Takes effect on the next request."""
    m = access_membership_by_id(membership_id)
    check_if_match(blp, m, MembershipSchema, view=_membership_view)
    return _membership_view(actions.update_membership(current_principal(), m, data))


@blp.route("/<uuid:membership_id>", methods=["DELETE"])
@blp.etag
@blp.response(204)
@require(P.MEMBERS_MANAGE)
def revoke_membership(membership_id: uuid.UUID) -> None:
    """Revoke a membership (If-Match required). The next request of that account is refused and
    its web sessions end (it signs in again for the districts it still belongs to)."""
    m = access_membership_by_id(membership_id)
    check_if_match(blp, m, MembershipSchema, view=_membership_view)
    actions.revoke_membership(current_principal(), m)


# --- invitations --------------------------------------------------------------------------------


def _dump_invitation(inv: Invitation, link: str | None = None) -> dict[str, Any]:
    role = db.session.get(Role, (inv.tenant_id, inv.role_id))
    return {
        "id": inv.id,
        "email": inv.email,
        "phone": inv.phone,
        "name": inv.name,
        "role": role.key,
        "scope_kind": inv.scope_kind,
        "scope_codes": list(inv.scope_codes or []),
        "agency_id": inv.agency_id,
        "status": inv.status,
        "expires_at": inv.expires_at,
        "link": link,
    }


@inv_blp.route("", methods=["POST"])
@inv_blp.arguments(InvitationCreateSchema)
@inv_blp.response(201, InvitationSchema)
@require(P.MEMBERS_MANAGE)
def invite(data: dict) -> dict:
    """Invite someone by email or phone. The response carries the single-use link (valid 7 days);
    no mail/SMS gateway exists yet, so pass it on yourself (it is also written to the log)."""
    invitation, link = actions.invite_member(
        current_principal(),
        role_key=data["role"],
        email=data.get("email"),
        phone=data.get("phone"),
        name=data.get("name"),
        scope_kind=data["scope_kind"],
        scope_codes=data["scope_codes"],
        agency_id=data["agency_id"],
    )
    return _dump_invitation(invitation, link)


@inv_blp.route("")
@inv_blp.response(200, InvitationSchema(many=True))
@inv_blp.paginate()
@require(P.MEMBERS_MANAGE)
def list_invitations(pagination_parameters) -> list[dict]:
    """Invitations inside the caller's region, newest first (links are never shown again)."""
    stmt = invitations_query(current_principal())
    rows = page_of(stmt, pagination_parameters, Invitation.created_at.desc(), Invitation.id.desc())
    return [_dump_invitation(i) for i in rows]


@inv_blp.route("/<uuid:invitation_id>", methods=["DELETE"])
@inv_blp.response(204)
@require(P.MEMBERS_MANAGE)
def revoke_invitation(invitation_id: uuid.UUID) -> None:
    """Revoke a pending invitation; its link stops working."""
    actions.revoke_invitation(access_invitation_by_id(invitation_id))


# --- roles --------------------------------------------------------------------------------------


@roles_blp.route("")
@roles_blp.response(200, RoleSchema(many=True))
@require(P.MEMBERS_READ)
def list_roles() -> list[Role]:
    """Built-in and custom roles of the district."""
    return list(
        db.session.execute(sa.select(Role).order_by(Role.builtin.desc(), Role.key)).scalars()
    )


@roles_blp.route("/<uuid:role_id>")
@roles_blp.etag
@roles_blp.response(200, RoleSchema)
@require(P.MEMBERS_READ)
def get_role(role_id: uuid.UUID) -> Role:
    """One role."""
    return access_role_by_id(role_id)


@roles_blp.route("", methods=["POST"])
@roles_blp.arguments(RoleSchema)
@roles_blp.response(201, RoleSchema)
@require(P.ROLES_MANAGE)
def create_role(data: dict) -> Role:
    """Define a custom role from the permission list."""
    return actions.create_role(
        key=data["key"],
        name=data["name"],
        name_en=data.get("name_en"),
        permissions=data["permissions"],
    )


@roles_blp.route("/<uuid:role_id>", methods=["PATCH"])
@roles_blp.etag
@roles_blp.arguments(RoleUpdateSchema)
@roles_blp.response(200, RoleSchema)
@require(P.ROLES_MANAGE)
def update_role(data: dict, role_id: uuid.UUID) -> Role:
    """Rename a custom role or change its permissions (If-Match required); built-ins are fixed."""
    role = access_role_by_id(role_id)
    check_if_match(roles_blp, role, RoleSchema)
    return actions.update_role(role, data)


@roles_blp.route("/<uuid:role_id>", methods=["DELETE"])
@roles_blp.etag
@roles_blp.response(204)
@require(P.ROLES_MANAGE)
def delete_role(role_id: uuid.UUID) -> Response | None:
    """Delete a custom role that nobody holds (If-Match required); built-ins cannot be deleted."""
    role = access_role_by_id(role_id)
    check_if_match(roles_blp, role, RoleSchema)
    actions.delete_role(role)
    return None
