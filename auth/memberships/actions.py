"""The write layer of memberships, invitations and roles, shared by the district API, the
invitation page, federation and `slrt accounts invite`.

Who may grant what is decided once, in `check_grant`: the scope must fit the district, an agency
officer is bound to one active agency (and nobody else to any), the scope lies inside the
granter's own region, and the role holds no permission the granter lacks (Kemensos admins, who
onboard districts, excepted). Every change is audited in the same transaction.

Invitations are expiring, single-use links that create or link an account and give it a
membership. Only a hash of the token is stored. There is no mail or SMS gateway yet, so the link
is returned to the inviting admin and written to the log.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import uuid
from typing import Any

import sqlalchemy as sa

from slrt.auth.accounts.access import account_by_email
from slrt.auth.accounts.actions import add_account, link_external_identity, record_sign_in
from slrt.auth.accounts.models import Account
from slrt.auth.accounts.passwords import new_password_errors
from slrt.auth.memberships.access import pending_invitation, resolve_role_key, role_by_key
from slrt.auth.memberships.models import Invitation, Membership, Role, ScopeKind
from slrt.auth.oauth.models import token_hash, utcnow
from slrt.auth.permissions import DEFAULT_ROLES
from slrt.auth.policy import Principal
from slrt.auth.region_scope import covers_all, scope_errors
from slrt.auth.signin.sessions import end_sessions
from slrt.billing_free.plans import Quota
from slrt.billing_free.quotas import check_count
from slrt.platform import db
from slrt.platform.audit.models import AuditKind
from slrt.platform.audit.record import changes, create_and_audit, record
from slrt.platform.config import public_url
from slrt.platform.errors import Msg, Problem, field_error, field_problem
from slrt.platform.tenancy import current_tenant, tenant_context
from slrt.platform.tenant import Tenant
from slrt.platform.transaction import action, after_commit
from slrt.tenants.agencies.access import resolve_agency_id

log = logging.getLogger(__name__)


INVITATION_TTL = dt.timedelta(days=7)
AGENCY_ROLE = "agency_officer"


# --- who may grant what ---------------------------------------------------------------------------


def _is_platform_admin(principal: Principal) -> bool:
    return any(r == "kemensos_admin" for r, _ in principal.platform_roles)


def check_grant(
    principal: Principal,
    role: Role,
    scope_kind: str,
    codes: list[str],
    agency_id: uuid.UUID | None,
) -> None:
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


# --- memberships ----------------------------------------------------------------------------------


def grant_membership(
    account_id: uuid.UUID,
    role_key: str,
    *,
    scope_kind: ScopeKind = ScopeKind.district,
    scope_codes: list[str] | None = None,
    agency_id: uuid.UUID | None = None,
) -> Membership:
    """Give an account a role in the current district (replacing an earlier membership), in the
    caller's transaction; the caller has checked the grant (or is seeding a district)."""
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


@action
def update_membership(
    principal: Principal, membership: Membership, data: dict[str, Any]
) -> Membership:
    """Change role, region scope or agency (`data` holds what changes; a new scope kind without
    codes means no codes). Takes effect on the member's next request."""
    current_role = db.session.get(Role, (membership.tenant_id, membership.role_id))
    role = resolve_role_key(data["role"]) if "role" in data else current_role
    kind = data.get("scope_kind", membership.scope_kind)
    default_codes = list(membership.scope_codes or []) if "scope_kind" not in data else []
    codes = data.get("scope_codes", default_codes)
    agency_id = data.get("agency_id", membership.agency_id)
    check_grant(principal, role, kind, codes, agency_id)
    before = {
        "role": current_role.key,
        "scope_kind": membership.scope_kind,
        "scope_codes": list(membership.scope_codes),
        "agency_id": membership.agency_id,
    }
    membership.role_id, membership.scope_kind = role.id, kind
    membership.scope_codes, membership.agency_id = codes, agency_id
    after = {"role": role.key, "scope_kind": kind, "scope_codes": codes, "agency_id": agency_id}
    b, a = changes(before, after)
    record(AuditKind.security, "membership.update", "membership", membership.id, before=b, after=a)
    return membership


@action
def revoke_membership(principal: Principal, membership: Membership) -> None:
    """Revoke a membership (never one's own). The account's next request here is refused, and
    once committed its web sessions end (it signs in again for the districts it still has)."""
    if membership.account_id == principal.account_id:
        raise Problem(
            409,
            Msg("Anda tidak dapat mencabut keanggotaan sendiri.", "You cannot revoke yourself."),
        )
    membership.status = "revoked"
    record(
        AuditKind.security,
        "membership.revoke",
        "membership",
        membership.id,
        before={"status": "active"},
        after={"status": "revoked"},
    )
    account_id = membership.account_id
    after_commit(lambda: end_sessions(account_id))


# --- invitations ----------------------------------------------------------------------------------


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
    """Add an invitation in the current district to the caller's transaction; returns it with
    its link (shown once). The grant is the caller's to check (`invite_member` does).
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


@action
def invite_member(
    principal: Principal,
    *,
    role_key: str,
    email: str | None,
    phone: str | None,
    name: str | None,
    scope_kind: str,
    scope_codes: list[str],
    agency_id: uuid.UUID | None,
) -> tuple[Invitation, str]:
    """Invite someone by email or phone into the current district with a role and scope the
    principal may grant; returns the invitation and its single-use link (valid 7 days)."""
    if not email and not phone:
        raise field_problem(
            422, "email", Msg("Isi email atau nomor telepon.", "Give an email or a phone number.")
        )
    role = resolve_role_key(role_key)
    check_grant(principal, role, scope_kind, scope_codes, agency_id)
    if email:
        member = db.session.execute(
            sa.select(Membership.id)
            .join(Account, Account.id == Membership.account_id)
            .where(Account.email == email.lower(), Membership.status == "active")
        ).first()
        if member:
            raise Problem(
                409,
                Msg(
                    "Orang ini sudah menjadi anggota; ubah keanggotaannya saja.",
                    "This person is already a member; update the membership instead.",
                ),
            )
    return create_invitation(
        role=role,
        email=email,
        phone=phone,
        name=name,
        scope_kind=scope_kind,
        scope_codes=scope_codes,
        agency_id=agency_id,
        invited_by=principal.account_id,
    )


@action
def revoke_invitation(invitation: Invitation) -> None:
    """Revoke a pending invitation: its link stops working (others are left as they are)."""
    if invitation.status == "pending":
        invitation.revoked_at = utcnow()
        record(AuditKind.security, "invitation.revoke", "invitation", invitation.id)


@action
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


@action
def join_by_invitation(
    invitation: Invitation, *, name: str, email: str, password: str, confirmation: str
) -> Account:
    """The invitation page's form for someone without an account: create it (422 naming the
    fields when refused), accept the invitation and record the sign-in, in one transaction."""
    name = name.strip()
    email = invitation.email or email.strip().lower()
    errors: list[dict[str, str]] = []
    if not name:
        errors.append(field_error("name", Msg("Nama wajib diisi.", "Name is required.")))
    if not email or "@" not in email:
        errors.append(field_error("email", Msg("Email tidak sah.", "Invalid email.")))
    elif account_by_email(email) is not None:
        errors.append(
            field_error(
                "email",
                Msg(
                    "Email ini sudah dipakai akun lain; masuk dengan akun itu.",
                    "This email belongs to another account; sign in with it.",
                ),
            )
        )
    errors += new_password_errors(password, confirmation, email=email, name=name)
    if errors:
        raise Problem(422, errors=errors)
    # Following the emailed link shows control of the address only once a gateway sends it.
    account = add_account(name=name, email=email, password=password, phone=invitation.phone)
    accept_invitation(invitation, account)
    record_sign_in(account, "invitation")
    return account


class NeedsLocalSignIn(Exception):
    """The invitation names an existing account; its owner must sign in before linking."""


@action
def accept_invitation_by_federation(
    tenant: Tenant,
    token: str,
    *,
    issuer: str,
    subject: str,
    claims: dict[str, Any],
    signed_in_account_id: str | None,
) -> Account | None:
    """Accept the invitation behind `token` for an outside identity (issuer + subject): link it
    to the invited email's account, or to a new account, and record the sign-in. None when the
    invitation is gone or no account can be made for it; NeedsLocalSignIn when the account
    exists and is not the one signed in here."""
    with tenant_context(tenant.ref()):
        invitation = pending_invitation(token)
        if invitation is None:
            return None
        account = account_by_email(invitation.email) if invitation.email else None
        if account is not None and signed_in_account_id != str(account.id):
            # The invited email already has an account: only its owner, signed in, may link an
            # outside identity to it (a leaked invitation must not hand over an account).
            raise NeedsLocalSignIn(invitation.email)
        if account is None:
            email = invitation.email or (claims.get("email") or "").lower()
            if not email or account_by_email(email) is not None:
                return None
            account = add_account(
                name=claims.get("name") or invitation.name or email.split("@")[0],
                email=email,
                email_verified=bool(invitation.email is None and claims.get("email_verified")),
                phone=invitation.phone,
            )
        link_external_identity(
            account, issuer=issuer, subject=subject, email=claims.get("email"), tenant_ref=tenant.id
        )
        accept_invitation(invitation, account)
    record_sign_in(account, f"federated-invitation:{issuer}")
    return account


# --- roles ----------------------------------------------------------------------------------------


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


@action
def create_role(*, key: str, name: str, name_en: str | None, permissions: list[str]) -> Role:
    """Define a custom role from the permission list (409 when the key is taken)."""
    if db.session.execute(sa.select(Role.id).where(Role.key == key)).first():
        raise field_problem(
            409,
            "key",
            Msg(f"Kunci peran '{key}' sudah dipakai.", f"The role key '{key}' is taken."),
        )
    role = Role(
        key=key, name=name, name_en=name_en, permissions=sorted(set(permissions)), builtin=False
    )
    return create_and_audit(role, ("key", "name", "permissions"), "role.create")


@action
def update_role(role: Role, data: dict[str, Any]) -> Role:
    """Rename a custom role or change its permissions; built-ins are fixed."""
    if role.builtin:
        raise Problem(
            409,
            Msg(
                "Peran bawaan tidak dapat diubah; buat peran baru.",
                "Built-in roles cannot be changed; create a new role.",
            ),
        )
    before = {"name": role.name, "name_en": role.name_en, "permissions": list(role.permissions)}
    data = dict(data)
    if "permissions" in data:
        data["permissions"] = sorted(set(data["permissions"]))
    for key, value in data.items():
        setattr(role, key, value)
    b, a = changes(before, {k: getattr(role, k) for k in before})
    record(AuditKind.config, "role.update", "role", role.id, before=b, after=a)
    return role


@action
def delete_role(role: Role) -> None:
    """Delete a custom role that nobody holds and no open invitation offers."""
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
