"""Membership pages: accepting an invitation (/auth/invitations/<slug>/<token>: creates or links
an account and gives it the membership) and the members list of a district (/t/<slug>/members)."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, g, redirect, render_template, request

from slrt.auth.accounts.access import account_by_email
from slrt.auth.accounts.models import Account
from slrt.auth.memberships.access import memberships_query, pending_invitation
from slrt.auth.memberships.actions import accept_invitation, join_by_invitation
from slrt.auth.memberships.models import Role
from slrt.auth.permissions import P
from slrt.auth.region_scope import describe_scope
from slrt.auth.signin.client import enter_web_tenant
from slrt.auth.signin.web import federation_name, signed_in_account, start_session
from slrt.platform import db
from slrt.platform.errors import Msg, Problem
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
            return _not_valid_page()
        existing = account_by_email(invitation.email) if invitation.email else None
        current = signed_in_account()
        signed_in = existing is not None and current is not None and current.id == existing.id
        errors: list[dict[str, str]] = []
        form = request.form
        if request.method == "POST":
            if existing is not None:
                if signed_in:
                    accept_invitation(invitation, existing)
                    return redirect("/auth/login?" + urlencode({"next": f"/t/{slug}/"}))
            else:
                try:
                    account = join_by_invitation(
                        invitation,
                        name=form.get("name") or "",
                        email=form.get("email") or "",
                        password=form.get("password") or "",
                        confirmation=form.get("password2") or "",
                    )
                except Problem as exc:
                    if exc.code != 422:  # e.g. the plan's accounts quota: the error page
                        raise
                    errors = exc.errors or []
                else:
                    start_session(account)
                    return redirect("/auth/login?" + urlencode({"next": f"/t/{slug}/"}))
        html = render_template(
            "memberships/invitation.html",
            tenant=tenant,
            invitation=invitation,
            role=db.session.get(Role, (invitation.tenant_id, invitation.role_id)),
            scope_names=describe_scope(invitation.scope_kind, invitation.scope_codes),
            existing=existing is not None,
            signed_in=signed_in,
            error=errors,
            form=form,
            federation=federation_name(),
            invitation_ref=f"{slug}/{token}",
        )
        return html, (422 if errors else 200)


@bp.get("/t/<slug>/members")
def members_page(slug: str):
    entered = enter_web_tenant(slug)
    if entered is None:
        return redirect("/auth/login?" + urlencode({"next": f"/t/{slug}/members"}))
    account, principal = entered
    if not principal.can(str(P.MEMBERS_READ)):
        raise Problem(
            403,
            Msg(
                f"Anda tidak memiliki izin '{P.MEMBERS_READ}'.",
                f"You lack the permission '{P.MEMBERS_READ}'.",
            ),
        )
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
