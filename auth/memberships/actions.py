"""The write layer of memberships, invitations and roles, shared by the district API, the
district's People pages, the invitation page, federation and `slrt accounts invite`.

Who may grant what is decided once, in `check_grant`: the scope must fit the district, an agency
officer is bound to one active agency (and nobody else to any), the scope lies inside the
granter's own region, the role holds no permission the granter lacks (Kemensos admins, who
onboard districts, excepted), and no holder of a platform role is given a role that reads
personal data (`refuse_platform_holder`). Every change is audited in the same transaction.

Invitations are expiring, single-use links that create or link an account and give it a
membership. Only a hash of the token is stored. With a mail server configured
(`SLRT_SMTP_URL`), an invitation by email is mailed by a background job; the link is also
returned to the inviting admin (shown once), who passes it on by hand when there is no mail
server or the invitation is by phone (there is no SMS gateway).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import uuid
from typing import Any

import sqlalchemy as sa

from slrt.auth.accounts.access import account_by_email, account_by_phone, platform_grant_holders
from slrt.auth.accounts.actions import (
    add_account,
    as_account,
    link_external_identity,
    record_sign_in,
)
from slrt.auth.accounts.models import Account
from slrt.auth.accounts.passwords import new_password_errors
from slrt.auth.accounts.phones import normalise_phone
from slrt.auth.memberships.access import pending_invitation, resolve_role_key, role_by_key
from slrt.auth.memberships.models import Invitation, Membership, Role, ScopeKind
from slrt.auth.oauth.models import token_hash, utcnow
from slrt.auth.permissions import DEFAULT_ROLES, PERSONAL_DATA
from slrt.auth.policy import Principal
from slrt.auth.region_scope import covers_all, scope_errors
from slrt.auth.signin.sessions import end_sessions
from slrt.billing_free.plans import Quota
from slrt.billing_free.quotas import check_count
from slrt.platform import db
from slrt.platform.actor import acting_as
from slrt.platform.audit.models import AuditKind
from slrt.platform.audit.record import changes, create_and_audit, record
from slrt.platform.config import public_url
from slrt.platform.errors import Msg, Problem, field_error, field_problem
from slrt.platform.mail import mail_configured, queue_mail
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


PLATFORM_HOLDER_REFUSED = Msg(
    "Akun dengan peran platform (Kemensos atau pemantau provinsi) tidak dapat diberi peran yang "
    "membaca data pribadi di kabupaten/kota. Gunakan akun lain, diundang oleh admin "
    "kabupaten/kota itu sendiri.",
    "An account holding a platform role (Kemensos or provincial viewer) cannot be given a role "
    "that reads personal data in a district. Use another account, invited by that district's "
    "own admin.",
)


def reads_personal_data(role: Role) -> bool:
    return bool(set(role.permissions) & {str(p) for p in PERSONAL_DATA})


def refuse_platform_holder(
    role: Role,
    *,
    account_id: uuid.UUID | None = None,
    email: str | None = None,
    phone: str | None = None,
) -> None:
    """403 when the person to be given `role` (by account, email or phone) holds a platform
    role and `role` reads personal data.

    Refused outright rather than left to the district's admin to approve: a platform account
    sees every district (or a whole province) and its grants come from Kemensos, not from the
    district; combining that with a district's personal data would let one account read
    residents across districts, and let a Kemensos admin (who may invite into any district to
    onboard it) make itself a district admin. Someone who really works in a district too uses a
    second account, which the district's own admin invites."""
    if not reads_personal_data(role):
        return
    holders = platform_grant_holders(
        account_ids=[account_id] if account_id else [], emails=[email], phones=[phone]
    )
    if holders:
        raise Problem(403, PLATFORM_HOLDER_REFUSED)


def check_grant(
    principal: Principal,
    role: Role,
    scope_kind: str,
    codes: list[str],
    agency_id: uuid.UUID | None,
    *,
    account_id: uuid.UUID | None = None,
    email: str | None = None,
    phone: str | None = None,
) -> None:
    """Validate a role + scope the caller wants to give the person named by `account_id`,
    `email` or `phone` (422 with field errors, 403 for rights)."""
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
    refuse_platform_holder(role, account_id=account_id, email=email, phone=phone)


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
    check_grant(principal, role, kind, codes, agency_id, account_id=membership.account_id)
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


def will_mail(invitation: Invitation) -> bool:
    """Does this invitation go out by mail (or must the admin pass its link on)?"""
    return bool(invitation.email) and mail_configured()


def _invitation_text(language: str, role: Role, link: str, invitation: Invitation) -> tuple:
    tenant = current_tenant()
    days = INVITATION_TTL.days
    if language == "en":
        return f"SLRT: invitation to {tenant.name}", (
            f"Hello{' ' + invitation.name if invitation.name else ''},\n\n"
            f"You are invited to work in SLRT for {tenant.name} as {role.name_en or role.name}. "
            f"Accept within {days} days with this link:\n\n{link}\n\n"
            "The link works once. If you did not expect this, ignore this mail.\n"
        )
    return f"SLRT: undangan ke {tenant.name}", (
        f"Halo{' ' + invitation.name if invitation.name else ''},\n\n"
        f"Anda diundang bekerja di SLRT {tenant.name} sebagai {role.name}. "
        f"Terima dalam {days} hari melalui tautan ini:\n\n{link}\n\n"
        "Tautan ini hanya berlaku sekali. Jika Anda tidak mengharapkannya, abaikan email ini.\n"
    )


def _mail_invitation(invitation: Invitation, role: Role, link: str) -> None:
    """Queue the invitation's mail (in the caller's transaction) when it can go by mail."""
    if not will_mail(invitation):
        return
    known = account_by_email(invitation.email)
    language = (known.language if known else None) or "id"
    subject, body = _invitation_text(language, role, link, invitation)
    queue_mail(
        "invitation",
        to=invitation.email,
        subject=subject,
        body=body,
        language=language,
        tenant_ref=current_tenant().id,
        account_id=known.id if known else None,
        ref_id=invitation.id,
    )


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
        phone=(normalise_phone(phone) or phone.strip()) if phone else None,
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
    check_grant(principal, role, scope_kind, scope_codes, agency_id, email=email, phone=phone)
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
    invitation, link = create_invitation(
        role=role,
        email=email,
        phone=phone,
        name=name,
        scope_kind=scope_kind,
        scope_codes=scope_codes,
        agency_id=agency_id,
        invited_by=principal.account_id,
    )
    _mail_invitation(invitation, role, link)
    return invitation, link


@action
def revoke_invitation(invitation: Invitation) -> None:
    """Revoke a pending invitation: its link stops working (others are left as they are)."""
    if invitation.status == "pending":
        invitation.revoked_at = utcnow()
        record(AuditKind.security, "invitation.revoke", "invitation", invitation.id)


@action
def resend_invitation(principal: Principal, invitation: Invitation) -> tuple[Invitation, str]:
    """A new link for a pending or expired invitation, valid 7 days from now (the old link stops
    working), mailed again when it can be. The grant is checked again: the inviter's rights or
    the person may have changed since."""
    if invitation.status not in ("pending", "expired"):
        raise Problem(
            409,
            Msg(
                "Undangan ini sudah diterima atau dicabut; buat undangan baru.",
                "This invitation was accepted or revoked; make a new one.",
            ),
        )
    role = db.session.get(Role, (invitation.tenant_id, invitation.role_id))
    check_grant(
        principal,
        role,
        invitation.scope_kind,
        list(invitation.scope_codes or []),
        invitation.agency_id,
        email=invitation.email,
        phone=invitation.phone,
    )
    if invitation.status == "expired":  # an expired invitation held no seat; it takes one again
        check_count(Quota.ACCOUNTS)
    token = secrets.token_urlsafe(32)
    invitation.token_hash = token_hash(token)
    invitation.expires_at = utcnow() + INVITATION_TTL
    record(AuditKind.security, "invitation.resend", "invitation", invitation.id)
    db.session.flush()
    link = invitation_link(current_tenant().slug, token)
    _mail_invitation(invitation, role, link)
    return invitation, link


@action
def accept_invitation(invitation: Invitation, account: Account) -> Membership:
    """Give the account the invited membership and spend the invitation (same transaction),
    recorded as done by that account. Its seat was counted when it was sent; refused only if the
    plan was lowered since, or when the account holds a platform role and the invited role reads
    personal data (`refuse_platform_holder`: an invitation by phone, or one sent before the
    platform role was granted, could otherwise bring one in)."""
    check_count(Quota.ACCOUNTS, adding=0)
    role = db.session.get(Role, (invitation.tenant_id, invitation.role_id))
    refuse_platform_holder(role, account_id=account.id)
    membership = grant_membership(
        account.id,
        role.key,
        scope_kind=invitation.scope_kind,
        scope_codes=invitation.scope_codes,
        agency_id=invitation.agency_id,
    )
    invitation.accepted_at = utcnow()
    invitation.accepted_account_id = account.id
    with acting_as(as_account(account)):
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
    fields when refused), accept the invitation and record the sign-in, in one transaction.
    Invited by phone, the person may leave the email out and sign in with the number."""
    name = name.strip()
    email = invitation.email or email.strip().lower()
    errors: list[dict[str, str]] = []
    if not name:
        errors.append(field_error("name", Msg("Nama wajib diisi.", "Name is required.")))
    if invitation.phone and account_by_phone(invitation.phone) is not None:
        errors.append(
            field_error(
                "phone",
                Msg(
                    "Nomor HP ini sudah dipakai akun lain; masuk dengan akun itu.",
                    "This phone number belongs to another account; sign in with it.",
                ),
            )
        )
    phone_only = not email and invitation.phone
    if not phone_only and (not email or "@" not in email):
        errors.append(field_error("email", Msg("Email tidak sah.", "Invalid email.")))
    elif email and account_by_email(email) is not None:
        errors.append(
            field_error(
                "email",
                Msg(
                    "Email ini sudah dipakai akun lain; masuk dengan akun itu.",
                    "This email belongs to another account; sign in with it.",
                ),
            )
        )
    errors += new_password_errors(password, confirmation, email=email or None, name=name)
    if errors:
        raise Problem(422, errors=errors)
    # Following a mailed link shows control of the address; a link passed on by hand does not.
    account = add_account(
        name=name,
        email=email or None,
        password=password,
        phone=invitation.phone,
        email_verified=bool(invitation.email) and mail_configured(),
    )
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
