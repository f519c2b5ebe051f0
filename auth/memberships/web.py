"""Membership pages: accepting an invitation (/auth/invitations/<slug>/<token>: creates or links
an account and gives it the membership) and the members list of a district (/t/<slug>/members)."""

from __future__ import annotations

from urllib.parse import urlencode

import sqlalchemy as sa
from flask import Blueprint, g, redirect, render_template, request

from slrt.auth.accounts.models import Account
from slrt.auth.accounts.passwords import hash_password, password_problems
from slrt.auth.memberships.access import pending_invitation
from slrt.auth.memberships.actions import accept_invitation
from slrt.auth.memberships.api import memberships_query
from slrt.auth.memberships.models import Invitation, Role
from slrt.auth.permissions import P
from slrt.auth.policy import authorize
from slrt.auth.region_scope import describe_scope
from slrt.auth.signin.client import enter_web_tenant
from slrt.auth.signin.web import complete_sign_in, federation_name, signed_in_account
from slrt.platform import db
from slrt.platform.errors import Msg, field_error
from slrt.platform.tenancy import tenant_context
from slrt.platform.tenant import Tenant, access_tenant_by_slug
from slrt.platform.web import no_store

bp = no_store(Blueprint("memberships_web", __name__, template_folder="templates"))


def _not_valid_page():
    return render_template(
        "message.html",
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
            "memberships/invitation.html",
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


@bp.get("/t/<slug>/members")
def members_page(slug: str):
    entered = enter_web_tenant(slug)
    if entered is None:
        return redirect("/auth/login?" + urlencode({"next": f"/t/{slug}/members"}))
    account, principal = entered
    authorize(principal, str(P.MEMBERS_READ))  # 403 naming the permission in words
    rows = db.session.execute(
        memberships_query(principal, {}).add_columns(Account.name, Account.email, Role.name)
    ).all()
    members = [
        {
            "name": name,
            "email": email,
            "role": role_name,
            "status": m.status,
            "scope": describe_scope(m.scope_kind, m.scope_codes) or ["Seluruh kabupaten/kota"],
        }
        for m, name, email, role_name in rows
    ]
    return render_template(
        "memberships/members.html", account=account, tenant=g.tenant, members=members
    )
