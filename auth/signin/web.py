"""Signing in at the provider: password (argon2id), brute-force throttle, optional TOTP for
admins, and the provider session (`uid` in the server-side session); the pages for enrolling in
TOTP and changing one's password. Federation with an outside provider ends in the same
`complete_sign_in`; what these pages write is done by `slrt.auth.accounts.actions`."""

from __future__ import annotations

import time
import uuid

import pyotp
import segno
from flask import Blueprint, Response, redirect, render_template, request, session

from slrt.auth.accounts import actions
from slrt.auth.accounts.access import account_by_email, account_is_admin
from slrt.auth.accounts.actions import (
    TOTP_FOR_ADMINS_ONLY,
    enrol_totp,
    record_sign_in,
    rehash_password_if_needed,
)
from slrt.auth.accounts.models import Account
from slrt.auth.accounts.passwords import verify_password
from slrt.auth.signin import throttle
from slrt.platform import db
from slrt.platform.config import setting
from slrt.platform.errors import Msg, Problem
from slrt.platform.redis_client import get_redis
from slrt.platform.web import allow_form_target

bp = Blueprint("signin", __name__, template_folder="templates")

DEFAULT_CONTINUE = "/auth/login"


def safe_continue(value: str | None) -> str:
    """Only local paths, so the sign-in page cannot be used to bounce people elsewhere."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return DEFAULT_CONTINUE


def signed_in_account() -> Account | None:
    """The account signed in at the provider in this browser, if still active."""
    uid = session.get("uid")
    if not uid:
        return None
    account = db.session.get(Account, uuid.UUID(uid))
    if account is None or not account.active:
        session.clear()
        return None
    return account


def start_session(account: Account) -> None:
    """Sign this browser in at the provider as `account` (a new session id, no session
    fixation); the sign-in itself is recorded by the action that checked it."""
    session.regenerate()  # type: ignore[attr-defined]
    session.pop("pending_totp", None)
    session["uid"] = str(account.id)
    session["auth_time"] = int(time.time())
    throttle.record_success(account.email)


def complete_sign_in(account: Account, continue_to: str, method: str) -> Response:
    """Record a checked sign-in, start the provider session and go on to `continue_to`."""
    record_sign_in(account, method)
    start_session(account)
    return redirect(safe_continue(continue_to))


def federation_name() -> str | None:
    if setting("SLRT_OIDC_ISSUER") and setting("SLRT_OIDC_CLIENT_ID"):
        return setting("SLRT_OIDC_NAME") or "SSO"
    return None


def allow_continue_target(continue_to: str) -> None:
    """After the sign-in form, the browser may be sent on through /oauth/authorize to a client's
    registered redirect URI: that origin may receive the form's redirect chain (CSP form-action)."""
    from urllib.parse import parse_qs, urlsplit

    from slrt.auth.oauth.provider import query_client

    parts = urlsplit(continue_to)
    if parts.path != "/oauth/authorize":
        return
    query = parse_qs(parts.query)
    client = query_client((query.get("client_id") or [None])[0])
    target = (query.get("redirect_uri") or [None])[0]
    if client is not None and target and client.check_redirect_uri(target):
        allow_form_target(target)


def _sign_in_page(error: Msg | None = None, status: int = 200, email: str = ""):
    allow_continue_target(safe_continue(request.values.get("continue")))
    return (
        render_template(
            "signin/sign_in.html",
            error=error,
            email=email,
            continue_to=safe_continue(request.values.get("continue")),
            federation=federation_name(),
        ),
        status,
    )


@bp.get("/auth/sign-in")
def sign_in_form():
    return _sign_in_page()


@bp.post("/auth/sign-in")
def sign_in():
    email = (request.form.get("email") or "").strip().lower()
    password = request.form.get("password") or ""
    continue_to = safe_continue(request.form.get("continue"))
    ip = request.remote_addr
    wait = throttle.wait_seconds(email, ip)
    if wait:
        return _sign_in_page(throttle.throttled_message(wait), 429, email)
    account = account_by_email(email)
    # One argon2 verification whether or not the email has an account (an unknown email is
    # checked against a dummy hash), so the answer's timing does not tell which emails exist.
    password_ok = verify_password(account.password_hash if account else None, password)
    if account is None or not password_ok:
        throttle.record_failure(email, ip)
        wait = throttle.wait_seconds(email, ip)
        if wait:
            return _sign_in_page(throttle.throttled_message(wait), 429, email)
        return _sign_in_page(
            Msg("Email atau kata sandi salah.", "Wrong email or password."), 401, email
        )
    if not account.active:
        return _sign_in_page(
            Msg(
                "Akun ini dinonaktifkan. Hubungi admin kabupaten/kota Anda.",
                "This account is disabled. Contact your district admin.",
            ),
            403,
            email,
        )
    rehash_password_if_needed(account, password)
    if account.totp_secret:
        session["pending_totp"] = {"uid": str(account.id), "continue": continue_to}
        return redirect("/auth/totp")
    return complete_sign_in(account, continue_to, "pwd")


# --- TOTP ---------------------------------------------------------------------------------------


def verify_totp(account: Account, code: str) -> bool:
    """Check a 6-digit code; each time step is accepted once (no replay)."""
    if not account.totp_secret:
        return False
    totp = pyotp.TOTP(account.totp_secret)
    code = (code or "").replace(" ", "")
    now = time.time()
    for offset in (0, -1, 1):
        at = now + offset * totp.interval
        if totp.verify(code, for_time=at, valid_window=0):
            step = int(at // totp.interval)
            key = f"slrt:totp:used:{account.id}:{step}"
            return bool(get_redis().set(key, "1", nx=True, ex=totp.interval * 3))
    return False


@bp.route("/auth/totp", methods=["GET", "POST"])
def totp_step():
    pending = session.get("pending_totp")
    if not pending:
        return redirect("/auth/sign-in")
    account = db.session.get(Account, uuid.UUID(pending["uid"]))
    if account is None or not account.active:
        session.clear()
        return redirect("/auth/sign-in")
    error = None
    status = 200
    if request.method == "POST":
        wait = throttle.wait_seconds(account.email, request.remote_addr)
        if wait:
            error, status = throttle.throttled_message(wait), 429
        elif verify_totp(account, request.form.get("code", "")):
            return complete_sign_in(account, pending["continue"], "pwd+totp")
        else:
            throttle.record_failure(account.email, request.remote_addr)
            error, status = (
                Msg("Kode tidak cocok atau sudah dipakai.", "The code is wrong or already used."),
                401,
            )
    allow_continue_target(pending["continue"])
    return render_template("signin/totp.html", error=error), status


@bp.route("/auth/totp/setup", methods=["GET", "POST"])
def totp_setup():
    account = signed_in_account()
    if account is None:
        return redirect("/auth/sign-in?continue=/auth/totp/setup")
    if not account_is_admin(account.id):
        return render_template(
            "message.html", title=Msg("Tidak tersedia", "Not available"), body=TOTP_FOR_ADMINS_ONLY
        ), 403
    error = None
    if request.method == "POST":
        try:
            enrol_totp(account, session.get("totp_candidate"), request.form.get("code") or "")
        except Problem as exc:
            if exc.code != 422:
                raise
            error = exc.detail
        else:
            session.pop("totp_candidate", None)
            return render_template(
                "message.html",
                title=Msg("Verifikasi dua langkah aktif", "Two-step verification is on"),
                body=Msg(
                    "Mulai sekarang, setelah kata sandi Anda akan diminta kode dari aplikasi "
                    "autentikator.",
                    "From now on you will be asked for a code from your authenticator app after "
                    "your password.",
                ),
            )
    secret = session.get("totp_candidate") or pyotp.random_base32()
    session["totp_candidate"] = secret
    uri = pyotp.TOTP(secret).provisioning_uri(name=account.email, issuer_name="SLRT")
    qr = segno.make(uri, error="m").svg_data_uri(scale=4)
    return render_template(
        "signin/totp_setup.html",
        secret=secret,
        uri=uri,
        qr=qr,
        error=error,
        enrolled=bool(account.totp_secret),
    )


# --- changing one's password ---------------------------------------------------------------------


@bp.route("/auth/password", methods=["GET", "POST"])
def change_password():
    account = signed_in_account()
    if account is None:
        return redirect("/auth/sign-in?continue=/auth/password")
    errors: list[dict[str, str]] = []
    if request.method == "POST":
        try:
            actions.change_password(
                account,
                current=request.form.get("current") or "",
                new=request.form.get("password") or "",
                confirmation=request.form.get("password2") or "",
                # Other browsers signed in as this account are signed out; this one gets a
                # fresh session id.
                keep_session=session.sid,  # type: ignore[attr-defined]
            )
        except Problem as exc:
            if exc.code != 422:
                raise
            errors = exc.errors or []
        else:
            session.regenerate()  # type: ignore[attr-defined]
            return render_template(
                "message.html",
                title=Msg("Kata sandi diganti", "Password changed"),
                body=Msg(
                    "Gunakan kata sandi baru saat masuk berikutnya.",
                    "Use the new password the next time you sign in.",
                ),
            )
    return render_template("signin/password.html", account=account, errors=errors), (
        422 if errors else 200
    )
