"""Invitations: an expiring, single-use link that creates or links an account and gives it a
membership. Only a hash of the token is stored. There is no mail or SMS gateway yet, so the link
is returned to the inviting admin and written to the log."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import uuid
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import Blueprint, redirect, render_template, request, session

from slrt.auth.invitation_models import Invitation
from slrt.auth.models import Account, Membership, Role
from slrt.auth.oauth_models import token_hash, utcnow
from slrt.auth.passwords import hash_password, password_problems
from slrt.auth.region_scope import describe_scope
from slrt.auth.roles import grant_membership
from slrt.auth.signin import complete_sign_in, federation_name, signed_in_account
from slrt.billing_free.plans import Quota
from slrt.billing_free.quotas import check_count
from slrt.platform import db
from slrt.platform.audit import AuditKind, record
from slrt.platform.config import public_url
from slrt.platform.errors import Msg, field_error
from slrt.platform.tenancy import current_tenant, tenant_context
from slrt.platform.tenant import Tenant, access_tenant_by_slug

log = logging.getLogger(__name__)

INVITATION_TTL = dt.timedelta(days=7)

bp = Blueprint("invitations_web", __name__, template_folder="templates")


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


def pending_invitation(token: str) -> Invitation | None:
    """The pending invitation with this token in the current district (locked for update)."""
    invitation = db.session.execute(
        sa.select(Invitation).where(Invitation.token_hash == token_hash(token)).with_for_update()
    ).scalar_one_or_none()
    if invitation is None or invitation.status != "pending":
        return None
    return invitation


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


def _not_valid_page():
    return render_template(
        "auth/message.html",
        title=Msg("Undangan tidak berlaku", "Invitation not valid"),
        body=Msg(
            "Tautan undangan ini tidak dikenal, sudah dipakai, dicabut, atau kedaluwarsa. "
            "Minta undangan baru kepada admin kabupaten/kota Anda.",
            "This invitation link is unknown, already used, revoked or expired. Ask your "
            "district admin for a new invitation.",
        ),
    ), 404


@bp.route("/auth/invitations/<slug>/<token>", methods=["GET", "POST"])
def invitation_page(slug: str, token: str):
    tenant: Tenant = access_tenant_by_slug(slug)
    with tenant_context(tenant.ref()):
        invitation = pending_invitation(token)
        if invitation is None:
            db.session.rollback()
            return _not_valid_page()
        role = db.session.get(Role, (invitation.tenant_id, invitation.role_id))
        existing = None
        if invitation.email:
            existing = db.session.execute(
                sa.select(Account).where(Account.email == invitation.email)
            ).scalar_one_or_none()
        current = signed_in_account()
        signed_in = existing is not None and current is not None and current.id == existing.id
        errors: list[dict[str, str]] = []
        form = request.form
        if request.method == "POST":
            if existing is not None:
                if signed_in:
                    accept_invitation(invitation, existing)
                    db.session.commit()
                    return redirect("/auth/login?" + urlencode({"next": f"/t/{slug}/"}))
            else:
                account, errors = _new_account_from_form(invitation)
                if account is not None:
                    accept_invitation(invitation, account)
                    complete_sign_in(account, "/", "invitation")  # commits
                    return redirect("/auth/login?" + urlencode({"next": f"/t/{slug}/"}))
        html = render_template(
            "auth/invitation.html",
            tenant=tenant,
            invitation=invitation,
            role=role,
            scope_names=describe_scope(invitation.scope_kind, invitation.scope_codes),
            existing=existing is not None,
            signed_in=signed_in,
            error=errors,
            form=form,
            federation=federation_name(),
            invitation_ref=f"{slug}/{token}",
        )
        db.session.rollback()
        return html, (422 if errors else 200)


def _new_account_from_form(invitation: Invitation) -> tuple[Account | None, list[dict]]:
    form = request.form
    name = (form.get("name") or "").strip()
    email = invitation.email or (form.get("email") or "").strip().lower()
    password = form.get("password") or ""
    errors: list[dict[str, str]] = []
    if not name:
        errors.append(field_error("name", Msg("Nama wajib diisi.", "Name is required.")))
    if not email or "@" not in email:
        errors.append(field_error("email", Msg("Email tidak sah.", "Invalid email.")))
    elif db.session.execute(sa.select(Account.id).where(Account.email == email)).first():
        errors.append(
            field_error(
                "email",
                Msg(
                    "Email ini sudah dipakai akun lain; masuk dengan akun itu.",
                    "This email belongs to another account; sign in with it.",
                ),
            )
        )
    for problem in password_problems(password, email=email, name=name):
        errors.append(field_error("password", problem))
    if password != (form.get("password2") or ""):
        errors.append(
            field_error(
                "password2", Msg("Kedua kata sandi tidak sama.", "The two passwords differ.")
            )
        )
    if errors:
        return None, errors
    account = Account(
        name=name,
        email=email,
        # Following the emailed link shows control of the address only once a gateway sends it.
        email_verified=False,
        phone=invitation.phone,
        password_hash=hash_password(password),
        status="active",
    )
    db.session.add(account)
    db.session.flush()
    return account, []


def session_invitation() -> tuple[Tenant, str] | None:
    """The invitation a browser is accepting through an outside provider (set by federation)."""
    ref = session.get("fed_invitation")
    if not ref or "/" not in ref:
        return None
    slug, token = ref.split("/", 1)
    tenant = db.session.execute(sa.select(Tenant).where(Tenant.slug == slug)).scalar_one_or_none()
    return (tenant, token) if tenant is not None else None
