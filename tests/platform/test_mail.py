"""Mail that goes out, through a real SMTP server started by the test (aiosmtpd on loopback):
the SMTP setting's forms (plain, STARTTLS with a password, TLS), an invitation mailed by its job
whose link works, a mail server outage that loses nothing and sends once, the daily digest in
the reader's language, and what pages say when no mail server is configured."""

from __future__ import annotations

import time
import uuid

import pytest
import sqlalchemy as sa
from rq.worker import DequeueStrategy

from slrt.platform import db
from slrt.platform.jobs.worker import make_worker
from slrt.platform.mail import MailError, OutgoingMail, parse_smtp_url, send_message
from tests.fixtures import member, set_password
from tests.mailserver import MailServer, body_of, link_in, self_signed
from tests.web import PASSWORD, form_token, sign_in

pytest_plugins = ["tests.mailserver"]


def run_jobs() -> None:
    make_worker().work(burst=True, dequeue_strategy=DequeueStrategy.ROUND_ROBIN)


def mails(app, kind: str | None = None) -> list[OutgoingMail]:
    with app.app_context():
        stmt = sa.select(OutgoingMail).order_by(OutgoingMail.created_at)
        if kind:
            stmt = stmt.where(OutgoingMail.kind == kind)
        rows = list(db.session.execute(stmt).scalars())
        db.session.expunge_all()
        db.session.remove()
        return rows


# --- the setting ------------------------------------------------------------------------------


def test_the_smtp_url_names_server_security_and_credentials() -> None:
    plain = parse_smtp_url("smtp://mail.example.id")
    assert (plain.host, plain.port, plain.tls, plain.starttls, plain.username) == (
        "mail.example.id",
        25,
        False,
        False,
        None,
    )
    submission = parse_smtp_url("smtp://slrt%40dinsos:p%40ss%3Aw0rd@mail.example.id?starttls=1")
    assert (submission.port, submission.starttls) == (587, True)
    assert (submission.username, submission.password) == ("slrt@dinsos", "p@ss:w0rd")
    tls = parse_smtp_url("smtps://u:p@mail.example.id:2465?timeout=5")
    assert (tls.port, tls.tls, tls.timeout) == (2465, True, 5.0)
    for bad in ("http://mail.example.id", "smtp://", "smtps://h?starttls=1"):
        with pytest.raises(ValueError):
            parse_smtp_url(bad)


def test_starttls_with_a_password_and_a_private_certificate(tmp_path) -> None:
    from email.message import EmailMessage

    context, cafile = self_signed(tmp_path)
    server = MailServer(tls_context=context, credentials=("slrt", "rahasia")).start()
    try:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "a@slrt.test", "b@slrt.test", "Uji"
        message.set_content("Halo")
        good = parse_smtp_url(
            f"smtp://slrt:rahasia@127.0.0.1:{server.port}?starttls=1&cafile={cafile}"
        )
        send_message(message, good)
        assert [m["Subject"] for m in server.wait_for(1)] == ["Uji"]
        wrong = parse_smtp_url(
            f"smtp://slrt:salah@127.0.0.1:{server.port}?starttls=1&cafile={cafile}"
        )
        with pytest.raises(MailError):
            send_message(message, wrong)
        untrusted = parse_smtp_url(f"smtp://slrt:rahasia@127.0.0.1:{server.port}?starttls=1")
        with pytest.raises(MailError):  # the throw-away certificate is not trusted by default
            send_message(message, untrusted)
        assert len(server.inbox) == 1
    finally:
        server.stop()


# --- invitations ------------------------------------------------------------------------------


def test_an_invitation_is_mailed_by_its_job_and_its_link_works(
    app, client, parepare, smtp, monkeypatch
) -> None:
    monkeypatch.setenv("SLRT_PUBLIC_URL", "http://localhost")
    admin = member(app, parepare, "district_admin")
    resp = client.post(
        "/api/v1/t/parepare/invitations",
        json={"email": "Fasilitator.Baru@Example.id", "role": "facilitator"},
        headers=admin.headers,
    )
    assert resp.status_code == 201
    run_jobs()
    [message] = smtp.wait_for(1)
    assert message["To"] == "fasilitator.baru@example.id"
    assert message["From"] == "SLRT Uji <noreply@slrt.test>"
    assert message["Subject"] == "SLRT: undangan ke Kota Parepare"
    link = link_in(message, "/auth/invitations/parepare/")
    assert link == resp.json["link"]  # the API still returns it, once
    page = client.get(link.removeprefix("http://localhost"))
    assert page.status_code == 200 and "Undangan ke Kota Parepare" in page.get_data(as_text=True)
    [row] = mails(app, "invitation")
    assert row.status == "sent" and row.attempts == 1 and row.sent_at is not None
    assert row.body is None  # the link does not stay in the database
    assert message["Message-ID"] == row.message_id
    # The job asked again (a retry, a relay twice) sends nothing more.
    from slrt.platform.jobs.actions import enqueue
    from slrt.platform.tenancy import tenant_context

    with app.app_context(), tenant_context(parepare.ref()):
        enqueue("mail.send", {"mail_id": str(row.id)})
        db.session.commit()
        db.session.remove()
    run_jobs()
    time.sleep(0.5)
    assert len(smtp.inbox) == 1


def test_a_mail_server_outage_loses_nothing_and_sends_once(
    app, client, parepare, smtp, monkeypatch
) -> None:
    from slrt.platform.jobs.scheduler import promote_retries

    monkeypatch.setenv("SLRT_PUBLIC_URL", "http://localhost")
    admin = member(app, parepare, "district_admin")
    smtp.stop()  # the mail server is down when the invitation is made
    resp = client.post(
        "/api/v1/t/parepare/invitations",
        json={"email": "staf@example.id", "role": "front_office"},
        headers=admin.headers,
    )
    assert resp.status_code == 201
    run_jobs()
    # The attempt failed; the job waits for its retry, visible with the server's error.
    jobs = client.get("/api/v1/t/parepare/jobs", headers=admin.headers).get_json()
    [job] = [j for j in jobs if j["kind"] == "mail.send"]
    assert job["status"] == "queued" and job["attempts"] == 1
    assert "ConnectionRefusedError" in job["error_summary"]
    [row] = mails(app, "invitation")
    assert (row.status, row.attempts) == ("pending", 1) and "Refused" in row.last_error
    assert row.body  # kept until it is sent
    smtp.start()  # the server is back
    deadline = time.monotonic() + 30
    while not smtp.inbox and time.monotonic() < deadline:
        time.sleep(1)
        with app.app_context():
            promote_retries()  # the scheduler's round: the retry's time has come
        run_jobs()
    [message] = smtp.wait_for(1)
    assert message["To"] == "staf@example.id"
    [row] = mails(app, "invitation")
    assert (row.status, row.attempts) == ("sent", 2) and row.body is None
    jobs = client.get("/api/v1/t/parepare/jobs", headers=admin.headers).get_json()
    [job] = [j for j in jobs if j["kind"] == "mail.send"]
    assert job["status"] == "succeeded" and job["attempts"] == 2


# --- the daily digest -------------------------------------------------------------------------


def test_the_daily_digest_goes_to_who_asked_in_their_language_once(
    app, parepare, smtp, monkeypatch
) -> None:
    from slrt.auth.accounts.models import Account
    from slrt.platform.errors import Msg
    from slrt.platform.jobs.actions import enqueue
    from slrt.platform.tenancy import tenant_context
    from slrt.tenants.notifications.actions import notify

    monkeypatch.setenv("SLRT_PUBLIC_URL", "https://slrt.example.id")
    reader = member(app, parepare, "supervisor")
    english = member(app, parepare, "manager")
    quiet = member(app, parepare, "facilitator")
    with app.app_context():
        db.session.get(Account, reader.account_id).digest_opt_in = True
        account = db.session.get(Account, english.account_id)
        account.digest_opt_in, account.language = True, "en"
        db.session.commit()
        with tenant_context(parepare.ref()):
            for n in (1, 2):
                notify(
                    [reader.account_id, english.account_id, quiet.account_id],
                    "test",
                    Msg(f"Rujukan 7372-2026-00000{n} melewati tenggat", f"Referral {n} is overdue"),
                    Msg("isi", "body"),
                    dedup_key=f"test:{n}",
                )
            db.session.commit()
        db.session.remove()

    def digest() -> None:
        with app.app_context(), tenant_context(parepare.ref()):
            period = "2030-01-02T23:00:00+00:00"
            enqueue("mail.digest", {"period": period}, dedup_key=f"digest-{uuid.uuid4()}")
            db.session.commit()
            db.session.remove()
        run_jobs()

    with app.app_context(), tenant_context(parepare.ref()):
        # The notifications arrived during the day before the digest's run.
        db.session.execute(sa.text("UPDATE notifications SET created_at = '2030-01-02T12:00Z'"))
        db.session.commit()
        db.session.remove()
    digest()
    inbox = smtp.wait_for(2)
    by_to = {m["To"]: m for m in inbox}
    assert set(by_to) == {reader.email, english.email}  # not the one who did not ask
    assert by_to[reader.email]["Subject"] == "SLRT Kota Parepare: 2 notifikasi belum dibaca"
    assert "Rujukan 7372-2026-000002 melewati tenggat" in body_of(by_to[reader.email])
    assert by_to[english.email]["Subject"] == "SLRT Kota Parepare: 2 unread notification(s)"
    assert "Referral 1 is overdue" in body_of(by_to[english.email])
    assert "https://slrt.example.id/t/parepare/" in body_of(by_to[english.email])
    digest()  # the same day again: nobody gets a second mail
    time.sleep(0.5)
    assert len(smtp.inbox) == 2


# --- without a mail server ---------------------------------------------------------------------


def test_without_a_mail_server_the_pages_say_so(app, client, parepare, monkeypatch) -> None:
    monkeypatch.setenv("SLRT_PUBLIC_URL", "http://localhost")
    monkeypatch.delenv("SLRT_SMTP_URL", raising=False)
    forgot = client.get("/auth/forgot").get_data(as_text=True)
    assert "belum diatur untuk mengirim email" in forgot and 'name="email"' not in forgot
    admin = set_password(app, member(app, parepare, "district_admin"), PASSWORD)
    sign_in(client, admin.email)
    invite = client.get("/t/parepare/people/invite").get_data(as_text=True)
    assert "belum diatur untuk mengirim email" in invite
    done = client.post(
        "/t/parepare/people/invite",
        data={
            "csrf_token": form_token(client),
            "email": "baru@example.id",
            "role": "viewer",
            "scope_kind": "district",
        },
        follow_redirects=True,
    )
    html = done.get_data(as_text=True)
    assert "Kirim tautan ini sendiri" in html
    assert "http://localhost/auth/invitations/parepare/" in html
    assert mails(app) == []
    # Shown once: the next visit no longer has it.
    again = client.get("/t/parepare/people").get_data(as_text=True)
    assert "/auth/invitations/parepare/" not in again
