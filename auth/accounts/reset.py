"""The mail of a forgotten password, made when it is sent (`platform.mail.PREPARERS`).

The "Lupa kata sandi?" form only queues the address typed (`actions.request_password_reset`).
Here, in the background, the address is looked up: with no active account behind it the mail
is dropped; otherwise a single-use link valid for RESET_TTL is created (only its hash stored)
and mailed in the person's language. The link exists only in the message, so nothing usable
waits in the database; a request left unsent for longer than the link would live is dropped.
"""

from __future__ import annotations

import datetime as dt
import secrets
from email.message import EmailMessage

from slrt.auth.accounts.access import account_by_email
from slrt.auth.accounts.models import PasswordReset
from slrt.auth.oauth.models import token_hash, utcnow
from slrt.platform import db
from slrt.platform.audit.models import AuditKind
from slrt.platform.audit.record import record_platform
from slrt.platform.config import public_url
from slrt.platform.mail import OutgoingMail, build_message

RESET_TTL = dt.timedelta(hours=1)


def reset_link(token: str) -> str:
    return f"{public_url()}/auth/reset/{token}"


def _text(language: str, name: str, link: str) -> tuple[str, str]:
    minutes = int(RESET_TTL.total_seconds() // 60)
    if language == "en":
        return "SLRT: reset your password", (
            f"Hello {name},\n\n"
            "Someone (hopefully you) asked to reset the password of your SLRT account. "
            f"Choose a new password here within {minutes} minutes:\n\n{link}\n\n"
            "The link works once. If you did not ask for it, ignore this mail: your password "
            "stays as it is.\n"
        )
    return "SLRT: atur ulang kata sandi", (
        f"Halo {name},\n\n"
        "Ada yang meminta atur ulang kata sandi akun SLRT Anda (semoga Anda sendiri). "
        f"Pilih kata sandi baru di sini dalam {minutes} menit:\n\n{link}\n\n"
        "Tautan ini hanya berlaku sekali. Jika Anda tidak memintanya, abaikan email ini: kata "
        "sandi Anda tetap seperti semula.\n"
    )


def prepare_reset_mail(mail: OutgoingMail) -> EmailMessage | None:
    """The reset mail for the queued address, or None (dropped, address forgotten) when no
    active account has it or the request waited too long."""
    account = account_by_email(mail.to_address) if mail.to_address else None
    if (
        account is None
        or not account.active
        or mail.created_at is None
        or mail.created_at < utcnow() - RESET_TTL
    ):
        mail.to_address = None  # an address typed by someone is not ours to keep
        return None
    token = secrets.token_urlsafe(32)
    db.session.add(
        PasswordReset(
            account_id=account.id, token_hash=token_hash(token), expires_at=utcnow() + RESET_TTL
        )
    )
    mail.account_id = account.id
    mail.language = account.language or mail.language
    record_platform(AuditKind.security, "account.password_reset_mail", "account", account.id)
    subject, body = _text(mail.language, account.name, reset_link(token))
    mail.subject = subject
    return build_message(mail, subject, body)
