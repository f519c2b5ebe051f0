"""HTTP endpoints of the OpenID provider: discovery, JWKS, authorize (with consent), token,
revocation, userinfo, RP-initiated logout. What they write (codes, consents, tokens, the first
signing key) is written by the actions in `slrt.auth.oauth.actions`, around Authlib's flow."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import urlencode

from authlib.oauth2 import OAuth2Error
from flask import Blueprint, Response, jsonify, redirect, render_template, request, session
from joserfc.jws import extract_compact

from slrt.auth.accounts.models import Account
from slrt.auth.oauth import tokens
from slrt.auth.oauth.access import has_consent
from slrt.auth.oauth.actions import (
    authorization_response,
    ensure_signing_key,
    revocation_response,
    token_response,
)
from slrt.auth.oauth.models import OAuthClient
from slrt.auth.oauth.provider import SCOPES, query_client, server, user_info, verify_id_token
from slrt.auth.signin.web import signed_in_account
from slrt.platform import db
from slrt.platform.errors import Msg
from slrt.platform.web import allow_form_target

bp = Blueprint("oauth", __name__, template_folder="templates")


@bp.record_once
def _setup(state) -> None:
    from slrt.auth.app_setup import init_auth

    init_auth(state.app)


def _url(path: str) -> str:
    return tokens.issuer() + path


@bp.get("/.well-known/openid-configuration")
def discovery() -> Response:
    return jsonify(
        {
            "issuer": tokens.issuer(),
            "authorization_endpoint": _url("/oauth/authorize"),
            "token_endpoint": _url("/oauth/token"),
            "userinfo_endpoint": _url("/oauth/userinfo"),
            "jwks_uri": _url("/oauth/jwks"),
            "revocation_endpoint": _url("/oauth/revoke"),
            "end_session_endpoint": _url("/oauth/logout"),
            "scopes_supported": SCOPES,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [tokens.ALG],
            "token_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
                "none",
            ],
            "revocation_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
                "none",
            ],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": [
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "nonce",
                "name",
                "email",
                "email_verified",
                "phone_number",
            ],
            "ui_locales_supported": ["id", "en"],
        }
    )


@bp.get("/oauth/jwks")
def jwks() -> Response:
    ensure_signing_key()
    body = tokens.public_jwks()
    resp = jsonify(body)
    resp.headers["Cache-Control"] = "public, max-age=300"
    return resp


def _authorize_error_page(error: OAuth2Error) -> tuple[str, int]:
    return (
        render_template(
            "message.html",
            title=Msg("Permintaan masuk tidak sah", "Invalid sign-in request"),
            body=Msg(
                "Aplikasi yang mengarahkan Anda ke sini mengirim permintaan yang tidak sah, "
                "misalnya alamat pengalihan yang tidak terdaftar. Hubungi pengelola aplikasi itu.",
                "The application that sent you here made an invalid request, for example a "
                "redirect address that is not registered. Contact that application's operator.",
            ),
            detail=f"{error.error}: {error.description or ''}",
        ),
        400,
    )


@bp.route("/oauth/authorize", methods=["GET", "POST"])
def authorize():
    account = signed_in_account()
    if account is None and "none" not in (request.values.get("prompt") or "").split():
        return redirect("/auth/sign-in?" + urlencode({"continue": request.full_path}))
    if account is None:
        # prompt=none: no page may be shown; the client gets login_required (Authlib's check).
        try:
            server.get_consent_grant(end_user=None)
        except OAuth2Error as error:
            if getattr(error, "redirect_uri", None):
                return server.handle_error_response(None, error)
            return _authorize_error_page(error)
        return _authorize_error_page(OAuth2Error("login_required"))
    account.auth_time = session.get("auth_time")  # carried into the ID token
    try:
        grant = server.get_consent_grant(end_user=account)
    except OAuth2Error as error:
        # Redirect errors back only to a redirect URI that was checked against the client.
        if getattr(error, "redirect_uri", None):
            return server.handle_error_response(None, error)
        return _authorize_error_page(error)
    client: OAuthClient = grant.client
    scope = grant.request.scope or ""
    if request.method == "GET" and not (client.first_party or has_consent(account, client, scope)):
        allow_form_target(grant.redirect_uri or client.get_default_redirect_uri() or "")
        return render_template(
            "oauth/consent.html",
            client=client,
            scopes=scope.split(),
            account=account,
            action=request.full_path,
        )
    if request.method == "POST":
        if request.form.get("decision") != "allow":
            # Refused: Authlib answers access_denied and stores nothing.
            return server.create_authorization_response(grant_user=None, grant=grant)
        return authorization_response(account, grant, consented=True)
    return authorization_response(account, grant)


@bp.post("/oauth/token")
def token() -> Response:
    return token_response()


@bp.post("/oauth/revoke")
def revoke() -> Response:
    return revocation_response()


@bp.route("/oauth/userinfo", methods=["GET", "POST"])
def userinfo() -> Response:
    header = request.headers.get("Authorization", "")
    scheme, _, raw = header.partition(" ")
    claims: dict[str, Any] | None = None
    if scheme.lower() == "bearer" and raw.strip():
        try:
            claims = tokens.verify_access_token(raw.strip())
        except tokens.InvalidToken:
            claims = None
    account = None
    if claims is not None and "tenant" not in claims:
        try:
            account = db.session.get(Account, uuid.UUID(claims["sub"]))
        except ValueError:
            account = None
    if account is None or not account.active:
        resp = jsonify({"error": "invalid_token"})
        resp.status_code = 401
        resp.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return resp
    return jsonify(dict(user_info(account, claims.get("scope", ""))))


@bp.route("/oauth/logout", methods=["GET", "POST"])
def logout():
    """RP-initiated logout: ends the provider session, then returns to a registered URI."""
    params = request.values
    hint = params.get("id_token_hint")
    client: OAuthClient | None = None
    if hint:
        try:
            claims = _hint_claims(hint)
        except tokens.InvalidToken:
            claims = None
        if claims is None:
            return _logout_message(400)
        client = query_client(claims.get("aud") if isinstance(claims.get("aud"), str) else None)
        if client is None and isinstance(claims.get("aud"), list):
            client = query_client(claims["aud"][0])
    elif params.get("client_id"):
        client = query_client(params.get("client_id"))
    target = params.get("post_logout_redirect_uri")
    if target and (client is None or target not in (client.post_logout_redirect_uris or [])):
        return _logout_message(400)
    if not hint and request.method == "GET" and signed_in_account() is not None:
        # Without proof the request came from the client, ask (CSRF-protected form).
        if target:
            allow_form_target(target)
        return render_template("oauth/logout_confirm.html", params=params)
    session.clear()
    if target:
        state = params.get("state")
        return redirect(target + (("?" + urlencode({"state": state})) if state else ""))
    return _logout_message(200)


def _hint_claims(hint: str) -> dict[str, Any] | None:
    try:
        payload = extract_compact(hint.encode()).payload
        aud = json.loads(payload).get("aud")
    except Exception:
        return None
    audience = aud[0] if isinstance(aud, list) and aud else aud
    if not isinstance(audience, str):
        return None
    # Signature, issuer and audience are checked; an expired hint is still a valid hint.
    return verify_id_token(hint, audience=audience, check_exp=False)


def _logout_message(status: int):
    if status == 200:
        title = Msg("Anda sudah keluar", "You are signed out")
        body = Msg("Sesi Anda telah diakhiri.", "Your session has ended.")
    else:
        title = Msg("Permintaan keluar tidak sah", "Invalid sign-out request")
        body = Msg(
            "Alamat tujuan setelah keluar tidak terdaftar untuk aplikasi ini.",
            "The address to return to after signing out is not registered for this application.",
        )
    return render_template("message.html", title=title, body=body), status
