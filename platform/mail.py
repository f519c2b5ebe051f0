"""Mail that goes out: the SMTP setting, the outgoing-mail table and its delivery.

`SLRT_SMTP_URL` names the server: `smtp://host:25` (plain), `smtp://user:pass@host:587?starttls=1`
(STARTTLS), `smtps://user:pass@host:465` (TLS from the first byte); credentials are
percent-encoded in the URL, `?timeout=` sets the seconds to wait, `?cafile=` a CA bundle for a
server with a private certificate. `SLRT_MAIL_FROM` is the sender. Without `SLRT_SMTP_URL`
nothing is mailed and the pages say so (an invitation link is shown to pass on by hand).

Every mail is first a row of `outgoing_mail`, written in the transaction of the action that
wants it sent, so a mail is asked for exactly when the change that warrants it is committed.
Delivery is background work that may be retried: a mail of a district is sent by its
`mail.send` job (`mail_jobs`), a mail outside any district (a password reset) by the active
scheduler (`deliver_due`). A mail server outage therefore loses nothing: the row stays pending,
the attempt and the error are recorded, and the next attempt comes after a growing wait.

A retry never sends twice: the row is locked while it is sent and marked sent in the same
transaction, and its Message-ID is fixed when the row is written, so even a crash between the
server's acceptance and the commit repeats the same message, which mail systems drop as a
duplicate. The body is stored encrypted (`SLRT_FIELD_KEY`) and cleared once sent: links in it
(an invitation) are not left lying in the database.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import smtplib
import ssl
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid, parseaddr
from importlib import import_module
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column
from uuid6 import uuid7

from slrt.platform import db
from slrt.platform.config import public_url, setting
from slrt.platform.db import Base
from slrt.platform.field_crypto import EncryptedText

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 20.0
MAX_ATTEMPTS = 10  # with the waits below: about a day and a half of outage
FIRST_WAIT = 30  # seconds; doubled per attempt
LONGEST_WAIT = 4 * 3600


class MailError(Exception):
    """The mail server could not be reached or refused the message (worth retrying)."""


# --- the SMTP setting ----------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    tls: bool  # TLS from the first byte (smtps://)
    starttls: bool
    username: str | None
    password: str | None
    timeout: float
    cafile: str | None

    def context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.cafile)


_TRUE = {"1", "true", "yes", "on"}


def parse_smtp_url(url: str) -> SmtpServer:
    """An SLRT_SMTP_URL read into its parts (ValueError naming what is wrong)."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError("SLRT_SMTP_URL must start with smtp:// or smtps://")
    if not parts.hostname:
        raise ValueError("SLRT_SMTP_URL names no host")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    tls = parts.scheme == "smtps"
    starttls = query.get("starttls", "").lower() in _TRUE
    if tls and starttls:
        raise ValueError("smtps:// is TLS already; starttls=1 is for smtp://")
    return SmtpServer(
        host=parts.hostname,
        port=parts.port or (465 if tls else 587 if starttls else 25),
        tls=tls,
        starttls=starttls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        timeout=float(query.get("timeout") or DEFAULT_TIMEOUT),
        cafile=query.get("cafile") or None,
    )


def smtp_server() -> SmtpServer | None:
    url = setting("SLRT_SMTP_URL")
    return parse_smtp_url(url) if url else None


def mail_configured() -> bool:
    """Does this server send mail? (Pages say plainly when it does not.)"""
    return bool(setting("SLRT_SMTP_URL"))


def mail_from() -> str:
    """The sender: SLRT_MAIL_FROM, else "SLRT <noreply@<the public host>>"."""
    configured = setting("SLRT_MAIL_FROM")
    if configured:
        return configured
    host = urlsplit(public_url()).hostname or "localhost"
    return formataddr(("SLRT", f"noreply@{host}"))


def send_message(message: EmailMessage, server: SmtpServer | None = None) -> None:
    """Hand one message to the SMTP server (MailError when it cannot be delivered now)."""
    server = server or smtp_server()
    if server is None:
        raise MailError("SLRT_SMTP_URL is not set")
    try:
        if server.tls:
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                server.host, server.port, timeout=server.timeout, context=server.context()
            )
        else:
            client = smtplib.SMTP(server.host, server.port, timeout=server.timeout)
        with client:
            client.ehlo()
            if server.starttls:
                client.starttls(context=server.context())
                client.ehlo()
            if server.username:
                client.login(server.username, server.password or "")
            client.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise MailError(f"{type(exc).__name__}: {exc}") from exc


# --- the outgoing-mail table ---------------------------------------------------------------


class MailStatus(enum.StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"  # every attempt used; the error stays readable
    dropped = "dropped"  # nothing to send after all (e.g. a reset for an unknown address)


class OutgoingMail(Base):
    """One mail to send (platform table: a mail may concern no district, e.g. a password
    reset; `tenant_ref` files a district's mail under it). Rows stay as the record of what was
    sent, without their body."""

    __tablename__ = "outgoing_mail"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid7)
    kind: Mapped[str] = mapped_column(sa.String(40))  # invitation, password_reset, digest
    tenant_ref: Mapped[int | None] = mapped_column(
        sa.Integer, sa.ForeignKey("tenants.id", ondelete="CASCADE")
    )
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="SET NULL")
    )
    ref_id: Mapped[str | None] = mapped_column(sa.String(80))  # e.g. the invitation's id
    to_address: Mapped[str | None] = mapped_column(sa.String(254))
    language: Mapped[str] = mapped_column(sa.String(2), default="id")
    subject: Mapped[str | None] = mapped_column(sa.String(300))
    body: Mapped[str | None] = mapped_column(EncryptedText)
    message_id: Mapped[str] = mapped_column(sa.String(250), unique=True)
    dedup_key: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
    status: Mapped[str] = mapped_column(sa.String(16), default=MailStatus.pending.value)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    next_attempt_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    sent_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )

    __table_args__ = (
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'failed', 'dropped')", name="status_values"
        ),
        sa.Index("ix_outgoing_mail_due", "status", "next_attempt_at"),
        sa.Index("ix_outgoing_mail_ref", "kind", "ref_id"),
    )


def message_id() -> str:
    domain = parseaddr(mail_from())[1].rpartition("@")[2] or "localhost"
    return make_msgid(domain=domain)


def queue_mail(
    kind: str,
    *,
    to: str | None,
    subject: str | None,
    body: str | None,
    language: str = "id",
    tenant_ref: int | None = None,
    account_id: uuid.UUID | None = None,
    ref_id: Any = None,
    dedup_key: str | None = None,
    by_job: bool = True,
) -> OutgoingMail | None:
    """Ask for a mail in the caller's transaction (None when `dedup_key` was asked for
    before). A district's mail (`tenant_ref`, inside its context) gets its `mail.send` job
    unless `by_job` is False (a job that sends its own mail); any other mail is sent by the
    scheduler's `deliver_due`."""
    values = {
        "id": uuid7(),
        "kind": kind,
        "tenant_ref": tenant_ref,
        "account_id": account_id,
        "ref_id": None if ref_id is None else str(ref_id),
        "to_address": to,
        "language": language if language in ("id", "en") else "id",
        "subject": subject,
        "body": body,
        "message_id": message_id(),
        "dedup_key": dedup_key,
        "status": MailStatus.pending.value,
    }
    inserted = db.session.execute(
        postgresql.insert(OutgoingMail)
        .values(values)
        .on_conflict_do_nothing(index_elements=["dedup_key"])
        .returning(OutgoingMail.id)
    ).scalar_one_or_none()
    if inserted is None:
        return None
    mail = db.session.get(OutgoingMail, inserted)
    if tenant_ref is not None and by_job:
        from slrt.platform.jobs.actions import enqueue

        enqueue("mail.send", {"mail_id": str(mail.id)})
    return mail


# --- composing at send time -------------------------------------------------------------------

# Kinds whose message is made only when it is sent ("module:function", called with the locked
# row; returns the message or None to drop it): a password reset creates its single-use token
# then, so no usable link ever waits in the database.
PREPARERS: dict[str, str] = {
    "password_reset": "slrt.auth.accounts.reset:prepare_reset_mail",
}


def _preparer(kind: str) -> Callable[[OutgoingMail], EmailMessage | None] | None:
    spec = PREPARERS.get(kind)
    if spec is None:
        return None
    module, attribute = spec.split(":")
    return getattr(import_module(module), attribute)


def build_message(
    mail: OutgoingMail, subject: str | None = None, body: str | None = None
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = mail_from()
    message["To"] = mail.to_address
    message["Subject"] = subject or mail.subject or ""
    message["Message-ID"] = mail.message_id
    message["Content-Language"] = mail.language
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body if body is not None else mail.body or "")
    return message


def lock_mail(mail_id: uuid.UUID, *, skip_locked: bool = False) -> OutgoingMail | None:
    stmt = (
        sa.select(OutgoingMail)
        .where(OutgoingMail.id == mail_id)
        .with_for_update(skip_locked=skip_locked)
        .execution_options(populate_existing=True)
    )
    return db.session.execute(stmt).scalar_one_or_none()


def send_locked(mail: OutgoingMail) -> str:
    """Send a mail whose row the caller holds locked, in the caller's transaction: mark it sent
    (or dropped) and clear its body. Returns its status; MailError when the server failed (the
    caller rolls back and records the attempt)."""
    if mail.status != MailStatus.pending:
        return mail.status
    prepare = _preparer(mail.kind)
    message = prepare(mail) if prepare is not None else build_message(mail)
    if message is None or not mail.to_address:
        mail.status = MailStatus.dropped.value
        mail.body = None
        return mail.status
    mail.attempts += 1
    send_message(message)
    mail.status = MailStatus.sent.value
    mail.sent_at = sa.func.now()
    mail.body = None
    mail.last_error = None
    return mail.status


def wait_after(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(FIRST_WAIT * 2 ** max(0, attempts - 1), LONGEST_WAIT))


def record_failure(mail_id: uuid.UUID, error: str, *, give_up: bool = False) -> None:
    """Note a failed attempt in its own short transaction (the sending one was rolled back)."""
    with db.SessionFactory() as side:
        mail = side.get(OutgoingMail, mail_id, with_for_update=True)
        if mail is None or mail.status != MailStatus.pending:
            return
        mail.attempts += 1
        mail.last_error = error[:2000]
        mail.next_attempt_at = dt.datetime.now(dt.UTC) + wait_after(mail.attempts)
        if give_up or mail.attempts >= MAX_ATTEMPTS:
            mail.status = MailStatus.failed.value
            mail.body = None
        side.commit()


def deliver_due(limit: int = 20) -> int:
    """Send the mails outside any district whose time has come (the active scheduler runs this
    each round); returns how many were sent. Stops at the first server failure: the rest wait
    for the next round rather than each waiting out the same timeout."""
    if not mail_configured():
        return 0
    ids = (
        db.session.execute(
            sa.select(OutgoingMail.id)
            .where(
                OutgoingMail.tenant_ref.is_(None),
                OutgoingMail.status == MailStatus.pending.value,
                OutgoingMail.next_attempt_at <= sa.func.now(),
            )
            .order_by(OutgoingMail.next_attempt_at)
            .limit(limit)
        )
        .scalars()
        .all()
    )
    db.session.rollback()
    sent = 0
    for mail_id in ids:
        mail = lock_mail(mail_id, skip_locked=True)
        if mail is None:  # another scheduler or a retry has it
            db.session.rollback()
            continue
        try:
            status = send_locked(mail)
        except MailError as exc:
            db.session.rollback()
            log.warning("mail %s not sent: %s", mail_id, exc)
            record_failure(mail_id, str(exc))
            break
        except Exception as exc:
            db.session.rollback()
            log.exception("mail %s could not be prepared", mail_id)
            record_failure(mail_id, f"{type(exc).__name__}: {exc}")
            continue
        db.session.commit()
        sent += status == MailStatus.sent
    return sent


def mail_status_of(kind: str, ref_ids: list[str]) -> dict[str, OutgoingMail]:
    """The newest mail of `kind` for each of `ref_ids` (e.g. invitations), for pages that show
    whether it went out."""
    if not ref_ids:
        return {}
    rows = db.session.execute(
        sa.select(OutgoingMail)
        .where(OutgoingMail.kind == kind, OutgoingMail.ref_id.in_(ref_ids))
        .order_by(OutgoingMail.created_at)
    ).scalars()
    return {row.ref_id: row for row in rows}
