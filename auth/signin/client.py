"""The web UI as an OpenID client of this same provider (one code path for every sign-in).

/auth/login starts authorization code + PKCE against /oauth/authorize; /auth/callback checks
`state`, exchanges the code in-process (no HTTP call to itself, so it works under gunicorn and in
the test client alike), verifies the ID token and its `nonce`, and keeps the result in the
server-side session. Then the account picks a district; the URL carries it: /t/<slug>/.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import secrets
import uuid
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import Blueprint, Response, g, redirect, render_template, request, session
from flask.wrappers import Request
from werkzeug.test import EnvironBuilder

from slrt.auth.accounts.models import Account
from slrt.auth.memberships.models import Membership, Role
from slrt.auth.oauth import tokens
from slrt.auth.oauth.actions import revocation_response, token_response
from slrt.auth.oauth.provider import (
    WEB_CLIENT_ID,
    ensure_web_client,
    verify_id_token,
    web_client_secret,
    web_post_logout_uri,
    web_redirect_uri,
)
from slrt.auth.policy import (
    Principal,
    is_member_of_current_tenant,
    principal_for_account,
    visible_provinces,
)
from slrt.platform import db
from slrt.platform.config import public_url
from slrt.platform.errors import Msg, Problem
from slrt.platform.tenancy import enter_tenant, platform_bypass
from slrt.platform.tenant import NOT_FOUND, Tenant, cached_tenant_by_slug
from slrt.platform.web import no_store

bp = no_store(Blueprint("web_auth", __name__, template_folder="templates"))


def _pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def web_account() -> Account | None:
    """The account of this browser's web session, if the session and account are still valid."""
    data = session.get("web")
    if not data:
        return None
    account = db.session.get(Account, uuid.UUID(data["account_id"]))
    if account is None or not account.active or session.get("uid") != data["account_id"]:
        session.clear()
        return None
    return account


def _safe_next(value: str | None) -> str | None:
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return None


@bp.get("/auth/login")
def login():
    nxt = _safe_next(request.args.get("next"))
    if web_account() is not None:
        return redirect(nxt or "/auth/choose")
    ensure_web_client()
    verifier, challenge = _pkce_pair()
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    session["rp"] = {"state": state, "nonce": nonce, "verifier": verifier, "next": nxt}
    query = urlencode(
        {
            "response_type": "code",
            "client_id": WEB_CLIENT_ID,
            "redirect_uri": web_redirect_uri(),
            "scope": "openid profile email",
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    return redirect("/oauth/authorize?" + query)


def _exchange_code(code: str, verifier: str) -> dict[str, Any]:
    """Call the token endpoint's logic in-process with a built request."""
    builder = EnvironBuilder(
        path="/oauth/token",
        base_url=public_url(),
        method="POST",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": web_redirect_uri(),
            "client_id": WEB_CLIENT_ID,
            "client_secret": web_client_secret(),
            "code_verifier": verifier,
        },
    )
    try:
        response = token_response(Request(builder.get_environ()))
    finally:
        builder.close()
    return json.loads(response.get_data(as_text=True))


def _failed(body: Msg, status: int = 400):
    return render_template(
        "message.html",
        title=Msg("Gagal masuk", "Sign-in failed"),
        body=body,
        retry=True,
    ), status


@bp.get("/auth/callback")
def callback():
    pending = session.get("rp")
    if not pending or request.args.get("state") != pending["state"]:
        return _failed(
            Msg(
                "Permintaan masuk ini sudah kedaluwarsa atau bukan dari peramban ini.",
                "This sign-in request has expired or did not start in this browser.",
            )
        )
    if request.args.get("error"):
        session.pop("rp", None)
        return _failed(
            Msg("Masuk dibatalkan.", "Sign-in was cancelled."),
            403 if request.args["error"] == "access_denied" else 400,
        )
    body = _exchange_code(request.args.get("code", ""), pending["verifier"])
    if "access_token" not in body or "id_token" not in body:
        session.pop("rp", None)
        return _failed(
            Msg("Kode masuk tidak dapat ditukar.", "The sign-in code could not be exchanged.")
        )
    try:
        claims = verify_id_token(body["id_token"], audience=WEB_CLIENT_ID, nonce=pending["nonce"])
    except tokens.InvalidToken:
        return _failed(Msg("Token identitas tidak sah.", "Invalid ID token."))
    session.pop("rp", None)
    session["web"] = {
        "account_id": claims["sub"],
        "access_token": body["access_token"],
        "refresh_token": body.get("refresh_token"),
        "id_token": body["id_token"],
    }
    return redirect(pending.get("next") or "/auth/choose")


def account_tenants(account_id: uuid.UUID) -> list[tuple[Tenant, str | None]]:
    """Districts this account works in, with its role name there (None: a platform role)."""
    from slrt.auth.accounts.models import PlatformRoleGrant

    with platform_bypass("list the districts of the signed-in account"):
        rows = db.session.execute(
            sa.select(Membership.tenant_id, Role.name)
            .join(
                Role, sa.and_(Role.tenant_id == Membership.tenant_id, Role.id == Membership.role_id)
            )
            .where(Membership.account_id == account_id, Membership.status == "active")
        ).all()
    roles = {tenant_id: name for tenant_id, name in rows}
    grants = db.session.execute(
        sa.select(PlatformRoleGrant.role, PlatformRoleGrant.province_code).where(
            PlatformRoleGrant.account_id == account_id
        )
    ).all()
    stmt = sa.select(Tenant).order_by(Tenant.name)
    provinces = visible_provinces((r.role, r.province_code) for r in grants)
    if provinces is not None:
        stmt = stmt.where(
            sa.or_(
                Tenant.id.in_(list(roles) or [-1]),
                Tenant.province_code.in_(sorted(provinces) or [""]),
            )
        )
    tenants = db.session.execute(stmt).scalars().all()
    return [(t, roles.get(t.id)) for t in tenants if t.id in roles or t.status == "active"]


def holds_platform_role(account_id: uuid.UUID) -> bool:
    """Kemensos admins and viewers and provincial viewers have the Kemensos console."""
    from slrt.auth.accounts.models import PlatformRoleGrant

    return bool(
        db.session.execute(
            sa.select(PlatformRoleGrant.id).where(PlatformRoleGrant.account_id == account_id)
        ).first()
    )


@bp.get("/auth/choose")
def choose():
    account = web_account()
    if account is None:
        return redirect("/auth/login")
    choices = account_tenants(account.id)
    console = holds_platform_role(account.id)
    if len(choices) == 1 and not console:
        return redirect(f"/t/{choices[0][0].slug}/")
    return render_template("signin/choose.html", account=account, choices=choices, console=console)


def web_principal() -> Principal | None:
    """The signed-in browser's principal in the district already entered (None: no valid web
    session). Its membership and permissions are read fresh, as for a bearer token."""
    account = web_account()
    if account is None:
        return None
    try:
        principal = principal_for_account(account.id, WEB_CLIENT_ID)
    except Problem:
        session.clear()
        return None
    g.web_account = account
    return principal


def enter_web_tenant(slug: str) -> tuple[Account, Principal] | None:
    """Enter the district named in the URL for a signed-in browser; 404 for non-members."""
    if web_account() is None:
        return None
    tenant = cached_tenant_by_slug(slug, allow_suspended=True)
    g.tenant = tenant
    enter_tenant(tenant.ref())
    principal = web_principal()
    if principal is None:
        return None
    if not is_member_of_current_tenant(principal):
        raise Problem(404, NOT_FOUND)
    return g.web_account, principal


@bp.post("/auth/logout")
def logout():
    """Sign out of the web UI and the provider: revoke this session's tokens, end the session,
    then RP-initiated logout at the provider."""
    data = session.get("web") or {}
    if data.get("refresh_token"):
        _revoke_in_process(data["refresh_token"])
    if data.get("access_token"):
        with contextlib.suppress(tokens.InvalidToken):
            tokens.revoke_access_token(tokens.verify_access_token(data["access_token"]))
    session.clear()
    if not data.get("id_token"):
        return _erase_device_data(redirect("/auth/signed-out"))
    query = urlencode(
        {
            "id_token_hint": data["id_token"],
            "post_logout_redirect_uri": web_post_logout_uri(),
        }
    )
    return _erase_device_data(redirect("/oauth/logout?" + query))


def _erase_device_data(response: Response) -> Response:
    """Signing out erases what this site kept in the browser: the field app's encrypted drafts
    and cached records (IndexedDB), its service worker and its cache."""
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response


def _revoke_in_process(refresh_token: str) -> None:
    builder = EnvironBuilder(
        path="/oauth/revoke",
        base_url=public_url(),
        method="POST",
        data={
            "token": refresh_token,
            "token_type_hint": "refresh_token",
            "client_id": WEB_CLIENT_ID,
            "client_secret": web_client_secret(),
        },
    )
    try:
        revocation_response(Request(builder.get_environ()))
    finally:
        builder.close()


@bp.get("/auth/signed-out")
def signed_out():
    return render_template(
        "message.html",
        title=Msg("Anda sudah keluar", "You are signed out"),
        body=Msg("Sampai jumpa.", "Goodbye."),
        retry=True,
    )
