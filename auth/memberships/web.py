"""Membership pages: accepting an invitation (/auth/invitations/<slug>/<token>: creates or links
an account and gives it the membership), and a district's People pages (/t/<slug>/people):
members with their role and region, changing a role or scope, revoking; invitations by email or
phone with role, region scope and agency, pending invitations to resend or revoke; custom roles
composed from the permission list shown as words. `/t/<slug>/members` is the old address of the
list and sends the browser on.

Every write is the memberships action the API calls (one grant check: scope, rights, platform
role holders); these pages only read the form with the API's schemas, call it and show the
result. Without a mail server an invitation's link is shown once, to pass on by hand.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import Blueprint, g, redirect, render_template, request, session, url_for

from slrt.auth.accounts.access import account_by_email, account_by_phone
from slrt.auth.accounts.models import Account
from slrt.auth.memberships import actions
from slrt.auth.memberships.access import (
    access_invitation_by_id,
    access_membership_by_id,
    access_role_by_id,
    invitations_query,
    memberships_query,
    pending_invitation,
)
from slrt.auth.memberships.api import (
    InvitationCreateSchema,
    MembershipUpdateSchema,
    RoleSchema,
    RoleUpdateSchema,
)
from slrt.auth.memberships.models import Invitation, Membership, Role
from slrt.auth.permissions import GROUPS, P, permission_label
from slrt.auth.policy import current_principal, require
from slrt.auth.region_scope import describe_scope
from slrt.auth.signin.web import federation_name, signed_in_account, start_session
from slrt.platform import db, region_codes
from slrt.platform.api import like_pattern
from slrt.platform.errors import Msg, Problem
from slrt.platform.i18n import language
from slrt.platform.mail import mail_configured, mail_status_of
from slrt.platform.tenancy import tenant_context
from slrt.platform.tenant import Tenant, access_tenant_by_slug
from slrt.platform.web import (
    Form,
    TenantPages,
    form_values,
    no_store,
    notice,
    page_of,
    parse_form,
    problem_form,
)
from slrt.tenants.agencies.models import Agency
from slrt.tenants.regions.models import Kecamatan, Village

bp = no_store(Blueprint("memberships_web", __name__, template_folder="templates"))


# --- accepting an invitation (no district page: the invited person has no membership yet) ------


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


def _invited_account(invitation: Invitation) -> Account | None:
    if invitation.email:
        return account_by_email(invitation.email)
    return account_by_phone(invitation.phone) if invitation.phone else None


@bp.route("/auth/invitations/<slug>/<token>", methods=["GET", "POST"])
def invitation_page(slug: str, token: str):
    tenant: Tenant = access_tenant_by_slug(slug)
    with tenant_context(tenant.ref()):
        invitation = pending_invitation(token)
        if invitation is None:
            return _not_valid_page()
        existing = _invited_account(invitation)
        current = signed_in_account()
        signed_in = existing is not None and current is not None and current.id == existing.id
        errors: list[dict[str, str]] = []
        form = request.form
        if request.method == "POST":
            if existing is not None:
                if signed_in:
                    actions.accept_invitation(invitation, existing)
                    return redirect("/auth/login?" + urlencode({"next": f"/t/{slug}/"}))
            else:
                try:
                    account = actions.join_by_invitation(
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


# --- the district's People pages ---------------------------------------------------------------

pages = TenantPages(
    "people",
    __name__,
    lookups={
        "membership_id": access_membership_by_id,
        "invitation_id": access_invitation_by_id,
        "role_id": access_role_by_id,
    },
)

SCOPE_KINDS = [
    ("district", Msg("Seluruh kabupaten/kota", "The whole district")),
    ("kecamatan", Msg("Kecamatan tertentu", "Some kecamatan")),
    ("village", Msg("Desa/kelurahan tertentu", "Some villages")),
]
STATUS_LABELS = {
    "active": Msg("Aktif", "Active"),
    "revoked": Msg("Dicabut", "Revoked"),
    "pending": Msg("Menunggu", "Waiting"),
    "expired": Msg("Kedaluwarsa", "Expired"),
    "accepted": Msg("Diterima", "Accepted"),
}
MAIL_LABELS = {
    "pending": Msg("Email menunggu dikirim", "Mail waiting to be sent"),
    "sent": Msg("Email terkirim", "Mail sent"),
    "failed": Msg("Email gagal dikirim", "Mail could not be sent"),
    "dropped": Msg("Email tidak dikirim", "Mail not sent"),
}
AGENCY_ROLE = actions.AGENCY_ROLE


def role_name(role: Role) -> str:
    return (role.name_en or role.name) if language() == "en" else role.name


def _scope_words(kind: str, codes: list[str] | tuple[str, ...]) -> list[str]:
    whole = SCOPE_KINDS[0][1]
    return describe_scope(kind, codes) or [whole.en if language() == "en" else str(whole)]


@dataclass
class RegionChoices:
    """The kecamatan and villages the signed-in admin may put in a scope (inside their own)."""

    kecamatan: list[tuple[str, str]]
    villages: dict[str, list[tuple[str, str]]]  # kecamatan code -> villages


def region_choices(kecamatan_filter: list[str] | None = None) -> RegionChoices:
    """Kecamatan of the district inside the admin's region, and the villages of the given ones
    (all of them when None). Only codes of the Kemendagri reference: scopes are checked against
    it."""
    principal = current_principal()
    kecamatan = [
        (k.code, f"{k.name} ({k.code})")
        for k in db.session.execute(sa.select(Kecamatan).order_by(Kecamatan.code)).scalars()
        if region_codes.name_of(k.code) is not None
        and (
            principal.whole_district
            or principal.covers(k.code)
            or any(c.startswith(k.code + ".") for c in principal.scope_codes)
        )
    ]
    stmt = (
        sa.select(Village, Kecamatan.code)
        .join(Kecamatan, Kecamatan.id == Village.kecamatan_id)
        .where(Village.active.is_(True), Village.source == "reference")
        .order_by(Village.code)
    )
    if kecamatan_filter is not None:
        stmt = stmt.where(Kecamatan.code.in_(kecamatan_filter or [""]))
    villages: dict[str, list[tuple[str, str]]] = {}
    for village, kecamatan_code in db.session.execute(stmt).all():
        if principal.covers(village.code):
            villages.setdefault(kecamatan_code, []).append(
                (village.code, f"{village.name} ({village.code})")
            )
    return RegionChoices(kecamatan, villages)


def _roles() -> list[Role]:
    return list(
        db.session.execute(sa.select(Role).order_by(Role.builtin.desc(), Role.name)).scalars()
    )


def _agencies() -> list[tuple[str, str]]:
    return [
        (str(a.id), a.name)
        for a in db.session.execute(
            sa.select(Agency).where(Agency.active.is_(True)).order_by(Agency.name)
        ).scalars()
    ]


def _scope_values(values: dict[str, Any]) -> dict[str, Any]:
    """The form's two pickers as the API's one `scope_codes`, by the chosen kind."""
    kind = values.get("scope_kind", "district")
    if kind == "kecamatan":
        return {"scope_codes": list(values.get("kecamatan_codes", []))}
    if kind == "village":
        return {"scope_codes": list(values.get("village_codes", []))}
    return {"scope_codes": []}


def _posted() -> dict[str, Any]:
    return form_values(lists=("kecamatan_codes", "village_codes"))


def _scope_form_context(form: Form | None, kind: str, codes: list[str]) -> dict[str, Any]:
    """What the scope pickers need: the choices, and which kecamatan's villages to show."""
    values = form.values if form else {}
    chosen_kecamatan = values.get("kecamatan_codes")
    if chosen_kecamatan is None:
        if kind == "kecamatan":
            chosen_kecamatan = codes
        elif kind == "village":
            chosen_kecamatan = sorted({c.rsplit(".", 1)[0] for c in codes})
        else:
            chosen_kecamatan = []
    shown = chosen_kecamatan if (values.get("scope_kind", kind) == "village") else []
    regions = region_choices(shown)
    return {
        "scope_kinds": SCOPE_KINDS,
        "kecamatan_options": regions.kecamatan,
        "village_groups": [
            (code, dict(regions.kecamatan).get(code, code), regions.villages.get(code, []))
            for code in shown
        ],
        "chosen_kecamatan": chosen_kecamatan,
        "chosen_villages": values.get("village_codes", codes if kind == "village" else []),
    }


def _scope_errors(form: Form | None) -> list[Msg]:
    if not form:
        return []
    return [m for key, m in form.errors.items() if key.startswith("scope_codes")]


# --- the list ---------------------------------------------------------------------------------


@pages.get("/members")
@require(P.MEMBERS_READ)
def members():
    """The list's old address."""
    return redirect(url_for("people.people"), 301)


@pages.get("/people")
@require(P.MEMBERS_READ)
def people():
    principal = current_principal()
    query = {k: v for k, v in request.args.items() if k in ("role", "status") and v}
    stmt = memberships_query(principal, query)
    text = (request.args.get("q") or "").strip()
    if text:
        pattern = like_pattern(text)
        stmt = stmt.where(
            sa.or_(
                Account.name.ilike(pattern),
                Account.email.ilike(pattern),
                Account.phone.ilike(pattern),
            )
        )
    page = page_of(stmt, Account.name, Membership.id)
    rows = [
        {
            "membership": m,
            "account": account,
            "role": role_name(role),
            "scope": _scope_words(m.scope_kind, m.scope_codes or []),
            "status": STATUS_LABELS.get(m.status, m.status),
        }
        for m, account, role in _joined(page.items)
    ]
    can_manage = principal.can(str(P.MEMBERS_MANAGE))
    invitations = _open_invitations() if can_manage else []
    return render_template(
        "memberships/people.html",
        page=page,
        rows=rows,
        roles=[(r.key, role_name(r)) for r in _roles()],
        statuses=[("active", STATUS_LABELS["active"]), ("revoked", STATUS_LABELS["revoked"])],
        args=request.args,
        can_manage=can_manage,
        can_roles=principal.can(str(P.ROLES_MANAGE)),
        invitations=invitations,
        shown=session.pop("shown_invitation", None),
        mail=mail_configured(),
    )


def _joined(memberships: list[Membership]) -> list[tuple[Membership, Account, Role]]:
    """Account and role of each membership on the page (two queries for the whole page)."""
    accounts = {
        a.id: a
        for a in db.session.execute(
            sa.select(Account).where(Account.id.in_([m.account_id for m in memberships]))
        ).scalars()
    }
    roles = {r.id: r for r in _roles()}
    return [(m, accounts[m.account_id], roles[m.role_id]) for m in memberships]


def _open_invitations() -> list[dict[str, Any]]:
    """Invitations not yet accepted or revoked, inside the admin's region, newest first."""
    rows = (
        db.session.execute(
            invitations_query(current_principal())
            .where(Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))
            .order_by(Invitation.created_at.desc())
            .limit(100)
        )
        .scalars()
        .all()
    )
    roles = {r.id: r for r in _roles()}
    mails = mail_status_of("invitation", [str(i.id) for i in rows])
    return [
        {
            "invitation": i,
            "role": role_name(roles[i.role_id]),
            "scope": _scope_words(i.scope_kind, i.scope_codes or []),
            "status": STATUS_LABELS.get(i.status, i.status),
            "expired": i.status == "expired",
            "mail": MAIL_LABELS.get(mails[str(i.id)].status) if str(i.id) in mails else None,
            "mail_error": mails[str(i.id)].last_error if str(i.id) in mails else None,
        }
        for i in rows
    ]


def _show_invitation(invitation: Invitation, link: str) -> None:
    """After an invitation is made or sent again: a notice when it went by mail, else the link
    to pass on by hand, shown once on the next page."""
    to = invitation.email or invitation.phone
    if actions.will_mail(invitation):
        notice(Msg(f"Undangan dikirim ke {to} lewat email.", f"The invitation was mailed to {to}."))
        return
    session["shown_invitation"] = {"link": link, "to": to, "phone": not invitation.email}


# --- inviting ---------------------------------------------------------------------------------


def _invite_page(form: Form | None = None, status: int = 200):
    values = form.values if form else {}
    kind = values.get("scope_kind", "district")
    return render_template(
        "memberships/invite.html",
        form=form,
        roles=[(r.key, role_name(r)) for r in _roles()],
        agencies=_agencies(),
        scope_errors=_scope_errors(form),
        mail=mail_configured(),
        **_scope_form_context(form, kind, []),
    ), status


@pages.get("/people/invite")
@require(P.MEMBERS_MANAGE)
def invite_form():
    return _invite_page()


@pages.post("/people/invite")
@require(P.MEMBERS_MANAGE)
def invite():
    values = _posted()
    if values.pop("action", None) == "villages":  # show the villages of the chosen kecamatan
        return _invite_page(Form(values, {}))
    body = {
        k: values[k]
        for k in ("email", "phone", "name", "role", "scope_kind", "agency_id")
        if k in values
    }
    body.update(_scope_values(values))
    if body.get("role") != AGENCY_ROLE:
        body.pop("agency_id", None)
    data, form = parse_form(InvitationCreateSchema(), body)
    form.values = values
    if data is None:
        return _invite_page(form, 422)
    try:
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
    except Problem as exc:
        return _invite_page(problem_form(exc, values), exc.code if exc.code != 409 else 409)
    _show_invitation(invitation, link)
    return redirect(url_for("people.people"))


@pages.post("/people/invitations/<uuid:invitation_id>/resend")
@require(P.MEMBERS_MANAGE)
def resend_invitation(invitation_id: uuid.UUID):
    invitation = access_invitation_by_id(invitation_id)
    try:
        invitation, link = actions.resend_invitation(current_principal(), invitation)
    except Problem as exc:
        notice(exc.detail if isinstance(exc.detail, Msg) else Msg(str(exc.detail), str(exc.detail)))
        return redirect(url_for("people.people"))
    _show_invitation(invitation, link)
    return redirect(url_for("people.people"))


@pages.post("/people/invitations/<uuid:invitation_id>/revoke")
@require(P.MEMBERS_MANAGE)
def revoke_invitation(invitation_id: uuid.UUID):
    invitation = access_invitation_by_id(invitation_id)
    actions.revoke_invitation(invitation)
    to = invitation.email or invitation.phone
    notice(Msg(f"Undangan untuk {to} dicabut.", f"The invitation for {to} was revoked."))
    return redirect(url_for("people.people"))


# --- one member -------------------------------------------------------------------------------


def _version(membership: Membership) -> str:
    return membership.updated_at.isoformat() if membership.updated_at else ""


def _member_page(membership: Membership, form: Form | None = None, status: int = 200, **kw: Any):
    account = db.session.get(Account, membership.account_id)
    role = db.session.get(Role, (membership.tenant_id, membership.role_id))
    kind = (form.values.get("scope_kind") if form else None) or membership.scope_kind
    current = {
        "role": role.key,
        "scope_kind": membership.scope_kind,
        "agency_id": str(membership.agency_id) if membership.agency_id else "",
    }
    return render_template(
        "memberships/member.html",
        membership=membership,
        account=account,
        role=role_name(role),
        scope=_scope_words(membership.scope_kind, membership.scope_codes or []),
        status=STATUS_LABELS.get(membership.status, membership.status),
        form=form,
        current=current,
        version=_version(membership),
        roles=[(r.key, role_name(r)) for r in _roles()],
        agencies=_agencies(),
        scope_errors=_scope_errors(form),
        can_manage=current_principal().can(str(P.MEMBERS_MANAGE)),
        yourself=membership.account_id == current_principal().account_id,
        **_scope_form_context(form, kind, list(membership.scope_codes or [])),
        **kw,
    ), status


@pages.get("/people/<uuid:membership_id>")
@require(P.MEMBERS_READ)
def member(membership_id: uuid.UUID):
    return _member_page(access_membership_by_id(membership_id))


@pages.post("/people/<uuid:membership_id>")
@require(P.MEMBERS_MANAGE)
def change_member(membership_id: uuid.UUID):
    membership = access_membership_by_id(membership_id)
    values = _posted()
    if values.pop("action", None) == "villages":
        return _member_page(membership, Form(values, {}))
    if values.get("version") != _version(membership) and values.get("force") != "1":
        # Changed by someone else since this form was read: show theirs, offer to apply mine.
        return _member_page(membership, Form(values, {}), 409, conflict=True)
    body = {k: values[k] for k in ("role", "scope_kind") if k in values}
    body.update(_scope_values(values))
    body["agency_id"] = values.get("agency_id") if values.get("role") == AGENCY_ROLE else None
    data, form = parse_form(MembershipUpdateSchema(), body)
    form.values = values
    if data is None:
        return _member_page(membership, form, 422)
    membership = access_membership_by_id(membership_id)  # again, locked by the action's write
    try:
        actions.update_membership(current_principal(), membership, data)
    except Problem as exc:
        return _member_page(membership, problem_form(exc, values), exc.code)
    account = db.session.get(Account, membership.account_id)
    notice(Msg(f"Keanggotaan {account.name} diubah.", f"{account.name}'s membership was changed."))
    return redirect(url_for("people.member", membership_id=membership.id))


@pages.post("/people/<uuid:membership_id>/revoke")
@require(P.MEMBERS_MANAGE)
def revoke_member(membership_id: uuid.UUID):
    membership = access_membership_by_id(membership_id)
    account = db.session.get(Account, membership.account_id)
    try:
        actions.revoke_membership(current_principal(), membership)
    except Problem as exc:
        return _member_page(membership, problem_form(exc, {}), exc.code)
    notice(Msg(f"Keanggotaan {account.name} dicabut.", f"{account.name}'s membership was revoked."))
    return redirect(url_for("people.people"))


# --- roles ------------------------------------------------------------------------------------


def _permission_groups() -> list[tuple[Msg, list[tuple[str, Msg]]]]:
    return [(title, [(str(p), permission_label(p)) for p in perms]) for title, perms in GROUPS]


@pages.get("/people/roles")
@require(P.MEMBERS_READ)
def roles():
    return render_template(
        "memberships/roles.html",
        roles=[
            {
                "role": r,
                "name": role_name(r),
                "permissions": [permission_label(p) for p in sorted(r.permissions)],
            }
            for r in _roles()
        ],
        can_manage=current_principal().can(str(P.ROLES_MANAGE)),
    )


def _role_page(role: Role | None, form: Form | None = None, status: int = 200):
    return render_template(
        "memberships/role.html",
        role=role,
        form=form,
        groups=_permission_groups(),
        chosen=(form.values.get("permissions", []) if form else (role.permissions if role else [])),
        can_manage=current_principal().can(str(P.ROLES_MANAGE)),
    ), status


@pages.get("/people/roles/new")
@require(P.ROLES_MANAGE)
def new_role_form():
    return _role_page(None)


@pages.post("/people/roles/new")
@require(P.ROLES_MANAGE)
def new_role():
    data, form = parse_form(RoleSchema(), lists=("permissions",))
    if data is None:
        return _role_page(None, form, 422)
    try:
        role = actions.create_role(
            key=data["key"],
            name=data["name"],
            name_en=data.get("name_en"),
            permissions=data["permissions"],
        )
    except Problem as exc:
        return _role_page(None, problem_form(exc, form.values), exc.code)
    notice(Msg(f"Peran {role.name} dibuat.", f"Role {role.name} was created."))
    return redirect(url_for("people.roles"))


@pages.get("/people/roles/<uuid:role_id>")
@require(P.MEMBERS_READ)
def role(role_id: uuid.UUID):
    return _role_page(access_role_by_id(role_id))


@pages.post("/people/roles/<uuid:role_id>")
@require(P.ROLES_MANAGE)
def change_role(role_id: uuid.UUID):
    role = access_role_by_id(role_id)
    values = form_values(lists=("permissions",))
    values.setdefault("permissions", [])
    data, form = parse_form(RoleUpdateSchema(), values)
    if data is None:
        return _role_page(role, form, 422)
    try:
        actions.update_role(role, data)
    except Problem as exc:
        return _role_page(role, problem_form(exc, values), exc.code)
    notice(Msg(f"Peran {role.name} diubah.", f"Role {role.name} was changed."))
    return redirect(url_for("people.roles"))


@pages.post("/people/roles/<uuid:role_id>/delete")
@require(P.ROLES_MANAGE)
def delete_role(role_id: uuid.UUID):
    role = access_role_by_id(role_id)
    try:
        actions.delete_role(role)
    except Problem as exc:
        return _role_page(role, problem_form(exc, {}), exc.code)
    notice(Msg(f"Peran {role.name} dihapus.", f"Role {role.name} was deleted."))
    return redirect(url_for("people.roles"))


@pages.context_processor
def _people_helpers() -> dict[str, Any]:
    return {"tenant": g.get("tenant")}
