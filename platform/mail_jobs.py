"""Mail jobs of a district: `mail.send` sends one queued mail (an invitation), `mail.digest`
is the daily digest of unread notifications for each member who asked for it.

Both are retried with growing waits when the mail server is away (the job stays in the
district's jobs list with the server's error meanwhile), and neither sends a mail twice: a mail
is marked sent in the transaction that holds its row locked, and the digest of a day is one row
per person (`dedup_key`) whatever the number of runs.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa

from slrt.platform import db
from slrt.platform.errors import Msg
from slrt.platform.jobs.handlers import job_handler
from slrt.platform.jobs.runner import JobContext
from slrt.platform.mail import (
    MAX_ATTEMPTS,
    MailError,
    MailStatus,
    OutgoingMail,
    lock_mail,
    mail_configured,
    queue_mail,
    record_failure,
    send_locked,
)
from slrt.platform.tenancy import current_tenant


def _send_one(ctx: JobContext, mail_id: uuid.UUID) -> str:
    """Send one mail in the job's transaction; on a server failure note the attempt (failed for
    good on the job's last attempt) and raise, so the job is retried later."""
    mail = lock_mail(mail_id)
    if mail is None:
        return "missing"
    try:
        status = send_locked(mail)
    except MailError as exc:
        db.session.rollback()
        last = ctx.job.attempts >= ctx.job.max_attempts
        record_failure(mail_id, str(exc), give_up=last)
        raise
    db.session.commit()
    return status


@job_handler("mail.send", timeout=300, max_attempts=MAX_ATTEMPTS)
def send_mail(ctx: JobContext) -> dict[str, Any]:
    """Send the mail the job names (e.g. an invitation); a mail already sent is left alone."""
    mail_id = uuid.UUID(ctx.params["mail_id"])
    status = _send_one(ctx, mail_id)
    ctx.progress(1, 1, f"{status}")
    return {"mail_id": str(mail_id), "status": status}


# --- the daily digest -------------------------------------------------------------------------

DIGEST_ITEMS = 10


def _digest_text(
    language: str, district: str, items: list[tuple[str, str]], unread: int, link: str
) -> tuple[str, str]:
    en = language == "en"
    subject = (
        f"SLRT {district}: {unread} unread notification(s)"
        if en
        else f"SLRT {district}: {unread} notifikasi belum dibaca"
    )
    lines = [
        (
            f"You have {unread} unread notification(s) in {district}. The newest:"
            if en
            else f"Anda punya {unread} notifikasi belum dibaca di {district}. Yang terbaru:"
        ),
        "",
    ]
    lines += [f"- {title_en if en else title}" for title, title_en in items]
    more = unread - len(items)
    if more > 0:
        lines.append(f"- ... and {more} more" if en else f"- ... dan {more} lainnya")
    lines += [
        "",
        ("Open them: " if en else "Buka di: ") + link,
        "",
        (
            "You receive this summary because you asked for it. Turn it off on your account page."
            if en
            else "Anda menerima ringkasan ini karena memintanya. Matikan di halaman akun Anda."
        ),
    ]
    return subject, "\n".join(lines) + "\n"


@job_handler("mail.digest", timeout=1800, max_attempts=MAX_ATTEMPTS)
def send_digest(ctx: JobContext) -> dict[str, Any]:
    """Daily: each active member of this district who opted in and has an email gets one mail
    listing the notifications still unread that arrived in the last day (none new: no mail)."""
    from slrt.auth.accounts.models import Account
    from slrt.auth.memberships.models import Membership, MembershipStatus
    from slrt.platform.config import public_url
    from slrt.tenants.notifications.models import Notification

    tenant = current_tenant()
    if not mail_configured():
        return {"skipped": "SLRT_SMTP_URL is not set"}
    period = ctx.params.get("period") or dt.datetime.now(dt.UTC).isoformat()
    since = dt.datetime.fromisoformat(period) - dt.timedelta(days=1)
    day = period[:10]
    people = db.session.execute(
        sa.select(Account)
        .join(Membership, Membership.account_id == Account.id)
        .where(
            Membership.status == MembershipStatus.active,
            Account.status == "active",
            Account.digest_opt_in.is_(True),
            Account.email.is_not(None),
        )
        .order_by(Account.id)
    ).scalars()
    link = f"{public_url()}/t/{tenant.slug}/"
    for account in people:
        unread = Notification.read_at.is_(None)
        mine = Notification.account_id == account.id
        fresh = db.session.execute(
            sa.select(Notification.title, Notification.title_en)
            .where(mine, unread, Notification.created_at >= since)
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .limit(DIGEST_ITEMS)
        ).all()
        if not fresh:
            continue
        total = db.session.execute(
            sa.select(sa.func.count()).select_from(Notification).where(mine, unread)
        ).scalar_one()
        language = account.language or "id"
        subject, body = _digest_text(language, tenant.name, [tuple(r) for r in fresh], total, link)
        queue_mail(
            "digest",
            to=account.email,
            subject=subject,
            body=body,
            language=language,
            tenant_ref=tenant.id,
            account_id=account.id,
            dedup_key=f"digest:{tenant.id}:{account.id}:{day}",
            by_job=False,
        )
    ctx.progress(0, None, str(Msg("Ringkasan disiapkan", "Digest prepared")))
    pending = (
        db.session.execute(
            sa.select(OutgoingMail.id)
            .where(
                OutgoingMail.dedup_key.like(f"digest:{tenant.id}:%:{day}"),
                OutgoingMail.status == MailStatus.pending.value,
            )
            .order_by(OutgoingMail.id)
        )
        .scalars()
        .all()
    )
    sent = 0
    for number, mail_id in enumerate(pending, start=1):
        sent += _send_one(ctx, mail_id) == MailStatus.sent
        ctx.progress(number, len(pending), f"{number}/{len(pending)}", counts={"sent": sent})
    return {"day": day, "sent": sent, "mails": len(pending)}
