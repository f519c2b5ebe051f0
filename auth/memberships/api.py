"""Memberships, invitations and roles of a district:
/api/v1/t/<tenant>/memberships, /invitations, /roles.

Region scope applies throughout: a caller limited to some kecamatan or desa sees and manages only
memberships whose whole scope lies inside theirs. A caller cannot grant a role with permissions
they do not hold themselves (Kemensos admins, who onboard districts, excepted). Every change is
audited in the same transaction.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from flask import Response
from marshmallow import fields, validate

from slrt.auth.accounts.models import Account
from slrt.auth.memberships.actions import create_invitation
from slrt.auth.memberships.models import Invitation, Membership, Role
from slrt.auth.oauth.models import utcnow
from slrt.auth.permissions import P
from slrt.auth.policy import Principal, current_principal, require
from slrt.auth.region_scope import codes_within_scope, covers_all, describe_scope, scope_errors
from slrt.auth.signin.sessions import end_sessions
from slrt.platform import db
from slrt.platform.api import Schema, TenantBlueprint, check_if_match, nullable_as, page_of
from slrt.platform.audit.models import AuditKind
from slrt.platform.audit.record import changes, create_and_audit, record
from slrt.platform.errors import Msg, Problem, field_error, field_problem
from slrt.platform.tenancy import current_tenant
from slrt.tenants.agencies.access import resolve_agency_id

blp = TenantBlueprint(
    "memberships", __name__, "/memberships", description="Members of the district: role and region"
)
inv_blp = TenantBlueprint(
    "invitations", __name__, "/invitations", description="Invitations into the district"
)
roles_blp = TenantBlueprint("roles", __name__, "/roles", description="Roles (permission sets)")

AGENCY_ROLE = "agency_officer"
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


# --- access helpers -----------------------------------------------------------------------------


def memberships_query(principal: Principal, query: dict[str, Any]) -> sa.Select:
    """Memberships visible to the caller (region scope applied), with account and role joined."""
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


NOT_FOUND = Msg("Keanggotaan tidak ditemukan.", "Membership not found.")


def access_membership_by_id(principal: Principal, membership_id: uuid.UUID) -> Membership:
    """A membership of this district inside the caller's region; otherwise 404."""
    m = db.session.execute(
        sa.select(Membership).where(Membership.id == membership_id)
    ).scalar_one_or_none()
    if m is None or not covers_all(principal, m.scope_kind, list(m.scope_codes or [])):
        raise Problem(404, NOT_FOUND)
    return m


def _role_by_key(key: str, field: str = "role") -> Role:
    role = db.session.execute(sa.select(Role).where(Role.key == key)).scalar_one_or_none()
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


def _is_platform_admin(principal: Principal) -> bool:
    return any(r == "kemensos_admin" for r, _ in principal.platform_roles)


def _check_grant(principal: Principal, role: Role, scope_kind: str, codes: list[str], agency_id):
    """Validate a role + scope the caller wants to give (422 with field errors, 403 for rights)."""
    errors = scope_errors(current_tenant().code, scope_kind, codes)
    if role.key == AGENCY_ROLE and agency_id is None:
        errors.append(
            field_error(
                "agency_id",
                Msg(
                    "Petugas OPD harus terikat pada satu OPD (agency_id).",
                    "An agency officer must be bound to one agency (agency_id).",
                ),
            )
        )
    elif role.key != AGENCY_ROLE and agency_id is not None:
        errors.append(
            field_error(
                "agency_id",
                Msg(
                    "Hanya petugas OPD yang terikat pada OPD.",
                    "Only agency officers are bound to an agency.",
                ),
            )
        )
    elif agency_id is not None:
        try:
            resolve_agency_id(agency_id)
        except Problem as exc:
            errors += exc.errors or []
    if errors:
        raise Problem(422, errors=errors)
    if not covers_all(principal, scope_kind, codes):
        raise Problem(
            403,
            Msg(
                "Cakupan wilayah ini di luar wilayah kerja Anda.",
                "This region scope lies outside your own.",
            ),
        )
    missing = set(role.permissions) - set(principal.permissions)
    if missing and not _is_platform_admin(principal):
        raise Problem(
            403,
            Msg(
                "Anda tidak dapat memberi peran dengan izin yang tidak Anda miliki: "
                + ", ".join(sorted(missing)),
                "You cannot grant a role with permissions you do not hold: "
                + ", ".join(sorted(missing)),
            ),
        )


# --- memberships --------------------------------------------------------------------------------


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
    return _membership_view(access_membership_by_id(current_principal(), membership_id))


@blp.route("/<uuid:membership_id>", methods=["PATCH"])
@blp.etag
@blp.arguments(MembershipUpdateSchema)
@blp.response(200, MembershipSchema)
@require(P.MEMBERS_MANAGE)
def update_membership(data: dict, membership_id: uuid.UUID) -> dict:
    """Change role, region scope or agency (If-Match required). Takes effect on the next request."""
    principal = current_principal()
    m = access_membership_by_id(principal, membership_id)
    check_if_match(blp, m, MembershipSchema, view=_membership_view)
    before_view = _membership_view(m)
    role = (
        _role_by_key(data["role"])
        if "role" in data
        else db.session.get(Role, (m.tenant_id, m.role_id))
    )
    kind = data.get("scope_kind", m.scope_kind)
    codes = data.get("scope_codes", list(m.scope_codes or []) if "scope_kind" not in data else [])
    agency_id = data.get("agency_id", m.agency_id)
    _check_grant(principal, role, kind, codes, agency_id)
    before = {
        "role": before_view["role"],
        "scope_kind": m.scope_kind,
        "scope_codes": list(m.scope_codes),
        "agency_id": m.agency_id,
    }
    m.role_id, m.scope_kind, m.scope_codes, m.agency_id = role.id, kind, codes, agency_id
    after = {"role": role.key, "scope_kind": kind, "scope_codes": codes, "agency_id": agency_id}
    b, a = changes(before, after)
    record(AuditKind.security, "membership.update", "membership", m.id, before=b, after=a)
    db.session.commit()
    return _membership_view(m)


@blp.route("/<uuid:membership_id>", methods=["DELETE"])
@blp.etag
@blp.response(204)
@require(P.MEMBERS_MANAGE)
def revoke_membership(membership_id: uuid.UUID) -> None:
    """Revoke a membership (If-Match required). The next request of that account is refused and
    its web sessions end (it signs in again for the districts it still belongs to)."""
    principal = current_principal()
    m = access_membership_by_id(principal, membership_id)
    check_if_match(blp, m, MembershipSchema, view=_membership_view)
    if m.account_id == principal.account_id:
        raise Problem(
            409,
            Msg("Anda tidak dapat mencabut keanggotaan sendiri.", "You cannot revoke yourself."),
        )
    m.status = "revoked"
    record(
        AuditKind.security,
        "membership.revoke",
        "membership",
        m.id,
        before={"status": "active"},
        after={"status": "revoked"},
    )
    db.session.commit()
    end_sessions(m.account_id)  # signed out of the web UI everywhere; signs in again elsewhere


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
    if not data.get("email") and not data.get("phone"):
        raise field_problem(
            422, "email", Msg("Isi email atau nomor telepon.", "Give an email or a phone number.")
        )
    principal = current_principal()
    role = _role_by_key(data["role"])
    _check_grant(principal, role, data["scope_kind"], data["scope_codes"], data["agency_id"])
    if data.get("email"):
        member = db.session.execute(
            sa.select(Membership.id)
            .join(Account, Account.id == Membership.account_id)
            .where(Account.email == data["email"].lower(), Membership.status == "active")
        ).first()
        if member:
            raise Problem(
                409,
                Msg(
                    "Orang ini sudah menjadi anggota; ubah keanggotaannya saja.",
                    "This person is already a member; update the membership instead.",
                ),
            )
    invitation, link = create_invitation(
        role=role,
        email=data.get("email"),
        phone=data.get("phone"),
        name=data.get("name"),
        scope_kind=data["scope_kind"],
        scope_codes=data["scope_codes"],
        agency_id=data["agency_id"],
        invited_by=principal.account_id,
    )
    db.session.commit()
    return _dump_invitation(invitation, link)


@inv_blp.route("")
@inv_blp.response(200, InvitationSchema(many=True))
@inv_blp.paginate()
@require(P.MEMBERS_MANAGE)
def list_invitations(pagination_parameters) -> list[dict]:
    """Invitations inside the caller's region, newest first (links are never shown again)."""
    stmt = sa.select(Invitation).where(
        codes_within_scope(current_principal(), Invitation.scope_kind, Invitation.scope_codes)
    )
    rows = page_of(stmt, pagination_parameters, Invitation.created_at.desc(), Invitation.id.desc())
    return [_dump_invitation(i) for i in rows]


@inv_blp.route("/<uuid:invitation_id>", methods=["DELETE"])
@inv_blp.response(204)
@require(P.MEMBERS_MANAGE)
def revoke_invitation(invitation_id: uuid.UUID) -> None:
    """Revoke a pending invitation; its link stops working."""
    inv = db.session.execute(
        sa.select(Invitation).where(Invitation.id == invitation_id)
    ).scalar_one_or_none()
    if inv is None or not covers_all(current_principal(), inv.scope_kind, list(inv.scope_codes)):
        raise Problem(404, Msg("Undangan tidak ditemukan.", "Invitation not found."))
    if inv.status == "pending":
        inv.revoked_at = utcnow()
        record(AuditKind.security, "invitation.revoke", "invitation", inv.id)
        db.session.commit()


# --- roles --------------------------------------------------------------------------------------


@roles_blp.route("")
@roles_blp.response(200, RoleSchema(many=True))
@require(P.MEMBERS_READ)
def list_roles() -> list[Role]:
    """Built-in and custom roles of the district."""
    return list(
        db.session.execute(sa.select(Role).order_by(Role.builtin.desc(), Role.key)).scalars()
    )


def access_role_by_id(role_id: uuid.UUID) -> Role:
    role = db.session.execute(sa.select(Role).where(Role.id == role_id)).scalar_one_or_none()
    if role is None:
        raise Problem(404, Msg("Peran tidak ditemukan.", "Role not found."))
    return role


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
    if db.session.execute(sa.select(Role.id).where(Role.key == data["key"])).first():
        raise field_problem(
            409,
            "key",
            Msg(
                f"Kunci peran '{data['key']}' sudah dipakai.",
                f"The role key '{data['key']}' is taken.",
            ),
        )
    role = Role(
        key=data["key"],
        name=data["name"],
        name_en=data.get("name_en"),
        permissions=sorted(set(data["permissions"])),
        builtin=False,
    )
    create_and_audit(role, ("key", "name", "permissions"), "role.create")
    db.session.commit()
    return role


@roles_blp.route("/<uuid:role_id>", methods=["PATCH"])
@roles_blp.etag
@roles_blp.arguments(RoleUpdateSchema)
@roles_blp.response(200, RoleSchema)
@require(P.ROLES_MANAGE)
def update_role(data: dict, role_id: uuid.UUID) -> Role:
    """Rename a custom role or change its permissions (If-Match required); built-ins are fixed."""
    role = access_role_by_id(role_id)
    check_if_match(roles_blp, role, RoleSchema)
    if role.builtin:
        raise Problem(
            409,
            Msg(
                "Peran bawaan tidak dapat diubah; buat peran baru.",
                "Built-in roles cannot be changed; create a new role.",
            ),
        )
    before = {"name": role.name, "name_en": role.name_en, "permissions": list(role.permissions)}
    if "permissions" in data:
        data["permissions"] = sorted(set(data["permissions"]))
    for key, value in data.items():
        setattr(role, key, value)
    b, a = changes(before, {k: getattr(role, k) for k in before})
    record(AuditKind.config, "role.update", "role", role.id, before=b, after=a)
    db.session.commit()
    return role


@roles_blp.route("/<uuid:role_id>", methods=["DELETE"])
@roles_blp.etag
@roles_blp.response(204)
@require(P.ROLES_MANAGE)
def delete_role(role_id: uuid.UUID) -> Response | None:
    """Delete a custom role that nobody holds (If-Match required); built-ins cannot be deleted."""
    role = access_role_by_id(role_id)
    check_if_match(roles_blp, role, RoleSchema)
    if role.builtin:
        raise Problem(
            409, Msg("Peran bawaan tidak dapat dihapus.", "Built-in roles cannot be deleted.")
        )
    in_use = (
        db.session.execute(
            sa.select(sa.func.count()).select_from(Membership).where(Membership.role_id == role.id)
        ).scalar()
        + db.session.execute(
            sa.select(sa.func.count())
            .select_from(Invitation)
            .where(Invitation.role_id == role.id, Invitation.accepted_at.is_(None))
        ).scalar()
    )
    if in_use:
        raise Problem(
            409,
            Msg(
                "Peran ini masih dipakai; pindahkan anggotanya dulu.",
                "This role is still in use; move its members first.",
            ),
        )
    record(
        AuditKind.config,
        "role.delete",
        "role",
        role.id,
        before={"key": role.key, "permissions": list(role.permissions)},
    )
    db.session.delete(role)
    db.session.commit()
    return None
