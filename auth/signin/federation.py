"""Signing in through an outside OpenID provider (e.g. a ministry Keycloak).

Configured by SLRT_OIDC_ISSUER / SLRT_OIDC_CLIENT_ID / SLRT_OIDC_CLIENT_SECRET (SLRT_OIDC_NAME
names the button). Authorization code + PKCE S256 with state and nonce; the ID token is verified
against the provider's JWKS. The outside identity (issuer + subject) is then matched to an account
only by an existing link or by the invitation this browser is accepting; an email address alone
never matches, so a stranger is refused with a clear page.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.requests_client import OAuth2Session
from flask import Blueprint, redirect, render_template, request, session
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from slrt.auth.accounts.access import linked_identity
from slrt.auth.accounts.actions import record_federated_refusal
from slrt.auth.accounts.models import Account
from slrt.auth.memberships.access import session_invitation
from slrt.auth.memberships.actions import NeedsLocalSignIn, accept_invitation_by_federation
from slrt.auth.signin.web import complete_sign_in, federation_name, safe_continue, start_session
from slrt.platform import db
from slrt.platform.config import public_url, setting
from slrt.platform.errors import Msg

bp = Blueprint("federation", __name__, template_folder="templates")

ALGORITHMS = ["RS256", "PS256", "ES256", "EdDSA"]
_metadata_cache: dict[str, tuple[float, dict[str, Any]]] = {}


def _issuer() -> str:
    return (setting("SLRT_OIDC_ISSUER") or "").rstrip("/")


def redirect_uri() -> str:
    return public_url() + "/auth/federated/callback"


def provider_metadata() -> dict[str, Any]:
    """The outside provider's discovery document and JWKS (cached for five minutes)."""
    issuer = _issuer()
    cached = _metadata_cache.get(issuer)
    if cached and time.monotonic() - cached[0] < 300:
        return cached[1]
    meta = requests.get(issuer + "/.well-known/openid-configuration", timeout=10).json()
    if meta.get("issuer", "").rstrip("/") != issuer:
        raise ValueError("the provider's discovery document names another issuer")
    meta["_jwks"] = requests.get(meta["jwks_uri"], timeout=10).json()
    _metadata_cache[issuer] = (time.monotonic(), meta)
    return meta


def _client() -> OAuth2Session:
    return OAuth2Session(
        client_id=setting("SLRT_OIDC_CLIENT_ID"),
        client_secret=setting("SLRT_OIDC_CLIENT_SECRET"),
        scope="openid email profile",
        redirect_uri=redirect_uri(),
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",  # noqa: S106 - a method name
    )


def _refused(title: Msg, body: Msg, status: int):
    return render_template("message.html", title=title, body=body, retry=True), status


@bp.get("/auth/federated/start")
def start():
    name = federation_name()
    if name is None:
        return _refused(
            Msg("Tidak tersedia", "Not available"),
            Msg("Masuk lewat penyedia luar belum diatur.", "Outside sign-in is not configured."),
            404,
        )
    try:
        meta = provider_metadata()
    except (requests.RequestException, ValueError):
        return _unreachable(name)
    verifier = secrets.token_urlsafe(48)
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    session["fed"] = {
        "state": state,
        "nonce": nonce,
        "verifier": verifier,
        "continue": safe_continue(request.args.get("continue")),
    }
    if request.args.get("invitation"):
        session["fed_invitation"] = request.args["invitation"]
        session["fed"]["continue"] = "/auth/login"
    url, _ = _client().create_authorization_url(
        meta["authorization_endpoint"], state=state, nonce=nonce, code_verifier=verifier
    )
    return redirect(url)


def _unreachable(name: str):
    return _refused(
        Msg("Gagal masuk", "Sign-in failed"),
        Msg(f"{name} tidak dapat dihubungi.", f"{name} cannot be reached."),
        502,
    )


def verify_outside_id_token(id_token: str, nonce: str) -> dict[str, Any]:
    meta = provider_metadata()
    try:
        decoded = jwt.decode(id_token, KeySet.import_key_set(meta["_jwks"]), algorithms=ALGORITHMS)
    except JoseError:
        # The provider may have rotated its keys since we cached them: fetch once more.
        _metadata_cache.pop(_issuer(), None)
        meta = provider_metadata()
        decoded = jwt.decode(id_token, KeySet.import_key_set(meta["_jwks"]), algorithms=ALGORITHMS)
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": meta["issuer"]},
        aud={"essential": True, "value": setting("SLRT_OIDC_CLIENT_ID")},
        exp={"essential": True},
        sub={"essential": True},
        nonce={"essential": True, "value": nonce},
        leeway=60,
    ).validate(decoded.claims)
    return decoded.claims


@bp.get("/auth/federated/callback")
def callback():
    pending = session.pop("fed", None)
    name = federation_name() or "SSO"
    if not pending or request.args.get("state") != pending["state"]:
        return _refused(
            Msg("Gagal masuk", "Sign-in failed"),
            Msg(
                "Permintaan masuk ini kedaluwarsa atau bukan dari peramban ini.",
                "This sign-in request has expired or did not start in this browser.",
            ),
            400,
        )
    if request.args.get("error"):
        return _refused(
            Msg("Gagal masuk", "Sign-in failed"),
            Msg(f"{name} menolak permintaan masuk.", f"{name} refused the sign-in."),
            403,
        )
    try:
        meta = provider_metadata()
        token = _client().fetch_token(
            meta["token_endpoint"],
            code=request.args.get("code", ""),
            code_verifier=pending["verifier"],
        )
        claims = verify_outside_id_token(token["id_token"], pending["nonce"])
    except requests.RequestException:
        return _unreachable(name)
    except (JoseError, AuthlibBaseError, KeyError, ValueError):
        return _refused(
            Msg("Gagal masuk", "Sign-in failed"),
            Msg(
                f"Jawaban dari {name} tidak dapat diverifikasi.",
                f"The answer from {name} could not be verified.",
            ),
            400,
        )
    issuer, subject = meta["issuer"], str(claims["sub"])
    link = linked_identity(issuer, subject)
    if link is not None:
        account = db.session.get(Account, link.account_id)
        session.pop("fed_invitation", None)
        if account is None or not account.active:
            return _refused(
                Msg("Akun dinonaktifkan", "Account disabled"),
                Msg(
                    "Akun SLRT Anda dinonaktifkan. Hubungi admin kabupaten/kota Anda.",
                    "Your SLRT account is disabled. Contact your district admin.",
                ),
                403,
            )
        return complete_sign_in(account, pending["continue"], f"federated:{issuer}")
    invited = session_invitation()
    if invited is not None:
        tenant, token = invited
        try:
            account = accept_invitation_by_federation(
                tenant,
                token,
                issuer=issuer,
                subject=subject,
                claims=claims,
                signed_in_account_id=session.get("uid"),
            )
        except NeedsLocalSignIn as exc:
            return _refused(
                Msg("Masuk dulu dengan akun SLRT", "Sign in with your SLRT account first"),
                Msg(
                    f"Sudah ada akun SLRT untuk {exc}. Masuk dulu dengan kata sandi akun itu, "
                    f"lalu buka lagi tautan undangan dan pilih 'Masuk dengan {name}'.",
                    f"An SLRT account for {exc} exists. Sign in with its password first, then "
                    f"open the invitation link again and choose 'Sign in with {name}'.",
                ),
                403,
            )
        if account is not None:  # linked, accepted and its sign-in recorded
            session.pop("fed_invitation", None)
            start_session(account)
            return redirect("/auth/login")
    record_federated_refusal(issuer, subject)
    return _refused(
        Msg("Akun belum terhubung", "Account not linked"),
        Msg(
            f"Akun {name} Anda belum terhubung ke akun SLRT mana pun. Buka tautan undangan dari "
            "admin kabupaten/kota Anda, lalu pilih 'Masuk dengan "
            f"{name}' di halaman undangan itu.",
            f"Your {name} account is not linked to any SLRT account. Open the invitation link "
            f"from your district admin and choose 'Sign in with {name}' on that page.",
        ),
        403,
    )
