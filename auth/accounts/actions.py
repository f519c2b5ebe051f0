"""The write layer of accounts: Kemensos admins created from the command line, disabling and
re-enabling an account, the record of each sign-in, changing one's password, resetting a
forgotten one through a mailed link, one's own preferences (language, mail digest), TOTP
enrolment, links to an outside provider's identities, and re-encrypting the stored TOTP secrets.

Ending an account's web sessions (Redis) waits for the commit of the change that warrants it.
"""

from __future__ import annotations

import datetime as dt

import pyotp
import sqlalchemy as sa

from slrt.auth.accounts.access import (
    account_by_email,
    account_is_admin,
    personal_data_districts,
    usable_reset,
)
from slrt.auth.accounts.models import (
    Account,
    AccountStatus,
    ExternalIdentity,
    PasswordReset,
    PlatformRoleGrant,
)
from slrt.auth.accounts.passwords import (
    hash_password,
    needs_rehash,
    new_password_errors,
    password_problems,
    verify_password,
)
from slrt.auth.accounts.phones import normalise_phone
from slrt.auth.oauth.actions import revoke_account_refresh_tokens
from slrt.auth.oauth.models import utcnow
from slrt.auth.policy import Principal
from slrt.auth.signin.sessions import end_sessions
from slrt.platform import db
from slrt.platform.actor import Actor, acting_as
from slrt.platform.audit.models import AuditKind
from slrt.platform.audit.record import record_platform
from slrt.platform.errors import Msg, Problem, field_error, field_errors, field_problem
from slrt.platform.field_crypto import rewrap_field
from slrt.platform.i18n import LANGUAGES
from slrt.platform.mail import queue_mail
from slrt.platform.transaction import action, after_commit

TOTP_FOR_ADMINS_ONLY = Msg(
    "Verifikasi dua langkah disediakan untuk admin Kemensos dan admin kabupaten/kota.",
    "Two-step verification is offered to Kemensos and district admins.",
)


def as_account(account: Account) -> Actor:
    """The account as the actor of what it does itself (audit, jobs)."""
    return Actor(kind="account", label=account.label, account_id=account.id)


def add_account(
    *,
    name: str,
    email: str | None,
    password: str | None = None,
    phone: str | None = None,
    email_verified: bool = False,
) -> Account:
    """Add an active account to the caller's transaction (flushed, so it has its id). A phone
    number is stored in its one form (E.164), so it can be signed in with."""
    account = Account(
        name=name,
        email=email.strip().lower() if email else None,
        email_verified=email_verified,
        phone=normalise_phone(phone),
        password_hash=hash_password(password) if password is not None else None,
        status=AccountStatus.active.value,
    )
    db.session.add(account)
    db.session.flush()
    return account


@action
def create_kemensos_admin(email: str, name: str, password: str) -> tuple[Account, bool]:
    """Give the account with this email the Kemensos admin role, creating it (with `password`)
    when there is none; returns the account and whether it was created."""
    account = account_by_email(email)
    created = account is None
    if account is None:
        problems = password_problems(password, email=email.strip().lower(), name=name)
        if problems:
            raise Problem(422, errors=field_errors("password", problems))
        account = add_account(name=name, email=email, password=password, email_verified=True)
    elif districts := personal_data_districts(account.id):
        # The other side of the rule in memberships.actions.refuse_platform_holder: a platform
        # role never sits on an account that reads a district's personal data.
        raise Problem(
            409,
            Msg(
                "Akun ini membaca data pribadi di " + ", ".join(districts) + "; peran "
                "Kemensos diberikan ke akun lain.",
                "This account reads personal data in " + ", ".join(districts) + "; give the "
                "Kemensos role to another account.",
            ),
        )
    held = db.session.execute(
        sa.select(PlatformRoleGrant.id).where(
            PlatformRoleGrant.account_id == account.id, PlatformRoleGrant.role == "kemensos_admin"
        )
    ).first()
    if not held:
        db.session.add(PlatformRoleGrant(account_id=account.id, role="kemensos_admin"))
    record_platform(AuditKind.security, "account.grant_kemensos_admin", "account", account.id)
    return account, created


@action
def set_account_status(principal: Principal, account: Account, status: str) -> Account:
    """Disable or re-enable an account. Disabling revokes its refresh tokens, so no client can
    mint new access tokens for it, and signs its browsers out once committed."""
    if account.id == principal.account_id and status == AccountStatus.disabled:
        raise Problem(
            409, Msg("Anda tidak dapat menonaktifkan akun sendiri.", "You cannot disable yourself.")
        )
    before = account.status
    account.status = status
    if status == AccountStatus.disabled:
        revoke_account_refresh_tokens(account.id)
    if before != account.status:
        record_platform(
            AuditKind.security,
            "account.disable" if account.status == AccountStatus.disabled else "account.enable",
            "account",
            account.id,
            before={"status": before},
            after={"status": account.status},
        )
    if account.status == AccountStatus.disabled:
        # Its browsers are signed out, not merely refused.
        account_id = account.id
        after_commit(lambda: end_sessions(account_id))
    return account


@action
def record_sign_in(account: Account, method: str) -> None:
    """Note a completed sign-in (password, TOTP, outside provider, invitation) on the account
    and in the platform audit, as the account itself."""
    account.last_login_at = dt.datetime.now(dt.UTC)
    with acting_as(as_account(account)):
        record_platform(
            AuditKind.security, "account.sign_in", "account", account.id, note=f"method={method}"
        )


@action
def rehash_password_if_needed(account: Account, password: str) -> None:
    """After a correct password: store it again under the hasher's current parameters if the
    stored hash was made with older ones."""
    if needs_rehash(account.password_hash or ""):
        account.password_hash = hash_password(password)


@action
def change_password(
    account: Account, *, current: str, new: str, confirmation: str, keep_session: str | None
) -> None:
    """Change one's own password (422 naming the fields when refused). Every refresh token of the
    account is revoked and every other browser signed in as it is signed out (`keep_session`,
    the session making the change, stays)."""
    errors: list[dict[str, str]] = []
    if account.password_hash and not verify_password(account.password_hash, current):
        errors.append(
            field_error(
                "current", Msg("Kata sandi sekarang salah.", "The current password is wrong.")
            )
        )
    errors += new_password_errors(new, confirmation, email=account.email, name=account.name)
    if errors:
        raise Problem(422, errors=errors)
    account.password_hash = hash_password(new)
    # Other devices' refresh tokens stop working; they sign in again.
    revoke_account_refresh_tokens(account.id)
    with acting_as(as_account(account)):
        record_platform(AuditKind.security, "account.password_change", "account", account.id)
    account_id = account.id
    after_commit(lambda: end_sessions(account_id, keep=keep_session))


# --- a forgotten password -----------------------------------------------------------------------


@action
def request_password_reset(email: str, language: str) -> None:
    """Someone asked for a reset link for `email`. The same single row is written whether an
    account has that address or not, so neither the answer nor the time it takes tells them
    apart; whether there is anyone to mail is decided when the mail is sent, in the background
    (`slrt.auth.accounts.reset`)."""
    queue_mail(
        "password_reset",
        to=email.strip().lower()[:254],
        subject=None,
        body=None,
        language=language if language in LANGUAGES else "id",
    )


INVALID_RESET = Msg(
    "Tautan atur ulang kata sandi ini tidak dikenal, sudah dipakai, atau kedaluwarsa. Minta "
    "tautan baru.",
    "This password reset link is unknown, already used or expired. Ask for a new one.",
)


@action
def reset_password(token: str, *, new: str, confirmation: str) -> Account:
    """Set a new password through a mailed link (404 when the link is unknown, used or
    expired; 422 naming the fields). Like a password change, every refresh token of the account
    is revoked and every browser signed in as it is signed out; the link and any other open
    link of the account stop working."""
    reset = usable_reset(token, lock=True)
    if reset is None:
        raise Problem(404, INVALID_RESET)
    account = db.session.get(Account, reset.account_id, with_for_update=True)
    errors = new_password_errors(new, confirmation, email=account.email, name=account.name)
    if errors:
        raise Problem(422, errors=errors)
    account.password_hash = hash_password(new)
    now = utcnow()
    db.session.execute(
        sa.update(PasswordReset)
        .where(PasswordReset.account_id == account.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
    )
    revoke_account_refresh_tokens(account.id)
    with acting_as(as_account(account)):
        record_platform(AuditKind.security, "account.password_reset", "account", account.id)
    account_id = account.id
    after_commit(lambda: end_sessions(account_id))
    return account


# --- one's own preferences -----------------------------------------------------------------------


@action
def set_preferences(account: Account, *, language: str | None, digest_opt_in: bool) -> Account:
    """The account page: the language mail is written in, and the daily notification digest
    (only for an account with an email to send it to)."""
    if language is not None and language not in LANGUAGES:
        raise field_problem(
            422, "language", Msg("Pilih Bahasa Indonesia atau English.", "Choose a language.")
        )
    if digest_opt_in and not account.email:
        raise field_problem(
            422,
            "digest_opt_in",
            Msg(
                "Ringkasan dikirim lewat email; akun ini tidak punya alamat email.",
                "The digest is sent by email; this account has no email address.",
            ),
        )
    before = {"language": account.language, "digest_opt_in": account.digest_opt_in}
    account.language = language
    account.digest_opt_in = digest_opt_in
    after = {"language": account.language, "digest_opt_in": account.digest_opt_in}
    if before != after:
        with acting_as(as_account(account)):
            record_platform(
                AuditKind.config,
                "account.preferences",
                "account",
                account.id,
                before=before,
                after=after,
            )
    return account


@action
def remember_language(account: Account, language: str) -> None:
    """Someone switched the page language while signed in: their mail follows."""
    if language in LANGUAGES and account.language != language:
        account.language = language


@action
def enrol_totp(account: Account, secret: str | None, code: str) -> None:
    """Turn on TOTP for an admin's sign-in once a code from the new secret checks out (403 for
    other accounts, 422 for a wrong code)."""
    if not account_is_admin(account.id):
        raise Problem(403, TOTP_FOR_ADMINS_ONLY)
    if not secret or not pyotp.TOTP(secret).verify((code or "").replace(" ", ""), valid_window=1):
        raise Problem(
            422, Msg("Kode tidak cocok; coba lagi.", "The code does not match; try again.")
        )
    account.totp_secret = secret
    record_platform(AuditKind.security, "account.totp_enrol", "account", account.id)


@action
def link_external_identity(
    account: Account, *, issuer: str, subject: str, email: str | None, tenant_ref: int | None
) -> None:
    """Link a login at an outside provider (issuer + subject) to the account; `tenant_ref` is
    the district whose invitation led to the link."""
    db.session.add(
        ExternalIdentity(account_id=account.id, issuer=issuer, subject=subject, email=email)
    )
    record_platform(
        AuditKind.security,
        "account.federated_link",
        "account",
        account.id,
        tenant_ref=tenant_ref,
        note=f"{issuer} {subject}",
    )


@action
def record_federated_refusal(issuer: str, subject: str) -> None:
    """An outside identity with no linked account and no invitation was turned away."""
    record_platform(
        AuditKind.security,
        "account.federated_refused",
        "external_identity",
        f"{issuer}#{subject}"[:80],
        note="no linked account and no pending invitation",
    )


@action
def rewrap_totp_secrets() -> int:
    """Re-encrypt every stored TOTP secret under the first SLRT_FIELD_KEY key; returns how many."""
    # type_coerce: read and write the stored tokens as they are, without the column's decryption.
    raw = sa.type_coerce(Account.totp_secret, sa.Text)
    rows = db.session.execute(
        sa.select(Account.id, raw).where(Account.totp_secret.is_not(None)).with_for_update()
    ).all()
    for account_id, token in rows:
        db.session.execute(
            sa.update(Account)
            .where(Account.id == account_id)
            .values({raw: sa.type_coerce(rewrap_field(token), sa.Text)})
        )
    return len(rows)
